from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import UNIQUE_PARAMS, AttendanceCase


@tagged("post_install", "-at_install")
class TestUniquenessJob(AttendanceCase):
    """A new uniqueness rule is applied by a queue_job job, not in the request."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Attendance.search([]).with_context(tracking_disable=True).write(
            {"active": False}
        )
        cls.subscriber = cls.create_subscriber("UJ-1")
        cls.Change = cls.env["spp.attendance.uniqueness.change"]

    def card(self, time="08:00:00"):
        return {
            "subscriber_id": self.subscriber.id,
            "attendance_date": "2024-07-01",
            "attendance_time": time,
        }

    def save_settings(self, trap, **flags):
        settings = Form(self.env["res.config.settings"])
        for name in ("date", "time", "type", "location"):
            setattr(settings, f"attendance_{name}_unique", flags.get(name, False))
        settings.save().execute()
        return trap

    def test_saving_queues_one_job_and_shows_its_state(self):
        with trap_jobs() as trap:
            self.save_settings(trap, date=True)
            trap.assert_jobs_count(1)
            change = self.Change._latest()
            trap.assert_enqueued_job(
                change._job_apply, properties={"channel": "root.spp_uniqueness"}
            )
            self.assertEqual(change.state, "queued")
            self.assertEqual(change.job_uuid, trap.enqueued_jobs[0].uuid)
            # nothing is recomputed in the request: the old rule is in force
            self.assertFalse(self.ICP.get_param(UNIQUE_PARAMS["date"]))
            settings = Form(self.env["res.config.settings"])
            self.assertTrue(settings.attendance_date_unique, "the rule asked for")
            self.assertEqual(settings.attendance_uniqueness_state, "queued")
            self.assertEqual(settings.attendance_uniqueness_in_force, "none")
            trap.perform_enqueued_jobs()
        settings = Form(self.env["res.config.settings"])
        self.assertEqual(settings.attendance_uniqueness_state, "done")
        self.assertEqual(settings.attendance_uniqueness_in_force, "date")

    def test_same_rule_queues_nothing(self):
        self.set_uniqueness("date")
        with trap_jobs() as trap:
            self.save_settings(trap, date=True)
            trap.assert_jobs_count(0)

    def test_writes_while_queued_follow_the_old_rule(self):
        """Until the job commits, the rule in force (and its unique index) is the
        old one; the job then puts the new one in force at once."""
        self.set_uniqueness("date")
        first = self.Attendance.create(self.card())
        with trap_jobs() as trap:
            self.save_settings(trap, date=True, time=True)
            # still one record per date: the old rule is enforced meanwhile
            with self.assertRaisesRegex(ValidationError, "Duplicate attendance"):
                with self.env.cr.savepoint():
                    self.Attendance.create(self.card("09:00:00"))
            self.assertEqual(first.duplicate_key, f"D|{self.subscriber.id}|2024-07-01")
            trap.perform_enqueued_jobs()
        self.assertEqual(
            first.duplicate_key, f"DT|{self.subscriber.id}|2024-07-01|08:00:00"
        )
        # the new, looser rule at once: another time of the same day is fine
        self.Attendance.create(self.card("09:00:00"))
        with self.assertRaisesRegex(ValidationError, "Duplicate attendance"):
            self.Attendance.create(self.card("09:00:00"))

    def test_duplicates_written_while_queued_make_the_job_refuse(self):
        """With no rule in force, duplicates written before the job runs are
        legal; the job then refuses the new rule and the old one stays."""
        with trap_jobs() as trap:
            self.save_settings(trap, date=True)
            self.Attendance.create(self.card())
            self.Attendance.create(self.card("10:00:00"))
            trap.perform_enqueued_jobs()
        change = self.Change._latest()
        self.assertEqual(change.state, "failed")
        self.assertIn("2 existing attendance records (1 groups)", change.message)
        self.assertFalse(self.ICP.get_param(UNIQUE_PARAMS["date"]))
        self.assertEqual(
            self.Attendance._get_uniqueness_flags(), (), "the old rule is in force"
        )
        self.Attendance.create(self.card())  # still no rule

    def test_later_request_supersedes_a_queued_one(self):
        with trap_jobs() as trap:
            self.save_settings(trap, date=True)
            first = self.Change._latest()
            self.save_settings(trap, date=True, type=True)
            second = self.Change._latest()
            self.assertEqual(first.state, "superseded")
            trap.perform_enqueued_jobs()
        self.assertEqual(first.state, "superseded", "its job did nothing")
        self.assertEqual(second.state, "done")
        self.assertEqual(self.Attendance._get_uniqueness_flags(), ("date", "type"))

    def test_job_reports_the_real_count(self):
        self.Attendance.create([self.card(), self.card("09:00:00")])
        with trap_jobs() as trap:
            self.save_settings(trap, time=True)
            (job,) = trap.enqueued_jobs
            # the count the job reports (and logs) is the number of keys changed
            self.assertEqual(job.perform(), "2 duplicate keys updated")
        change = self.Change._latest()
        self.assertEqual((change.state, change.updated_count), ("done", 2))
