"""Bearer-token protection and request-size limits for API controllers.

Usage::

    from odoo import http
    from odoo.addons.spp_oauth.http import require_bearer

    class MyApi(http.Controller):
        @http.route("/my/things", type="http", auth="none", methods=["GET"],
                    csrf=False, save_session=False)
        @require_bearer(client_model="my.api.client", audience="my_api", scope="read")
        def things(self, **kwargs):
            client = request.spp_oauth_client      # the API client record (sudo)
            claims = request.spp_oauth_claims      # the verified token claims
            ...

``require_bearer`` answers, before the controller runs:

* 401 with ``WWW-Authenticate: Bearer error="invalid_token"`` when the header is
  missing, is not ``Bearer <token>``, or the token is invalid (garbage, bad signature,
  expired, wrong issuer or audience, unknown key) or belongs to a revoked client;
* 403 with ``WWW-Authenticate: Bearer error="insufficient_scope"`` when the token lacks
  the scope.

The error body is ``{"error": {"code": <status>, "message": "<text>"}}``. The
controller then runs with ``request.env`` set to the client's ``_spp_oauth_env_user()``
(the public user by default, which has no access rights: use ``sudo()`` for what the
scopes allow) and the client's ``_spp_oauth_env_context()``.

Request size: add ``spp_max_body_size=<bytes>`` to the ``@http.route`` arguments; a
request whose body is larger gets 413 before its body is read or parsed, and a body
without a ``Content-Length`` (chunked) gets 411.
"""

import functools
import logging

from odoo import SUPERUSER_ID
from odoo.http import request

from .tools.tokens import OAuthTokenError

_logger = logging.getLogger(__name__)

#: Default body limit suggested for token endpoints (1 MiB).
DEFAULT_MAX_BODY_SIZE = 1024 * 1024
#: Longest Authorization header accepted (a token is about 1 KiB).
MAX_AUTHORIZATION_LENGTH = 8192


def json_error(status, message, headers=None):
    """The API error envelope ``{"error": {"code", "message"}}`` as a response."""
    return request.make_json_response(
        {"error": {"code": status, "message": message}},
        headers=headers,
        status=status,
    )


def _quote(value):
    return '"' + value.replace("\\", "").replace('"', "'") + '"'


def bearer_challenge(error, description=None):
    """A ``WWW-Authenticate`` value of RFC 6750."""
    value = f"Bearer error={_quote(error)}"
    if description:
        value += f", error_description={_quote(description)}"
    return value


def _unauthorized(description):
    return json_error(
        401,
        "Unauthorized",
        headers=[("WWW-Authenticate", bearer_challenge("invalid_token", description))],
    )


def bearer_token(header_value):
    """The token of an ``Authorization: Bearer <token>`` header value.

    The scheme is matched without regard to letter case (RFC 7235).

    :raises OAuthTokenError: ``malformed`` when the header is missing or is not a
        bearer token.
    """
    if not header_value:
        raise OAuthTokenError("malformed", "missing bearer token")
    if len(header_value) > MAX_AUTHORIZATION_LENGTH:
        raise OAuthTokenError("malformed", "authorization header too long")
    scheme, _sep, token = header_value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise OAuthTokenError("malformed", "the authorization scheme must be Bearer")
    return token


def authenticate_bearer(client_model, audience):
    """Verify the request's bearer token; return ``(client, claims)``.

    :raises OAuthTokenError: for every failure.
    """
    token = bearer_token(request.httprequest.headers.get("Authorization"))
    env = request.env(user=SUPERUSER_ID)
    claims = env["spp.oauth.key"].verify_token(token, audience)
    client = env[client_model]._spp_oauth_client_from_claims(claims)
    return client, claims


def require_bearer(client_model, audience, scope=None):
    """Decorator: require a valid bearer token for ``audience`` carrying ``scope``.

    :param str client_model: the API client model (inherits ``spp.oauth.client.mixin``).
    :param str audience: the ``aud`` the token must be issued for.
    :param str scope: the scope the token must carry, if any.
    """

    def decorator(endpoint):
        @functools.wraps(endpoint)
        def wrapper(*args, **kwargs):
            try:
                client, claims = authenticate_bearer(client_model, audience)
            except OAuthTokenError as exc:
                return _unauthorized(exc.description)
            except Exception as exc:  # never let a bad token turn into a 500
                _logger.warning(
                    "spp_oauth: bearer authentication failed (%s)", type(exc).__name__
                )
                request.env.cr.rollback()
                return _unauthorized("invalid token")
            if scope and scope not in claims.get("scope", "").split():
                return json_error(
                    403,
                    "Forbidden",
                    headers=[
                        (
                            "WWW-Authenticate",
                            bearer_challenge(
                                "insufficient_scope", f"the {scope} scope is required"
                            )
                            + f", scope={_quote(scope)}",
                        )
                    ],
                )
            user = client._spp_oauth_env_user()
            request.update_env(user=user.id, context=client._spp_oauth_env_context())
            request.spp_oauth_client = client
            request.spp_oauth_claims = claims
            return endpoint(*args, **kwargs)

        return wrapper

    return decorator


def body_too_large(max_bytes):
    """A 413 response when the request body exceeds ``max_bytes``, else ``None``.

    Uses the declared ``Content-Length``; werkzeug never reads past it, so the body a
    controller sees is bounded by it. A body sent without a length (``Transfer-
    Encoding: chunked``) would be read whole, whatever its size, so it is refused
    with 411 Length Required before anything is read.
    """
    httprequest = request.httprequest
    length = httprequest.content_length
    if (
        length is None
        and "chunked" in (httprequest.headers.get("Transfer-Encoding") or "").lower()
    ):
        return json_error(
            411, "Length Required: send the request body with a Content-Length."
        )
    if length is not None and length > max_bytes:
        return json_error(
            413, f"Request body too large (at most {max_bytes} bytes are accepted)."
        )
    return None
