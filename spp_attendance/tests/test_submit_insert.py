"""API batches are inserted in one statement (services/submit.py ``_insert``), not
through ``create()``. What ``create()`` would store must be stored all the same:
compared here field by field with twins made by ``create()``."""

from datetime import datetime, timezone

from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.spp_attendance.services import SubmitService
from odoo.addons.spp_attendance.services.results import Card

from .common import AttendanceCase

#: Stored fields the set-based insert fills, compared with create()'s.
COMPARED = (
    "subscriber_id",
    "company_id",
    "attendance_category",
    "attendance_type_id",
    "attendance_location_id",
    "attendance_description",
    "attendance_external_url",
    "attendance_datetime",
    "attendance_tz",
    "attendance_date",
    "attendance_time",
    "duplicate_key",
    "submitted_by",
    "submitted_datetime",
    "submission_source",
    "create_uid",
    "write_uid",
    "active",
)


@tagged("post_install", "-at_install")
class TestSubmitInsert(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Asia/Manila"  # the fallback of hall/no location
        cls.ann = cls.create_subscriber("INS-1", given="Ann")
        cls.ben = cls.create_subscriber("INS-2", given="Ben")

    def cards(self):
        def card(index, person, moment, **values):
            return Card(
                path=f"records/{index}",
                person_id=person.person_identifier,
                moment=moment,
                **values,
            )

        return [
            # local wall clock of the location (New York, a DST change that day:
            # 02:30 does not exist and is read as standard time)
            card(
                0, self.ann, datetime(2024, 3, 10, 2, 30), location_id=self.new_york.id
            ),
            # an instant with an offset, at Nairobi
            card(
                1,
                self.ann,
                datetime(2024, 3, 11, 23, 30, tzinfo=timezone.utc),
                location_id=self.nairobi.id,
                type_id=self.training.id,
                category="absent",
                description="late",
                url="https://example.org/e/1",
            ),
            # no location: the company's time zone
            card(2, self.ben, datetime(2024, 3, 12, 8, 0), type_id=self.meeting.id),
            # a location without a time zone: the company's too
            card(
                3, self.ben, datetime(2024, 3, 13, 17, 45, 9), location_id=self.hall.id
            ),
        ]

    def test_stored_values_equal_create(self):
        self.set_uniqueness("date", "type", "location")
        env = self.env(user=self.manager)
        submission = {
            "submitted_by": "field-app",
            "submitted_datetime": datetime(2024, 3, 14, 6, 0),
            "submission_source": "mobile",
        }
        results = SubmitService(env).submit(self.cards(), submission)
        self.assertEqual({r.status for r in results}, {"created"})
        records = self.Attendance.browse([r.id for r in results])
        stored = records.read([*COMPARED, "create_date", "write_date", "uuid"])
        self.assertTrue(all(row["duplicate_key"] for row in stored))
        self.assertTrue(all(row["create_date"] == row["write_date"] for row in stored))
        self.assertFalse(
            self.env["mail.message"].search(
                [("model", "=", records._name), ("res_id", "in", records.ids)]
            ),
            "no creation message, as create() logs none",
        )
        # archived records have no duplicate key: their twins can be created
        records.write({"active": False})
        inputs = (
            "subscriber_id",
            "attendance_category",
            "attendance_type_id",
            "attendance_location_id",
            "attendance_description",
            "attendance_external_url",
            "attendance_datetime",
            "submitted_by",
            "submitted_datetime",
            "submission_source",
        )
        twins = (
            self.Attendance.with_user(self.manager)
            .create(
                [
                    {
                        name: value[0] if isinstance(value, tuple) else value
                        for name, value in row.items()
                        if name in inputs
                    }
                    for row in stored
                ]
            )
            .sudo()
        )
        for row, twin in zip(stored, twins.read(COMPARED), strict=True):
            with self.subTest(record=row["id"]):
                for name in COMPARED:
                    self.assertEqual(row[name], twin[name], name)

    def test_needs_create_rights(self):
        with self.assertRaises(AccessError):
            SubmitService(self.env(user=self.viewer)).submit(
                self.cards()[:1],
                {
                    "submitted_by": "x",
                    "submitted_datetime": datetime(2024, 3, 14, 6, 0),
                },
            )
        self.assertFalse(self.Attendance.search([("subscriber_id", "=", self.ann.id)]))

    def test_create_rules_apply_to_the_whole_batch(self):
        """A record rule on create refuses the batch if it refuses one record,
        and nothing is stored; the same rule lets a batch it allows through."""
        self.env["ir.rule"].create(
            {
                "name": "No absences by managers (test)",
                "model_id": self.env["ir.model"]._get_id("spp.attendance.list"),
                "groups": [
                    (4, self.env.ref("spp_attendance.group_attendance_manager").id)
                ],
                "domain_force": "[('attendance_category', '!=', 'absent')]",
                "perm_read": False,
                "perm_write": False,
                "perm_unlink": False,
                "perm_create": True,
            }
        )
        service = SubmitService(self.env(user=self.manager))
        submission = {
            "submitted_by": "x",
            "submitted_datetime": datetime(2024, 3, 14, 6, 0),
        }
        with self.assertRaises(AccessError):
            service.submit(self.cards(), submission)  # card 1 is an absence
        self.assertFalse(
            self.Attendance.search([("subscriber_id", "in", (self.ann + self.ben).ids)])
        )
        allowed = [card for card in self.cards() if card.category != "absent"]
        results = SubmitService(self.env(user=self.manager)).submit(allowed, submission)
        self.assertEqual([r.status for r in results], ["created"] * 3)
