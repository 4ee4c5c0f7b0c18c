"""Background registry import on queue_job: retries, giving up, cancel, resume.

The jobs run in the test, deterministically: trapped (queue_job's ``trap_jobs``)
or stored and performed the way queue_job's runner controller does (started,
performed, then done, or postponed on ``RetryableJobError``), in the test
transaction.
"""

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from ..models.attendance_import_log import JOB_BACKOFF, JOB_RETRIES
from .registry_common import LOG_MODEL, RegistryImportCase


@tagged("post_install", "-at_install")
class TestRegistryImportJobs(RegistryImportCase):
    def start_background(self, population, page_size=100):
        self.emulator.population = population
        self.set_params(page_size=page_size, retries="0")
        self.addCleanup(self.set_params, retries=False)
        wizard = self.preview(self.manager)
        wizard.run_in_background = True
        return wizard

    def pending_jobs(self, log):
        return self.env["queue.job"].search(
            [*log._job_domain(), ("state", "=", "pending")], order="id"
        )

    def perform_stored(self, job_record):
        """Run a stored job as queue_job's runner controller does; returns the
        RetryableJobError it was postponed with, if any."""
        job = Job.load(self.env, job_record.uuid)
        job.set_started()
        job.store()
        try:
            with self.env.cr.savepoint():  # the runner rolls a failed try back
                job.perform()
        except RetryableJobError as err:
            job.postpone(result=str(err), seconds=err.seconds)
            job.set_pending(reset_retry=False)
            job.store()
            return err
        job.set_done()
        job.store()
        return None

    @mute_logger(LOG_MODEL)
    def test_transient_error_is_retried_later_then_the_page_imports(self):
        wizard = self.start_background(250)
        with trap_jobs() as trap:
            log = self.import_now(wizard)
            (job,) = trap.enqueued_jobs
            self.emulator.transient_failures = 1  # one 503, client retries off
            with self.assertRaises(RetryableJobError) as retried:
                job.perform()
            self.assertEqual(retried.exception.seconds, JOB_BACKOFF)
            self.assertIn("Page 1", str(retried.exception))
            log.invalidate_recordset()
            self.assertEqual((log.state, log.pages_done), ("running", 0))
            self.assertFalse(self.registry_subscribers())
            job.perform()  # the retry
            self.run_jobs(trap, log)
        self.assertEqual((log.state, log.created_count), ("done", 250))
        self.assertEqual(self.emulator.transient_served, 1)

    @mute_logger(LOG_MODEL, "odoo.addons.queue_job.job")
    def test_transient_errors_beyond_the_retries_fail_the_import(self):
        wizard = self.start_background(250)
        log = self.import_now(wizard)
        self.emulator.transient_failures = 100
        waits = []
        for _attempt in range(JOB_RETRIES):
            (job,) = self.pending_jobs(log)
            self.assertEqual(job.channel, "root.spp_registry_import")
            err = self.perform_stored(job)
            if err:
                waits.append(err.seconds)
        # backoff doubles; the last attempt gives up and fails the import
        self.assertEqual(waits, [JOB_BACKOFF * 2**n for n in range(JOB_RETRIES - 1)])
        log.invalidate_recordset()
        self.assertEqual((log.state, log.error_code), ("failed", "http_5xx"))
        self.assertIn(
            "Page 1: The registry failed on the search request (HTTP 503)",
            log.error_message,
        )
        self.assertIn(f"gave up after {JOB_RETRIES} attempts", log.error_message)
        self.assertFalse(self.pending_jobs(log))
        self.assertEqual((log.job_count, log.job_failed_count), (1, 0))
        # resumed once the registry is back: from page 1, to the end
        self.emulator.transient_failures = 0
        log.with_user(self.manager).action_resume()
        while self.pending_jobs(log):
            self.assertIsNone(self.perform_stored(self.pending_jobs(log)[0]))
        log.invalidate_recordset()
        self.assertEqual((log.state, log.created_count), ("done", 250))
        self.assertEqual(len(self.registry_subscribers()), 250)

    def test_permanent_error_fails_at_once(self):
        wizard = self.start_background(250)
        with trap_jobs() as trap:
            log = self.import_now(wizard)
            self.emulator.fail_on_page = 2  # HTTP 500: a registry bug, not "later"
            self.assertEqual(self.run_jobs(trap, log), 2)
        self.assertEqual((log.state, log.pages_done), ("failed", 1))
        self.assertEqual(log.error_code, "http_5xx")
        self.assertNotIn("attempts", log.error_message)

    def test_cancel_stops_the_queued_jobs_and_resume_carries_on(self):
        wizard = self.start_background(300)
        log = self.import_now(wizard)
        self.assertIsNone(self.perform_stored(self.pending_jobs(log)[0]))
        (page_2,) = self.pending_jobs(log)
        log.invalidate_recordset()
        self.assertEqual((log.pages_done, log.next_page), (1, 2))
        self.assertEqual(log.job_pending_count, 1)
        self.assertIn("2: Pending", log.job_summary)
        self.assertIn("1: Done", log.job_summary)
        log.with_user(self.manager).action_cancel()
        self.assertEqual(log.state, "cancelled")
        self.assertEqual(page_2.state, "cancelled")
        # a job already running when the import was cancelled does nothing
        self.assertIn("Nothing to do", log._job_import_page(2))
        self.assertEqual(len(self.registry_subscribers()), 100)
        # resume from the last committed page
        log.with_user(self.manager).action_resume()
        self.assertEqual(log.state, "running")
        (resumed,) = self.pending_jobs(log)
        self.assertEqual(resumed.identity_key, page_2.identity_key)
        while self.pending_jobs(log):
            self.assertIsNone(self.perform_stored(self.pending_jobs(log)[0]))
        log.invalidate_recordset()
        self.assertEqual((log.state, log.created_count), ("done", 300))
        self.assertEqual(len(self.registry_subscribers()), 300)
        pages = [
            body["message"]["search_request"][0]["search_criteria"]["pagination"][
                "page_number"
            ]
            for body in self.emulator.search_requests[-3:]
        ]
        self.assertEqual(pages, [1, 2, 3], "page 1 read once, then 2 and 3")

    def test_a_stale_job_does_nothing(self):
        """A page job for a page already imported (delivered again) changes
        nothing and asks the registry nothing."""
        wizard = self.start_background(150)
        with trap_jobs() as trap:
            log = self.import_now(wizard)
            self.run_jobs(trap, log)
        asked = len(self.emulator.search_requests)
        self.assertIn("Nothing to do", log._job_import_page(1))
        self.assertEqual(len(self.emulator.search_requests), asked)
        self.assertEqual((log.state, log.created_count), ("done", 150))
