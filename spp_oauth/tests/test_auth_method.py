"""The ``spp_bearer`` auth method and the body-size limit, over real HTTP."""

import base64
import time

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.spp_oauth.tools import tokens

from . import common

READ = common.PREFIX + "/read"
WRITE = common.PREFIX + "/write"


@tagged("post_install", "-at_install")
class TestAuthMethod(common.SppOAuthHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client, cls.secret = cls._create_client("Auth method app")

    def _get(self, authorization=None, path=READ):
        headers = {"Authorization": authorization} if authorization is not None else {}
        return self.url_open(path, headers=headers)

    def _post(self, data, authorization=None, path=WRITE, headers=None):
        headers = dict(headers or {})
        if authorization is not None:
            headers["Authorization"] = authorization
        headers.setdefault("Content-Type", "application/json")
        return self.opener.post(
            self.base_url() + path, data=data, headers=headers, timeout=30
        )

    def assertUnauthorized(self, response):
        self.assertEqual(response.status_code, 401, response.text)
        challenge = response.headers.get("WWW-Authenticate", "")
        self.assertTrue(challenge.startswith('Bearer error="invalid_token"'), challenge)
        self.assertEqual(
            response.json(), {"error": {"code": 401, "message": "Unauthorized"}}
        )
        self.assertTrue(response.headers["Content-Type"].startswith("application/json"))
        self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
        self.assertNotIn("Set-Cookie", response.headers)

    # --- valid tokens --------------------------------------------------------------

    def test_valid_token(self):
        response = self._get("Bearer " + self._sign())
        self.assertEqual(response.status_code, 200, response.text)
        self.assertNotIn("Set-Cookie", response.headers)
        body = response.json()
        self.assertEqual(body["client_id"], self.client.client_id)
        self.assertEqual(body["scope"], "read write")
        # the controller runs as the client's env user (the public user by default)
        # with the client's context only
        self.assertEqual(body["uid"], self.env.ref("base.public_user").id)
        self.assertEqual(body["context"], {"spp_oauth_test_client_id": self.client.id})

    def test_scheme_is_case_insensitive(self):
        self.assertEqual(self._get("bearer " + self._sign()).status_code, 200)
        self.assertEqual(self._get("BEARER  " + self._sign()).status_code, 200)

    def test_route_without_scope(self):
        token = self._sign(scopes=["admin"])
        response = self._get("Bearer " + token, path=common.PREFIX + "/any_scope")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["scope"], "admin")

    def test_session_user_is_not_used(self):
        self.authenticate("admin", "admin")
        self.assertUnauthorized(self._get())
        response = self._get("Bearer " + self._sign())
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["uid"], self.env.ref("base.public_user").id)

    # --- 401 -----------------------------------------------------------------------

    def test_missing_or_malformed_header(self):
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

    def test_missing_header_challenge(self):
        response = self._get()
        self.assertEqual(
            response.headers["WWW-Authenticate"],
            'Bearer error="invalid_token", error_description="missing bearer token"',
        )

    def test_invalid_tokens(self):
        other_key = tokens.generate_private_key("RS256")
        cases = {
            "expired": self._sign(now=time.time() - 3600),
            "not yet valid": self._sign(now=time.time() + 3600),
            "wrong audience": self._sign(audience="another_api"),
            "wrong issuer": self._sign(issuer="https://evil.example"),
            "unknown kid": self._sign(kid="unknown"),
            "signed by another key": self._sign(private_pem=other_key),
            "unknown client": self._sign(subject="c-id-unknown"),
        }
        for name, token in cases.items():
            with self.subTest(case=name):
                self.assertUnauthorized(self._get("Bearer " + token))

    def test_revoked_client(self):
        token = self._sign()
        self.assertEqual(self._get("Bearer " + token).status_code, 200)
        self.client._spp_oauth_generate_secret()
        self.assertUnauthorized(self._get("Bearer " + token))
        fresh = self._sign()
        self.assertEqual(self._get("Bearer " + fresh).status_code, 200)
        self.client.action_archive()
        self.assertUnauthorized(self._get("Bearer " + fresh))

    def test_token_of_another_client_model_audience(self):
        # a token for the same client id but another API is refused
        self.assertUnauthorized(self._get("Bearer " + self._sign(audience="other")))

    # --- 403 -----------------------------------------------------------------------

    def test_insufficient_scope(self):
        response = self._post(b"{}", "Bearer " + self._sign(scopes=["read"]))
        self.assertEqual(response.status_code, 403, response.text)
        self.assertEqual(
            response.headers["WWW-Authenticate"],
            'Bearer error="insufficient_scope", '
            'error_description="the write scope is required", scope="write"',
        )
        self.assertEqual(
            response.json(), {"error": {"code": 403, "message": "Forbidden"}}
        )
        response = self._post(b"{}", "Bearer " + self._sign())
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), {"ok": True, "size": 2})

    # --- configuration -------------------------------------------------------------

    @mute_logger("odoo.addons.spp_oauth.models.ir_http")
    def test_route_without_client_model(self):
        response = self._get(
            "Bearer " + self._sign(), path=common.PREFIX + "/misconfigured"
        )
        self.assertEqual(response.status_code, 500)
        self.assertNotIn("reached", response.text)

    # --- deprecated decorator ------------------------------------------------------

    def test_require_bearer_answers_the_same(self):
        legacy = common.PREFIX + "/legacy/read"
        for header in (None, "Bearer garbage", "Bearer " + self._sign(kid="x")):
            with self.subTest(header=header):
                new, old = self._get(header), self._get(header, path=legacy)
                self.assertUnauthorized(old)
                self.assertEqual(old.content, new.content)
                self.assertEqual(
                    old.headers["WWW-Authenticate"], new.headers["WWW-Authenticate"]
                )
        response = self._get("Bearer " + self._sign(), path=legacy)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), self._get("Bearer " + self._sign()).json())


@tagged("post_install", "-at_install")
class TestBodySize(common.SppOAuthHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client, cls.secret = cls._create_client("Body size app")

    def _post(self, data, headers):
        return self.opener.post(
            self.base_url() + WRITE, data=data, headers=headers, timeout=30
        )

    def test_body_too_large_is_413(self):
        auth = {"Authorization": "Bearer " + self._sign()}
        limit = common.TEST_MAX_BODY_SIZE
        response = self._post(b"x" * (limit + 1), auth)
        self.assertEqual(response.status_code, 413, response.text)
        self.assertEqual(
            response.json(),
            {
                "error": {
                    "code": 413,
                    "message": f"Request body too large (at most {limit} bytes "
                    "are accepted).",
                }
            },
        )
        response = self._post(b"x" * limit, auth)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["size"], limit)

    def test_size_is_checked_before_authentication(self):
        limit = common.TEST_MAX_BODY_SIZE
        response = self._post(b"x" * (limit + 1), {})
        self.assertEqual(response.status_code, 413, response.text)
        response = self._post(b"x" * 10, {})
        self.assertEqual(response.status_code, 401, response.text)

    def test_chunked_body_is_411(self):
        def chunks():
            yield b'{"a": '
            yield b"1}"

        for headers in ({}, {"Authorization": "Bearer " + self._sign()}):
            with self.subTest(headers=headers):
                response = self._post(chunks(), headers)
                self.assertEqual(response.status_code, 411, response.text)
                self.assertEqual(response.json()["error"]["code"], 411)

    def test_token_endpoint_limit(self):
        response = self.opener.post(
            self.base_url() + common.PREFIX + "/token",
            data=b"x" * (common.TEST_MAX_BODY_SIZE + 1),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        self.assertEqual(response.status_code, 413, response.text)
