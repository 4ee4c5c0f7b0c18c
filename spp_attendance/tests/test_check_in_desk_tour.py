"""The check-in desk in a real browser (issue #13, item 7): a session, check-ins by
identifier and by name, a duplicate refused, check-ins queued while the server is
unreachable and sent once when it is back (also after a lost answer and a reload)."""

from odoo import http
from odoo.tests import HttpCase, new_test_user, tagged

from .common import UNIQUE_PARAMS

PEOPLE = {
    "DT-001": ("Quill", "Ada"),
    "DT-002": ("Zephyr", "Ben"),
    "DT-003": ("Marlow", "Cy"),
    "DT-004": ("Marlow", "Dee"),
    "DT-005": ("Ostrander", "Eve"),
}


@tagged("post_install", "-at_install")
class TestCheckInDeskTour(HttpCase):
    def test_check_in_desk_on_a_bad_network(self):
        ICP = self.env["ir.config_parameter"].sudo()
        for name, param in UNIQUE_PARAMS.items():
            ICP.set_param(param, name in ("date", "type", "location"))
        self.env["spp.attendance.list"].sudo()._apply_uniqueness_settings()
        officer = new_test_user(
            self.env,
            login="desk_officer",
            name="Desk Officer",
            groups="spp_attendance.group_attendance_officer",
            tz="UTC",
        )
        training = self.env["spp.attendance.type"].create(
            {"name": "Desk Tour Training"}
        )
        hall = self.env["spp.attendance.location"].create(
            {"name": "Desk Tour Hall", "tz": "UTC"}
        )
        subscribers = self.env["spp.attendance.subscriber"].create(
            [
                {"person_identifier": pid, "family_name": family, "given_name": given}
                for pid, (family, given) in PEOPLE.items()
            ]
        )
        # see test_ui_tour.py: parse the manifests before the browser's requests
        self.assertTrue(http.root.statics)
        self.start_tour(
            "/web", "spp_attendance_check_in_desk_tour", login="desk_officer"
        )

        records = (
            self.env["spp.attendance.list"]
            .with_context(active_test=False)
            .search([("subscriber_id", "in", subscribers.ids)])
        )
        by_person = {
            pid: records.filtered(lambda r, pid=pid: r.person_identifier == pid)
            for pid in PEOPLE
        }
        # each person stored exactly once: the duplicate refused, the batch whose
        # answer was lost not stored again, the queue sent after the reload once
        for pid, found in by_person.items():
            self.assertEqual(len(found), 1, pid)
            self.assertEqual(found.submission_source, "Check-in desk")
            self.assertEqual(found.submitted_by, "Desk Officer")
            self.assertEqual(found.create_uid, officer)
            self.assertEqual(found.attendance_type_id, training)
            self.assertEqual(found.attendance_location_id, hall)
            self.assertTrue(found.uuid)
        self.assertEqual(set(records.mapped("attendance_category")), {"present"})
        # Eve's check-in was undone: archived, with the audit note
        eve = by_person["DT-005"]
        self.assertFalse(eve.active)
        self.assertIn("undone", eve.message_ids[0].body)
        self.assertTrue(all(by_person[pid].active for pid in PEOPLE if pid != "DT-005"))
