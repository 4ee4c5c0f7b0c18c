from itertools import combinations

from odoo.exceptions import RedirectWarning, ValidationError
from odoo.tests import Form, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import UNIQUE_PARAMS, AttendanceCase

FLAGS = ("date", "time", "type", "location")
BASE = {
    "date": "2024-06-03",
    "time": "08:00:00",
}


@tagged("post_install", "-at_install")
class TestUniqueness(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # demo records must not take part in these tests
        cls.Attendance.search([]).with_context(tracking_disable=True).write(
            {"active": False}
        )
        cls.subscriber = cls.create_subscriber("UNI-1", family="Kamau", given="Faith")
        cls.other_subscriber = cls.create_subscriber("UNI-2")

    def vals(self, subscriber=None, **overrides):
        vals = {
            "subscriber_id": (subscriber or self.subscriber).id,
            "attendance_date": BASE["date"],
            "attendance_time": BASE["time"],
            "attendance_type_id": self.training.id,
            "attendance_location_id": self.hall.id,
        }
        vals.update(overrides)
        return vals

    def try_create(self, vals):
        """Create in a savepoint; return the record, or the ValidationError."""
        try:
            with self.env.cr.savepoint():
                return self.Attendance.create(vals)
        except ValidationError as error:
            return error

    def test_every_combination_set_by_parameter(self):
        variants = {
            "date": {"attendance_date": "2024-06-04"},
            "time": {"attendance_time": "09:00:00"},
            "type": {"attendance_type_id": self.meeting.id},
            "location": {"attendance_location_id": self.nairobi.id},
        }
        subsets = [subset for size in range(5) for subset in combinations(FLAGS, size)]
        self.assertEqual(len(subsets), 16)
        for index, subset in enumerate(subsets):
            self.set_uniqueness(*subset, direct=True)
            self.assertEqual(self.Attendance._get_uniqueness_flags(), subset)
            subscriber = self.create_subscriber("COMBO-%s" % index)
            created = self.Attendance.create(self.vals(subscriber))
            same = self.try_create(self.vals(subscriber))
            if subset:
                self.assertIsInstance(same, ValidationError, subset)
            else:
                self.assertIsInstance(same, type(self.Attendance), subset)
                created |= same
            for flag, change in variants.items():
                result = self.try_create(self.vals(subscriber, **change))
                if subset and flag not in subset:
                    self.assertIsInstance(
                        result, ValidationError, "%s, other %s" % (subset, flag)
                    )
                else:
                    self.assertIsInstance(
                        result, type(self.Attendance), "%s, other %s" % (subset, flag)
                    )
                    created |= result
            # another subscriber never conflicts
            created |= self.Attendance.create(self.vals(self.other_subscriber))
            # clear the way for the next combination
            created.write({"active": False})

    def test_settings_form_applies_rule_to_existing_and_new_records(self):
        first = self.Attendance.create(self.vals())
        second = self.Attendance.create(self.vals(attendance_time="10:00:00"))
        self.assertFalse(first.duplicate_key)
        settings = Form(self.env["res.config.settings"])
        settings.attendance_date_unique = True
        settings.attendance_time_unique = True
        with trap_jobs() as trap:
            settings.save().execute()
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        self.assertEqual(self.ICP.get_param(UNIQUE_PARAMS["date"]), "True")
        self.assertEqual(self.ICP.get_param(UNIQUE_PARAMS["time"]), "True")
        self.assertEqual(
            first.duplicate_key, "DT|%s|2024-06-03|08:00:00" % self.subscriber.id
        )
        self.assertTrue(second.duplicate_key)
        with self.assertRaisesRegex(ValidationError, "Duplicate attendance"):
            self.Attendance.create(self.vals())
        # a different type does not help: only date and time count
        with self.assertRaisesRegex(ValidationError, "Duplicate attendance"):
            self.Attendance.create(self.vals(attendance_type_id=self.meeting.id))
        # unticking everything lifts the rule
        settings = Form(self.env["res.config.settings"])
        settings.attendance_date_unique = False
        settings.attendance_time_unique = False
        with trap_jobs() as trap:
            settings.save().execute()
            trap.perform_enqueued_jobs()
        self.assertFalse(first.duplicate_key)
        self.Attendance.create(self.vals())

    def test_settings_refused_when_existing_records_conflict(self):
        first = self.Attendance.create(self.vals())
        second = self.Attendance.create(self.vals(attendance_time="10:00:00"))
        self.Attendance.create(self.vals(attendance_date="2024-06-10"))
        settings = Form(self.env["res.config.settings"])
        settings.attendance_date_unique = True
        wizard = settings.save()
        with trap_jobs() as trap:
            wizard.execute()
            trap.perform_enqueued_jobs()
        # the job refused it; the Settings page says why and lists them
        settings = Form(self.env["res.config.settings"])
        self.assertEqual(settings.attendance_uniqueness_state, "failed")
        message = settings.attendance_uniqueness_message
        self.assertIn("2 existing attendance records (1 groups)", message)
        self.assertIn("same subscriber and the same date", message)
        self.assertFalse(settings.attendance_date_unique, "the old rule shows")
        action = settings.save().action_attendance_uniqueness_conflicts()
        self.assertEqual(
            self.Attendance.search(action["domain"]),
            first | second,
            "action lists them",
        )
        # nothing changed
        self.assertFalse(self.ICP.get_param(UNIQUE_PARAMS["date"]))
        self.assertFalse(first.duplicate_key)
        # a direct parameter change is refused the same way
        with self.assertRaisesRegex(RedirectWarning, "2 existing attendance records"):
            with self.env.cr.savepoint():
                self.ICP.set_param(UNIQUE_PARAMS["date"], "True")
        # adding time makes the rule looser: accepted
        self.set_uniqueness("date", "time")
        self.assertTrue(first.duplicate_key)
        # archiving one of the pair makes "date" alone acceptable
        second.active = False
        self.set_uniqueness("date")
        self.assertFalse(second.duplicate_key)

    def test_archived_records_do_not_count(self):
        self.set_uniqueness("date")
        first = self.Attendance.create(self.vals())
        first.active = False
        self.assertFalse(first.duplicate_key)
        second = self.Attendance.create(self.vals())
        with self.assertRaisesRegex(
            ValidationError, r"existing record \(#%s\)" % second.id
        ):
            first.active = True
        self.assertFalse(first.active)
        self.assertTrue(second.exists())

    def test_write_cannot_create_duplicate(self):
        self.set_uniqueness("date", "time")
        self.Attendance.create(self.vals())
        other = self.Attendance.create(self.vals(attendance_time="11:00:00"))
        with self.assertRaisesRegex(ValidationError, "Duplicate attendance"):
            other.attendance_time = "08:00"
        with self.assertRaisesRegex(ValidationError, "Duplicate attendance"):
            other.write({"attendance_datetime": "2024-06-03 08:00:00"})
        self.assertEqual(other.attendance_time, "11:00:00")

    def test_duplicates_inside_one_batch(self):
        self.set_uniqueness("date")
        with self.assertRaisesRegex(ValidationError, "same submission"):
            self.Attendance.create([self.vals(), self.vals(attendance_time="12:00")])
        self.assertFalse(
            self.Attendance.search([("subscriber_id", "=", self.subscriber.id)]),
            "nothing of the batch was kept",
        )

    def test_message_says_field_value_and_why(self):
        self.set_uniqueness("date", "time", "type", "location")
        existing = self.Attendance.create(self.vals())
        with self.assertRaises(ValidationError) as caught:
            self.Attendance.create(self.vals(attendance_category="absent"))
        message = str(caught.exception)
        for expected in (
            "Kamau, Faith (UNI-1)",
            "#%s" % existing.id,
            "date 2024-06-03",
            "time 08:00:00",
            "type Test Training",
            "location Test Hall",
            "only one record per subscriber with the same date, time, type, location",
        ):
            self.assertIn(expected, message)
        # the transaction is still usable
        self.assertEqual(existing.attendance_time, "08:00:00")

    def test_missing_type_matches_missing_type(self):
        self.set_uniqueness("date", "type")
        self.Attendance.create(self.vals(attendance_type_id=False))
        with self.assertRaisesRegex(ValidationError, r"type \(none\)"):
            self.Attendance.create(self.vals(attendance_type_id=False))
        self.Attendance.create(self.vals(attendance_type_id=self.meeting.id))

    def test_form_path(self):
        self.set_uniqueness("date", "time")
        self.Attendance.create(self.vals())
        form = Form(self.Attendance.with_user(self.manager))
        form.subscriber_id = self.subscriber
        form.attendance_datetime = "2024-06-03 08:00:00"
        with self.assertRaisesRegex(ValidationError, "Duplicate attendance"):
            form.save()

    def test_sql_and_python_keys_agree(self):
        records = self.Attendance.create(
            [
                self.vals(),
                self.vals(
                    attendance_date="2024-06-04",
                    attendance_time="09:30:00",
                    attendance_type_id=False,
                    attendance_location_id=self.nairobi.id,
                ),
                self.vals(
                    attendance_date="2024-06-05",
                    attendance_time="10:00:00",
                    attendance_type_id=self.meeting.id,
                    attendance_location_id=False,
                ),
                self.vals(self.other_subscriber),
            ]
        )
        for size in range(1, 5):
            for subset in combinations(FLAGS, size):
                self.set_uniqueness(*subset)
                records.invalidate_recordset(["duplicate_key"])
                from_sql = records.mapped("duplicate_key")
                flags = self.Attendance._get_uniqueness_flags()
                self.assertEqual(flags, subset)
                from_python = [
                    self.Attendance._make_duplicate_key(
                        flags,
                        record.subscriber_id.id,
                        record.attendance_date,
                        record.attendance_time,
                        record.attendance_type_id.id,
                        record.attendance_location_id.id,
                    )
                    for record in records
                ]
                self.assertEqual(from_sql, from_python, subset)
                self.assertTrue(all(from_sql))
        self.set_uniqueness()
        records.invalidate_recordset(["duplicate_key"])
        self.assertEqual(records.mapped("duplicate_key"), [False] * 4)

    def test_recompute_is_set_based(self):
        subscribers = self.Subscriber.create(
            [
                {"person_identifier": "BULK-%s" % i, "family_name": "Bulk"}
                for i in range(50)
            ]
        )
        self.Attendance.create(
            [
                {
                    "subscriber_id": subscriber.id,
                    "attendance_date": "2024-01-%02d" % day,
                }
                for subscriber in subscribers
                for day in range(1, 11)
            ]
        )
        _count, queries = self.count_queries(self.set_uniqueness, "date")
        self.assertLessEqual(queries, 20, "a few queries, not one per record")
        self.assertEqual(
            self.Attendance.search_count(
                [
                    ("duplicate_key", "!=", False),
                    ("subscriber_id", "in", subscribers.ids),
                ]
            ),
            500,
        )

    def test_recompute_reports_its_count_and_refreshes_statistics(self):
        """The count (returned and logged) is the number of keys changed, and the
        planner's
        statistics on the keys are refreshed at once (not when autovacuum comes)."""
        Attendance = self.Attendance.sudo()
        ICP = self.ICP.with_context(spp_attendance_defer_uniqueness=True)

        def apply(*flags):
            for name, param in UNIQUE_PARAMS.items():
                ICP.set_param(param, "True" if name in flags else False)
            # the count returned is the one logged
            count = Attendance._apply_uniqueness_settings()
            self.cr.execute(
                "SELECT null_frac FROM pg_stats WHERE tablename = "
                "'spp_attendance_list' AND attname = 'duplicate_key'"
            )
            return count, self.cr.fetchone()

        subscribers = self.Subscriber.create(
            [
                {"person_identifier": "STATS-%s" % i, "family_name": "Stats"}
                for i in range(20)
            ]
        )
        self.Attendance.create(
            [
                {
                    "subscriber_id": subscriber.id,
                    "attendance_date": "2024-02-%02d" % day,
                }
                for subscriber in subscribers
                for day in range(1, 6)
            ]
        )
        active = Attendance.search_count([])
        self.assertEqual(active, 100)
        apply("date")
        count, stats = apply()
        self.assertEqual(count, active, "every active record lost its key")
        self.assertEqual(stats, (1.0,), "statistics see the keys all empty")
        count, stats = apply("date")
        self.assertEqual(count, active)
        self.assertLess(stats[0], 1.0, "statistics see the keys")
        count, _stats = apply("date")
        self.assertEqual(count, 0, "nothing changed, nothing counted")
