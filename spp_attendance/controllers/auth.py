"""``POST /auth/token``: OAuth 2.0 client-credentials token endpoint (RFC 6749 §4.4).

Accepts the upstream JSON body ``{"client_id": ..., "client_secret": ...}`` and the
RFC 6749 form (``application/x-www-form-urlencoded``, ``grant_type=client_credentials``,
client credentials in the body or with HTTP Basic, optional ``scope``). The request
handling is spp_oauth's (``token_endpoint_response``); this route names the client
model and the realm.
"""

import logging

from odoo import http

from odoo.addons.spp_oauth.http import token_endpoint_response

_logger = logging.getLogger(__name__)

#: Largest request body accepted by the token endpoint (bytes).
TOKEN_MAX_BODY_SIZE = 64 * 1024
CLIENT_MODEL = "spp.attendance.api.client.credential"
REALM = "spp_attendance"


class SppAttendanceAuthController(http.Controller):
    @http.route(
        "/auth/token",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        spp_max_body_size=TOKEN_MAX_BODY_SIZE,
    )
    def token(self, **_params):
        """Exchange client credentials for an access token."""
        return token_endpoint_response(CLIENT_MODEL, realm=REALM, logger=_logger)
