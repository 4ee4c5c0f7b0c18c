"""The public JWKS document, read over HTTP and used by a plain PyJWT client."""

import jwt

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestJwks(HttpCase):
    def _jwks(self):
        response = self.url_open("/auth/jwks.json")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("application/json"))
        return response.json()

    def test_jwks_verifies_tokens_after_rotation(self):
        Key = self.env["spp.oauth.key"]
        old_token, old_claims = Key.issue_token("c-id-1", "test_api", ["read"], 600)
        Key.action_rotate(algorithm="ES256")
        new_token, new_claims = Key.issue_token("c-id-1", "test_api", ["read"], 600)
        jwks = self._jwks()
        kids = {jwk["kid"] for jwk in jwks["keys"]}
        self.assertEqual(kids, set(Key._spp_oauth_verification_keys()))
        self.assertEqual(len(kids), 2)
        for jwk in jwks["keys"]:
            self.assertFalse({"d", "p", "q", "dp", "dq", "qi"} & set(jwk))
            self.assertEqual(jwk["use"], "sig")
        keyset = jwt.PyJWKSet.from_dict(jwks)
        for token, claims in ((old_token, old_claims), (new_token, new_claims)):
            header = jwt.get_unverified_header(token)
            decoded = jwt.decode(
                token,
                keyset[header["kid"]].key,
                algorithms=[header["alg"]],
                audience="test_api",
                issuer=claims["iss"],
            )
            self.assertEqual(decoded, claims)

    def test_jwks_has_no_private_material(self):
        body = self.url_open("/auth/jwks.json").text
        self.assertNotIn("PRIVATE", body)
        self.assertNotIn('"d"', body)
