"""The attendance calendar cannot explode (issue #15, item 2): on a dense month it
shows one entry per day and session, in a real browser."""

from datetime import date, timedelta

from odoo import http
from odoo.tests import HttpCase, new_test_user, tagged

from .common import UNIQUE_PARAMS

MONTH_START = date(2031, 2, 1)
DAYS = 28
TYPES = ("Cal Type A", "Cal Type B", "Cal Type C")
LOCATIONS = ("Cal Location 1", "Cal Location 2", "Cal Location 3", "Cal Location 4")
RECORDS_PER_SESSION = 15  # 3 x 4 x 28 x 15 = 5,040 records


@tagged("post_install", "-at_install")
class TestAttendanceCalendarTour(HttpCase):
    def test_calendar_on_a_dense_month(self):
        ICP = self.env["ir.config_parameter"].sudo()
        for param in UNIQUE_PARAMS.values():
            ICP.set_param(param, False)
        new_test_user(
            self.env,
            login="calendar_viewer",
            groups="spp_attendance.group_attendance_viewer",
            tz="UTC",
        )
        self.env.company.partner_id.tz = "UTC"
        types = self.env["spp.attendance.type"].create([{"name": n} for n in TYPES])
        locations = self.env["spp.attendance.location"].create(
            [{"name": n} for n in LOCATIONS]
        )
        subscribers = self.env["spp.attendance.subscriber"].create(
            [
                {
                    "person_identifier": f"CAL-{i:03d}",
                    "family_name": "Calendar",
                    "given_name": f"P{i}",
                }
                for i in range(RECORDS_PER_SESSION)
            ]
        )
        vals_list = [
            {
                "subscriber_id": subscriber.id,
                "attendance_category": "absent" if index % 5 == 0 else "present",
                "attendance_type_id": attendance_type.id,
                "attendance_location_id": location.id,
                "attendance_date": MONTH_START + timedelta(days=day),
                "attendance_time": "09:00:00",
                "submission_source": "Calendar test",
            }
            for day in range(DAYS)
            for attendance_type in types
            for location in locations
            for index, subscriber in enumerate(subscribers)
        ]
        self.env["spp.attendance.list"].with_context(
            tracking_disable=True, mail_create_nolog=True, tz="UTC"
        ).create(vals_list)
        month = [
            ("attendance_date", ">=", MONTH_START),
            ("attendance_date", "<", date(2031, 3, 1)),
        ]
        records = self.env["spp.attendance.list"].search_count(month)
        self.assertGreaterEqual(records, 5000)
        sessions = len(TYPES) * len(LOCATIONS)
        summary = self.env["spp.attendance.daily.summary"]
        self.assertEqual(summary.search_count(month), DAYS * sessions)
        # the calendar grid of the month (with the days of its neighbours) holds
        # nothing else: the tour can count every entry it shows
        grid = [
            ("attendance_date", ">=", MONTH_START - timedelta(days=7)),
            ("attendance_date", "<=", date(2031, 3, 1) + timedelta(days=14)),
        ]
        self.assertEqual(summary.search_count(grid), DAYS * sessions)
        # open the calendar on that month
        action = self.env.ref("spp_attendance.action_attendance_daily_summary")
        action.context = "{'initial_date': '2031-02-14 12:00:00'}"
        # see test_ui_tour.py: parse the manifests before the browser's requests
        self.assertTrue(http.root.statics)
        self.start_tour("/web", "spp_attendance_calendar_tour", login="calendar_viewer")
