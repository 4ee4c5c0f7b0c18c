"""Bearer-token authentication, token endpoints and request-size limits for APIs.

**Protecting a route**: declare the ``spp_bearer`` authentication method (an
``ir.http`` auth method, see ``models/ir_http.py``) and name the client model and the
scope on the route::

    from odoo import http
    from odoo.http import request

    class MyApi(http.Controller):
        @http.route("/my/things", type="http", auth="spp_bearer", methods=["GET"],
                    csrf=False, save_session=False,
                    spp_client_model="my.api.client", spp_scope="read")
        def things(self, **kwargs):
            client = request.spp_oauth_client      # the API client record (sudo)
            claims = request.spp_oauth_claims      # the verified token claims
            ...

``spp_audience`` may be given too; it defaults to the client model's
``_spp_oauth_audience``. Before the controller runs, the request gets:

* 401 with ``WWW-Authenticate: Bearer error="invalid_token"`` when the header is
  missing, is not ``Bearer <token>``, or the token is invalid (garbage, bad signature,
  expired, wrong issuer or audience, unknown key) or belongs to a revoked client;
* 403 with ``WWW-Authenticate: Bearer error="insufficient_scope"`` when the token lacks
  the scope.

The error body is ``{"error": {"code": <status>, "message": "<text>"}}``. The
controller then runs with ``request.env`` set to the client's ``_spp_oauth_env_user()``
(the public user by default, which has no access rights: use ``sudo()`` for what the
scopes allow) and the client's ``_spp_oauth_env_context()``.

**Token endpoint**: :func:`token_endpoint_response` answers an OAuth 2.0
client-credentials token request (JSON body or RFC 6749 form, HTTP Basic, throttle,
RFC 6749 error responses) for a client model; an addon's ``/auth/token`` route only
calls it.

**Request size**: add ``spp_max_body_size=<bytes>`` to the ``@http.route`` arguments;
a request whose body is larger gets 413 before it is authenticated, read or parsed, and
a body without a ``Content-Length`` (chunked) gets 411.

``require_bearer`` (a decorator for ``auth="none"`` routes) is deprecated: it is kept
for third-party code and runs the same checks as ``auth="spp_bearer"``.
"""

import functools
import logging

import werkzeug.exceptions

from odoo import SUPERUSER_ID
from odoo.http import request, root

from .tools.token_request import TokenRequestError, parse_token_request
from .tools.tokens import OAuthTokenError

_logger = logging.getLogger(__name__)

#: The ``auth=`` value of routes protected by a bearer token.
AUTH_METHOD = "spp_bearer"
#: Default body limit suggested for token endpoints (1 MiB).
DEFAULT_MAX_BODY_SIZE = 1024 * 1024
#: Longest Authorization header accepted (a token is about 1 KiB).
MAX_AUTHORIZATION_LENGTH = 8192


class BearerAuthError(werkzeug.exceptions.HTTPException):
    """A refused bearer authentication, carrying its prepared response.

    Odoo 17 answers an ``HTTPException`` raised by an auth method with the exception
    itself (``HttpDispatcher.handle_error``), i.e. with :attr:`response` as it is.
    """

    def __init__(self, response):
        super().__init__(response=response)
        self.code = response.status_code


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


def _refuse(response):
    # The headers Odoo adds to the responses of controllers (X-Content-Type-Options).
    root.set_csp(response)
    return BearerAuthError(response)


def _unauthorized(description):
    return _refuse(
        json_error(
            401,
            "Unauthorized",
            headers=[
                ("WWW-Authenticate", bearer_challenge("invalid_token", description))
            ],
        )
    )


def _insufficient_scope(scope):
    return _refuse(
        json_error(
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


def authenticate_bearer(client_model, audience=None):
    """Verify the request's bearer token; return ``(client, claims)``.

    :param str audience: the ``aud`` required (default: the client model's
        ``_spp_oauth_audience``).
    :raises OAuthTokenError: for every failure.
    """
    token = bearer_token(request.httprequest.headers.get("Authorization"))
    env = request.env(user=SUPERUSER_ID)
    Client = env[client_model]
    claims = env["spp.oauth.key"].verify_token(
        token, audience or Client._spp_oauth_audience
    )
    client = Client._spp_oauth_client_from_claims(claims)
    return client, claims


def check_bearer(client_model, audience=None, scope=None, update_env=True):
    """Authenticate the request with its bearer token, or raise the answer to send.

    On success the request carries ``request.spp_oauth_client`` (sudo) and
    ``request.spp_oauth_claims``, and, with ``update_env``, runs as the client's
    ``_spp_oauth_env_user()`` with its ``_spp_oauth_env_context()`` (see
    :func:`use_client_env`); ``(client, claims)`` is returned.

    :raises BearerAuthError: 401 ``invalid_token`` or 403 ``insufficient_scope``, with
        the prepared JSON response (never a 500 for a bad token).
    """
    try:
        client, claims = authenticate_bearer(client_model, audience)
    except OAuthTokenError as exc:
        raise _unauthorized(exc.description) from None
    except Exception as exc:  # never let a bad token turn into a 500
        _logger.warning(
            "spp_oauth: bearer authentication failed (%s)", type(exc).__name__
        )
        request.env.cr.rollback()
        raise _unauthorized("invalid token") from None
    if scope and scope not in claims.get("scope", "").split():
        raise _insufficient_scope(scope)
    request.spp_oauth_client = client
    request.spp_oauth_claims = claims
    if update_env:
        use_client_env(client)
    return client, claims


def use_client_env(client):
    """Run the rest of the request as the client's env user, with its context only."""
    user = client._spp_oauth_env_user()
    request.update_env(user=user.id, context=client._spp_oauth_env_context())


def require_bearer(client_model, audience, scope=None):
    """Decorator for ``auth="none"`` routes. Deprecated: use ``auth="spp_bearer"``.

    Kept for third-party controllers; it runs :func:`check_bearer` and returns its
    401/403 response instead of calling the controller.

    :param str client_model: the API client model (inherits ``spp.oauth.client.mixin``).
    :param str audience: the ``aud`` the token must be issued for.
    :param str scope: the scope the token must carry, if any.
    """

    def decorator(endpoint):
        @functools.wraps(endpoint)
        def wrapper(*args, **kwargs):
            try:
                check_bearer(client_model, audience, scope)
            except BearerAuthError as exc:
                return exc.response
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


# ----------------------------------------------------------------------------------
# Token endpoint (OAuth 2.0 client-credentials grant, RFC 6749 §4.4)
# ----------------------------------------------------------------------------------


def oauth_response(payload, status=200, headers=None):
    """A token endpoint response: JSON, never cached (RFC 6749 §5.1)."""
    headers = list(headers or [])
    headers += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    return request.make_json_response(payload, headers=headers, status=status)


def token_endpoint_response(client_model, realm, logger=None):
    """Answer the current token request for the clients of ``client_model``.

    Parses the request (:func:`~.tools.token_request.parse_token_request`), applies
    the brute-force throttle (``spp.oauth.throttle``), authenticates the client and
    issues its token (``spp.oauth.client.mixin``). Errors are RFC 6749 §5.2 responses
    ``{"error", "error_description"}``: 400 ``invalid_request``,
    ``unsupported_grant_type`` or ``invalid_scope``, 401 ``invalid_client`` (with a
    ``Basic realm="<realm>"`` challenge when HTTP Basic was used), 429
    ``too_many_requests`` with ``Retry-After``, 500 ``server_error``.

    :param str client_model: the API client model (inherits ``spp.oauth.client.mixin``).
    :param str realm: the realm of the HTTP Basic challenge, also named in the log.
    :param logger: the logger of refused requests (default: this module's).
    """
    env = request.env(user=SUPERUSER_ID)
    try:
        return _issue_token(env, client_model, realm, logger or _logger)
    except TokenRequestError as exc:
        return oauth_response(exc.to_dict(), status=exc.status, headers=exc.headers)


def _issue_token(env, client_model, realm, logger):
    httprequest = request.httprequest
    client_id, client_secret, scope, used_basic = parse_token_request(httprequest)

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

    client = env[client_model]._spp_oauth_authenticate(client_id, client_secret)
    if not client:
        Throttle._spp_throttle_record_failure(list(throttle_keys), window)
        logger.info(
            "token request refused for client id %r from %s",
            client_id[:64],
            httprequest.remote_addr,
        )
        raise TokenRequestError(
            401,
            "invalid_client",
            "Invalid client id or secret.",
            headers=[("WWW-Authenticate", f'Basic realm="{realm}"')]
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
        logger.warning("%s: token not issued (%s)", realm, exc.reason)
        raise TokenRequestError(
            500, "server_error", "The token could not be issued."
        ) from None
    return oauth_response(
        {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": claims["exp"] - claims["iat"],
            "scope": claims["scope"],
        }
    )
