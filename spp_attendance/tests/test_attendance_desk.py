"""Server side of the check-in desk (issue #13): sessions, lookups, check-ins through
the API's idempotent path, undo, and who may use it."""

import uuid
from datetime import datetime, timedelta

import pytz

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import AttendanceCase


@tagged("post_install", "-at_install")
class TestAttendanceDesk(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.officer = cls.new_officer("att_officer")
        cls.alice = cls.create_subscriber("DESK-0001", family="Deskwood", given="Alice")
        cls.bob = cls.create_subscriber("DESK-0002", family="Deskwood", given="Bob")
        cls.carol = cls.create_subscriber("DESK-0003", family="Marsh", given="Carol")
        cls.Desk = cls.env["spp.attendance.desk"].with_user(cls.officer)

    @classmethod
    def new_officer(cls, login, **vals):
        return new_test_user(
            cls.env,
            login=login,
            groups="spp_attendance.group_attendance_officer",
            tz="UTC",
            **vals,
        )

    def setUp(self):
        super().setUp()
        self.set_uniqueness("date", "type", "location")
        self.session = self.Desk.open_session(self.training.id, self.nairobi.id)

    def card(self, person_id, category="present", **extra):
        return dict(
            {
                "uuid": str(uuid.uuid4()),
                "person_id": person_id,
                "category": category,
                "scanned_at": datetime.now(pytz.utc).isoformat(),
            },
            **extra,
        )

    def desk_records(self):
        return self.Attendance.search(
            [
                ("submission_source", "=", "Check-in desk"),
                ("company_id", "=", self.company.id),
            ]
        )

    # -- sessions ------------------------------------------------------------------

    def test_session_date_defaults_to_today_at_the_location(self):
        today = datetime.now(pytz.timezone("Africa/Nairobi")).date()
        self.assertEqual(self.session["date"], str(today))
        self.assertEqual(self.session["company_id"], self.company.id)
        self.assertEqual((self.session["present"], self.session["absent"]), (0, 0))
        setup = self.Desk.get_setup()
        nairobi = next(
            loc for loc in setup["locations"] if loc["id"] == self.nairobi.id
        )
        self.assertEqual(nairobi["today"], str(today))
        self.assertIn(self.training.id, [t["id"] for t in setup["types"]])

    def test_session_refuses_a_future_date_and_missing_choices(self):
        future = datetime.now(pytz.utc).date() + timedelta(days=3)
        with self.assertRaisesRegex(ValidationError, "Date"):
            self.Desk.open_session(self.training.id, self.nairobi.id, str(future))
        forged = dict(self.session, date=str(future))
        with self.assertRaisesRegex(ValidationError, "Date"):
            self.Desk.check_in(forged, [self.card("DESK-0001")])
        with self.assertRaisesRegex(ValidationError, "Type"):
            self.Desk.open_session(0, self.nairobi.id)
        with self.assertRaisesRegex(ValidationError, "Location"):
            self.Desk.open_session(self.training.id, 0)

    # -- people ------------------------------------------------------------------------

    def test_search_by_identifier_and_part_of_a_name(self):
        self.assertEqual(
            self.Desk.search_people(self.session, "DESK-0003"),
            [["DESK-0003", "Marsh, Carol"]],
        )
        found = self.Desk.search_people(self.session, "deskwo")
        self.assertEqual(
            found, [["DESK-0001", "Deskwood, Alice"], ["DESK-0002", "Deskwood, Bob"]]
        )
        self.assertEqual(self.Desk.search_people(self.session, "  "), [])

    def test_roster_lists_the_company_subscribers(self):
        roster = self.Desk.get_roster(self.session)
        self.assertIn(["DESK-0001", "Deskwood, Alice"], roster)
        self.assertEqual(
            len(roster),
            self.Subscriber.search_count([("company_id", "=", self.company.id)]),
        )

    # -- check-ins ---------------------------------------------------------------------

    def test_check_in_answers_each_card(self):
        first = self.card("DESK-0001")
        result = self.Desk.check_in(
            self.session,
            [first, self.card("DESK-0002", "absent"), self.card("NOBODY-42")],
        )
        recorded, absent, unknown = result["answers"]
        self.assertEqual(recorded["status"], "recorded")
        self.assertEqual(recorded["name"], "Deskwood, Alice")
        self.assertEqual(recorded["uuid"], first["uuid"])
        self.assertEqual(absent["status"], "recorded")
        self.assertEqual(absent["record"]["category"], "absent")
        self.assertEqual(unknown["status"], "unknown")
        self.assertEqual(unknown["identifier"], "NOBODY-42")
        self.assertEqual(
            (result["state"]["present"], result["state"]["absent"]), (1, 1)
        )
        records = self.desk_records()
        self.assertEqual(len(records), 2)
        for record in records:
            self.assertEqual(record.submitted_by, self.officer.name)
            self.assertEqual(record.create_uid, self.officer)
            self.assertEqual(record.attendance_type_id, self.training)
            self.assertEqual(record.attendance_location_id, self.nairobi)
            self.assertEqual(str(record.attendance_date), self.session["date"])
            self.assertEqual(record.attendance_tz, "Africa/Nairobi")
        self.assertEqual(
            [r["identifier"] for r in result["state"]["last"]],
            ["DESK-0002", "DESK-0001"],
        )

    def test_duplicate_is_refused_with_when_and_by_whom(self):
        self.Desk.check_in(self.session, [self.card("DESK-0001")])
        answer = self.Desk.check_in(self.session, [self.card("DESK-0001")])["answers"][
            0
        ]
        self.assertEqual(answer["status"], "duplicate")
        self.assertEqual(answer["existing"]["by"], self.officer.name)
        self.assertTrue(answer["existing"]["time"])
        self.assertEqual(answer["name"], "Deskwood, Alice")
        # two scans of one person in one batch: the second is the duplicate
        answers = self.Desk.check_in(
            self.session, [self.card("DESK-0002"), self.card("DESK-0002")]
        )["answers"]
        self.assertEqual([a["status"] for a in answers], ["recorded", "duplicate"])
        self.assertEqual(len(self.desk_records()), 2)

    def test_resent_batch_is_stored_once(self):
        batch = [self.card("DESK-0001"), self.card("DESK-0002")]
        first = self.Desk.check_in(self.session, batch)["answers"]
        again = self.Desk.check_in(self.session, batch)["answers"]
        self.assertEqual([a["status"] for a in again], ["recorded", "recorded"])
        self.assertEqual(
            [a["record"]["id"] for a in again], [a["record"]["id"] for a in first]
        )
        self.assertEqual(len(self.desk_records()), 2)

    def test_check_in_for_an_earlier_day_keeps_the_session_date(self):
        yesterday = str(
            datetime.now(pytz.timezone("Africa/Nairobi")).date() - timedelta(days=1)
        )
        session = self.Desk.open_session(self.training.id, self.nairobi.id, yesterday)
        self.Desk.check_in(session, [self.card("DESK-0003")])
        record = self.desk_records()
        self.assertEqual(str(record.attendance_date), yesterday)

    def test_undo_archives_with_an_audit_note(self):
        answer = self.Desk.check_in(self.session, [self.card("DESK-0001")])["answers"][
            0
        ]
        record = self.Attendance.browse(answer["record"]["id"])
        state = self.Desk.undo(self.session, record.id)
        self.assertFalse(record.active)
        self.assertEqual(state["present"], 0)
        self.assertIn("undone", record.message_ids[0].body)
        self.assertIn(self.officer.name, record.message_ids[0].body)
        # the person can be checked in again
        again = self.Desk.check_in(self.session, [self.card("DESK-0001")])["answers"][0]
        self.assertEqual(again["status"], "recorded")
        with self.assertRaisesRegex(ValidationError, "Check-in"):
            self.Desk.undo(self.session, record.id)  # archived already

    # -- rights ------------------------------------------------------------------------

    def test_groups(self):
        self.assertTrue(
            self.officer.has_group("spp_attendance.group_attendance_viewer")
        )
        self.assertTrue(
            self.manager.has_group("spp_attendance.group_attendance_officer")
        )
        self.assertFalse(
            self.viewer.has_group("spp_attendance.group_attendance_officer")
        )

    def test_viewer_is_refused(self):
        Desk = self.env["spp.attendance.desk"].with_user(self.viewer)
        for call in (
            Desk.get_setup,
            lambda: Desk.open_session(self.training.id, self.nairobi.id),
            lambda: Desk.check_in(self.session, [self.card("DESK-0001")]),
            lambda: Desk.search_people(self.session, "Desk"),
            lambda: Desk.get_roster(self.session),
        ):
            with self.assertRaises(AccessError):
                call()
        self.assertFalse(self.desk_records())

    def test_officer_undoes_only_own_check_ins(self):
        other = self.new_officer("att_officer_2")
        answer = self.Desk.check_in(self.session, [self.card("DESK-0001")])["answers"][
            0
        ]
        with self.assertRaises(AccessError):
            self.env["spp.attendance.desk"].with_user(other).undo(
                self.session, answer["record"]["id"]
            )
        # a manager may
        self.env["spp.attendance.desk"].with_user(self.manager).undo(
            self.session, answer["record"]["id"]
        )
        self.assertFalse(self.Attendance.browse(answer["record"]["id"]).active)

    def test_other_company_is_out_of_reach(self):
        company_b = self.env["res.company"].create({"name": "Desk Co B"})
        self.create_subscriber(
            "DESK-B-1", family="Other", given="Dora", company_id=company_b.id
        )
        officer_b = self.new_officer(
            "att_officer_b",
            company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)],
        )
        # A's officer neither finds nor records B's subscriber
        self.assertEqual(self.Desk.search_people(self.session, "DESK-B-1"), [])
        self.assertNotIn(
            "DESK-B-1", [row[0] for row in self.Desk.get_roster(self.session)]
        )
        answer = self.Desk.check_in(self.session, [self.card("DESK-B-1")])["answers"][0]
        self.assertEqual(answer["status"], "unknown")
        # B's officer cannot use a session of company A
        Desk_b = self.env["spp.attendance.desk"].with_user(officer_b)
        with self.assertRaises(AccessError):
            Desk_b.check_in(self.session, [self.card("DESK-0001")])
        with self.assertRaises(AccessError):
            Desk_b.get_roster(self.session)
        # in their own company's session they see their own people only
        session_b = Desk_b.open_session(self.training.id, self.nairobi.id)
        self.assertEqual(session_b["company_id"], company_b.id)
        roster = Desk_b.get_roster(session_b)
        self.assertEqual(roster, [["DESK-B-1", "Other, Dora"]])
        answers = Desk_b.check_in(
            session_b, [self.card("DESK-0001"), self.card("DESK-B-1")]
        )
        self.assertEqual(
            [a["status"] for a in answers["answers"]], ["unknown", "recorded"]
        )
