"""Signing keys: install, protection of the private key, rotation, operator key file."""

import logging
import os
import tempfile
import time
from datetime import timedelta
from unittest.mock import patch

import jwt

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import config

from odoo.addons.spp_oauth.models.oauth_key import CONFIG_OPTION, ENV_VARIABLE
from odoo.addons.spp_oauth.tools import tokens
from odoo.addons.spp_oauth.tools.tokens import OAuthTokenError

AUDIENCE = "test_api"


@tagged("post_install", "-at_install")
class TestSigningKeys(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Key = cls.env["spp.oauth.key"]
        cls.internal_user = new_test_user(
            cls.env,
            login="oauth_internal",
            groups="base.group_user,base.group_allow_export",
        )
        cls.access_admin = new_test_user(
            cls.env,
            login="oauth_erp_manager",
            groups="base.group_erp_manager,base.group_allow_export",
        )
        cls.system_user = new_test_user(
            cls.env, login="oauth_system", groups="base.group_system"
        )

    def _issue(self, **kwargs):
        params = {
            "subject": "c-id-test",
            "audience": AUDIENCE,
            "scopes": ["read"],
            "lifetime_seconds": 600,
        }
        params.update(kwargs)
        return self.Key.issue_token(**params)

    def test_key_generated_at_install(self):
        current = self.Key.search([("state", "=", "current")])
        self.assertEqual(len(current), 1)
        self.assertEqual(current.algorithm, "RS256")
        self.assertEqual(current.source, "database")
        self.assertIn("BEGIN PRIVATE KEY", current.private_key_pem)
        self.assertEqual(current.kid, tokens.jwk_thumbprint(current.public_key_pem))
        token, claims = self._issue()
        self.assertEqual(jwt.get_unverified_header(token)["kid"], current.kid)
        self.assertEqual(self.Key.verify_token(token, AUDIENCE), claims)
        self.assertEqual(claims["iss"], "openspp:auth-service")

    def test_issuer_parameter(self):
        self.env["ir.config_parameter"].set_param("spp_oauth.issuer", "https://x.test")
        token, claims = self._issue()
        self.assertEqual(claims["iss"], "https://x.test")
        self.assertEqual(
            self.Key.verify_token(token, AUDIENCE)["iss"], "https://x.test"
        )

    def test_private_key_not_readable_by_non_system_users(self):
        key = self.Key.search([("state", "=", "current")])
        for user in (self.internal_user, self.access_admin):
            Key = self.Key.with_user(user)
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    Key.search_read([], ["private_key_pem"])
                with self.assertRaises(AccessError):
                    key.with_user(user).read(["private_key_pem"])
                with self.assertRaises(AccessError):
                    key.with_user(user).export_data(["private_key_pem"])
                self.assertNotIn("private_key_pem", Key.fields_get())
                self.assertNotIn(
                    "private_key_pem", Key.default_get(["private_key_pem", "kid"])
                )
                # nor through the token API
                with self.assertRaises(AccessError):
                    Key.issue_token("x", AUDIENCE, ["read"], 600)
                with self.assertRaises(AccessError):
                    Key.action_rotate()
        # a system administrator can (it is their database)
        self.assertIn(
            "PRIVATE KEY",
            key.with_user(self.system_user).read(["private_key_pem"])[0][
                "private_key_pem"
            ],
        )

    def test_verify_token_for_anyone(self):
        token, claims = self._issue()
        Key = self.Key.with_user(self.internal_user)
        self.assertEqual(Key.verify_token(token, AUDIENCE), claims)

    def test_rotation(self):
        old = self.Key.search([("state", "=", "current")])
        old_token, old_claims = self._issue()
        expired_token, _claims = tokens.issue(
            private_pem=old.private_key_pem,
            kid=old.kid,
            algorithm=old.algorithm,
            issuer=self.Key._spp_oauth_issuer(),
            subject="c-id-test",
            audience=AUDIENCE,
            lifetime=600,
            now=time.time() - 3600,
        )
        self.Key.with_user(self.system_user).action_rotate()
        new = self.Key.search([("state", "=", "current")])
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new, old)
        self.assertEqual(old.state, "previous")
        self.assertTrue(old.retired_at)
        new_token, _claims = self._issue()
        self.assertEqual(jwt.get_unverified_header(new_token)["kid"], new.kid)
        # tokens signed by the previous key stay valid until they expire
        self.assertEqual(self.Key.verify_token(old_token, AUDIENCE), old_claims)
        with self.assertRaises(OAuthTokenError) as caught:
            self.Key.verify_token(expired_token, AUDIENCE)
        self.assertEqual(caught.exception.reason, "expired")
        self.assertEqual(
            set(self.Key._spp_oauth_verification_keys()), {old.kid, new.kid}
        )
        # once every token it could have signed has expired, the old key is gone
        old.retired_at = fields.Datetime.now() - timedelta(days=2)
        with self.assertRaises(OAuthTokenError) as caught:
            self.Key.verify_token(old_token, AUDIENCE)
        self.assertEqual(caught.exception.reason, "unknown_kid")
        self.Key._gc_retired_keys()
        self.assertEqual(old.state, "retired")
        self.assertFalse(old.private_key_pem)
        self.assertEqual(new.state, "current")

    def test_rotate_to_es256(self):
        self.Key.action_rotate(algorithm="ES256")
        token, claims = self._issue()
        self.assertEqual(jwt.get_unverified_header(token)["alg"], "ES256")
        self.assertEqual(self.Key.verify_token(token, AUDIENCE), claims)
        with self.assertRaises(UserError):
            self.Key.action_rotate(algorithm="HS256")

    def test_algorithm_parameter(self):
        self.env["ir.config_parameter"].set_param("spp_oauth.algorithm", "ES256")
        self.Key.action_rotate()
        self.assertEqual(
            self.Key.search([("state", "=", "current")]).algorithm, "ES256"
        )

    def test_no_key_material_in_logs(self):
        with self.assertLogs("odoo.addons.spp_oauth", level=logging.DEBUG) as logs:
            logging.getLogger("odoo.addons.spp_oauth").debug("start")
            self.Key.action_rotate()
            self._issue()
        output = "\n".join(logs.output)
        self.assertNotIn("PRIVATE KEY", output)
        self.assertNotIn("PUBLIC KEY", output)

    def _key_file(self, algorithm="RS256"):
        handle = tempfile.NamedTemporaryFile(
            "w", suffix=".pem", delete=False, encoding="ascii"
        )
        with handle:
            handle.write(tokens.generate_private_key(algorithm))
        self.addCleanup(os.unlink, handle.name)
        return handle.name

    def test_operator_key_file(self):
        db_key = self.Key.search([("state", "=", "current")])
        db_token, db_claims = self._issue()
        path = self._key_file("ES256")
        with open(path, encoding="ascii") as handle:
            expected_kid = tokens.jwk_thumbprint(
                tokens.public_pem_from_private(handle.read())
            )
        with patch.dict(config.options, {CONFIG_OPTION: path}):
            token, claims = self._issue()
            header = jwt.get_unverified_header(token)
            self.assertEqual(header["kid"], expected_kid)
            self.assertEqual(header["alg"], "ES256")
            self.assertEqual(self.Key.verify_token(token, AUDIENCE), claims)
            recorded = self.Key.search([("kid", "=", expected_kid)])
            self.assertEqual(recorded.source, "config")
            self.assertEqual(recorded.state, "current")
            self.assertFalse(
                recorded.private_key_pem
            )  # the private key stays in the file
            self.assertEqual(db_key.state, "previous")
            # tokens of the generated key stay valid until they expire
            self.assertEqual(self.Key.verify_token(db_token, AUDIENCE), db_claims)
            with self.assertRaises(UserError):
                self.Key.action_rotate()
        # the operator removes the file setting: a new key is generated, and tokens
        # signed with the file key stay valid until they expire
        token2, _claims = self._issue()
        new_kid = jwt.get_unverified_header(token2)["kid"]
        self.assertNotIn(new_kid, (expected_kid, db_key.kid))
        self.assertEqual(self.Key.verify_token(token, AUDIENCE), claims)

    def test_operator_key_from_environment(self):
        path = self._key_file("RS256")
        with patch.dict(os.environ, {ENV_VARIABLE: path}):
            token, _claims = self._issue()
        with open(path, encoding="ascii") as handle:
            expected_kid = tokens.jwk_thumbprint(
                tokens.public_pem_from_private(handle.read())
            )
        self.assertEqual(jwt.get_unverified_header(token)["kid"], expected_kid)

    def test_unusable_key_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as handle:
            handle.write("not a key")
            handle.flush()
            with patch.dict(config.options, {CONFIG_OPTION: handle.name}):
                with self.assertLogs("odoo.addons.spp_oauth", "WARNING") as logs:
                    with self.assertRaises(OAuthTokenError) as caught:
                        self._issue()
        self.assertEqual(caught.exception.reason, "no_key")
        self.assertNotIn("not a key", "\n".join(logs.output))
