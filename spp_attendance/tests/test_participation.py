"""The participation report and program reach (issue #15, item 3).

The report's numbers must equal a direct aggregate of the active records for the
chosen period; a day with both present and absent records is a present day. The
model method ``get_participation`` returns the same numbers with a constant
number of queries. Company isolation through record rules, tested with_user.
"""

from collections import defaultdict
from datetime import date

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import AttendanceCase

PERIOD = (date(2025, 3, 1), date(2025, 3, 31))
D1, D2, D3 = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 20)
BEFORE = date(2025, 1, 15)
AFTER = date(2025, 4, 2)

RAW_RECORDS = """
    SELECT l.subscriber_id, l.attendance_date, l.attendance_category,
           l.attendance_type_id, l.attendance_location_id
      FROM spp_attendance_list l
      JOIN spp_attendance_subscriber s ON s.id = l.subscriber_id
     WHERE l.active AND l.company_id = ANY(%s) AND s.company_id = ANY(%s)
"""

REACH_DIRECT = """
    SELECT date_trunc('month', attendance_date)::date, attendance_type_id,
           attendance_location_id, company_id, COUNT(DISTINCT subscriber_id),
           COUNT(DISTINCT subscriber_id) FILTER (WHERE attendance_category = 'present'),
           COUNT(*)
      FROM spp_attendance_list
     WHERE active AND attendance_date BETWEEN %s AND %s
  GROUP BY 1, 2, 3, 4
"""


@tagged("post_install", "-at_install")
class TestParticipation(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Wizard = cls.env["spp.attendance.participation.wizard"]
        cls.alice = cls.create_subscriber("PART-1", given="Alice")
        cls.bob = cls.create_subscriber("PART-2", given="Bob")
        cls.carol = cls.create_subscriber("PART-3", given="Carol")
        cls.dan = cls.create_subscriber("PART-4", given="Dan")  # never any record
        rec = cls.record
        # Alice: present D1 (twice), D1 absent in another session (present wins),
        # absent D2, present D3 at another location; present before the period
        rec(cls.alice, D1)
        rec(cls.alice, D1, attendance_time="15:00:00")
        rec(cls.alice, D1, "absent", attendance_type_id=cls.meeting.id)
        rec(cls.alice, D2, "absent")
        rec(cls.alice, D3, attendance_location_id=cls.nairobi.id)
        rec(cls.alice, BEFORE)
        # Bob: absent D1 and D3; present in January only; an archived present
        # record on D2 does not count
        rec(cls.bob, D1, "absent")
        rec(cls.bob, D3, "absent")
        rec(cls.bob, BEFORE)
        rec(cls.bob, D2).active = False
        # Carol: present D2; present after the period (not within, not last seen)
        rec(cls.carol, D2, attendance_type_id=cls.meeting.id)
        rec(cls.carol, AFTER)

    @classmethod
    def record(cls, subscriber, day, category="present", **vals):
        return cls.Attendance.create(
            dict(
                {
                    "subscriber_id": subscriber.id,
                    "attendance_category": category,
                    "attendance_type_id": cls.training.id,
                    "attendance_location_id": cls.hall.id,
                    "attendance_date": day,
                    "attendance_time": "09:00:00",
                },
                **vals,
            )
        )

    # helpers -----------------------------------------------------------

    def direct(self, env=None, type_id=None, location_id=None, period=PERIOD):
        """{subscriber_id: (days_present, days_absent, last_seen)} from the raw
        active records, for the subscribers with a record in the period."""
        env = env or self.env
        env.flush_all()
        companies = env.companies.ids
        self.cr.execute(RAW_RECORDS, [companies, companies])
        present, absent, last = defaultdict(set), defaultdict(set), {}
        for sid, day, category, type_, location in self.cr.fetchall():
            if (type_id and type_ != type_id) or (
                location_id and location != location_id
            ):
                continue
            if category == "present" and day <= period[1]:
                last[sid] = max(last.get(sid, day), day)
            if period[0] <= day <= period[1]:
                (present if category == "present" else absent)[sid].add(day)
        return {
            sid: (
                len(present[sid]),
                len(absent[sid] - present[sid]),
                last.get(sid),
            )
            for sid in set(present) | set(absent)
        }

    def run_report(self, env=None, **vals):
        env = env or self.env
        wizard = env["spp.attendance.participation.wizard"].create(
            dict({"date_from": PERIOD[0], "date_to": PERIOD[1]}, **vals)
        )
        action = wizard.action_show()
        lines = env[action["res_model"]].search(action["domain"])
        return wizard, lines

    @staticmethod
    def as_dict(lines):
        return {
            line.subscriber_id.id: (line.days_present, line.days_absent, line.last_seen)
            for line in lines
        }

    # the report ----------------------------------------------------------

    def test_report_equals_direct_aggregate(self):
        wizard, lines = self.run_report()
        expected = self.direct()
        self.assertEqual(self.as_dict(lines), expected)
        by_subscriber = {line.subscriber_id: line for line in lines}
        # the hand-checked cases
        self.assertEqual(expected[self.alice.id], (2, 1, D3))  # D1 present wins
        self.assertEqual(expected[self.bob.id], (0, 2, BEFORE))  # archived D2 ignored
        self.assertEqual(expected[self.carol.id], (1, 0, D2))  # AFTER not last seen
        self.assertNotIn(self.dan.id, expected)
        alice = by_subscriber[self.alice]
        self.assertAlmostEqual(alice.attendance_rate, 66.7)
        self.assertEqual(alice.days_recorded, 3)
        self.assertEqual(alice.days_since_seen, (PERIOD[1] - D3).days)
        self.assertEqual(by_subscriber[self.bob].attendance_rate, 0)
        # running it again replaces the lines
        wizard.action_show()
        self.assertEqual(len(wizard.line_ids), len(expected))
        # the report's list and pivot views read, as the web client does
        self.assertTrue(
            lines.web_search_read(
                [("wizard_id", "=", wizard.id)],
                {"subscriber_id": {}, "attendance_rate": {}, "last_seen": {}},
            )["records"]
        )
        groups = lines.read_group(
            [("wizard_id", "=", wizard.id)],
            ["days_present:sum", "attendance_rate:avg"],
            ["last_seen:month"],
        )
        self.assertEqual(
            sum(g["days_present"] for g in groups), sum(v[0] for v in expected.values())
        )

    def test_report_with_type_and_location(self):
        _wizard, lines = self.run_report(attendance_type_id=self.training.id)
        self.assertEqual(self.as_dict(lines), self.direct(type_id=self.training.id))
        self.assertNotIn(self.carol, lines.subscriber_id)  # only a meeting in March
        _wizard, lines = self.run_report(attendance_location_id=self.nairobi.id)
        expected = self.direct(location_id=self.nairobi.id)
        self.assertEqual(self.as_dict(lines), expected)
        self.assertEqual(expected, {self.alice.id: (1, 0, D3)})

    def test_archived_records_do_not_count(self):
        _wizard, lines = self.run_report()
        self.assertEqual(self.as_dict(lines)[self.carol.id], (1, 0, D2))
        self.Attendance.search(
            [("subscriber_id", "=", self.carol.id), ("attendance_date", "=", D2)]
        ).action_archive()
        _wizard, lines = self.run_report()
        self.assertNotIn(self.carol, lines.subscriber_id)
        self.assertEqual(self.as_dict(lines), self.direct())
        self.assertEqual(
            self.Subscriber.get_participation(*PERIOD, self.carol)[self.carol.id],
            {"days_present": 0, "days_absent": 0, "rate": None, "last_seen": None},
        )

    def test_not_seen_for_n_days(self):
        # reference: the end of the period (in the past), 31 March 2025
        _wizard, lines = self.run_report(not_seen_days=20)
        found = {line.subscriber_id.id: line for line in lines}
        # every active subscriber last present 20+ days before 31 March, or never
        self.env.flush_all()
        self.cr.execute(
            """
            SELECT s.id FROM spp_attendance_subscriber s
             WHERE s.active AND s.company_id = ANY(%s)
               AND NOT EXISTS (
                   SELECT 1 FROM spp_attendance_list l
                    WHERE l.subscriber_id = s.id AND l.active
                      AND l.attendance_category = 'present'
                      AND l.attendance_date > %s AND l.attendance_date <= %s)
            """,
            [self.env.companies.ids, date(2025, 3, 11), PERIOD[1]],
        )
        self.assertEqual(set(found), {row[0] for row in self.cr.fetchall()})
        self.assertNotIn(self.alice.id, found)  # present on 20 March: 11 days
        self.assertIn(self.bob.id, found)  # last present in January
        self.assertIn(self.carol.id, found)  # present on 4 March: 27 days
        self.assertIn(self.dan.id, found)  # never
        self.assertTrue(found[self.dan.id].never_seen)
        self.assertEqual(found[self.dan.id].days_present, 0)
        self.assertEqual(found[self.carol.id].days_since_seen, 27)
        self.assertEqual(found[self.bob.id].days_absent, 2)
        # 27 days: Carol is not; Bob still is
        _wizard, lines = self.run_report(not_seen_days=28)
        self.assertNotIn(self.carol, lines.subscriber_id)
        self.assertIn(self.bob, lines.subscriber_id)
        # archived subscribers are not "not seen"
        self.dan.action_archive()
        _wizard, lines = self.run_report(not_seen_days=28)
        self.assertNotIn(self.dan, lines.subscriber_id)

    def test_lines_follow_their_wizard_and_subscriber(self):
        """The lines' table has no foreign keys (each costs a lookup and a row
        lock per line written); deleting a report or a subscriber deletes
        their lines, as ON DELETE did."""
        Lines = self.env["spp.attendance.participation"]
        self.cr.execute(
            "SELECT COUNT(*) FROM pg_constraint"
            " WHERE conrelid = 'spp_attendance_participation'::regclass"
            " AND contype = 'f'"
        )
        self.assertEqual(self.cr.fetchone()[0], 0)
        wizard, lines = self.run_report(not_seen_days=20)
        other, other_lines = self.run_report()
        # the list's export reads the lines and their subscribers
        exported = other_lines.export_data(
            ["subscriber_id", "person_identifier", "days_present", "last_seen"]
        )["datas"]
        self.assertEqual(
            sorted((row[1], row[2]) for row in exported),
            sorted((line.person_identifier, line.days_present) for line in other_lines),
        )
        self.assertIn(self.dan, lines.subscriber_id)  # never seen, no record
        expected = self.as_dict(lines)
        del expected[self.dan.id]
        self.dan.unlink()
        self.assertEqual(self.as_dict(wizard.line_ids), expected)
        wizard.unlink()
        self.assertFalse(Lines.search([("wizard_id", "=", wizard.id)]))
        self.assertEqual(other.line_ids, other_lines)
        self.assertEqual(self.as_dict(other.line_ids), self.direct())

    def test_lines_table_from_a_version_with_foreign_keys(self):
        """init() drops the foreign keys that the ORM created on the lines'
        table before it was created by the model (module update)."""
        self.cr.execute(
            """
            ALTER TABLE spp_attendance_participation
              ADD CONSTRAINT spp_attendance_participation_wizard_id_fkey
              FOREIGN KEY (wizard_id)
              REFERENCES spp_attendance_participation_wizard(id) ON DELETE CASCADE
            """
        )
        self.env["spp.attendance.participation"].init()
        self.cr.execute(
            "SELECT COUNT(*) FROM pg_constraint"
            " WHERE conrelid = 'spp_attendance_participation'::regclass"
            " AND contype = 'f'"
        )
        self.assertEqual(self.cr.fetchone()[0], 0)
        _wizard, lines = self.run_report()
        self.assertEqual(self.as_dict(lines), self.direct())

    def test_wizard_checks_period(self):
        with self.assertRaises(UserError):
            self.Wizard.create({"date_from": PERIOD[1], "date_to": PERIOD[0]})
        with self.assertRaises(UserError):
            self.Subscriber.get_participation(PERIOD[1], PERIOD[0])

    # the model method ----------------------------------------------------

    def test_get_participation(self):
        result = self.Subscriber.get_participation(
            "2025-03-01", "2025-03-31", self.alice | self.bob | self.dan
        )
        self.assertEqual(
            result,
            {
                self.alice.id: {
                    "days_present": 2,
                    "days_absent": 1,
                    "rate": 2 / 3,
                    "last_seen": D3,
                },
                self.bob.id: {
                    "days_present": 0,
                    "days_absent": 2,
                    "rate": 0.0,
                    "last_seen": BEFORE,
                },
                self.dan.id: {
                    "days_present": 0,
                    "days_absent": 0,
                    "rate": None,
                    "last_seen": None,
                },
            },
        )
        # all subscribers with records in the period: the report's numbers
        everyone = self.Subscriber.get_participation(*PERIOD)
        self.assertEqual(
            {
                sid: (v["days_present"], v["days_absent"], v["last_seen"])
                for sid, v in everyone.items()
            },
            self.direct(),
        )
        by_type = self.Subscriber.get_participation(
            *PERIOD, subscribers=self.alice.ids, type_ids=self.meeting
        )
        self.assertEqual(by_type[self.alice.id]["days_absent"], 1)
        self.assertEqual(by_type[self.alice.id]["last_seen"], None)
        by_location = self.Subscriber.get_participation(
            *PERIOD, subscribers=self.alice.id, location_ids=[self.nairobi.id]
        )
        self.assertEqual(by_location[self.alice.id]["rate"], 1.0)
        self.assertEqual(self.Subscriber.get_participation(*PERIOD, []), {})

    def test_get_participation_query_count_is_constant(self):
        many = self.Subscriber.create(
            [
                {
                    "person_identifier": f"PART-Q{i}",
                    "family_name": "Q",
                    "given_name": str(i),
                }
                for i in range(30)
            ]
        )
        for subscriber in many[:15]:
            self.record(subscriber, D1)
            self.record(subscriber, D2, "absent")
        counts = []
        Subscriber = self.Subscriber.with_user(self.viewer)
        Subscriber.get_participation(*PERIOD, self.alice)  # warm the rule caches
        for subscribers in (self.alice, many, many | self.alice | self.bob):
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            result = Subscriber.get_participation(*PERIOD, subscribers)
            counts.append(self.cr.sql_log_count - before)
            self.assertEqual(set(result), set(subscribers.ids))
        self.assertEqual(len(set(counts)), 1, counts)
        # one query for the numbers; the rest is the access check of the given
        # subscribers and reading the user's companies (cache cleared above)
        self.assertLessEqual(counts[0], 4, counts)
        self.assertEqual(result[many[0].id]["rate"], 0.5)
        self.assertEqual(result[many[20].id]["rate"], None)

    # reach -----------------------------------------------------------------

    def test_reach_equals_count_distinct(self):
        Reach = self.env["spp.attendance.reach"]
        start, end = date(2025, 1, 1), date(2025, 4, 30)
        rows = Reach.search([("month", ">=", start), ("month", "<=", end)])
        actual = {
            (
                r.month,
                r.attendance_type_id.id or None,
                r.attendance_location_id.id or None,
                r.company_id.id or None,
            ): (r.participant_count, r.present_participant_count, r.record_count)
            for r in rows
        }
        self.env.flush_all()
        self.cr.execute(REACH_DIRECT, [start, end])
        expected = {tuple(row[:4]): tuple(row[4:]) for row in self.cr.fetchall()}
        self.assertEqual(actual, expected)
        march = (date(2025, 3, 1), self.training.id, self.hall.id, self.company.id)
        # Alice and Bob (Bob's archived record does not count; Bob absent only)
        self.assertEqual(expected[march][:2], (2, 1))
        # pivot: per month and location
        groups = Reach.read_group(
            [("month", ">=", start), ("month", "<=", end)],
            ["participant_count:sum"],
            ["month:month", "attendance_location_id"],
            lazy=False,
        )
        self.assertEqual(
            sum(g["participant_count"] for g in groups),
            sum(v[0] for v in expected.values()),
        )
        # reading rows by id (the list view after a search)
        first = rows[:1]
        count = first.participant_count
        self.env.invalidate_all()
        self.assertEqual(
            Reach.browse(first.id).read(["participant_count"])[0]["participant_count"],
            count,
        )

    # security ----------------------------------------------------------------

    def test_company_isolation(self):
        company_b = self.env["res.company"].create({"name": "Participation Co B"})
        erin = self.create_subscriber("PART-B1", given="Erin", company_id=company_b.id)
        self.record(erin, D1, company_id=company_b.id)
        viewer_b = new_test_user(
            self.env,
            login="part_viewer_b",
            groups="spp_attendance.group_attendance_viewer",
            company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)],
            tz="UTC",
        )
        env_b = self.env(user=viewer_b)
        _wizard, lines_b = self.run_report(env=env_b)
        self.assertEqual(self.as_dict(lines_b), {erin.id: (1, 0, D1)})
        self.assertEqual(self.as_dict(lines_b), self.direct(env=env_b))
        env_a = self.env(user=self.viewer)
        wizard_a, lines_a = self.run_report(env=env_a)
        self.assertNotIn(erin.id, lines_a.subscriber_id.ids)
        self.assertEqual(self.as_dict(lines_a), self.direct(env=env_a))
        # lines of another user's report, or of another company, stay hidden
        self.assertFalse(
            env_b["spp.attendance.participation"].search(
                [("wizard_id", "=", wizard_a.id)]
            )
        )
        with self.assertRaises(AccessError):
            lines_a[:1].with_user(viewer_b).read(["days_present"])
        # the model method
        self.assertEqual(
            env_b["spp.attendance.subscriber"].get_participation(*PERIOD),
            {
                erin.id: {
                    "days_present": 1,
                    "days_absent": 0,
                    "rate": 1.0,
                    "last_seen": D1,
                }
            },
        )
        with self.assertRaises(AccessError):
            env_b["spp.attendance.subscriber"].get_participation(
                *PERIOD, self.alice.ids
            )
        # reach
        reach_b = env_b["spp.attendance.reach"].search([("month", "=", PERIOD[0])])
        self.assertEqual(reach_b.company_id, company_b)
        self.assertEqual(reach_b.participant_count, 1)
        reach_a = env_a["spp.attendance.reach"].search([("month", "=", PERIOD[0])])
        self.assertEqual(reach_a.company_id, self.company)
        # a user outside the attendance groups
        with self.assertRaises(AccessError):
            self.env["spp.attendance.reach"].with_user(self.internal).search([])
        with self.assertRaises(AccessError):
            self.env["spp.attendance.subscriber"].with_user(
                self.internal
            ).get_participation(*PERIOD)
