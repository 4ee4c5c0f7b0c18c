from odoo import http
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestAttendanceTour(HttpCase):
    def test_manager_records_attendance_in_the_ui(self):
        new_test_user(
            self.env,
            login="tour_manager",
            groups="spp_attendance.group_attendance_manager",
            tz="UTC",
        )
        training = self.env["spp.attendance.type"].create({"name": "Tour Training"})
        # Parse the addons' manifests once here: when the browser's first requests
        # do it in parallel threads, CPython 3.11 < 3.11.8 may fail with
        # "SystemError: AST constructor recursion depth mismatch" (gh-106905).
        self.assertTrue(http.root.statics)
        self.start_tour("/web", "spp_attendance_record_tour", login="tour_manager")
        subscriber = self.env["spp.attendance.subscriber"].search(
            [("person_identifier", "=", "TOUR-0001")]
        )
        self.assertEqual(subscriber.name, "Tourist, Tina")
        self.assertEqual(len(subscriber.attendance_list_ids), 1)
        record = subscriber.attendance_list_ids
        self.assertEqual(record.attendance_type_id, training)
        self.assertEqual(record.create_uid.login, "tour_manager")
        self.assertEqual(record.submission_source, "Back office")
