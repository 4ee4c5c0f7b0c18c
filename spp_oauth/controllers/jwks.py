from odoo import SUPERUSER_ID, http
from odoo.http import request


class SppOAuthJwks(http.Controller):
    @http.route(
        "/auth/jwks.json",
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
    )
    def jwks(self):
        """The public keys of every token that may still be valid (RFC 7517)."""
        env = request.env(user=SUPERUSER_ID)
        return request.make_json_response(
            env["spp.oauth.key"].get_jwks(),
            headers=[("Cache-Control", "public, max-age=300")],
        )
