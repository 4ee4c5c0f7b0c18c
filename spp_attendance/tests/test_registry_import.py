"""Registry import: settings, preview, import, logs and background runs,
against a real HTTP DCI registry emulator on 127.0.0.1."""

import json
import socket

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.queue_job.tests.common import trap_jobs

from ..models.attendance_import_log import SECRET_PARAM
from .registry_common import LOG_MODEL, P, RegistryImportCase, example


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestRegistryImport(RegistryImportCase):
    # -- settings --------------------------------------------------------------

    def test_settings_presets_in_one_click(self):
        form = Form(self.env["res.config.settings"])
        self.assertEqual(form.registry_identifier_path, "identifier.0.identifier_value")
        form.registry_mapping_preset = "legacy"
        self.assertEqual(form.registry_identifier_path, "identifier.0.identifier")
        self.assertEqual(form.registry_family_name_path, "familyName")
        self.assertEqual(form.registry_given_name_path, "givenName")
        form.registry_mapping_preset = "dci"
        self.assertEqual(
            form.registry_records_path, "message.search_response[*].data.reg_records"
        )
        self.assertEqual(form.registry_family_name_path, "name.surname")
        self.assertEqual(form.registry_given_name_path, "name.given_name")
        self.assertEqual(form.registry_addl_name_path, "name.second_name")
        self.assertEqual(form.registry_gender_path, "sex")
        self.assertEqual(form.registry_email_path, "email.0")
        self.assertEqual(form.registry_phone_path, "phone_number.0")
        # editing a path makes the mapping custom; restoring it finds the preset
        form.registry_given_name_path = "name.first_name"
        self.assertEqual(form.registry_mapping_preset, "custom")
        self.assertEqual(form.registry_family_name_path, "name.surname")
        form.registry_given_name_path = "name.given_name"
        self.assertEqual(form.registry_mapping_preset, "dci")
        form.registry_mapping_preset = "legacy"
        form.save().execute()
        self.assertEqual(
            self.ICP.get_param(P + "identifier_path"), "identifier.0.identifier"
        )
        self.assertEqual(self.ICP.get_param(P + "mapping_preset"), "legacy")

    def test_settings_validation(self):
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(
            json.loads(settings.registry_search_criteria)["query_type"], "predicate"
        )
        for values in (
            {"registry_search_criteria": "{not json"},
            {"registry_search_criteria": '{"query_type": "predicate", "query": {}}'},
            {"registry_timeout": 0},
            {"registry_timeout": 3600},
            {"registry_page_size": 0},
            {"registry_server_url": "registry.example.org"},
            {"registry_given_name_path": "name..given"},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                self.env["res.config.settings"].create(values).execute()
        query = '{"reg_type": "ns:org:RegistryType:Social", "query_type": "idtype-value", "query": {"type": "UIN", "value": "1"}}'  # noqa: E501
        self.env["res.config.settings"].create(
            {"registry_search_criteria": query, "registry_timeout": 12}
        ).execute()
        stored = json.loads(self.ICP.get_param(P + "search_criteria"))
        self.assertEqual(stored["query"], {"type": "UIN", "value": "1"})
        self.assertEqual(self.ICP.get_param(P + "timeout"), "12")

    def test_secret_is_write_only_and_system_only(self):
        Settings = self.env["res.config.settings"]
        Settings.create({"registry_client_secret": "s3cr3t-new"}).execute()
        self.assertEqual(self.ICP.get_param(SECRET_PARAM), "s3cr3t-new")
        settings = Settings.create({})
        self.assertFalse(settings.registry_client_secret)
        self.assertTrue(settings.registry_client_secret_set)
        self.assertNotIn(
            "s3cr3t-new",
            json.dumps(Settings.default_get(list(Settings._fields)), default=str),
        )
        # saving the settings without typing a secret keeps the stored one
        Settings.create({"registry_client_id": "other"}).execute()
        self.assertEqual(self.ICP.get_param(SECRET_PARAM), "s3cr3t-new")
        # a manager (not a system administrator) cannot read it in any way
        manager_icp = self.env["ir.config_parameter"].with_user(self.manager)
        with self.assertRaises(AccessError):
            manager_icp.get_param(SECRET_PARAM)
        with self.assertRaises(AccessError):
            manager_icp.search_read([("key", "=", SECRET_PARAM)], ["value"])
        manager_settings = Settings.with_user(self.manager)
        self.assertNotIn("registry_client_secret", manager_settings.fields_get())
        with self.assertRaises(AccessError):
            manager_settings.create({"registry_client_secret": "x"})
        with self.assertRaises(AccessError):
            settings.with_user(self.manager).read(["registry_client_secret"])
        # ... and it is neither logged nor copied into what the import stores
        self.set_params(
            client_id=self.emulator.client_id, client_secret=self.emulator.client_secret
        )
        self.emulator.population = 3
        self.env.flush_all()  # storing it is not part of the import
        with self.assertLogs("odoo", "DEBUG") as logs:
            self.emulator.fault = "401"
            with self.assertRaises(UserError):
                self.preview(self.manager)
            self.emulator.fault = None
            wizard = self.preview(self.manager)
            log = self.import_now(wizard)
        self.assertEqual(log.state, "done")
        self.assertTrue(any("Registry import" in line for line in logs.output))
        self.assertFalse(
            [line for line in logs.output if self.emulator.client_secret in line]
        )
        stored = json.dumps(log.sudo().read()[0], default=str) + json.dumps(
            wizard.sudo().read()[0], default=str
        )
        self.assertNotIn(self.emulator.client_secret, stored)
        # and can be removed by an administrator only
        with self.assertRaises(AccessError):
            settings.with_user(self.manager).action_registry_clear_secret()
        settings.action_registry_clear_secret()
        self.assertFalse(self.ICP.get_param(SECRET_PARAM))

    # -- preview and import ------------------------------------------------------

    def test_multi_page_preview_and_import_agree(self):
        self.emulator.population = 3000
        self.emulator.defect_every = 250
        self.set_params(page_size=500)
        wizard = self.preview(self.manager)
        self.assertEqual(wizard.state, "preview")
        self.assertEqual(wizard.received_count, 3000)
        self.assertEqual(wizard.pages_count, 6)
        self.assertEqual(wizard.registry_total, 3000)
        self.assertEqual(self.counts(wizard), (2988, 0, 0, 12))
        self.assertIn("Missing identifier: 4", wizard.skip_summary)
        self.assertIn("Missing names: 4", wizard.skip_summary)
        self.assertIn("Value of the wrong type: 4", wizard.skip_summary)
        self.assertEqual(len(wizard.skipped_line_ids), 12)
        self.assertEqual(wizard.line_ids[0].person_identifier, "UIN00000001")
        self.assertFalse(self.registry_subscribers(), "the preview writes nothing")
        self.assertTrue(wizard.run_in_background, "proposed for a large registry")
        wizard.run_in_background = False
        log = self.import_now(wizard)
        self.assertEqual(log.state, "done")
        self.assertEqual(self.counts(log), self.counts(wizard))
        self.assertEqual((log.pages_done, log.total_pages, log.progress), (6, 6, 100.0))
        self.assertEqual(log.received_count, 3000)
        self.assertEqual(log.user_id, self.manager)
        self.assertEqual(log.source_url, self.emulator.url + "/registry/sync/search")
        self.assertEqual(len(log.issue_ids), 12)
        self.assertEqual(
            set(log.issue_ids.mapped("reason")),
            {"missing_identifier", "missing_names", "wrong_type"},
        )
        subscribers = self.registry_subscribers()
        self.assertEqual(len(subscribers), 2988)
        person = subscribers.filtered(lambda s: s.person_identifier == "UIN00000007")
        self.assertEqual(
            (
                person.family_name,
                person.given_name,
                person.addl_name,
                person.gender,
                person.email,
                person.phone,
                person.name,
            ),
            (
                "Family7",
                "Given7",
                "Addl7",
                "male",
                "person7@example.org",
                "+15550000007",
                "Family7, Given7 Addl7",
            ),
        )
        self.assert_requests_valid()
        transactions = {
            body["message"]["transaction_id"] for body in self.emulator.search_requests
        }
        self.assertEqual(len(transactions), 2, "one per run: preview and import")
        self.assertIn(log.transaction_id, transactions)

    def test_preview_is_bounded_and_says_so(self):
        self.emulator.population = 250
        self.set_params(page_size=10)  # 25 pages, above the preview's 20
        wizard = self.preview(self.manager)
        self.assertTrue(wizard.partial)
        self.assertEqual((wizard.preview_max_pages, wizard.pages_count), (20, 20))
        self.assertEqual((wizard.received_count, wizard.registry_total), (200, 250))
        self.assertEqual(self.counts(wizard), (200, 0, 0, 0))
        self.assertTrue(wizard.run_in_background, "the rest is for the import")
        self.assertEqual(len(self.emulator.search_requests), 20)
        # the import reads every page
        wizard.run_in_background = False
        log = self.import_now(wizard)
        self.assertEqual(
            (log.state, log.pages_done, log.created_count), ("done", 25, 250)
        )
        # a registry that fits within the limit is previewed exactly
        self.ICP.set_param(P + "preview_max_pages", "25")
        wizard = self.preview(self.manager)
        self.assertFalse(wizard.partial)
        self.assertEqual((wizard.pages_count, wizard.received_count), (25, 250))
        self.assertEqual(self.counts(wizard), (0, 0, 250, 0))
        self.assertFalse(wizard.run_in_background)
        self.ICP.set_param(P + "preview_max_pages", False)
        self.emulator.population = 200  # exactly 20 pages: still exact
        wizard = self.preview(self.manager)
        self.assertFalse(wizard.partial)
        self.assertEqual((wizard.pages_count, wizard.received_count), (20, 200))

    @mute_logger(LOG_MODEL)
    def test_transient_failures_are_retried_by_preview_and_import(self):
        self.emulator.population = 150
        self.emulator.transient_failures = 2
        wizard = self.preview()
        self.assertEqual(wizard.received_count, 150)
        self.assertEqual(self.emulator.transient_served, 2)
        self.emulator.transient_failures = 2
        log = self.import_now(wizard)
        self.assertEqual((log.state, log.created_count), ("done", 150))
        self.assertEqual(self.emulator.transient_served, 4)
        # beyond the retries, the page fails and can be resumed
        self.set_params(retries="1")
        wizard = self.preview()
        self.emulator.transient_status = 429
        self.emulator.retry_after = 3600  # capped (retry_after_max is 0 here)
        self.emulator.transient_failures = 2
        log = self.import_now(wizard)
        self.assertEqual((log.state, log.error_code), ("failed", "http_error"))
        self.assertIn("HTTP 429", log.error_message)
        log.action_resume()
        self.assertEqual((log.state, log.unchanged_count), ("done", 150))
        self.assertEqual(json.loads(log.config_snapshot)["retries"], "1")
        self.set_params(retries=False)

    def test_reimport_updates_without_duplicates(self):
        self.emulator.population = 250
        self.import_now(self.preview())
        self.assertEqual(len(self.registry_subscribers()), 250)
        partners_before = self.env["res.partner"].search_count([])
        # unchanged registry: nothing to do
        wizard = self.preview()
        self.assertEqual(self.counts(wizard), (0, 0, 250, 0))
        # every 10th person renamed
        self.emulator.generation = 2
        wizard = self.preview()
        self.assertEqual(self.counts(wizard), (0, 25, 225, 0))
        update = wizard.line_ids.filtered(lambda line: line.action == "update")[0]
        self.assertEqual(update.changes, "given_name: Given10 > Given10-v2")
        log = self.import_now(wizard)
        self.assertEqual(self.counts(log), (0, 25, 225, 0))
        self.assertEqual(len(self.registry_subscribers()), 250)
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before)
        person = self.registry_subscribers().filtered(
            lambda s: s.person_identifier == "UIN00000010"
        )
        self.assertEqual(person.given_name, "Given10-v2")
        self.assertEqual(person.name, "Family10, Given10-v2 Addl10")

    def test_missing_field_does_not_wipe_and_names_never_link(self):
        partner = self.env["res.partner"].create(
            {"name": "Family1, Given1 Addl1", "email": "someone.else@example.org"}
        )
        existing = self.create_subscriber(
            "UIN00000002",
            family="Family2",
            given="Given2",
            email="kept@example.org",
            phone="+1999",
            gender="male",
        )
        self.set_mapping("dci", email="no.such.path", phone="", gender="")
        self.emulator.population = 2
        wizard = self.preview()
        self.assertEqual(self.counts(wizard), (1, 1, 0, 0))
        log = self.import_now(wizard)
        self.assertEqual(self.counts(log), (1, 1, 0, 0))
        existing.invalidate_recordset()
        self.assertEqual(existing.addl_name, "Addl2")
        self.assertEqual(
            (existing.email, existing.phone, existing.gender),
            ("kept@example.org", "+1999", "male"),
        )
        new = self.registry_subscribers().filtered(
            lambda s: s.person_identifier == "UIN00000001"
        )
        self.assertNotEqual(new.partner_id, partner)
        self.assertEqual(partner.email, "someone.else@example.org")
        self.assertEqual(partner.name, "Family1, Given1 Addl1")

    def test_published_persons_pool_over_pages(self):
        """The standard's own person objects, two per page: every variation."""
        self.emulator.mode = "pool"
        self.set_params(page_size=2)
        wizard = self.preview()
        self.assertEqual(wizard.pages_count, 5)
        self.assertEqual(self.counts(wizard), (5, 0, 2, 2))
        log = self.import_now(wizard)
        self.assertEqual(self.counts(log), (5, 0, 2, 2))
        found = self.Subscriber.search(
            [
                (
                    "person_identifier",
                    "in",
                    [
                        "847951632",
                        "197382465",
                        "0205202401",
                        "9876543210",
                        "9876543232",
                    ],
                )
            ]
        )
        self.assertEqual(len(found), 5)
        by_id = {s.person_identifier: s for s in found}
        self.assertEqual(by_id["847951632"].name, "Phumchai, Sudarat")
        self.assertEqual(by_id["197382465"].email, "elena.martinez@example.com")
        self.assertEqual(by_id["0205202401"].family_name, "Test3")
        self.assertEqual(by_id["0205202401"].gender, "female")
        self.assert_requests_valid()

    def test_replayed_examples_and_nested_person_mapping(self):
        self.emulator.mode = "replay"
        self.emulator.replay_file = "spdci-standards/social/processflow3ares.json"
        self.assertEqual(self.counts(self.preview()), (1, 0, 0, 0))
        # DCI's own SR mock answers page 5 of 24250 persons to a request for
        # page 1: refused (test_registry_pagination); its Group record, as
        # published in the social API's example, served as a registry of one
        self.emulator.mode = "pool"
        self.emulator.pool = [
            example(
                "spdci-compliance-spec/openapi-examples/"
                "social_reg_record_group.example.json"
            )
        ]
        # a Group: no person at the top level...
        wizard = self.preview()
        self.assertEqual(self.counts(wizard), (0, 0, 0, 1))
        self.assertEqual(wizard.skipped_line_ids.reason, "missing_identifier")
        # ... a records path into its member list finds them
        self.set_mapping(
            "dci",
            records="message.search_response[*].data.reg_records[*].member_list[*]"
            ".demographic_info",
        )
        self.assertEqual(self.counts(self.preview()), (2, 0, 0, 2))
        # the older nested person of social flow 1-3 (first_name, sex "F"); it
        # has no pagination at all: page 2 is asked for, and answered empty
        self.emulator.mode = "replay"
        self.emulator.replay_file = "spdci-standards/social/processflow1-3res.json"
        self.emulator.replay_last_page = 1
        self.set_mapping(
            "dci",
            records="message.search_response[*].data.reg_records[*].demographic_info"
            ".person",
            given_name="name.first_name",
        )
        log = self.import_now(self.preview())
        self.assertEqual(self.counts(log), (1, 0, 0, 0))
        person = self.Subscriber.search([("person_identifier", "=", "0205202401")])
        self.assertEqual((person.given_name, person.family_name), ("Test", "Test3"))

    def test_legacy_preset_with_json_token(self):
        self.emulator.shape = "legacy"
        self.emulator.token_styles = ("json",)
        self.emulator.population = 40
        self.set_params(token_style="json")
        self.set_mapping("legacy")
        log = self.import_now(self.preview())
        self.assertEqual(self.counts(log), (40, 0, 0, 0))
        self.assertEqual(self.emulator.token_requests[0]["style"], "json")
        person = self.registry_subscribers().filtered(
            lambda s: s.person_identifier == "UIN00000005"
        )
        self.assertEqual(
            (person.given_name, person.family_name, person.email, person.phone),
            ("Given5", "Family5", "person5@example.org", "+15550000005"),
        )

    def test_custom_token_path(self):
        self.emulator.token_shape = "nested"
        self.emulator.population = 5
        self.set_params(token_path="data.tokens.0.value")
        self.assertEqual(self.counts(self.preview()), (5, 0, 0, 0))

    # -- errors -------------------------------------------------------------------

    def assert_preview_error(self, *texts):
        with self.assertRaises(UserError) as caught:
            self.preview()
        message = str(caught.exception.args[0])
        for text in texts:
            self.assertIn(text, message)
        self.assertNotIn(self.emulator.client_secret, message)
        return message

    def test_errors_are_user_errors(self):
        self.emulator.population = 150
        faults = {
            "401": ("HTTP 401",),
            "403": ("HTTP 403",),
            "500": ("HTTP 500",),
            "non_json": ("not JSON", "502 Bad Gateway"),
            "rjct": ("rjct", "rjct.search.too_many_records_found"),
            "rjct_header": ("rjct.version.invalid",),
            "ack_err": ("err.sender_id.invalid",),
            "not_ready": ("no data yet",),
            "token_missing": ("No access token at 'access_token'",),
        }
        for fault, texts in faults.items():
            with self.subTest(fault=fault):
                self.emulator.fault = fault
                self.assert_preview_error("page 1", *texts)
        self.emulator.fault = None
        self.emulator.fail_on_page = 2
        self.assert_preview_error("page 2", "HTTP 500")
        self.emulator.fail_on_page = None
        with self.subTest("wrong secret"):
            self.set_params(client_secret="wrong")
            self.assert_preview_error("HTTP 401", "client id and secret")
            self.set_params(client_secret=self.emulator.client_secret)
        with self.subTest("timeout"):
            self.emulator.fault = "hang"
            self.set_params(timeout=1)
            self.assert_preview_error("did not answer", "within 1 seconds")
            self.emulator.release()
            self.set_params(timeout=5)
            self.emulator.fault = None
        with self.subTest("connection refused"):
            self.set_params(server_url=f"http://127.0.0.1:{free_port()}")
            self.assert_preview_error("Cannot connect")
            self.set_params(server_url=self.emulator.url)
        with self.subTest("no server URL"):
            self.ICP.set_param(P + "server_url", False)
            self.assert_preview_error("server URL is not set")
            self.set_params(server_url=self.emulator.url)
        with self.subTest("records path not found"):
            self.set_mapping("dci", records="message.results[*].reg_records")
            self.assert_preview_error("Records path", "not found", "'message' exists")
        with self.subTest("records path not a list"):
            self.set_mapping("dci", records="header.sender_id")
            self.assert_preview_error("must point to a list")
        with self.subTest("mapping path missing"):
            self.set_mapping("dci", identifier="")
            self.assert_preview_error("identifier")
        self.set_mapping("dci")

    # -- failures, resume, background -----------------------------------------

    @mute_logger(LOG_MODEL)
    def test_failure_keeps_previous_pages_and_resumes(self):
        self.emulator.population = 1000
        self.set_params(page_size=200)
        wizard = self.preview()
        self.emulator.fail_on_page = 3
        log = self.import_now(wizard)
        self.assertEqual(log.state, "failed")
        self.assertEqual((log.pages_done, log.next_page), (2, 3))
        self.assertEqual(log.error_code, "http_5xx")
        self.assertIn("Page 3", log.error_message)
        self.assertEqual(log.created_count, 400)
        self.assertEqual(len(self.registry_subscribers()), 400)
        self.assertEqual(log.progress, 40.0)
        self.emulator.fail_on_page = None
        log.action_resume()
        self.assertEqual(log.state, "done")
        self.assertEqual(self.counts(log), self.counts(wizard))
        self.assertEqual(len(self.registry_subscribers()), 1000)
        self.assertFalse(log.error_message)
        # resumed with the same DCI transaction, from page 3
        last = self.emulator.search_requests[-3:]
        self.assertEqual(
            [
                b["message"]["search_request"][0]["search_criteria"]["pagination"][
                    "page_number"
                ]
                for b in last
            ],
            [3, 4, 5],
        )
        self.assertEqual(
            {b["message"]["transaction_id"] for b in last}, {log.transaction_id}
        )

    @mute_logger(LOG_MODEL)
    def test_background_run_with_resume(self):
        self.emulator.population = 1200
        self.set_params(page_size=300)
        wizard = self.preview(self.manager)
        wizard.run_in_background = True
        with trap_jobs() as trap:
            log = self.import_now(wizard)
            self.assertTrue(log.background)
            self.assertEqual((log.state, log.pages_done), ("running", 0))
            # the job of page 1 is queued on the import channel
            trap.assert_jobs_count(1)
            trap.assert_enqueued_job(
                log._job_import_page,
                args=(1,),
                properties={
                    "channel": "root.spp_registry_import",
                    "identity_key": f"spp_registry_import:{log.id}:1",
                },
            )
            self.assertFalse(
                self.registry_subscribers(), "nothing imported in the request"
            )
            # the jobs fail on page 3 after pages 1-2 (committed, with the runner)
            self.emulator.fail_on_page = 3
            self.assertEqual(self.run_jobs(trap, log), 3)
        self.assertEqual((log.state, log.pages_done, log.next_page), ("failed", 2, 3))
        self.assertEqual(len(self.registry_subscribers()), 600)
        self.assertEqual(log.progress, 50.0)
        # the jobs ran as the user who started the import
        subscriber = self.registry_subscribers()[:1]
        self.assertEqual(subscriber.create_uid, self.manager)
        # resume: back to running, a job carries on from page 3
        self.emulator.fail_on_page = None
        with trap_jobs() as trap:
            log.with_user(self.manager).action_resume()
            self.assertEqual(log.state, "running")
            trap.assert_enqueued_job(log._job_import_page, args=(3,))
            trap.perform_enqueued_jobs()  # one page, which queues the next
            log.invalidate_recordset()
            self.assertEqual(log.state, "running")
            self.assertEqual(log.pages_done, 3)
            trap.assert_enqueued_job(log._job_import_page, args=(4,))
            self.run_jobs(trap, log)
        self.assertEqual(log.state, "done")
        self.assertEqual(self.counts(log), self.counts(wizard))
        self.assertEqual(len(self.registry_subscribers()), 1200)
        self.assert_requests_valid()

    def test_access(self):
        with self.assertRaises(AccessError):
            self.Wizard.with_user(self.viewer).create({})
        with self.assertRaises(AccessError):
            self.Log.with_user(self.viewer).search([])
        other = new_test_user(
            self.env,
            login="att_other_manager",
            groups="spp_attendance.group_attendance_manager",
        )
        self.emulator.population = 2
        log = self.import_now(self.preview(self.manager))
        self.assertEqual(
            self.Log.with_user(other).search([("id", "=", log.id)]),
            log.with_user(other),
        )
