from datetime import datetime

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import UNIQUE_PARAMS, AttendanceCase


@tagged("post_install", "-at_install")
class TestUniquenessWizard(AttendanceCase):
    """Attendance Managers (not administrators) set the uniqueness rule."""

    def _open(self, user):
        return Form(self.env["spp.attendance.uniqueness.wizard"].with_user(user))

    def test_manager_sets_the_rule(self):
        self.assertFalse(self.manager.has_group("base.group_system"))
        subscriber = self.create_subscriber("UW-1")
        moment = datetime(2024, 5, 1, 8, 0)
        form = self._open(self.manager)
        self.assertFalse(form.date_unique)
        form.date_unique = True
        form.time_unique = True
        with trap_jobs() as trap:
            form.save().action_apply()
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        self.assertEqual(self.ICP.get_param(UNIQUE_PARAMS["date"]), "True")
        self.assertEqual(self.ICP.get_param(UNIQUE_PARAMS["time"]), "True")
        self.assertFalse(self.ICP.get_param(UNIQUE_PARAMS["type"]))
        Attendance = self.Attendance.with_user(self.manager)
        Attendance.create(
            {"subscriber_id": subscriber.id, "attendance_datetime": moment}
        )
        with self.assertRaises(ValidationError):
            Attendance.create(
                {"subscriber_id": subscriber.id, "attendance_datetime": moment}
            )
        # the dialog opens with the current rule
        form = self._open(self.manager)
        self.assertTrue(form.date_unique)
        self.assertTrue(form.time_unique)
        self.assertFalse(form.location_unique)

    def test_refused_when_existing_records_conflict(self):
        subscriber = self.create_subscriber("UW-2")
        for hour in (8, 9):
            self.Attendance.create(
                {
                    "subscriber_id": subscriber.id,
                    "attendance_datetime": datetime(2024, 5, 2, hour, 0),
                }
            )
        form = self._open(self.manager)
        form.date_unique = True
        wizard = form.save()
        with trap_jobs() as trap:
            wizard.action_apply()
            trap.perform_enqueued_jobs()
        change = self.env["spp.attendance.uniqueness.change"]._latest()
        self.assertEqual(change.state, "failed")
        self.assertIn("2 existing attendance records", change.message)
        self.assertFalse(self.ICP.get_param(UNIQUE_PARAMS["date"]), "old rule kept")

    def test_viewer_and_others_cannot(self):
        for user in (self.viewer, self.internal):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["spp.attendance.uniqueness.wizard"].with_user(user).create(
                    {"date_unique": True}
                )
