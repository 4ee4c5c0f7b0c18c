"""POST /auth/token over real HTTP: success, every error code, throttle, size limit."""

import json

import jwt

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.spp_attendance.controllers.auth import TOKEN_MAX_BODY_SIZE

from .oauth_common import AUDIENCE, ApiClientMixin, basic_auth

URL = "/auth/token"
FORM = "application/x-www-form-urlencoded"


@tagged("post_install", "-at_install")
class TestTokenEndpoint(ApiClientMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client, cls.secret = cls._create_client("Token test app")
        cls.read_client, cls.read_secret = cls._create_client(
            "Read-only app", scopes="read"
        )

    def _post(self, data, content_type, headers=None):
        headers = dict({"Content-Type": content_type}, **(headers or {}))
        return self.opener.post(
            self.base_url() + URL, data=data, headers=headers, timeout=30
        )

    def _post_json(self, body, headers=None):
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return self._post(data, "application/json", headers)

    def _post_form(self, fields, headers=None):
        return self._post(fields, FORM, headers)

    def assertTokenResponse(self, response, scope="read write", client=None):
        client = client or self.client
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.headers["Cache-Control"], "no-store")
        self.assertEqual(response.headers["Pragma"], "no-cache")
        self.assertNotIn("Set-Cookie", response.headers)
        body = response.json()
        self.assertEqual(
            set(body), {"access_token", "token_type", "expires_in", "scope"}
        )
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], client.token_lifetime)
        self.assertEqual(body["scope"], scope)
        claims = self.env["spp.oauth.key"].verify_token(body["access_token"], AUDIENCE)
        self.assertEqual(claims["sub"], client.client_id)
        self.assertEqual(claims["scope"], scope)
        self.assertEqual(
            self.env["spp.attendance.api.client.credential"]
            .sudo()
            ._spp_oauth_client_from_claims(claims),
            client,
        )
        return body

    def assertOAuthError(self, response, status, error):
        self.assertEqual(response.status_code, status, response.text)
        body = response.json()
        self.assertEqual(body["error"], error)
        self.assertIsInstance(body["error_description"], str)
        self.assertEqual(response.headers["Cache-Control"], "no-store")
        return body

    # --- success -------------------------------------------------------------------

    def test_upstream_json_body(self):
        response = self._post_json(
            {"client_id": self.client.client_id, "client_secret": self.secret}
        )
        self.assertTokenResponse(response)
        self.client.invalidate_recordset()
        self.assertEqual(self.client.token_count, 1)
        self.assertTrue(self.client.last_used_at)

    def test_upstream_json_body_without_content_type(self):
        # spp_cycle_attendance_compliance posts json.dumps(...) with no Content-Type.
        body = json.dumps(
            {"client_id": self.client.client_id, "client_secret": self.secret}
        )
        response = self.opener.post(self.base_url() + URL, data=body, timeout=30)
        self.assertTokenResponse(response)
        response = self._post(body, "text/plain")
        self.assertTokenResponse(response)

    def test_rfc6749_form_with_basic_auth(self):
        response = self._post_form(
            {"grant_type": "client_credentials"},
            headers={"Authorization": basic_auth(self.client.client_id, self.secret)},
        )
        self.assertTokenResponse(response)

    def test_rfc6749_form_with_body_credentials(self):
        response = self._post_form(
            {
                "grant_type": "client_credentials",
                "client_id": self.client.client_id,
                "client_secret": self.secret,
            }
        )
        self.assertTokenResponse(response)

    def test_scope_narrowing(self):
        response = self._post_form(
            {"grant_type": "client_credentials", "scope": "read"},
            headers={"Authorization": basic_auth(self.client.client_id, self.secret)},
        )
        self.assertTokenResponse(response, scope="read")
        response = self._post_json(
            {
                "client_id": self.client.client_id,
                "client_secret": self.secret,
                "scope": "write",
            }
        )
        self.assertTokenResponse(response, scope="write")

    def test_token_lifetime_of_the_client(self):
        self.client.token_lifetime = 120
        response = self._post_json(
            {"client_id": self.client.client_id, "client_secret": self.secret}
        )
        self.assertEqual(self.assertTokenResponse(response)["expires_in"], 120)

    def test_jwks_verifies_an_issued_token(self):
        token = self.assertTokenResponse(
            self._post_json(
                {"client_id": self.client.client_id, "client_secret": self.secret}
            )
        )["access_token"]
        keyset = jwt.PyJWKSet.from_dict(self.url_open("/auth/jwks.json").json())
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(
            token,
            keyset[header["kid"]].key,
            algorithms=["RS256", "ES256"],
            audience=AUDIENCE,
        )
        self.assertEqual(claims["sub"], self.client.client_id)

    # --- errors --------------------------------------------------------------------

    def test_invalid_request(self):
        cases = {
            "not JSON": ("{nope", None),
            "JSON array": ([self.client.client_id, self.secret], None),
            "JSON string": ('"x"', None),
            "empty JSON body": (b"", None),
            "missing secret": ({"client_id": self.client.client_id}, None),
            "missing client id": ({"client_secret": self.secret}, None),
            "empty values": ({"client_id": "", "client_secret": ""}, None),
            "non-string values": ({"client_id": 1, "client_secret": ["x"]}, None),
            "non-string scope": (
                {
                    "client_id": self.client.client_id,
                    "client_secret": self.secret,
                    "scope": ["read"],
                },
                None,
            ),
            "two authentication methods": (
                {"client_id": self.client.client_id, "client_secret": self.secret},
                {"Authorization": basic_auth(self.client.client_id, self.secret)},
            ),
            "malformed basic": (
                {"grant_type": "client_credentials"},
                {"Authorization": "Basic !!!"},
            ),
            "basic without colon": (
                {},
                {"Authorization": "Basic " + "YWJj"},
            ),
            "bearer instead of basic": ({}, {"Authorization": "Bearer abc"}),
        }
        for name, (body, headers) in cases.items():
            with self.subTest(case=name):
                self.assertOAuthError(
                    self._post_json(body, headers), 400, "invalid_request"
                )

    def test_invalid_request_form(self):
        # no grant_type
        self.assertOAuthError(
            self._post_form(
                {"client_id": self.client.client_id, "client_secret": self.secret}
            ),
            400,
            "invalid_request",
        )
        # repeated parameter
        self.assertOAuthError(
            self._post_form(
                "grant_type=client_credentials&client_id=a&client_id=b"
                "&client_secret=x"
            ),
            400,
            "invalid_request",
        )
        # unsupported content type
        response = self._post("client_id=a", "text/plain")
        self.assertOAuthError(response, 400, "invalid_request")

    def test_unsupported_grant_type(self):
        self.assertOAuthError(
            self._post_form(
                {
                    "grant_type": "password",
                    "client_id": self.client.client_id,
                    "client_secret": self.secret,
                }
            ),
            400,
            "unsupported_grant_type",
        )
        self.assertOAuthError(
            self._post_json(
                {
                    "grant_type": "authorization_code",
                    "client_id": self.client.client_id,
                    "client_secret": self.secret,
                }
            ),
            400,
            "unsupported_grant_type",
        )

    def test_invalid_client_same_answer(self):
        wrong_secret = self._post_json(
            {"client_id": self.client.client_id, "client_secret": "c-secret-wrong"}
        )
        unknown = self._post_json(
            {"client_id": "c-id-does-not-exist", "client_secret": self.secret}
        )
        for response in (wrong_secret, unknown):
            self.assertOAuthError(response, 401, "invalid_client")
        self.assertEqual(wrong_secret.json(), unknown.json())
        self.assertEqual(wrong_secret.headers.get("WWW-Authenticate"), None)

    def test_invalid_client_basic_challenge(self):
        response = self._post_form(
            {"grant_type": "client_credentials"},
            headers={"Authorization": basic_auth(self.client.client_id, "wrong")},
        )
        self.assertOAuthError(response, 401, "invalid_client")
        self.assertTrue(response.headers["WWW-Authenticate"].startswith("Basic "))

    def test_archived_client_and_old_secret(self):
        old_secret = self.secret
        new_secret = self.client._spp_oauth_generate_secret()
        body = {"client_id": self.client.client_id, "client_secret": old_secret}
        self.assertOAuthError(self._post_json(body), 401, "invalid_client")
        body["client_secret"] = new_secret
        self.assertTokenResponse(self._post_json(body))
        self.client.action_archive()
        self.assertOAuthError(self._post_json(body), 401, "invalid_client")

    def test_invalid_scope(self):
        for client, secret, scope in (
            (self.read_client, self.read_secret, "write"),
            (self.read_client, self.read_secret, "read write"),
            (self.client, self.secret, "admin"),
        ):
            with self.subTest(scope=scope):
                self.assertOAuthError(
                    self._post_form(
                        {"grant_type": "client_credentials", "scope": scope},
                        headers={"Authorization": basic_auth(client.client_id, secret)},
                    ),
                    400,
                    "invalid_scope",
                )

    def test_method_not_allowed(self):
        response = self.url_open(URL)
        self.assertEqual(response.status_code, 405)

    def test_body_too_large(self):
        big = json.dumps(
            {
                "client_id": self.client.client_id,
                "client_secret": self.secret,
                "padding": "x" * TOKEN_MAX_BODY_SIZE,
            }
        )
        response = self._post_json(big)
        self.assertEqual(response.status_code, 413, response.text)
        big_form = {
            "grant_type": "client_credentials",
            "pad": "x" * TOKEN_MAX_BODY_SIZE,
        }
        self.assertEqual(self._post_form(big_form).status_code, 413)
        # just under the limit is fine
        body = {"client_id": self.client.client_id, "client_secret": self.secret}
        body["padding"] = "x" * (TOKEN_MAX_BODY_SIZE - len(json.dumps(body)) - 20)
        self.assertTokenResponse(self._post_json(body))

    # --- throttling ----------------------------------------------------------------

    @mute_logger("odoo.addons.spp_attendance.controllers.auth")
    def test_throttle_per_client_id(self):
        ICP = self.env["ir.config_parameter"]
        ICP.set_param("spp_oauth.throttle_client_limit", "3")
        wrong = {"client_id": self.client.client_id, "client_secret": "wrong"}
        for _attempt in range(3):
            self.assertOAuthError(self._post_json(wrong), 401, "invalid_client")
        good = {"client_id": self.client.client_id, "client_secret": self.secret}
        response = self._post_json(good)
        self.assertOAuthError(response, 429, "too_many_requests")
        retry_after = int(response.headers["Retry-After"])
        self.assertTrue(0 < retry_after <= 301, retry_after)
        # an unknown client id is throttled the same way (no probing)
        unknown = {"client_id": "c-id-unknown", "client_secret": "wrong"}
        for _attempt in range(3):
            self.assertOAuthError(self._post_json(unknown), 401, "invalid_client")
        self.assertOAuthError(self._post_json(unknown), 429, "too_many_requests")
        # other clients from the same address are not affected
        self.assertTokenResponse(
            self._post_json(
                {
                    "client_id": self.read_client.client_id,
                    "client_secret": self.read_secret,
                }
            ),
            scope="read",
            client=self.read_client,
        )
        # the window ends: the client may try again
        self.env.cr.execute(
            "UPDATE spp_oauth_throttle SET window_start = window_start - interval "
            "'1 hour'"
        )
        self.assertTokenResponse(self._post_json(good))

    @mute_logger("odoo.addons.spp_attendance.controllers.auth")
    def test_throttle_per_address(self):
        self.env["ir.config_parameter"].set_param("spp_oauth.throttle_ip_limit", "4")
        for attempt in range(4):
            body = {"client_id": f"c-id-guess-{attempt}", "client_secret": "x"}
            self.assertOAuthError(self._post_json(body), 401, "invalid_client")
        response = self._post_json(
            {"client_id": self.client.client_id, "client_secret": self.secret}
        )
        self.assertOAuthError(response, 429, "too_many_requests")
        self.assertIn("Retry-After", response.headers)
