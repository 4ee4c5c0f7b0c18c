"""A page job is processed once, even when it is delivered twice at the same time.

queue_job may deliver a job again while its first delivery still runs (a job
requeued as dead by the runner, or sent to another node). Real cursors and real
commits (not the test transaction): worker A runs the job of page 2 in a thread
and is held by the emulator in the middle of it; worker B runs the same job
meanwhile. Everything committed is removed afterwards.
"""

import json
import threading

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError

from ..models.attendance_import_log import JOB_KEY_PREFIX
from .registry_common import RegistryImportCase

PREFIX = "UIN"


@tagged("post_install", "-at_install")
class TestImportPageJobLock(RegistryImportCase):
    def new_env(self):
        cr = self.registry.cursor()
        cr.execute("SET lock_timeout = '30s'")
        self.addCleanup(cr.close)
        return api.Environment(cr, SUPERUSER_ID, {})

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
        env.cr.execute(
            "DELETE FROM queue_job WHERE identity_key LIKE %s",
            [f"{JOB_KEY_PREFIX}{log_id}:%"],
        )
        env["spp.attendance.import.log"].browse(log_id).unlink()
        env.cr.commit()

    def test_second_delivery_waits_then_finds_the_page_done(self):
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
        log_id = log.id

        env_a, env_b = self.new_env(), self.new_env()
        env_a["spp.attendance.import.log"].browse(log_id)._job_import_page(1)
        env_a.cr.commit()
        self.emulator.hang_on_page = 2
        outcome = {}

        def worker_a():
            try:
                env_a["spp.attendance.import.log"].browse(log_id)._job_import_page(2)
                env_a.cr.commit()
                outcome["a"] = "ran"
            except Exception as error:  # reported by the assertion below
                outcome["a"] = repr(error)

        thread = threading.Thread(target=worker_a)
        thread.start()
        try:
            # A holds the log and waits for page 2 from the registry
            self.assertTrue(self.emulator.hanging.wait(timeout=30))
            requests = len(self.emulator.search_requests)
            log_b = env_b["spp.attendance.import.log"].browse(log_id)
            with self.assertRaises(RetryableJobError) as retried:
                log_b._job_import_page(2)
            self.assertTrue(retried.exception.ignore_retry, "not an attempt spent")
            self.assertEqual(
                len(self.emulator.search_requests), requests, "B asked for nothing"
            )
            env_b.cr.rollback()
        finally:
            self.emulator.release()
            thread.join(timeout=120)
        self.assertEqual(outcome.get("a"), "ran")
        # B's retry finds page 2 done, then the job A queued does page 3
        env_b.invalidate_all()
        log_b = env_b["spp.attendance.import.log"].browse(log_id)
        self.assertIn("Nothing to do", log_b._job_import_page(2))
        env_b.cr.execute(
            "SELECT count(*) FROM queue_job WHERE identity_key = %s",
            [f"{JOB_KEY_PREFIX}{log_id}:3"],
        )
        self.assertEqual(env_b.cr.fetchone()[0], 1, "page 3 queued once, by A")
        log_b._job_import_page(3)
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
        env_b.cr.rollback()
