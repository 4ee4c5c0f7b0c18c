"""``POST /auth/token``: OAuth 2.0 client-credentials token endpoint (RFC 6749 §4.4).

Accepts the upstream JSON body ``{"client_id": ..., "client_secret": ...}`` and the
RFC 6749 form (``application/x-www-form-urlencoded``, ``grant_type=client_credentials``,
client credentials in the body or with HTTP Basic, optional ``scope``).
"""

import base64
import binascii
import json
import logging
from urllib.parse import unquote_plus

from odoo import SUPERUSER_ID, http
from odoo.http import request

from odoo.addons.spp_oauth.tools.tokens import OAuthTokenError

_logger = logging.getLogger(__name__)

#: Largest request body accepted by the token endpoint (bytes).
TOKEN_MAX_BODY_SIZE = 64 * 1024
CLIENT_MODEL = "spp.attendance.api.client.credential"
REALM = "spp_attendance"


class TokenRequestError(Exception):
    def __init__(self, status, error, description, headers=None):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or []


def _oauth_response(payload, status=200, headers=None):
    headers = list(headers or [])
    headers += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    return request.make_json_response(payload, headers=headers, status=status)


def _invalid_request(description):
    return TokenRequestError(400, "invalid_request", description)


def _basic_credentials(header):
    """``(client_id, client_secret)`` of an HTTP Basic header (RFC 6749 §2.3.1)."""
    scheme, _sep, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _invalid_request("Unsupported authorization scheme.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid_request("Malformed HTTP Basic credentials.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _invalid_request("Malformed HTTP Basic credentials.")
    return unquote_plus(client_id), unquote_plus(secret)


def _parse_token_request(httprequest):
    """``(client_id, client_secret, requested_scope or None, used_basic)``.

    :raises TokenRequestError: for a malformed request or an unsupported grant.
    """
    mimetype = httprequest.mimetype
    # Upstream's own client (spp_cycle_attendance_compliance) posts its JSON body with
    # no Content-Type at all; plain text is read as JSON too.
    if mimetype in ("application/json", "", "text/plain"):
        try:
            body = json.loads(httprequest.get_data(as_text=True) or "null")
        except ValueError:
            raise _invalid_request("The body must be a JSON object.") from None
        if not isinstance(body, dict):
            raise _invalid_request("The body must be a JSON object.")
        params = body
        grant_required = False
    elif mimetype == "application/x-www-form-urlencoded":
        form = httprequest.form
        repeated = [key for key, values in form.lists() if len(values) > 1]
        if repeated:
            raise _invalid_request("Parameters must not be repeated.")
        params = form.to_dict()
        grant_required = True
    else:
        raise _invalid_request(
            "Send application/x-www-form-urlencoded (RFC 6749) or application/json."
        )

    grant_type = params.get("grant_type")
    if grant_type is None and grant_required:
        raise _invalid_request("grant_type is required.")
    if grant_type is not None and grant_type != "client_credentials":
        raise TokenRequestError(
            400,
            "unsupported_grant_type",
            "Only the client_credentials grant is supported.",
        )

    header = httprequest.headers.get("Authorization")
    used_basic = bool(header)
    if header:
        if "client_secret" in params:
            raise _invalid_request("Use one client authentication method only.")
        client_id, client_secret = _basic_credentials(header)
        if params.get("client_id") not in (None, client_id):
            raise _invalid_request("client_id does not match the credentials.")
    else:
        client_id = params.get("client_id")
        client_secret = params.get("client_secret")
    if not (
        isinstance(client_id, str)
        and isinstance(client_secret, str)
        and client_id
        and client_secret
    ):
        raise _invalid_request("client_id and client_secret are required.")

    scope = params.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise _invalid_request("scope must be a space-separated string.")
    if any("\x00" in value for value in (client_id, client_secret, scope or "")):
        # PostgreSQL cannot compare text holding NUL (the lookups would fail).
        raise _invalid_request("Parameters must not contain NUL characters.")
    return client_id, client_secret, scope, used_basic


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
        env = request.env(user=SUPERUSER_ID)
        try:
            return self._token(env)
        except TokenRequestError as exc:
            return _oauth_response(
                {"error": exc.error, "error_description": exc.description},
                status=exc.status,
                headers=exc.headers,
            )

    def _token(self, env):
        httprequest = request.httprequest
        client_id, client_secret, scope, used_basic = _parse_token_request(httprequest)

        Throttle = env["spp.oauth.throttle"]
        client_limit, ip_limit, window = Throttle._spp_throttle_settings()
        throttle_keys = {
            "client:" + client_id[:128]: client_limit,
            "ip:" + (httprequest.remote_addr or "unknown"): ip_limit,
        }
        retry_after = Throttle._spp_throttle_retry_after(throttle_keys, window)
        if retry_after:
            raise TokenRequestError(
                429,
                "too_many_requests",
                "Too many failed attempts: retry later.",
                headers=[("Retry-After", str(retry_after))],
            )

        client = env[CLIENT_MODEL]._spp_oauth_authenticate(client_id, client_secret)
        if not client:
            Throttle._spp_throttle_record_failure(list(throttle_keys), window)
            _logger.info(
                "token request refused for client id %r from %s",
                client_id[:64],
                httprequest.remote_addr,
            )
            raise TokenRequestError(
                401,
                "invalid_client",
                "Invalid client id or secret.",
                headers=[("WWW-Authenticate", f'Basic realm="{REALM}"')]
                if used_basic
                else [],
            )

        try:
            token, claims = client._spp_oauth_issue_token(scope)
        except OAuthTokenError as exc:
            if exc.reason == "invalid_scope":
                raise TokenRequestError(
                    400, "invalid_scope", "The requested scope is not granted."
                ) from None
            _logger.warning("spp_attendance: token not issued (%s)", exc.reason)
            raise TokenRequestError(
                500, "server_error", "The token could not be issued."
            ) from None
        return _oauth_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": claims["exp"] - claims["iat"],
                "scope": claims["scope"],
            }
        )
