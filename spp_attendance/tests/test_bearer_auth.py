"""Bearer-token protection of API routes (spp_oauth's require_bearer) over real HTTP.

The routes below exist only while the tests run: they stand for the attendance API's
read and write endpoints.
"""

import base64
import hashlib
import hmac
import json
import time

from odoo import SUPERUSER_ID, http
from odoo.http import request
from odoo.tests import HttpCase, tagged

from odoo.addons.spp_oauth.http import require_bearer
from odoo.addons.spp_oauth.tools import tokens

from .oauth_common import AUDIENCE, CLIENT_MODEL, ApiClientMixin


class BearerTestController(http.Controller):
    @http.route(
        "/spp_attendance/test/bearer/read",
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
    )
    @require_bearer(client_model=CLIENT_MODEL, audience=AUDIENCE, scope="read")
    def bearer_read(self, **kwargs):
        return request.make_json_response(
            {
                "client_id": request.spp_oauth_client.client_id,
                "scope": request.spp_oauth_claims["scope"],
                "uid": request.env.uid,
            }
        )

    @http.route(
        "/spp_attendance/test/bearer/write",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    @require_bearer(client_model=CLIENT_MODEL, audience=AUDIENCE, scope="write")
    def bearer_write(self, **kwargs):
        return request.make_json_response({"ok": True})


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@tagged("post_install", "-at_install")
class TestBearerAuth(ApiClientMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.registry.clear_cache("routing")
        cls.client, cls.secret = cls._create_client("Bearer test app")

    def _get(self, authorization=None, path="/spp_attendance/test/bearer/read"):
        headers = {"Authorization": authorization} if authorization is not None else {}
        return self.url_open(path, headers=headers)

    def assertUnauthorized(self, response):
        self.assertEqual(response.status_code, 401, response.text)
        challenge = response.headers.get("WWW-Authenticate", "")
        self.assertTrue(challenge.startswith("Bearer "), challenge)
        self.assertIn('error="invalid_token"', challenge)
        self.assertEqual(response.json()["error"]["code"], 401)

    def test_valid_token(self):
        response = self._get("Bearer " + self._sign())
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["client_id"], self.client.client_id)
        self.assertEqual(body["scope"], "read write")
        # the controller does not run as the superuser, but as the API's technical
        # user (no access rights; named in the audit trail)
        self.assertEqual(
            body["uid"], self.env.ref("spp_attendance.user_attendance_api").id
        )
        self.assertNotEqual(body["uid"], SUPERUSER_ID)

    def test_scheme_is_case_insensitive(self):
        self.assertEqual(self._get("bearer " + self._sign()).status_code, 200)

    def test_missing_or_wrong_header_is_401_never_500(self):
        token = self._sign()
        for header in (
            None,
            "",
            "Bearer",
            "Bearer ",
            "Basic " + base64.b64encode(b"a:b").decode(),
            "Token " + token,
            token,
            "Bearer garbage",
            "Bearer a.b.c",
            "Bearer " + "x" * 10000,
            "Bearer " + token + " extra",
            "Bearer \u00e9\u00e8.a.b",
        ):
            with self.subTest(header=header):
                self.assertUnauthorized(self._get(header))

    def test_attack_matrix(self):
        key = self.env["spp.oauth.key"].search([("state", "=", "current")])
        valid = self._sign()
        header, payload, signature = valid.split(".")
        claims = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )

        unsigned_header = _b64(
            json.dumps({"alg": "none", "typ": "at+jwt", "kid": key.kid}).encode()
        )
        hs_header = _b64(
            json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": key.kid}).encode()
        )
        hs_input = f"{hs_header}.{payload}"
        hs_signature = hmac.new(
            key.public_key_pem.encode(), hs_input.encode(), hashlib.sha256
        ).digest()
        tampered = dict(claims, sub="c-id-someone-else")
        other_key = tokens.generate_private_key("RS256")
        cases = {
            "alg none": f"{unsigned_header}.{payload}.",
            "HS256 with the public key": f"{hs_input}.{_b64(hs_signature)}",
            "expired": self._sign(now=time.time() - 3600),
            "not yet valid": self._sign(now=time.time() + 3600),
            "wrong issuer": self._sign(issuer="https://evil.example"),
            "wrong audience": self._sign(audience="other_api"),
            "unknown kid": self._sign(kid="unknown"),
            "signed by another key": self._sign(private_pem=other_key),
            "tampered payload": (
                f"{header}.{_b64(json.dumps(tampered).encode())}.{signature}"
            ),
            "unknown client": self._sign(subject="c-id-unknown"),
        }
        for name, token in cases.items():
            with self.subTest(case=name):
                self.assertUnauthorized(self._get("Bearer " + token))
        self.assertEqual(self._get("Bearer " + valid).status_code, 200)

    def test_archived_client_token_rejected_at_once(self):
        token = self._sign()
        self.assertEqual(self._get("Bearer " + token).status_code, 200)
        self.client.action_revoke()
        self.assertUnauthorized(self._get("Bearer " + token))

    def test_regenerated_secret_rejects_older_tokens(self):
        token = self._sign()
        self.client._spp_oauth_generate_secret()
        self.assertUnauthorized(self._get("Bearer " + token))
        self.assertEqual(self._get("Bearer " + self._sign()).status_code, 200)

    def test_token_from_before_key_rotation(self):
        Key = self.env["spp.oauth.key"]
        old_key = Key.search([("state", "=", "current")])
        before = self._sign()
        expired_before = self._sign(now=time.time() - 3600)
        Key.action_rotate()
        self.assertNotEqual(Key.search([("state", "=", "current")]), old_key)
        # still valid until it expires
        self.assertEqual(self._get("Bearer " + before).status_code, 200)
        # a token of the previous key past its expiry is not
        self.assertUnauthorized(self._get("Bearer " + expired_before))
        # new tokens come from the new key
        self.assertEqual(self._get("Bearer " + self._sign()).status_code, 200)

    def test_missing_scope_is_403(self):
        read_only = self._sign(scopes=["read"])
        response = self.url_open(
            "/spp_attendance/test/bearer/write",
            data=b"{}",
            headers={"Authorization": "Bearer " + read_only},
        )
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn(
            'error="insufficient_scope"', response.headers["WWW-Authenticate"]
        )
        self.assertEqual(response.json()["error"]["code"], 403)
        response = self.url_open(
            "/spp_attendance/test/bearer/write",
            data=b"{}",
            headers={"Authorization": "Bearer " + self._sign()},
        )
        self.assertEqual(response.status_code, 200, response.text)
