"""The pure token functions (no ORM): issuing, verification and its attack matrix."""

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from odoo.tests import BaseCase, tagged

from odoo.addons.spp_oauth.tools import tokens
from odoo.addons.spp_oauth.tools.tokens import OAuthTokenError

ISSUER = "test-issuer"
AUDIENCE = "test_api"


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class KeyMixin:
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rsa_private = tokens.generate_private_key("RS256")
        cls.rsa_public = tokens.public_pem_from_private(cls.rsa_private)
        cls.rsa_kid = tokens.jwk_thumbprint(cls.rsa_public)
        cls.ec_private = tokens.generate_private_key("ES256")
        cls.ec_public = tokens.public_pem_from_private(cls.ec_private)
        cls.ec_kid = tokens.jwk_thumbprint(cls.ec_public)
        cls.keys = {
            cls.rsa_kid: ("RS256", cls.rsa_public),
            cls.ec_kid: ("ES256", cls.ec_public),
        }

    def _issue(self, algorithm="RS256", **kwargs):
        private, kid = (
            (self.rsa_private, self.rsa_kid)
            if algorithm == "RS256"
            else (self.ec_private, self.ec_kid)
        )
        params = {
            "private_pem": private,
            "kid": kid,
            "algorithm": algorithm,
            "issuer": ISSUER,
            "subject": "c-id-1",
            "audience": AUDIENCE,
            "scopes": ["read"],
            "lifetime": 600,
        }
        params.update(kwargs)
        return tokens.issue(**params)

    def _verify(self, token, **kwargs):
        params = {"keys": self.keys, "issuer": ISSUER, "audience": AUDIENCE}
        params.update(kwargs)
        return tokens.verify(token, **params)

    def assertReason(self, reason, token, **kwargs):
        with self.assertRaises(OAuthTokenError) as caught:
            self._verify(token, **kwargs)
        self.assertEqual(caught.exception.reason, reason, caught.exception)

    def _forge(self, header, claims, private_pem=None, algorithm="RS256"):
        """A token with exactly this header and these claims, RS256-signed."""
        signing_input = (
            _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        )
        key = tokens.load_private_key(private_pem or self.rsa_private)
        algo = jwt.algorithms.get_default_algorithms()[algorithm]
        return signing_input + "." + _b64(algo.sign(signing_input.encode(), key))


@tagged("post_install", "-at_install")
class TestTokens(KeyMixin, BaseCase):
    def test_round_trip_rs256_and_es256(self):
        for algorithm in ("RS256", "ES256"):
            token, claims = self._issue(algorithm, scopes=["write", "read"])
            header = jwt.get_unverified_header(token)
            self.assertEqual(header["alg"], algorithm)
            self.assertEqual(header["typ"], "at+jwt")
            self.assertIn(header["kid"], self.keys)
            verified = self._verify(token)
            self.assertEqual(verified, claims)
            self.assertEqual(verified["scope"], "read write")
            for claim in ("exp", "iat", "nbf", "iss", "aud", "sub", "jti"):
                self.assertIn(claim, verified)
            self.assertEqual(verified["exp"] - verified["iat"], 600)

    def test_jti_unique(self):
        first = self._issue()[1]["jti"]
        second = self._issue()[1]["jti"]
        self.assertNotEqual(first, second)

    def test_lifetime_is_bounded(self):
        _token, claims = self._issue(lifetime=10**9)
        self.assertEqual(claims["exp"] - claims["iat"], tokens.MAX_TOKEN_LIFETIME)
        _token, claims = self._issue(lifetime=1)
        self.assertEqual(claims["exp"] - claims["iat"], tokens.MIN_TOKEN_LIFETIME)

    def test_extra_claims_cannot_override_registered_claims(self):
        _token, claims = self._issue(extra_claims={"sub": "admin", "client_id": "c"})
        self.assertEqual(claims["sub"], "c-id-1")
        self.assertEqual(claims["client_id"], "c")

    def test_alg_none_rejected(self):
        token, claims = self._issue()
        unsigned = jwt.encode(
            claims, None, algorithm="none", headers={"kid": self.rsa_kid}
        )
        self.assertReason("bad_algorithm", unsigned)
        # also with a "none" header and the original signature kept
        header = {"alg": "none", "typ": "at+jwt", "kid": self.rsa_kid}
        parts = token.split(".")
        self.assertReason(
            "bad_algorithm",
            _b64(json.dumps(header).encode()) + "." + parts[1] + "." + parts[2],
        )

    def test_hs256_signed_with_public_key_rejected(self):
        _token, claims = self._issue()
        header = {"alg": "HS256", "typ": "at+jwt", "kid": self.rsa_kid}
        signing_input = (
            _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        )
        signature = hmac.new(
            self.rsa_public.encode(), signing_input.encode(), hashlib.sha256
        ).digest()
        self.assertReason("bad_algorithm", signing_input + "." + _b64(signature))

    def test_algorithm_must_match_the_key(self):
        # An ES256 header naming the RSA key.
        _token, claims = self._issue()
        header = {"alg": "ES256", "typ": "at+jwt", "kid": self.rsa_kid}
        forged = self._forge(header, claims, self.ec_private, "ES256")
        self.assertReason("bad_algorithm", forged)

    def test_expired(self):
        token, _claims = self._issue(now=time.time() - 3600)
        self.assertReason("expired", token)

    def test_expiry_leeway(self):
        # expired 10 s ago: accepted within the default 30 s leeway, not without it
        token, _claims = self._issue(now=time.time() - 610)
        self._verify(token)
        self.assertReason("expired", token, leeway=0)

    def test_not_yet_valid(self):
        token, _claims = self._issue(now=time.time() + 3600)
        self.assertReason("not_yet_valid", token)

    def test_wrong_issuer(self):
        token, _claims = self._issue(issuer="someone-else")
        self.assertReason("bad_issuer", token)

    def test_wrong_audience(self):
        token, _claims = self._issue(audience="other_api")
        self.assertReason("bad_audience", token)

    def test_unknown_kid(self):
        token, _claims = self._issue(kid="not-a-known-key")
        self.assertReason("unknown_kid", token)
        _token, claims = self._issue()
        no_kid = self._forge({"alg": "RS256", "typ": "at+jwt"}, claims)
        self.assertReason("unknown_kid", no_kid)

    def test_signature_of_another_key(self):
        other = tokens.generate_private_key("RS256")
        token, _claims = self._issue(private_pem=other)  # kid of the known key
        self.assertReason("bad_signature", token)

    def test_tampered_payload(self):
        token, claims = self._issue()
        header, _payload, signature = token.split(".")
        claims["scope"] = "read write"
        payload = _b64(json.dumps(claims).encode())
        self.assertReason("bad_signature", f"{header}.{payload}.{signature}")

    def test_missing_claims(self):
        _token, claims = self._issue()
        header = {"alg": "RS256", "typ": "at+jwt", "kid": self.rsa_kid}
        for claim in ("exp", "iat", "iss", "aud", "sub", "jti"):
            partial = dict(claims)
            del partial[claim]
            with self.subTest(claim=claim):
                self.assertReason("missing_claim", self._forge(header, partial))

    def test_wrong_type(self):
        _token, claims = self._issue()
        forged = self._forge(
            {"alg": "RS256", "typ": "JWT", "kid": self.rsa_kid}, claims
        )
        self.assertReason("bad_type", forged)

    def test_garbage(self):
        for garbage in (
            "",
            "abc",
            "a.b.c",
            "....",
            "eyJhbGciOi.e30.c2ln",
            "x" * 10000,
            b"\xff\xfe.a.b",
            None,
            12,
        ):
            with self.subTest(garbage=garbage):
                self.assertReason("malformed", garbage)

    def test_thumbprint_rfc7638_example(self):
        # The example key of RFC 7638 section 3.1 and its published thumbprint.
        n = (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxu"
            "hDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN"
            "5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5"
            "hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBni"
            "Iqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        )
        modulus = int.from_bytes(
            base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big"
        )
        pem = (
            rsa.RSAPublicNumbers(65537, modulus)
            .public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.assertEqual(
            tokens.jwk_thumbprint(pem), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        )

    def test_jwks_verifies_with_plain_pyjwt(self):
        jwks = tokens.build_jwks(
            (kid, alg, pem) for kid, (alg, pem) in self.keys.items()
        )
        for jwk in jwks["keys"]:
            self.assertFalse({"d", "p", "q", "dp", "dq", "qi"} & set(jwk))
        keyset = jwt.PyJWKSet.from_dict(jwks)
        for algorithm in ("RS256", "ES256"):
            token, claims = self._issue(algorithm)
            kid = jwt.get_unverified_header(token)["kid"]
            decoded = jwt.decode(
                token,
                keyset[kid].key,
                algorithms=[algorithm],
                audience=AUDIENCE,
                issuer=ISSUER,
            )
            self.assertEqual(decoded, claims)

    def test_weak_keys_refused(self):
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        with self.assertRaises(ValueError):
            tokens.algorithm_for_private_key(small)
