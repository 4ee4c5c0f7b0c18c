"""The daily attendance summary (issue #15, item 1): a SQL view over the records.

After every write path the summary must equal a direct aggregate of the records;
it must respect company isolation like the records.
"""

import json
from datetime import date, datetime

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..services.submit import SubmitService
from .common import AttendanceCase, daily_aggregate

FIELDS = [
    "attendance_date",
    "attendance_type_id",
    "attendance_location_id",
    "company_id",
    "present_count",
    "absent_count",
    "record_count",
    "participant_count",
]

DIRECT_AGGREGATE = daily_aggregate("attendance_date BETWEEN %s AND %s")


def _plan_nodes(plan):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


DAY_1 = date(2031, 3, 3)
DAY_2 = date(2031, 3, 4)
PERIOD = (date(2031, 3, 1), date(2031, 3, 31))


@tagged("post_install", "-at_install")
class TestDailySummary(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Summary = cls.env["spp.attendance.daily.summary"]
        cls.alice = cls.create_subscriber("SUM-1", given="Alice")
        cls.bob = cls.create_subscriber("SUM-2", given="Bob")
        cls.carol = cls.create_subscriber("SUM-3", given="Carol")

    # helpers -----------------------------------------------------------

    def expected(self):
        self.env.flush_all()
        self.cr.execute(DIRECT_AGGREGATE, PERIOD)
        return {
            (row[1], row[2] or False, row[3] or False, row[4] or False): (
                row[0],
                *row[5:],
            )
            for row in self.cr.fetchall()
        }

    def actual(self, summary=None):
        summary = summary if summary is not None else self.Summary.sudo()
        rows = summary.search(
            [("attendance_date", ">=", PERIOD[0]), ("attendance_date", "<=", PERIOD[1])]
        )
        result = {}
        # read() goes through _as_query (reading by id), search_read would not
        for row in rows.read(FIELDS, load=None):
            key = (
                row["attendance_date"],
                row["attendance_type_id"],
                row["attendance_location_id"],
                row["company_id"],
            )
            result[key] = (
                row["id"],
                row["present_count"],
                row["absent_count"],
                row["record_count"],
                row["participant_count"],
            )
        return result

    def assertSummaryMatches(self, msg=""):
        expected = self.expected()
        self.assertTrue(expected, "the test needs records in the period")
        self.assertEqual(self.actual(), expected, msg)
        return expected

    def record(self, subscriber, day=DAY_1, category="present", **vals):
        return self.Attendance.create(
            dict(
                {
                    "subscriber_id": subscriber.id,
                    "attendance_category": category,
                    "attendance_type_id": self.training.id,
                    "attendance_location_id": self.hall.id,
                    "attendance_date": day,
                    "attendance_time": "09:00:00",
                },
                **vals,
            )
        )

    def seed(self):
        return (
            self.record(self.alice)
            | self.record(self.alice, attendance_time="15:00:00")
            | self.record(self.bob, category="absent")
            | self.record(self.carol, attendance_location_id=self.nairobi.id)
            | self.record(self.carol, DAY_2, attendance_type_id=False)
        )

    # write paths ---------------------------------------------------------

    def test_orm_create(self):
        self.seed()
        expected = self.assertSummaryMatches()
        key = (DAY_1, self.training.id, self.hall.id, self.company.id)
        # 2 present (Alice twice), 1 absent (Bob), 3 records, 2 participants
        self.assertEqual(expected[key][1:], (2, 1, 3, 2))
        row = self.Summary.browse(expected[key][0])
        self.assertEqual(
            row.display_name, "Test Training @ Test Hall: 2 present, 1 absent"
        )
        untyped = self.Summary.browse(
            expected[(DAY_2, False, self.hall.id, self.company.id)][0]
        )
        self.assertEqual(
            untyped.display_name, "No type @ Test Hall: 1 present, 0 absent"
        )

    def test_api_submit(self):
        self.seed()
        cards = [
            {
                "person_id": subscriber.person_identifier,
                "moment": datetime(2031, 3, 3, 10, minute),
                "type_id": self.training.id,
                "location_id": self.hall.id,
                "category": category,
                "description": None,
                "url": None,
                "uuid": None,
                "path": f"records[{index}]",
            }
            for index, (subscriber, category, minute) in enumerate(
                [(self.alice, "present", 5), (self.bob, "present", 6)]
            )
        ]
        results = SubmitService(self.env).submit(
            cards,
            {
                "submitted_by": "summary-test",
                "submitted_datetime": datetime(2031, 3, 3, 12),
                "submission_source": "mobile",
            },
            client=None,
            ignore_unique=False,
            atomic=True,
        )
        self.assertEqual([r.status for r in results], ["created", "created"])
        expected = self.assertSummaryMatches()
        key = (DAY_1, self.training.id, self.hall.id, self.company.id)
        self.assertEqual(expected[key][1:], (4, 1, 5, 2))

    def test_write_type_location_date(self):
        records = self.seed()
        self.assertSummaryMatches()
        records[0].attendance_type_id = self.meeting
        self.assertSummaryMatches("after a change of type")
        records[1].attendance_location_id = self.new_york
        self.assertSummaryMatches("after a change of location")
        records[2].attendance_date = DAY_2
        expected = self.assertSummaryMatches("after a change of date")
        self.assertEqual(
            expected[(DAY_2, self.training.id, self.hall.id, self.company.id)][1:],
            (0, 1, 1, 1),
        )
        # the moved record was the smallest of its group: the row keeps existing
        # (under another id) and is still read by id
        records[3:].write({"attendance_category": "absent"})
        self.assertSummaryMatches("after a change of category")

    def test_archive_and_unlink(self):
        records = self.seed()
        before = self.assertSummaryMatches()
        records[2].active = False  # Bob's absence
        expected = self.assertSummaryMatches("after archiving")
        key = (DAY_1, self.training.id, self.hall.id, self.company.id)
        self.assertEqual(expected[key][1:], (2, 0, 2, 1))
        records[0].unlink()  # the smallest id of the group: the row's id changes
        expected = self.assertSummaryMatches("after unlink")
        self.assertNotEqual(expected[key][0], before[key][0])
        self.assertEqual(expected[key][1:], (1, 0, 1, 1))
        self.assertFalse(self.Summary.browse(before[key][0]).exists())
        records[1].unlink()
        self.assertNotIn(key, self.assertSummaryMatches("group emptied"))
        records[2].active = True
        self.assertSummaryMatches("after unarchiving")

    def test_uniqueness_rule_change(self):
        self.seed()
        before = self.assertSummaryMatches()
        self.set_uniqueness("date", "time", "type", "location")
        self.assertEqual(self.assertSummaryMatches("after the rule change"), before)
        self.set_uniqueness()
        self.assertEqual(self.assertSummaryMatches("after removing the rule"), before)

    def test_drill_down_opens_the_matching_records(self):
        records = self.seed()
        expected = self.expected()
        row = self.Summary.browse(
            expected[(DAY_1, self.training.id, self.hall.id, self.company.id)][0]
        )
        action = row.action_view_records()
        self.assertEqual(action["res_model"], "spp.attendance.list")
        self.assertEqual(self.Attendance.search(action["domain"]), records[:3])
        untyped = self.Summary.browse(
            expected[(DAY_2, False, self.hall.id, self.company.id)][0]
        )
        self.assertEqual(
            self.Attendance.search(untyped.action_view_records()["domain"]), records[4]
        )

    def test_read_by_id_is_restricted_to_the_dates(self):
        """Reading rows by id does not aggregate the whole table: the query on the
        view carries the dates of the rows, served by the date index."""
        self.seed()
        ids = [value[0] for value in self.expected().values()]
        query = self.Summary.browse(ids)._as_query(ordered=False)
        sql = query.select()
        self.assertIn("attendance_date", sql.code)
        self.cr.execute("EXPLAIN (FORMAT JSON) " + sql.code, sql.params)
        plan = self.cr.fetchone()[0][0]["Plan"]
        # the dates reach the scan of the records (an index condition, or a
        # filter on a tiny test table): the view is not aggregated as a whole
        scans = [
            node
            for node in _plan_nodes(plan)
            if node.get("Relation Name") == "spp_attendance_list"
        ]
        self.assertTrue(scans, json.dumps(plan))
        for scan in scans:
            conditions = " ".join(
                scan.get(key, "") for key in ("Index Cond", "Filter", "Recheck Cond")
            )
            self.assertIn("attendance_date", conditions, json.dumps(plan))
        self.assertEqual(sorted(self.Summary.browse(ids).exists().ids), sorted(ids))

    # security --------------------------------------------------------------

    def test_company_isolation(self):
        company_b = self.env["res.company"].create({"name": "Summary Co B"})
        dave = self.create_subscriber("SUM-B1", given="Dave", company_id=company_b.id)
        self.seed()
        self.record(dave)
        viewer_b = new_test_user(
            self.env,
            login="summary_viewer_b",
            groups="spp_attendance.group_attendance_viewer",
            company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)],
        )
        expected = self.assertSummaryMatches()
        rows_b = self.actual(self.Summary.with_user(viewer_b))
        self.assertEqual(
            rows_b, {k: v for k, v in expected.items() if k[3] == company_b.id}
        )
        self.assertEqual(len(rows_b), 1)
        row_a = expected[(DAY_1, self.training.id, self.hall.id, self.company.id)][0]
        with self.assertRaises(AccessError):
            self.Summary.with_user(viewer_b).browse(row_a).read(["present_count"])
        # a viewer of company A sees A's rows and not B's
        rows_a = self.actual(self.Summary.with_user(self.viewer))
        self.assertEqual(
            rows_a, {k: v for k, v in expected.items() if k[3] == self.company.id}
        )
        # a user without an attendance group cannot read the summary at all
        with self.assertRaises(AccessError):
            self.Summary.with_user(self.internal).search([])
