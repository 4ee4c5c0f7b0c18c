"""Parsing of OAuth 2.0 client-credentials token requests (RFC 6749 §4.4), no Odoo.

Two request shapes are accepted:

* the JSON body ``{"client_id": ..., "client_secret": ...}`` of OpenSPP's upstream
  clients (``grant_type`` optional), also when sent with no ``Content-Type`` or as
  ``text/plain``;
* the RFC 6749 form (``application/x-www-form-urlencoded``, ``grant_type`` required),
  with the client credentials in the body or with HTTP Basic (RFC 6749 §2.3.1).

Every refusal is a :class:`TokenRequestError` carrying the HTTP status, the OAuth
``error`` code and its ``error_description``.
"""

import base64
import binascii
import json
from urllib.parse import unquote_plus

GRANT_TYPE = "client_credentials"


class TokenRequestError(Exception):
    """A token request refused with an RFC 6749 §5.2 error response."""

    def __init__(self, status, error, description, headers=None):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or []

    def to_dict(self):
        return {"error": self.error, "error_description": self.description}


def invalid_request(description):
    return TokenRequestError(400, "invalid_request", description)


def basic_credentials(header):
    """``(client_id, client_secret)`` of an HTTP Basic header (RFC 6749 §2.3.1).

    :raises TokenRequestError: ``invalid_request`` for another scheme or a malformed
        value.
    """
    scheme, _sep, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_request("Unsupported authorization scheme.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_request("Malformed HTTP Basic credentials.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_request("Malformed HTTP Basic credentials.")
    return unquote_plus(client_id), unquote_plus(secret)


def parse_token_request(httprequest):
    """``(client_id, client_secret, requested_scope or None, used_basic)``.

    :param httprequest: the werkzeug request (``mimetype``, ``get_data``, ``form``,
        ``headers`` are used).
    :raises TokenRequestError: for a malformed request or an unsupported grant.
    """
    mimetype = httprequest.mimetype
    # Upstream's own client (spp_cycle_attendance_compliance) posts its JSON body with
    # no Content-Type at all; plain text is read as JSON too.
    if mimetype in ("application/json", "", "text/plain"):
        try:
            body = json.loads(httprequest.get_data(as_text=True) or "null")
        except ValueError:
            raise invalid_request("The body must be a JSON object.") from None
        if not isinstance(body, dict):
            raise invalid_request("The body must be a JSON object.")
        params = body
        grant_required = False
    elif mimetype == "application/x-www-form-urlencoded":
        form = httprequest.form
        repeated = [key for key, values in form.lists() if len(values) > 1]
        if repeated:
            raise invalid_request("Parameters must not be repeated.")
        params = form.to_dict()
        grant_required = True
    else:
        raise invalid_request(
            "Send application/x-www-form-urlencoded (RFC 6749) or application/json."
        )

    grant_type = params.get("grant_type")
    if grant_type is None and grant_required:
        raise invalid_request("grant_type is required.")
    if grant_type is not None and grant_type != GRANT_TYPE:
        raise TokenRequestError(
            400,
            "unsupported_grant_type",
            "Only the client_credentials grant is supported.",
        )

    header = httprequest.headers.get("Authorization")
    used_basic = bool(header)
    if header:
        if "client_secret" in params:
            raise invalid_request("Use one client authentication method only.")
        client_id, client_secret = basic_credentials(header)
        if params.get("client_id") not in (None, client_id):
            raise invalid_request("client_id does not match the credentials.")
    else:
        client_id = params.get("client_id")
        client_secret = params.get("client_secret")
    if not (
        isinstance(client_id, str)
        and isinstance(client_secret, str)
        and client_id
        and client_secret
    ):
        raise invalid_request("client_id and client_secret are required.")

    scope = params.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise invalid_request("scope must be a space-separated string.")
    if any("\x00" in value for value in (client_id, client_secret, scope or "")):
        # PostgreSQL cannot compare text holding NUL (the lookups would fail).
        raise invalid_request("Parameters must not contain NUL characters.")
    return client_id, client_secret, scope, used_basic
