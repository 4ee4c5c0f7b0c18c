"""A real OAuth 2.0 client library (requests-oauthlib, backend application flow)
obtains a token from the running server and calls a protected route with it."""

import os
from unittest.mock import patch

from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from odoo.tests import HttpCase, tagged

from . import test_bearer_auth  # noqa: F401  (registers the protected test routes)
from .oauth_common import ApiClientMixin


@tagged("post_install", "-at_install")
class TestOAuthClientLibrary(ApiClientMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.registry.clear_cache("routing")
        cls.client, cls.secret = cls._create_client("Library app")

    def setUp(self):
        super().setUp()
        # The test server speaks plain HTTP on 127.0.0.1.
        self.enterContext(patch.dict(os.environ, {"OAUTHLIB_INSECURE_TRANSPORT": "1"}))

    def _session(self, scope):
        return OAuth2Session(
            client=BackendApplicationClient(
                client_id=self.client.client_id, scope=scope
            )
        )

    def _fetch(self, session):
        self.env.flush_all()
        return session.fetch_token(
            token_url=self.base_url() + "/auth/token",
            client_id=self.client.client_id,
            client_secret=self.secret,
            timeout=30,
        )

    def test_backend_application_flow(self):
        session = self._session(["read", "write"])
        token = self._fetch(session)
        self.assertEqual(token["token_type"], "Bearer")
        self.assertEqual(token["scope"], ["read", "write"])
        self.assertEqual(token["expires_in"], 600)
        response = session.get(
            self.base_url() + "/spp_attendance/test/bearer/read", timeout=30
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["client_id"], self.client.client_id)

    def test_narrowed_scope(self):
        session = self._session(["read"])
        token = self._fetch(session)
        self.assertEqual(token["scope"], ["read"])
        response = session.post(
            self.base_url() + "/spp_attendance/test/bearer/write",
            data=b"{}",
            timeout=30,
        )
        self.assertEqual(response.status_code, 403, response.text)

    def test_wrong_secret(self):
        from oauthlib.oauth2.rfc6749.errors import InvalidClientError

        session = self._session(["read"])
        self.secret = "c-secret-wrong"
        with self.assertRaises(InvalidClientError):
            self._fetch(session)
