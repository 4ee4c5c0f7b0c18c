import threading
import time

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import UNIQUE_PARAMS

IDENTIFIER = "CONCURRENCY-TEST-1"


@tagged("post_install", "-at_install")
class TestConcurrentDuplicates(TransactionCase):
    """Two transactions insert the same duplicate at the same time: one wins.

    This test commits for real (with its own cursors, not the test cursor) and
    removes everything it committed afterwards.
    """

    def new_env(self):
        cr = self.registry.cursor()
        cr.execute("SET lock_timeout = '30s'")
        self.addCleanup(cr.close)
        return api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})

    def set_flags(self, env, *flags):
        ICP = env["ir.config_parameter"].with_context(
            spp_attendance_defer_uniqueness=True
        )
        for name, param in UNIQUE_PARAMS.items():
            ICP.set_param(param, "True" if name in flags else False)
        env["spp.attendance.list"]._apply_uniqueness_settings()

    def cleanup(self):
        env = self.new_env()
        subscriber = (
            env["spp.attendance.subscriber"]
            .with_context(active_test=False)
            .search([("person_identifier", "=", IDENTIFIER)])
        )
        partner = subscriber.partner_id
        subscriber.attendance_list_ids.with_context(active_test=False).unlink()
        subscriber.unlink()
        partner.unlink()
        self.set_flags(env)
        env.cr.commit()

    def test_two_cursors_same_duplicate_exactly_one_wins(self):
        setup_env = self.new_env()
        self.addCleanup(self.cleanup)
        subscriber = setup_env["spp.attendance.subscriber"].create(
            {
                "person_identifier": IDENTIFIER,
                "family_name": "Race",
                "given_name": "Condition",
            }
        )
        self.set_flags(setup_env, "date", "time")
        setup_env.cr.commit()
        vals = {
            "subscriber_id": subscriber.id,
            "attendance_date": "2030-01-01",
            "attendance_time": "08:00:00",
            "submission_source": "concurrency test",
        }

        env_a = self.new_env()
        env_b = self.new_env()
        first = env_a["spp.attendance.list"].create(vals)  # not committed yet
        pid_b = env_b.cr._cnx.get_backend_pid()
        outcome = {}

        def insert_in_b():
            try:
                env_b["spp.attendance.list"].create(vals)
                env_b.cr.commit()
                outcome["b"] = "created"
            except ValidationError as error:
                env_b.cr.rollback()
                outcome["b"] = error
            except Exception as error:  # reported by the assertions below
                env_b.cr.rollback()
                outcome["b"] = error

        thread = threading.Thread(target=insert_in_b)
        # B's failing INSERT is logged by odoo.sql_db: expected here
        muted = mute_logger("odoo.sql_db")
        muted.__enter__()
        self.addCleanup(muted.__exit__, None, None, None)
        thread.start()
        # Wait until B is really blocked on A's uncommitted row.
        blocked = self.wait_for_lock(setup_env, pid_b, thread)
        env_a.cr.commit()
        thread.join(60)
        self.assertFalse(thread.is_alive())
        self.assertTrue(blocked, "the second insert ran concurrently with the first")
        self.assertIsInstance(outcome.get("b"), ValidationError, outcome)
        self.assertIn("Duplicate attendance", str(outcome["b"]))
        self.assertIn("saved at the same moment by another user", str(outcome["b"]))
        self.assertTrue(first.id)

        check_env = self.new_env()
        self.assertEqual(
            check_env["spp.attendance.list"].search_count(
                [("subscriber_id", "=", subscriber.id)]
            ),
            1,
            "exactly one of the two inserts won",
        )

    def wait_for_lock(self, env, pid, thread):
        """Until backend ``pid`` waits for a lock (a state, not a time); the
        deadline only turns a hang into a failure."""
        deadline = time.monotonic() + 120
        while thread.is_alive() and time.monotonic() < deadline:
            # pg_stat_activity is read once per transaction unless cleared.
            env.cr.execute("SELECT pg_stat_clear_snapshot()")
            env.cr.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
            )
            row = env.cr.fetchone()
            if row and row[0] == "Lock":
                return True
            time.sleep(0.05)
        return False

    def test_writer_during_the_rule_job_waits_then_meets_the_new_rule(self):
        """A write arriving while the rule's job rewrites the keys waits for the
        job; it cannot store a record under the old rule once the new one is in
        force (its transaction fails and, retried as Odoo retries a request,
        is refused as a duplicate under the new rule)."""
        setup_env = self.new_env()
        self.addCleanup(self.cleanup)
        subscriber = setup_env["spp.attendance.subscriber"].create(
            {
                "person_identifier": IDENTIFIER,
                "family_name": "Rule",
                "given_name": "Job",
            }
        )
        vals = {
            "subscriber_id": subscriber.id,
            "attendance_date": "2030-02-01",
            "attendance_time": "08:00:00",
        }
        first = setup_env["spp.attendance.list"].create(vals)
        change = setup_env["spp.attendance.uniqueness.change"]._request(("date",))
        setup_env.cr.commit()
        self.addCleanup(self.remove_change, change.id)
        # Hold the first record: the job's UPDATE of the keys waits for it, with
        # the uniqueness settings already locked by the job.
        blocker = self.new_env()
        blocker.cr.execute(
            "SELECT 1 FROM spp_attendance_list WHERE id = %s FOR UPDATE", [first.id]
        )
        env_job, env_writer = self.new_env(), self.new_env()
        outcome = {}

        def run_job():
            try:
                env_job["spp.attendance.uniqueness.change"].browse(
                    change.id
                )._job_apply()
                env_job.cr.commit()
                outcome["job"] = "committed"
            except Exception as error:  # reported by the assertions below
                outcome["job"] = error

        def write():
            try:
                env_writer["spp.attendance.list"].create(
                    dict(vals, attendance_time="09:00:00")
                )
                env_writer.cr.commit()
                outcome["writer"] = "created"
            except Exception as error:  # reported by the assertions below
                env_writer.cr.rollback()
                outcome["writer"] = error

        # the writer's failing lock is logged by odoo.sql_db: expected here
        muted = mute_logger("odoo.sql_db")
        muted.__enter__()
        self.addCleanup(muted.__exit__, None, None, None)
        job = threading.Thread(target=run_job)
        job.start()
        job_waits = self.wait_for_lock(
            setup_env, env_job.cr._cnx.get_backend_pid(), job
        )
        writer = threading.Thread(target=write)
        writer.start()
        writer_waits = self.wait_for_lock(
            setup_env, env_writer.cr._cnx.get_backend_pid(), writer
        )
        blocker.cr.rollback()
        job.join(60)
        writer.join(60)
        self.assertTrue(job_waits and writer_waits, "not at the known points")
        self.assertEqual(outcome.get("job"), "committed")
        # the writer read the old rule before the job committed: it fails
        # rather than store a record with an outdated key
        self.assertNotEqual(outcome.get("writer"), "created")
        self.assertIn("concurrent update", str(outcome["writer"]))
        with self.assertRaisesRegex(ValidationError, "Duplicate attendance"):
            env_writer["spp.attendance.list"].create(
                dict(vals, attendance_time="09:00:00")
            )
        env_writer.cr.rollback()
        check_env = self.new_env()
        self.assertEqual(
            check_env["spp.attendance.list"].search_count(
                [("subscriber_id", "=", subscriber.id)]
            ),
            1,
        )
        self.assertEqual(
            check_env["spp.attendance.uniqueness.change"].browse(change.id).state,
            "done",
        )

    def remove_change(self, change_id):
        env = self.new_env()
        env.cr.execute(
            "DELETE FROM queue_job WHERE model_name = %s",
            ["spp.attendance.uniqueness.change"],
        )
        env["spp.attendance.uniqueness.change"].browse(change_id).unlink()
        env.cr.commit()
