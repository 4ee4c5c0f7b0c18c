"""Signing keys, JWT access tokens and JWKS documents, without the ORM.

Everything here is a pure function of its arguments (keys are PEM strings), so it can be
used and tested without a database. The Odoo model ``spp.oauth.key`` feeds these
functions with the keys it stores or reads from the server configuration.

Access tokens follow RFC 9068 loosely: header ``{"alg", "kid", "typ": "at+jwt"}``,
claims ``iss``, ``sub``, ``aud``, ``iat``, ``nbf``, ``exp``, ``jti``, ``scope`` (space
separated) and ``client_id``.

Verification never trusts the token header: the algorithm is pinned to the one recorded
for the key named by ``kid`` (``none`` and HMAC algorithms are never accepted), and
``exp``, ``iat``, ``iss``, ``aud``, ``sub`` and ``jti`` are required. Every failure
raises :class:`OAuthTokenError` with a short, stable ``reason`` code.
"""

import base64
import functools
import hashlib
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

#: Signature algorithms this module issues and accepts (asymmetric only).
ALGORITHMS = ("RS256", "ES256")
#: Clock-skew tolerance, in seconds, applied to ``exp``, ``nbf`` and ``iat``.
DEFAULT_LEEWAY = 30
#: Bounds of an access token's lifetime, in seconds.
MIN_TOKEN_LIFETIME = 60
MAX_TOKEN_LIFETIME = 24 * 3600
#: Claims every access token must carry.
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti")
#: ``typ`` header of the access tokens (RFC 9068), so they cannot be mistaken for
#: another kind of JWT signed with the same key.
TOKEN_TYPE = "at+jwt"

RSA_KEY_SIZE = 2048


class OAuthTokenError(Exception):
    """A token could not be issued or verified.

    ``reason`` is a short machine-readable code, one of: ``malformed``,
    ``bad_algorithm``, ``bad_type``, ``unknown_kid``, ``bad_signature``, ``expired``,
    ``not_yet_valid``, ``bad_issuer``, ``bad_audience``, ``missing_claim``,
    ``revoked``, ``no_key`` (and ``invalid_scope`` when issuing).
    ``description`` is a short human-readable text; neither ever contains key material.
    """

    def __init__(self, reason, description=None):
        self.reason = reason
        self.description = description or reason.replace("_", " ")
        super().__init__(f"{self.reason}: {self.description}")


# --------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------


def generate_private_key(algorithm="RS256"):
    """Return a new private key as an unencrypted PKCS#8 PEM string.

    RS256 gives an RSA 2048-bit key, ES256 an EC key on the P-256 curve.
    """
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@functools.lru_cache(maxsize=32)
def load_private_key(pem):
    """Parse a private key PEM (cached: parsing an RSA key costs a few ms)."""
    if isinstance(pem, str):
        pem = pem.encode()
    key = serialization.load_pem_private_key(pem, password=None)
    algorithm_for_private_key(key)  # reject unsupported key types early
    return key


@functools.lru_cache(maxsize=64)
def load_public_key(pem):
    """Parse a public key PEM (SubjectPublicKeyInfo)."""
    if isinstance(pem, str):
        pem = pem.encode()
    return serialization.load_pem_public_key(pem)


def algorithm_for_private_key(key):
    """The JWS algorithm matching a key object (private or public)."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < RSA_KEY_SIZE:
            raise ValueError("RSA keys must have at least 2048 bits")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("EC keys must use the P-256 curve (ES256)")
        return "ES256"
    raise ValueError("unsupported key type: use an RSA (RS256) or EC P-256 (ES256) key")


def public_pem_from_private(private_pem):
    """The SubjectPublicKeyInfo PEM of a private key PEM."""
    key = load_private_key(private_pem)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )


def _b64url_uint(value, length=None):
    length = length or max(1, (value.bit_length() + 7) // 8)
    return base64.urlsafe_b64encode(value.to_bytes(length, "big")).rstrip(b"=").decode()


def _jwk_members(public_pem):
    """The required JWK members of a public key (RFC 7517/7518)."""
    key = load_public_key(public_pem)
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url_uint(numbers.x, 32),
            "y": _b64url_uint(numbers.y, 32),
        }
    raise ValueError("unsupported public key type")


def jwk_thumbprint(public_pem):
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: a stable kid."""
    members = _jwk_members(public_pem)
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(public_pem, kid, algorithm):
    """The public JWK of a key, with ``kid``, ``alg`` and ``use``."""
    jwk = _jwk_members(public_pem)
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return jwk


def build_jwks(keys):
    """A JWKS document from ``(kid, algorithm, public_pem)`` triples."""
    return {"keys": [public_jwk(pem, kid, alg) for kid, alg, pem in keys]}


# --------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------


def issue(
    *,
    private_pem,
    kid,
    algorithm,
    issuer,
    subject,
    audience,
    scopes=(),
    lifetime=600,
    extra_claims=None,
    now=None,
):
    """Sign an access token; return ``(token, claims)``.

    :param scopes: iterable of scope names, written space-separated in ``scope``.
    :param lifetime: seconds, clamped to [MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME].
    :param extra_claims: additional claims; they cannot override the registered ones.
    :param now: POSIX time to issue at (tests); defaults to the current time.
    """
    if algorithm not in ALGORITHMS:
        raise OAuthTokenError("bad_algorithm", f"algorithm {algorithm} is not allowed")
    if not subject or not audience:
        raise ValueError("subject and audience are required")
    lifetime = int(min(max(int(lifetime), MIN_TOKEN_LIFETIME), MAX_TOKEN_LIFETIME))
    issued_at = int(time.time() if now is None else now)
    claims = dict(extra_claims or {})
    claims.update(
        {
            "iss": issuer,
            "sub": str(subject),
            "aud": audience,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + lifetime,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(sorted(set(scopes))),
        }
    )
    token = jwt.encode(
        claims,
        load_private_key(private_pem),
        algorithm=algorithm,
        headers={"kid": kid, "typ": TOKEN_TYPE},
    )
    return token, claims


_ERRORS = (
    (jwt.ExpiredSignatureError, "expired", "the token has expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid", "the token is not valid yet"),
    (jwt.InvalidAudienceError, "bad_audience", "the token is not meant for this API"),
    (jwt.InvalidIssuerError, "bad_issuer", "the token has an unknown issuer"),
    (
        jwt.MissingRequiredClaimError,
        "missing_claim",
        "the token lacks a required claim",
    ),
    (jwt.InvalidSignatureError, "bad_signature", "the token signature is invalid"),
    (jwt.InvalidAlgorithmError, "bad_algorithm", "the token algorithm is not allowed"),
    (jwt.InvalidIssuedAtError, "malformed", "the token iat claim is invalid"),
)


def verify(token, *, keys, issuer, audience, leeway=DEFAULT_LEEWAY):
    """Verify an access token and return its claims.

    :param keys: mapping ``kid -> (algorithm, public_pem)`` of the keys to accept.
    :param issuer: the expected ``iss``.
    :param audience: the expected ``aud`` (the token's ``aud`` must contain it).
    :raises OAuthTokenError: on any failure, with a reason code.
    """
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise OAuthTokenError("malformed", "the token is not a JWT") from None
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
        raise OAuthTokenError("malformed", "the token is not a JWT")
    try:
        header = jwt.get_unverified_header(token)
    except Exception:
        raise OAuthTokenError("malformed", "the token is not a JWT") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise OAuthTokenError("bad_algorithm", "the token algorithm is not allowed")
    if header.get("typ", "").lower() not in (TOKEN_TYPE, "application/" + TOKEN_TYPE):
        raise OAuthTokenError("bad_type", "the token is not an access token")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise OAuthTokenError("unknown_kid", "the token was signed by an unknown key")
    key_algorithm, public_pem = keys[kid]
    if algorithm != key_algorithm:
        raise OAuthTokenError("bad_algorithm", "the token algorithm does not match")
    try:
        claims = jwt.decode(
            token,
            key=load_public_key(public_pem),
            algorithms=[key_algorithm],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
        )
    except jwt.PyJWTError as exc:
        for exc_type, reason, description in _ERRORS:
            if isinstance(exc, exc_type):
                raise OAuthTokenError(reason, description) from None
        raise OAuthTokenError("malformed", "the token could not be decoded") from None
    except Exception:
        raise OAuthTokenError("malformed", "the token could not be decoded") from None
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OAuthTokenError("malformed", "the token subject is invalid")
    if not isinstance(claims.get("scope", ""), str):
        raise OAuthTokenError("malformed", "the token scope is invalid")
    return claims
