from datetime import datetime

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import AttendanceCase


@tagged("post_install", "-at_install")
class TestAttendanceTime(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subscriber = cls.create_subscriber("TZ-1")

    def local(self, record):
        return fields.Date.to_string(record.attendance_date), record.attendance_time

    def test_late_session_utc_plus_3_from_local_time(self):
        record = self.Attendance.create(
            {
                "subscriber_id": self.subscriber.id,
                "attendance_location_id": self.nairobi.id,
                "attendance_date": "2024-03-10",
                "attendance_time": "23:30",
            }
        )
        self.assertEqual(record.attendance_tz, "Africa/Nairobi")
        self.assertEqual(record.attendance_datetime, datetime(2024, 3, 10, 20, 30))
        self.assertEqual(self.local(record), ("2024-03-10", "23:30:00"))

    def test_early_morning_utc_plus_3_from_utc_moment(self):
        # 22:30 UTC is 01:30 the next day in Nairobi: the local date is the 11th
        record = self.Attendance.create(
            {
                "subscriber_id": self.subscriber.id,
                "attendance_location_id": self.nairobi.id,
                "attendance_datetime": "2024-03-10 22:30:00",
            }
        )
        self.assertEqual(self.local(record), ("2024-03-11", "01:30:00"))

    def test_late_session_utc_minus_5(self):
        record = self.Attendance.create(
            {
                "subscriber_id": self.subscriber.id,
                "attendance_location_id": self.new_york.id,
                "attendance_date": "2024-01-15",
                "attendance_time": "23:30:00",
            }
        )
        # stored moment is on the next UTC day, the local date is not
        self.assertEqual(record.attendance_datetime, datetime(2024, 1, 16, 4, 30))
        self.assertEqual(self.local(record), ("2024-01-15", "23:30:00"))
        from_moment = self.Attendance.create(
            {
                "subscriber_id": self.subscriber.id,
                "attendance_location_id": self.new_york.id,
                "attendance_datetime": datetime(2024, 1, 16, 4, 30),
            }
        )
        self.assertEqual(self.local(from_moment), ("2024-01-15", "23:30:00"))

    def test_localize_helper(self):
        utc, tz_name, local_date, local_time = self.Attendance._localize(
            datetime(2024, 1, 15, 23, 30), location=self.new_york
        )
        self.assertEqual(
            (utc, tz_name), (datetime(2024, 1, 16, 4, 30), "America/New_York")
        )
        self.assertEqual((str(local_date), local_time), ("2024-01-15", "23:30:00"))
        # summer time is taken into account (UTC-4)
        utc = self.Attendance._localize(
            "2024-07-01 23:30:00", location=self.new_york.id
        )[0]
        self.assertEqual(utc, datetime(2024, 7, 2, 3, 30))
        utc = self.Attendance._localize(
            datetime(2024, 3, 10, 23, 30), location=self.nairobi
        )[0]
        self.assertEqual(utc, datetime(2024, 3, 10, 20, 30))
        with self.assertRaises(ValueError):
            self.Attendance._localize(
                datetime(2024, 1, 1).astimezone(), location=self.nairobi
            )

    def test_fallback_to_company_then_user_timezone(self):
        self.company.partner_id.tz = "Asia/Manila"
        record = self.Attendance.create(
            {
                "subscriber_id": self.subscriber.id,
                "attendance_location_id": self.hall.id,
                "attendance_datetime": "2024-03-10 16:30:00",
            }
        )
        self.assertEqual(record.attendance_tz, "Asia/Manila")
        self.assertEqual(self.local(record), ("2024-03-11", "00:30:00"))
        self.company.partner_id.tz = False
        other = self.Attendance.with_context(tz="America/New_York").create(
            {
                "subscriber_id": self.subscriber.id,
                "attendance_datetime": "2024-03-10 03:30:00",
            }
        )
        self.assertEqual(other.attendance_tz, "America/New_York")
        self.assertEqual(self.local(other), ("2024-03-09", "22:30:00"))

    def test_edit_local_date_time_and_location(self):
        record = self.Attendance.create(
            {
                "subscriber_id": self.subscriber.id,
                "attendance_location_id": self.nairobi.id,
                "attendance_date": "2024-03-10",
                "attendance_time": "08:00:00",
            }
        )
        record.attendance_date = "2024-03-12"
        self.assertEqual(record.attendance_datetime, datetime(2024, 3, 12, 5, 0))
        record.attendance_time = "9:15"
        self.assertEqual(self.local(record), ("2024-03-12", "09:15:00"))
        self.assertEqual(record.attendance_datetime, datetime(2024, 3, 12, 6, 15))
        # moving the record to another place keeps the moment
        record.attendance_location_id = self.new_york
        self.assertEqual(record.attendance_datetime, datetime(2024, 3, 12, 6, 15))
        self.assertEqual(self.local(record), ("2024-03-12", "02:15:00"))
        # the moment wins over date/time given with it
        record.write(
            {
                "attendance_datetime": "2024-04-01 12:00:00",
                "attendance_date": "2020-01-01",
            }
        )
        self.assertEqual(self.local(record), ("2024-04-01", "08:00:00"))

    def test_bad_time_refused(self):
        for value in ("25:00", "12:60", "noon", "12"):
            with self.assertRaisesRegex(
                ValidationError, "Time: .* is not a valid time of day", msg=value
            ):
                self.Attendance.create(
                    {
                        "subscriber_id": self.subscriber.id,
                        "attendance_date": "2024-01-01",
                        "attendance_time": value,
                    }
                )

    def test_form_records_moment_and_local_date(self):
        form = Form(self.Attendance.with_user(self.manager))
        form.subscriber_id = self.subscriber
        form.attendance_location_id = self.nairobi
        form.attendance_datetime = "2024-03-10 21:00:00"
        self.assertEqual(form.attendance_tz, "Africa/Nairobi")
        self.assertEqual(fields.Date.to_string(form.attendance_date), "2024-03-11")
        self.assertEqual(form.attendance_time, "00:00:00")
        record = form.save()
        self.assertEqual(self.local(record), ("2024-03-11", "00:00:00"))
        self.assertEqual(record.attendance_category, "present")
        self.assertEqual(record.submitted_by, self.manager.name)
        self.assertIsInstance(record.submitted_datetime, datetime)
        self.assertEqual(record.company_id, self.subscriber.company_id)


@tagged("post_install", "-at_install")
class TestAttendanceValidation(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subscriber = cls.create_subscriber("VAL-1")

    def create_record(self, **vals):
        return self.Attendance.create(dict(vals, subscriber_id=self.subscriber.id))

    def test_external_url(self):
        for url in (
            "ftp://example.com/x",
            "javascript:alert(1)",
            "www.example.com",
            "https://",
        ):
            with self.assertRaisesRegex(
                ValidationError, "External URL: .* only http:// and https://", msg=url
            ):
                self.create_record(attendance_external_url=url)
        record = self.create_record(
            attendance_external_url="  https://example.com/photo/1 "
        )
        self.assertEqual(record.attendance_external_url, "https://example.com/photo/1")
        record.attendance_external_url = "http://example.org"
        with self.assertRaises(ValidationError):
            record.attendance_external_url = "file:///etc/passwd"

    def test_uuid(self):
        value = "123E4567-E89B-12D3-A456-426614174000"
        record = self.create_record(uuid=value)
        self.assertEqual(record.uuid, value.lower())
        with self.assertRaisesRegex(
            ValidationError, "Client UUID '123e4567.*already used"
        ):
            self.create_record(uuid=value.lower())
        with self.assertRaisesRegex(ValidationError, "not a valid UUID"):
            self.create_record(uuid="not-a-uuid")
        # no UUID, or an empty one, is fine any number of times
        self.create_record(uuid="")
        self.create_record(uuid=False)
        self.create_record()
        # the transaction is still usable after a refused duplicate
        self.assertTrue(record.exists())
        copy = record.copy()
        self.assertFalse(copy.uuid)

    def test_uuid_unique_per_company(self):
        value = "0d7c5a0e-4f4e-4b7e-9d6c-2a1c3f5e8b90"
        other = self.env["res.company"].create({"name": "UUID Other Company"})
        stranger = self.Subscriber.create(
            {
                "person_identifier": "UUID-OTHER",
                "family_name": "O",
                "company_id": other.id,
            }
        )
        self.Attendance.create({"subscriber_id": stranger.id, "uuid": value})
        mine = self.create_record(uuid=value)
        self.assertEqual(mine.company_id, self.env.company)
        # the check and the index both work per company, in a batch and on write
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.create_record(uuid=value)
        with self.assertRaisesRegex(ValidationError, "more than one record"):
            self.Attendance.create(
                [{"subscriber_id": self.subscriber.id, "uuid": value.upper()}] * 2
            )
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.create_record().uuid = value

    def test_category(self):
        self.assertEqual(self.create_record().attendance_category, "present")
        self.assertEqual(
            self.create_record(attendance_category="absent").attendance_category,
            "absent",
        )
        with self.assertRaisesRegex(ValidationError, "Category: 'late' is not allowed"):
            self.create_record(attendance_category="late")

    def test_display_name(self):
        record = self.create_record(attendance_datetime="2024-01-02 03:04:05")
        self.assertEqual(record.display_name, "Doe, Jane - 2024-01-02 03:04:05")


@tagged("post_install", "-at_install")
class TestAttendanceAudit(AttendanceCase):
    def test_create_change_archive_delete_are_traced(self):
        subscriber = self.create_subscriber("AUD-1")
        Attendance = self.Attendance.with_user(self.manager)
        record = Attendance.create(
            {"subscriber_id": subscriber.id, "attendance_type_id": self.training.id}
        )
        self.assertEqual(record.create_uid, self.manager)
        self.assertFalse(record.message_follower_ids, "nobody follows single records")
        record.write(
            {"attendance_type_id": self.meeting.id, "attendance_category": "absent"}
        )
        record.active = False
        self.env.flush_all()
        self.env.cr.flush()  # tracking is finalised before commit
        record = record.sudo()
        trackings = record.message_ids.tracking_value_ids
        self.assertEqual(
            set(trackings.field_id.mapped("name")),
            {"attendance_type_id", "attendance_category", "active"},
        )
        self.assertEqual(
            set(record.message_ids.author_id.ids), {self.manager.partner_id.id}
        )
        type_tracking = trackings.filtered(
            lambda t: t.field_id.name == "attendance_type_id"
        )
        self.assertEqual(type_tracking.old_value_char, "Test Training")
        self.assertEqual(type_tracking.new_value_char, "Test Meeting")
        record_id = record.id
        record.unlink()
        note = subscriber.message_ids[0]
        self.assertIn("deleted by %s" % self.manager.name, note.body)
        self.assertIn("#%s" % record_id, note.body)
        self.assertIn("Test Meeting", note.body)
        self.assertEqual(note.author_id, self.manager.partner_id)


@tagged("post_install", "-at_install")
class TestTypesAndLocations(AttendanceCase):
    def assert_names_unique(self, Model, existing):
        with self.assertRaisesRegex(ValidationError, "already exists"):
            Model.create({"name": existing.name.upper()})
        with self.assertRaisesRegex(ValidationError, "already exists"):
            Model.create({"name": "  %s " % existing.name.lower()})
        with self.assertRaisesRegex(ValidationError, "given twice"):
            Model.create([{"name": "Twice"}, {"name": "TWICE"}])
        other = Model.create({"name": "Another One"})
        with self.assertRaisesRegex(ValidationError, "already exists"):
            other.name = existing.name.swapcase()
        other.name = "another ONE"  # its own name, other case: fine
        existing.active = False
        with self.assertRaisesRegex(ValidationError, "may be archived"):
            Model.create({"name": existing.name})

    def test_type_names_unique_case_insensitive(self):
        self.assert_names_unique(self.Type, self.training)

    def test_location_names_unique_case_insensitive(self):
        self.assert_names_unique(self.Location, self.hall)

    def test_delete_in_use_refused_archive_allowed(self):
        subscriber = self.create_subscriber("CFG-1")
        record = self.Attendance.create(
            {
                "subscriber_id": subscriber.id,
                "attendance_type_id": self.training.id,
                "attendance_location_id": self.hall.id,
            }
        )
        with self.assertRaisesRegex(UserError, "'Test Training' is used by 1"):
            self.training.unlink()
        with self.assertRaisesRegex(UserError, "'Test Hall' is used by 1"):
            self.hall.unlink()
        record.active = False  # archived records still need their type
        with self.assertRaisesRegex(UserError, "archive them instead"):
            self.training.unlink()
        self.training.active = False
        self.hall.active = False
        self.assertEqual(record.attendance_type_id, self.training)
        self.meeting.unlink()
        self.assertFalse(self.meeting.exists())

    def test_location_coordinates_and_tz(self):
        location = self.Location.create(
            {
                "name": "GPS",
                "latitude": -1.2921,
                "longitude": 36.8219,
                "tz": "Africa/Nairobi",
            }
        )
        self.assertAlmostEqual(location.latitude, -1.2921)
        with self.assertRaisesRegex(ValidationError, "latitude 91.0 is out of range"):
            with self.env.cr.savepoint():
                location.latitude = 91
        with self.assertRaisesRegex(
            ValidationError, "longitude -181.0 is out of range"
        ):
            with self.env.cr.savepoint():
                location.longitude = -181


@tagged("post_install", "-at_install")
class TestApiClientTrace(AttendanceCase):
    def test_api_client_is_recorded_and_visible_to_viewers(self):
        client = self.env["spp.attendance.api.client.credential"].create(
            {"name": "Field App (test)"}
        )
        subscriber = self.create_subscriber("API-1")
        record = self.Attendance.create(
            {
                "subscriber_id": subscriber.id,
                "api_client_id": client.id,
                "submission_source": "mobile",
            }
        )
        self.assertEqual(record.api_client_id, client)
        values = record.with_user(self.viewer).read(["api_client_id"])[0]
        self.assertEqual(values["api_client_id"], (client.id, "Field App (test)"))
        self.assertFalse(record.copy().api_client_id)
