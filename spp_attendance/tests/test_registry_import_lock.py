"""A background import is processed by one worker at a time, across its commits.

Real cursors and real commits (not the test transaction): worker A runs the
scheduled action in a thread, committing after each page, and is held by the
emulator in the middle of page 2; worker B runs the same scheduled action
meanwhile. Everything committed is removed afterwards.
"""

import json
import threading

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from ..models.attendance_import_log import PROCESSING_LOCK_KEY
from .registry_common import RegistryImportCase

PREFIX = "UIN"


@tagged("post_install", "-at_install")
class TestImportProcessingLock(RegistryImportCase):
    def new_env(self):
        cr = self.registry.cursor()
        cr.execute("SET lock_timeout = '30s'")
        self.addCleanup(cr.close)
        return api.Environment(cr, SUPERUSER_ID, {})

    def held_by(self, env, log_id):
        """Backend pids holding the processing lock of ``log_id``."""
        env.cr.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = %s AND objsubid = 2",
            (PROCESSING_LOCK_KEY, log_id),
        )
        return [row[0] for row in env.cr.fetchall()]

    def cleanup(self, log_id):
        env = self.new_env()
        subscribers = (
            env["spp.attendance.subscriber"]
            .with_context(active_test=False)
            .search([("person_identifier", "=like", PREFIX + "%")])
        )
        partners = subscribers.partner_id
        subscribers.unlink()
        partners.unlink()
        env["spp.attendance.import.log"].browse(log_id).unlink()
        env.cr.commit()

    def test_second_worker_skips_an_import_being_processed(self):
        self.emulator.population = 30
        params = dict(self.Log._registry_params(), page_size="10", timeout="60")
        client = self.Log._registry_client(params)
        # The workers read the client secret from the committed settings,
        # which have none: the registry takes an empty secret for this test
        # (the test transaction's settings are not committed, on purpose).
        # The parameters' cache is shared by every cursor: emptied, so that
        # the workers read what is committed.
        secret = self.emulator.client_secret
        self.emulator.client_secret = ""
        self.addCleanup(setattr, self.emulator, "client_secret", secret)
        self.registry.clear_cache()
        self.addCleanup(self.registry.clear_cache)
        setup = self.new_env()
        log = setup["spp.attendance.import.log"].create(
            {
                "background": True,
                "source_url": client.search_url,
                "page_size": 10,
                "config_snapshot": json.dumps(params),
                "pagination_state": json.dumps(client.pager().to_dict()),
            }
        )
        setup.cr.commit()
        self.addCleanup(self.cleanup, log.id)

        env_a, env_b = self.new_env(), self.new_env()
        pid_a = env_a.cr._cnx.get_backend_pid()
        self.emulator.hang_on_page = 2
        outcome = {}

        def worker_a():
            try:
                env_a["spp.attendance.import.log"]._cron_process_imports(commit=True)
                outcome["a"] = "ran"
            except Exception as error:  # reported by the assertion below
                outcome["a"] = repr(error)

        thread = threading.Thread(target=worker_a)
        thread.start()
        try:
            # A has committed page 1 and waits for page 2 from the registry
            self.assertTrue(self.emulator.hanging.wait(timeout=30))
            self.assertEqual(self.held_by(env_b, log.id), [pid_a])
            log_b = env_b["spp.attendance.import.log"].browse(log.id)
            self.assertEqual((log_b.state, log_b.pages_done), ("running", 1))
            requests = len(self.emulator.search_requests)
            env_b["spp.attendance.import.log"]._cron_process_imports(commit=False)
            log_b.invalidate_recordset()
            self.assertEqual((log_b.state, log_b.pages_done), ("running", 1))
            self.assertEqual(
                len(self.emulator.search_requests), requests, "B asked for nothing"
            )
            env_b.cr.rollback()
        finally:
            self.emulator.release()
            thread.join(timeout=120)
        self.assertEqual(outcome.get("a"), "ran")
        env_b.invalidate_all()
        self.assertEqual(self.held_by(env_b, log.id), [], "released at the end")
        log_b = env_b["spp.attendance.import.log"].browse(log.id)
        self.assertEqual(
            (log_b.state, log_b.pages_done, log_b.created_count), ("done", 3, 30)
        )
        pages = [
            body["message"]["search_request"][0]["search_criteria"]["pagination"][
                "page_number"
            ]
            for body in self.emulator.search_requests
        ]
        self.assertEqual(pages, [1, 2, 3], "each page asked for once")
