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

from ..api import schemas
from ..api.openapi import Route

_logger = logging.getLogger(__name__)

#: Largest request body accepted by the token endpoint (bytes).
TOKEN_MAX_BODY_SIZE = 64 * 1024
CLIENT_MODEL = "spp.attendance.api.client.credential"
REALM = "spp_attendance"
#: The route's declaration in the OpenAPI document (spp_oauth parses the request).
TOKEN_ROUTE = Route(
    "post",
    "/auth/token",
    "issueToken",
    "Client-credentials token (RFC 6749 form, or upstream JSON body)",
    None,
    ("authentication",),
    {
        200: ("A bearer token.", schemas.Token),
        400: (
            "invalid_request, unsupported_grant_type or invalid_scope.",
            schemas.OAuthError,
        ),
        401: ("invalid_client: unknown client or wrong secret.", schemas.OAuthError),
        413: ("Request body too large.", schemas.OAuthError),
        429: ("Too many failed attempts; see Retry-After.", schemas.OAuthError),
    },
    body={
        "application/x-www-form-urlencoded": schemas.TokenForm,
        "application/json": schemas.TokenJson,
    },
)


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
