"""API client credentials: hashing, one-time display, regenerate, revoke, export."""

from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.spp_oauth.models.oauth_client_mixin import (
    SECRET_CRYPT_CONTEXT,
    SECRET_HASH_ROUNDS,
)
from odoo.addons.spp_oauth.tools.tokens import OAuthTokenError

from .oauth_common import CLIENT_MODEL

WIZARD_MODEL = "spp.attendance.show.credential.wizard"


@tagged("post_install", "-at_install")
class TestApiClientCredential(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="api_manager_a",
            groups="spp_attendance.group_attendance_manager,base.group_allow_export",
        )
        cls.other_manager = new_test_user(
            cls.env,
            login="api_manager_b",
            groups="spp_attendance.group_attendance_manager",
        )
        cls.viewer = new_test_user(
            cls.env, login="api_viewer", groups="spp_attendance.group_attendance_viewer"
        )
        cls.admin = new_test_user(
            cls.env,
            login="api_admin",
            groups="base.group_system,spp_attendance.group_attendance_manager",
        )
        cls.Client = cls.env[CLIENT_MODEL].with_user(cls.manager)

    def _new_client(self, name="Field app", **values):
        return self.Client.create(
            dict({"name": name, "scopes": "read write"}, **values)
        )

    def _generate(self, client):
        action = client.action_generate_secret()
        self.assertEqual(action["res_model"], WIZARD_MODEL)
        self.assertEqual(action["target"], "new")
        wizard = self.env[WIZARD_MODEL].with_user(self.manager).browse(action["res_id"])
        return wizard, wizard.display_client_secret

    def test_client_id_generated(self):
        first = self._new_client("App 1")
        second = self._new_client("App 2")
        self.assertTrue(first.client_id.startswith("c-id-"))
        self.assertEqual(len(first.client_id), 41)
        self.assertNotEqual(first.client_id, second.client_id)
        self.assertFalse(first.has_secret)
        self.assertEqual(first.token_lifetime, 600)
        self.assertEqual(first.company_id, self.env.company)
        with self.assertRaises(ValidationError):
            first.write({"client_id": "c-id-chosen"})

    def test_client_without_secret_cannot_authenticate(self):
        client = self._new_client()
        Client = self.env[CLIENT_MODEL]
        for secret in ("", "c-secret-x", None):
            self.assertFalse(Client._spp_oauth_authenticate(client.client_id, secret))

    def test_secret_hashed_and_shown_once(self):
        client = self._new_client()
        wizard, secret = self._generate(client)
        self.assertTrue(secret.startswith("c-secret-"))
        self.assertGreaterEqual(len(secret), 9 + 43)  # 32 random bytes
        self.assertEqual(wizard.display_client_id, client.client_id)
        self.assertTrue(client.has_secret)
        # only a hash is stored, with the calibrated scheme
        secret_hash = client.sudo().client_secret_hash
        self.assertTrue(secret_hash.startswith(f"$pbkdf2-sha512${SECRET_HASH_ROUNDS}$"))
        self.assertTrue(SECRET_CRYPT_CONTEXT.verify(secret, secret_hash))
        self.env.flush_all()
        self.env.cr.execute(
            f"SELECT row_to_json(t)::text FROM {client._table} t WHERE id = %s",
            (client.id,),
        )
        self.assertNotIn(secret, self.env.cr.fetchone()[0])
        self.env.cr.execute(
            "SELECT count(*) FROM mail_message WHERE body::text LIKE %s",
            (f"%{secret}%",),
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        # the manager cannot read the hash
        with self.assertRaises(AccessError):
            client.read(["client_secret_hash"])
        self.assertNotIn("client_secret_hash", self.Client.fields_get())
        self.assertNotIn(secret, str(client.read(list(client.fields_get()))))
        # authentication works with the secret, and only with it
        Client = self.env[CLIENT_MODEL]
        self.assertEqual(
            Client._spp_oauth_authenticate(client.client_id, secret), client
        )
        self.assertFalse(Client._spp_oauth_authenticate(client.client_id, secret + "x"))
        # a second "generate" is refused: it would show a secret again
        with self.assertRaises(UserError):
            client.action_generate_secret()
        # "Done" removes the one-time display
        wizard.action_done()
        self.assertFalse(wizard.exists())

    def test_dialog_readable_by_its_creator_only(self):
        client = self._new_client()
        wizard, secret = self._generate(client)
        self.assertTrue(secret)
        for user in (self.other_manager, self.admin):
            with self.subTest(user=user.login):
                Wizard = self.env[WIZARD_MODEL].with_user(user)
                with self.assertRaises(AccessError):
                    Wizard.browse(wizard.id).read(["display_client_secret"])
                self.assertFalse(Wizard.search([]))
                self.assertFalse(Wizard.search_read([], ["display_client_secret"]))
                with self.assertRaises(AccessError):
                    Wizard.browse(wizard.id).unlink()
        with self.assertRaises(AccessError):
            self.env[WIZARD_MODEL].with_user(self.viewer).browse(wizard.id).read()
        # the creator still can
        self.assertEqual(
            wizard.with_user(self.manager).read(["display_client_secret"])[0][
                "display_client_secret"
            ],
            secret,
        )

    def test_regenerate_invalidates_old_secret(self):
        client = self._new_client()
        _wizard, old_secret = self._generate(client)
        version = client.secret_version
        Client = self.env[CLIENT_MODEL]
        self.assertTrue(Client._spp_oauth_authenticate(client.client_id, old_secret))
        action = client.action_regenerate_secret()
        new_secret = (
            self.env[WIZARD_MODEL].browse(action["res_id"]).display_client_secret
        )
        self.assertNotEqual(new_secret, old_secret)
        self.assertEqual(client.secret_version, version + 1)
        self.assertFalse(Client._spp_oauth_authenticate(client.client_id, old_secret))
        self.assertEqual(
            Client._spp_oauth_authenticate(client.client_id, new_secret), client
        )
        self.assertIn("regenerated", client.message_ids[0].body)

    def test_archive_revokes(self):
        client = self._new_client()
        _wizard, secret = self._generate(client)
        _token, claims = client.sudo()._spp_oauth_issue_token()
        Client = self.env[CLIENT_MODEL].sudo()
        self.assertEqual(Client._spp_oauth_client_from_claims(claims), client)
        client.action_revoke()
        self.assertFalse(client.active)
        with self.assertRaises(OAuthTokenError) as caught:
            Client._spp_oauth_client_from_claims(claims)
        self.assertEqual(caught.exception.reason, "revoked")
        self.assertFalse(
            self.env[CLIENT_MODEL]._spp_oauth_authenticate(client.client_id, secret)
        )

    def test_token_issued_before_secret_change_is_revoked(self):
        client = self._new_client()
        self._generate(client)
        _token, claims = client.sudo()._spp_oauth_issue_token()
        client._spp_oauth_generate_secret()
        with self.assertRaises(OAuthTokenError) as caught:
            self.env[CLIENT_MODEL].sudo()._spp_oauth_client_from_claims(claims)
        self.assertEqual(caught.exception.reason, "revoked")

    def test_scope_narrowing(self):
        client = self._new_client(scopes="read write").sudo()
        self._generate(client.with_user(self.manager))
        self.assertEqual(client._spp_oauth_issue_token()[1]["scope"], "read write")
        self.assertEqual(client._spp_oauth_issue_token("read")[1]["scope"], "read")
        self.assertEqual(client._spp_oauth_issue_token(["write"])[1]["scope"], "write")
        client.scopes = "read"
        with self.assertRaises(OAuthTokenError) as caught:
            client._spp_oauth_issue_token("write")
        self.assertEqual(caught.exception.reason, "invalid_scope")
        self.assertEqual(client.token_count, 3)

    def test_scopes_and_lifetime_validated(self):
        for number, scopes in enumerate(("   ", "admin", "read admin")):
            with self.subTest(scopes=scopes), self.assertRaises(ValidationError):
                self._new_client(f"Bad scopes {number}", scopes=scopes)
        for lifetime in (0, 59, 86401):
            with self.subTest(lifetime=lifetime), self.assertRaises(ValidationError):
                self._new_client(f"Bad lifetime {lifetime}", token_lifetime=lifetime)
        client = self._new_client(token_lifetime=86400)
        client.scope_write = False
        self.assertEqual(client.scopes, "read")
        client.scope_write = True
        self.assertEqual(client.scopes, "read write")
        self.assertTrue(client.scope_read)

    @mute_logger("odoo.sql_db")
    def test_name_unique(self):
        self._new_client("Same name")
        with self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self._new_client("Same name")

    def test_export_refused(self):
        client = self._new_client()
        with self.assertRaises(UserError):
            client.export_data(["name", "client_id"])
        with self.assertRaises(UserError):
            client.with_user(self.admin).export_data(["name"])

    def test_viewer_has_no_access(self):
        client = self._new_client()
        with self.assertRaises(AccessError):
            client.with_user(self.viewer).read(["name"])
        with self.assertRaises(AccessError):
            self.env[CLIENT_MODEL].with_user(self.viewer).create({"name": "x"})

    def test_other_manager_cannot_generate_for_them_and_see(self):
        """A manager regenerating a secret sees it; another manager never does."""
        client = self._new_client()
        self._generate(client)
        action = client.with_user(self.other_manager).action_regenerate_secret()
        with self.assertRaises(AccessError):
            self.env[WIZARD_MODEL].with_user(self.manager).browse(
                action["res_id"]
            ).read()

    def test_unknown_client_costs_a_hash_verification(self):
        """Unknown and known client ids cost the same work, one hash verification
        each (no probing by timing): counted, not timed."""
        client = self._new_client()
        self._generate(client)
        Client = self.env[CLIENT_MODEL]
        verify = SECRET_CRYPT_CONTEXT.verify
        for client_id in (
            client.client_id,
            "c-id-00000000-0000-0000-0000-000000000000",
        ):
            with (
                self.subTest(client_id=client_id),
                patch.object(SECRET_CRYPT_CONTEXT, "verify", wraps=verify) as spy,
            ):
                self.assertFalse(
                    Client._spp_oauth_authenticate(client_id, "c-secret-wrong")
                )
                self.assertEqual(spy.call_count, 1)
                self.assertEqual(spy.call_args.args[0], "c-secret-wrong")
