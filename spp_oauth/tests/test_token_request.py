"""Token requests: the parser on its own, and spp_oauth's token endpoint over HTTP."""

import json
import unittest

import jwt
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.spp_oauth.tools.token_request import (
    TokenRequestError,
    basic_credentials,
    parse_token_request,
)

from . import common

URL = common.PREFIX + "/token"
FORM = "application/x-www-form-urlencoded"


def _request(data=None, content_type=None, headers=None, json_body=None):
    builder = EnvironBuilder(
        method="POST",
        data=json.dumps(json_body) if json_body is not None else data,
        content_type=content_type,
        headers=headers or {},
    )
    return Request(builder.get_environ())


class TestParseTokenRequest(unittest.TestCase):
    """The pure-Python parser (no database, no server)."""

    def assertRefused(self, request, error="invalid_request", status=400):
        with self.assertRaises(TokenRequestError) as caught:
            parse_token_request(request)
        self.assertEqual(caught.exception.error, error)
        self.assertEqual(caught.exception.status, status)
        self.assertEqual(
            caught.exception.to_dict(),
            {"error": error, "error_description": caught.exception.description},
        )
        return caught.exception

    def test_json_body(self):
        request = _request(
            json_body={"client_id": "c", "client_secret": "s"},
            content_type="application/json",
        )
        self.assertEqual(parse_token_request(request), ("c", "s", None, False))

    def test_json_without_content_type_and_text_plain(self):
        body = json.dumps({"client_id": "c", "client_secret": "s", "scope": "read"})
        for content_type in (None, "text/plain"):
            with self.subTest(content_type=content_type):
                request = _request(body, content_type)
                self.assertEqual(
                    parse_token_request(request), ("c", "s", "read", False)
                )

    def test_form_with_basic(self):
        request = _request(
            "grant_type=client_credentials&scope=write",
            FORM,
            {"Authorization": common.basic_auth("c%3Aid", "s:ecret")},
        )
        self.assertEqual(
            parse_token_request(request), ("c:id", "s:ecret", "write", True)
        )

    def test_form_with_body_credentials(self):
        request = _request(
            "grant_type=client_credentials&client_id=c&client_secret=s", FORM
        )
        self.assertEqual(parse_token_request(request), ("c", "s", None, False))

    def test_refusals(self):
        cases = {
            "not JSON": _request("{nope", "application/json"),
            "JSON array": _request("[]", "application/json"),
            "missing secret": _request(json_body={"client_id": "c"}),
            "non-string": _request(json_body={"client_id": 1, "client_secret": "s"}),
            "non-string scope": _request(
                json_body={"client_id": "c", "client_secret": "s", "scope": ["a"]}
            ),
            "NUL": _request(json_body={"client_id": "c\x00", "client_secret": "s"}),
            "form without grant_type": _request("client_id=c&client_secret=s", FORM),
            "repeated": _request(
                "grant_type=client_credentials&client_id=a&client_id=b", FORM
            ),
            "other content type": _request("x", "application/xml"),
            "two methods": _request(
                json_body={"client_id": "c", "client_secret": "s"},
                headers={"Authorization": common.basic_auth("c", "s")},
            ),
            "mismatched client_id": _request(
                json_body={"client_id": "other"},
                headers={"Authorization": common.basic_auth("c", "s")},
            ),
        }
        for name, request in cases.items():
            with self.subTest(case=name):
                self.assertRefused(request)

    def test_unsupported_grant_type(self):
        self.assertRefused(
            _request("grant_type=password&client_id=c&client_secret=s", FORM),
            "unsupported_grant_type",
        )

    def test_basic_credentials(self):
        self.assertEqual(basic_credentials(common.basic_auth("a", "b")), ("a", "b"))
        for header in ("Bearer abc", "Basic !!!", "Basic YWJj"):
            with self.subTest(header=header), self.assertRaises(TokenRequestError):
                basic_credentials(header)


@tagged("post_install", "-at_install")
class TestTokenEndpoint(common.SppOAuthHttpCase):
    """``token_endpoint_response`` behind a test route, for the test client model."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client, cls.secret = cls._create_client("Token app")
        cls.read_client, cls.read_secret = cls._create_client(
            "Read-only app", scopes="read"
        )

    def _post(self, data, content_type, headers=None):
        headers = dict({"Content-Type": content_type}, **(headers or {}))
        return self.opener.post(
            self.base_url() + URL, data=data, headers=headers, timeout=30
        )

    def _post_json(self, body, headers=None):
        return self._post(json.dumps(body), "application/json", headers)

    def _credentials(self, client=None, secret=None):
        return {
            "client_id": (client or self.client).client_id,
            "client_secret": secret or self.secret,
        }

    def assertToken(self, response, scope="read write", client=None):
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
        claims = self.env["spp.oauth.key"].verify_token(
            body["access_token"], common.TEST_AUDIENCE
        )
        self.assertEqual(claims["sub"], client.client_id)
        return body

    def assertOAuthError(self, response, status, error, description=None):
        self.assertEqual(response.status_code, status, response.text)
        body = response.json()
        self.assertEqual(set(body), {"error", "error_description"})
        self.assertEqual(body["error"], error)
        if description is not None:
            self.assertEqual(body["error_description"], description)
        self.assertEqual(response.headers["Cache-Control"], "no-store")
        self.assertEqual(response.headers["Pragma"], "no-cache")
        return body

    def test_json_body(self):
        self.assertToken(self._post_json(self._credentials()))
        self.client.invalidate_recordset()
        self.assertEqual(self.client.token_count, 1)
        self.assertTrue(self.client.last_used_at)

    def test_form_with_basic_and_scope(self):
        response = self._post(
            {"grant_type": "client_credentials", "scope": "read"},
            FORM,
            {"Authorization": common.basic_auth(self.client.client_id, self.secret)},
        )
        self.assertToken(response, scope="read")

    def test_form_with_body_credentials(self):
        response = self._post(
            dict(self._credentials(), grant_type="client_credentials"), FORM
        )
        self.assertToken(response)

    def test_issued_token_opens_the_protected_route(self):
        token = self.assertToken(self._post_json(self._credentials()))["access_token"]
        response = self.url_open(
            common.PREFIX + "/read", headers={"Authorization": "Bearer " + token}
        )
        self.assertEqual(response.status_code, 200, response.text)
        keyset = jwt.PyJWKSet.from_dict(self.url_open("/auth/jwks.json").json())
        kid = jwt.get_unverified_header(token)["kid"]
        claims = jwt.decode(
            token,
            keyset[kid].key,
            algorithms=["RS256", "ES256"],
            audience=common.TEST_AUDIENCE,
        )
        self.assertEqual(claims["sub"], self.client.client_id)

    def test_errors(self):
        self.assertOAuthError(
            self._post("{nope", "application/json"),
            400,
            "invalid_request",
            "The body must be a JSON object.",
        )
        self.assertOAuthError(
            self._post("x", "application/xml"),
            400,
            "invalid_request",
            "Send application/x-www-form-urlencoded (RFC 6749) or application/json.",
        )
        self.assertOAuthError(
            self._post_json(dict(self._credentials(), grant_type="password")),
            400,
            "unsupported_grant_type",
            "Only the client_credentials grant is supported.",
        )
        self.assertOAuthError(
            self._post_json(
                {"client_id": self.read_client.client_id},
                {"Authorization": "Basic !!!"},
            ),
            400,
            "invalid_request",
            "Malformed HTTP Basic credentials.",
        )
        self.assertOAuthError(
            self._post_json(
                dict(
                    self._credentials(self.read_client, self.read_secret), scope="write"
                )
            ),
            400,
            "invalid_scope",
            "The requested scope is not granted.",
        )

    def test_invalid_client(self):
        wrong = self._post_json(self._credentials(secret="c-secret-wrong"))
        unknown = self._post_json({"client_id": "c-id-nope", "client_secret": "x"})
        for response in (wrong, unknown):
            self.assertOAuthError(
                response, 401, "invalid_client", "Invalid client id or secret."
            )
            self.assertNotIn("WWW-Authenticate", response.headers)
        response = self._post(
            {"grant_type": "client_credentials"},
            FORM,
            {"Authorization": common.basic_auth(self.client.client_id, "wrong")},
        )
        self.assertOAuthError(response, 401, "invalid_client")
        self.assertEqual(
            response.headers["WWW-Authenticate"], f'Basic realm="{common.TEST_REALM}"'
        )

    def test_archived_client(self):
        self.client.action_archive()
        self.assertOAuthError(
            self._post_json(self._credentials()), 401, "invalid_client"
        )

    @mute_logger("odoo.addons.spp_oauth.tests.common")
    def test_throttle(self):
        self.env["ir.config_parameter"].set_param(
            "spp_oauth.throttle_client_limit", "2"
        )
        for _attempt in range(2):
            self.assertOAuthError(
                self._post_json(self._credentials(secret="wrong")),
                401,
                "invalid_client",
            )
        response = self._post_json(self._credentials())
        self.assertOAuthError(
            response,
            429,
            "too_many_requests",
            "Too many failed attempts: retry later.",
        )
        self.assertTrue(0 < int(response.headers["Retry-After"]) <= 301)
        # another client from the same address is not affected
        self.assertToken(
            self._post_json(self._credentials(self.read_client, self.read_secret)),
            scope="read",
            client=self.read_client,
        )
        # the window ends: the client may try again
        self.env.cr.execute(
            "UPDATE spp_oauth_throttle SET window_start = window_start - interval "
            "'1 hour'"
        )
        self.assertToken(self._post_json(self._credentials()))

    def test_method_not_allowed(self):
        self.assertEqual(self.url_open(URL).status_code, 405)
