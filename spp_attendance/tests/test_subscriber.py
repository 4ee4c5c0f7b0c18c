from datetime import datetime, timedelta

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import AttendanceCase


@tagged("post_install", "-at_install")
class TestSubscriber(AttendanceCase):
    def test_delegation_creates_own_partner(self):
        subscriber = self.create_subscriber(
            "  ID-100  ",
            family="Santos",
            given="Ana",
            addl_name="Maria",
            email="ana@example.com",
            phone="+63 1",
            mobile="+63 2",
            gender="female",
        )
        partner = subscriber.partner_id
        self.assertTrue(partner)
        self.assertEqual(subscriber.person_identifier, "ID-100", "identifier stripped")
        self.assertEqual(partner.name, "Santos, Ana Maria")
        self.assertEqual(subscriber.name, "Santos, Ana Maria")
        self.assertEqual(subscriber.display_name, "Santos, Ana Maria")
        self.assertEqual(
            (partner.email, partner.phone, partner.mobile),
            ("ana@example.com", "+63 1", "+63 2"),
        )
        self.assertEqual(partner.company_id, subscriber.company_id)
        # a subscriber *is* a contact: partner fields are reachable on it
        subscriber.street = "1 Rizal Avenue"
        self.assertEqual(partner.street, "1 Rizal Avenue")
        partner.phone = "+63 3"
        self.assertEqual(subscriber.phone, "+63 3")

    def test_name_parts_and_rename_keep_partner_name_in_sync(self):
        subscriber = self.create_subscriber("ID-101", family="Reyes", given="Jose")
        self.assertEqual(subscriber.partner_id.name, "Reyes, Jose")
        subscriber.addl_name = "Rizal"
        self.assertEqual(subscriber.partner_id.name, "Reyes, Jose Rizal")
        subscriber.write({"family_name": "Mercado", "addl_name": False})
        self.assertEqual(subscriber.partner_id.name, "Mercado, Jose")
        subscriber.given_name = False
        self.assertEqual(subscriber.partner_id.name, "Mercado")
        # writing the name directly cannot make it drift from the parts
        subscriber.name = "Something else"
        self.assertEqual(subscriber.partner_id.name, "Mercado")
        only_given = self.create_subscriber("ID-102", family=False, given="Madonna")
        self.assertEqual(only_given.name, "Madonna")

    def test_name_is_required(self):
        with self.assertRaisesRegex(ValidationError, "family name or a given name"):
            self.create_subscriber("ID-103", family=" ", given=False)
        subscriber = self.create_subscriber("ID-104")
        with self.assertRaisesRegex(ValidationError, "family name or a given name"):
            subscriber.write({"family_name": False, "given_name": ""})

    def test_never_links_to_existing_contact_by_name(self):
        existing = self.env["res.partner"].create(
            {"name": "Cruz, Liza", "email": "other@example.com"}
        )
        lookalike = self.env["res.partner"].create({"name": "Cruz, Liza Mae Extra"})
        subscriber = self.create_subscriber("ID-105", family="Cruz", given="Liza")
        self.assertNotIn(subscriber.partner_id, existing | lookalike)
        self.assertEqual(existing.name, "Cruz, Liza")
        self.assertEqual(existing.email, "other@example.com")
        # two subscribers with the same name get two contacts
        twin = self.create_subscriber("ID-106", family="Cruz", given="Liza")
        self.assertNotEqual(twin.partner_id, subscriber.partner_id)
        # batch creation too
        batch = self.Subscriber.create(
            [
                {"person_identifier": "ID-107", "family_name": "A", "given_name": "B"},
                {"person_identifier": "ID-108", "family_name": "A", "given_name": "B"},
            ]
        )
        self.assertEqual(len(batch.partner_id), 2)

    def test_explicit_partner_is_used(self):
        partner = self.env["res.partner"].create({"name": "Old Name"})
        subscriber = self.create_subscriber(
            "ID-109", family="New", given="Name", partner_id=partner.id
        )
        self.assertEqual(subscriber.partner_id, partner)
        self.assertEqual(partner.name, "New, Name")
        with self.assertRaisesRegex(
            ValidationError, "already linked to subscriber New, Name"
        ):
            self.create_subscriber("ID-110", partner_id=partner.id)
        other = self.create_subscriber("ID-110")
        with self.assertRaisesRegex(ValidationError, "already linked to subscriber"):
            other.partner_id = partner

    def test_identifier_unique_and_not_blank(self):
        self.create_subscriber("ID-111")
        with self.assertRaisesRegex(ValidationError, "ID-111.*already used"):
            self.create_subscriber(" ID-111 ")
        with self.assertRaisesRegex(ValidationError, "more than one subscriber"):
            self.Subscriber.create(
                [
                    {"person_identifier": "ID-112", "family_name": "A"},
                    {"person_identifier": "ID-112", "family_name": "B"},
                ]
            )
        with self.assertRaisesRegex(ValidationError, "non-blank identifier"):
            self.create_subscriber("   ")
        other = self.create_subscriber("ID-113")
        with self.assertRaisesRegex(ValidationError, "ID-111.*already used"):
            other.person_identifier = "ID-111"
        # archived subscribers keep their identifier
        other.active = False
        with self.assertRaisesRegex(ValidationError, r"\(archived\)"):
            self.create_subscriber("ID-113")

    def test_bad_gender_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "Gender: 'M' is not allowed"):
            self.create_subscriber("ID-114", gender="M")

    def test_company_follows_to_partner(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        subscriber = self.create_subscriber("ID-115", company_id=other_company.id)
        self.assertEqual(subscriber.partner_id.company_id, other_company)
        subscriber.company_id = self.company
        self.assertEqual(subscriber.partner_id.company_id, self.company)

    def test_delete_refused_with_attendance_archive_allowed(self):
        subscriber = self.create_subscriber("ID-116")
        self.Attendance.create({"subscriber_id": subscriber.id})
        with self.assertRaisesRegex(UserError, "archive them instead"):
            subscriber.unlink()
        # archived records count too
        subscriber.attendance_list_ids.active = False
        with self.assertRaisesRegex(UserError, "ID-116.*1 attendance records"):
            subscriber.unlink()
        subscriber.active = False
        self.assertFalse(subscriber.active)
        self.assertTrue(subscriber.partner_id.active)

    def test_delete_without_attendance_keeps_contact_and_trace(self):
        subscriber = self.create_subscriber("ID-117")
        partner = subscriber.partner_id
        subscriber.unlink()
        self.assertTrue(partner.exists())
        self.assertIn("ID-117 deleted by", partner.message_ids[0].body)

    def test_attendance_stats_one_query(self):
        sub_a = self.create_subscriber("ID-118")
        sub_b = self.create_subscriber("ID-119")
        self.Attendance.create(
            [
                {
                    "subscriber_id": sub_a.id,
                    "attendance_datetime": "2024-03-01 08:00:00",
                },
                {
                    "subscriber_id": sub_a.id,
                    "attendance_datetime": "2024-03-01 15:00:00",
                },
                {
                    "subscriber_id": sub_a.id,
                    "attendance_datetime": "2024-03-04 08:00:00",
                },
                {
                    "subscriber_id": sub_a.id,
                    "attendance_datetime": "2024-03-05 08:00:00",
                    "attendance_category": "absent",
                },
                {
                    "subscriber_id": sub_a.id,
                    "attendance_datetime": "2024-03-09 08:00:00",
                    "active": False,
                },
                {
                    "subscriber_id": sub_b.id,
                    "attendance_datetime": "2024-02-01 08:00:00",
                },
            ]
        )
        subscribers = sub_a | sub_b

        def read_stats():
            for subscriber in subscribers:
                _values = (
                    subscriber.days_present_count,
                    subscriber.last_attendance_date,
                    subscriber.attendance_count,
                )

        _result, queries = self.count_queries(read_stats)
        self.assertEqual(queries, 1, "one grouped query for all subscribers")
        self.assertEqual(sub_a.attendance_count, 4)
        self.assertEqual(sub_a.days_present_count, 2)
        self.assertEqual(sub_a.days_absent_count, 1)
        self.assertEqual(str(sub_a.last_attendance_date), "2024-03-04")
        self.assertEqual(sub_b.days_present_count, 1)

    def test_form_create_subscriber_and_history(self):
        form = Form(self.Subscriber.with_user(self.manager))
        form.person_identifier = "ID-120"
        form.family_name = "Otieno"
        form.given_name = "Brian"
        form.gender = "male"
        form.phone = "+254 700"
        with form.attendance_list_ids.new() as line:
            line.attendance_datetime = "2024-05-02 07:00:00"
            line.attendance_type_id = self.training
            line.attendance_location_id = self.hall
        subscriber = form.save()
        self.assertEqual(subscriber.name, "Otieno, Brian")
        self.assertEqual(subscriber.phone, "+254 700")
        self.assertEqual(len(subscriber.attendance_list_ids), 1)
        record = subscriber.attendance_list_ids
        self.assertEqual(record.attendance_type_id, self.training)
        self.assertEqual(str(record.attendance_date), "2024-05-02")
        self.assertEqual(record.attendance_time, "07:00:00")
        self.assertEqual(record.submission_source, "Back office")
        self.assertEqual(record.submitted_by, self.manager.name)
        self.assertEqual(subscriber.attendance_count, 1)
        action = subscriber.action_view_attendance()
        self.assertEqual(
            self.Attendance.search(action["domain"]), subscriber.attendance_list_ids
        )

    def test_tracking_on_subscriber(self):
        subscriber = self.create_subscriber("ID-121")
        self.env.cr.flush()  # as if created in an earlier transaction
        subscriber.with_user(self.manager).write({"phone": "555", "given_name": "Joan"})
        self.env.flush_all()
        self.env.cr.flush()  # tracking is finalised before commit
        tracked = subscriber.message_ids.sudo().tracking_value_ids.field_id.mapped(
            "name"
        )
        self.assertIn("phone", tracked)
        self.assertIn("given_name", tracked)
        self.assertEqual(subscriber.message_ids[0].author_id, self.manager.partner_id)

    def test_summary(self):
        subscriber = self.create_subscriber("ID-122")
        other = self.create_subscriber("ID-123")
        rows = [
            ("2024-01-01 09:00:00", "present", self.training, self.hall),
            ("2024-01-01 14:00:00", "present", self.meeting, self.hall),
            ("2024-01-02 09:00:00", "absent", self.training, self.hall),
            ("2024-01-03 09:00:00", "present", self.training, self.nairobi),
            ("2024-01-05 09:00:00", "present", self.meeting, self.hall),
        ]
        self.Attendance.create(
            [
                {
                    "subscriber_id": subscriber.id,
                    "attendance_datetime": moment,
                    "attendance_category": category,
                    "attendance_type_id": att_type.id,
                    "attendance_location_id": location.id,
                }
                for moment, category, att_type, location in rows
            ]
            + [
                {
                    "subscriber_id": other.id,
                    "attendance_datetime": "2024-01-04 09:00:00",
                }
            ]
        )
        summary = subscriber.get_attendance_summary()
        self.assertEqual(summary["total"], 5)
        self.assertEqual(summary["person_id"], "ID-122")
        self.assertEqual(
            [str(d) for d in summary["dates_present"]],
            ["2024-01-01", "2024-01-03", "2024-01-05"],
        )
        self.assertEqual(summary["number_of_days_present"], 3)
        self.assertEqual([str(d) for d in summary["dates_absent"]], ["2024-01-02"])
        self.assertEqual(len(summary["records"]), 5)
        self.assertEqual(
            summary["records"][0].attendance_datetime.isoformat(" "),
            "2024-01-05 09:00:00",
            "newest first",
        )
        # filters: each bound alone, type, location, category, paging
        summary = subscriber.get_attendance_summary(date_from="2024-01-02")
        self.assertEqual(summary["total"], 3)
        summary = subscriber.get_attendance_summary(date_to="2024-01-02")
        self.assertEqual(summary["total"], 3)
        summary = subscriber.get_attendance_summary(type_ids=self.training.id)
        self.assertEqual(summary["total"], 3)
        self.assertEqual(summary["number_of_days_present"], 2)
        summary = subscriber.get_attendance_summary(location_ids=self.nairobi)
        self.assertEqual(summary["total"], 1)
        summary = subscriber.get_attendance_summary(category="absent")
        self.assertEqual((summary["total"], summary["number_of_days_present"]), (1, 0))
        page = subscriber.get_attendance_summary(offset=1, limit=2)
        self.assertEqual(page["total"], 5)
        self.assertEqual(len(page["records"]), 2)
        self.assertEqual(str(page["records"][0].attendance_date), "2024-01-03")
        with self.assertRaisesRegex(UserError, "on or before the end date"):
            subscriber.get_attendance_summary(
                date_from="2024-02-01", date_to="2024-01-01"
            )
        invalid = "is not a valid date"
        with self.assertRaisesRegex(UserError, f"^Start date: '01/02/2024' {invalid}"):
            subscriber.get_attendance_summary(date_from="01/02/2024")
        with self.assertRaisesRegex(UserError, f"^End date: 'soon' {invalid}"):
            subscriber.get_attendance_summary(date_to="soon")
        with self.assertRaisesRegex(UserError, "Category: 'late'"):
            subscriber.get_attendance_summary(category="late")
        summaries = (subscriber | other)._get_attendance_summaries()
        self.assertEqual(summaries[other.id]["total"], 1)
        self.assertEqual(len(summaries[subscriber.id]["records"]), 5)

    def test_summary_query_count_is_constant(self):
        small = self.create_subscriber("ID-124")
        big = self.create_subscriber("ID-125")
        self.Attendance.create(
            [
                {
                    "subscriber_id": small.id,
                    "attendance_datetime": "2024-01-01 08:00:00",
                    "attendance_type_id": self.meeting.id,
                    "attendance_location_id": self.nairobi.id,
                }
            ]
        )
        start = datetime(2023, 1, 1, 8, 0)
        self.Attendance.create(
            [
                {
                    "subscriber_id": big.id,
                    "attendance_datetime": start + timedelta(days=day),
                    "attendance_type_id": self.training.id,
                    "attendance_location_id": self.hall.id,
                    "attendance_category": "present" if day % 5 else "absent",
                }
                for day in range(300)
            ]
        )

        def run(subscriber):
            summary = subscriber.get_attendance_summary(limit=20)
            for record in summary["records"]:
                _values = (
                    record.attendance_date,
                    record.attendance_time,
                    record.attendance_type_id.name,
                    record.attendance_location_id.name,
                )
            return summary

        small_summary, small_queries = self.count_queries(run, small)
        big_summary, big_queries = self.count_queries(run, big)
        self.assertEqual(big_summary["total"], 300)
        self.assertEqual(big_summary["number_of_days_present"], 240)
        self.assertEqual(len(big_summary["records"]), 20)
        self.assertEqual(small_summary["total"], 1)
        self.assertEqual(big_queries, small_queries, "cost does not grow with data")
        self.assertLessEqual(big_queries, 6)
