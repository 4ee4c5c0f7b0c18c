from datetime import datetime, timedelta

from odoo.tests import tagged

from .common import AttendanceCase


@tagged("post_install", "-at_install")
class TestBulkPerformance(AttendanceCase):
    def test_bulk_create_thousands_of_records(self):
        self.set_uniqueness("date", "time")
        subscribers = self.Subscriber.create(
            [
                {
                    "person_identifier": "PERF-%s" % i,
                    "family_name": "Perf",
                    "given_name": str(i),
                }
                for i in range(100)
            ]
        )
        start = datetime(2021, 1, 4, 6, 0)
        vals_list = [
            {
                "subscriber_id": subscriber.id,
                "attendance_datetime": start + timedelta(days=day),
                "attendance_type_id": self.training.id,
                "attendance_location_id": self.nairobi.id,
            }
            for subscriber in subscribers
            for day in range(50)
        ]
        self.env.flush_all()
        queries_before = self.cr.sql_log_count
        records = self.Attendance.with_user(self.manager).create(vals_list)
        self.env.flush_all()
        self.env.cr.flush()
        queries = self.cr.sql_log_count - queries_before
        self.assertEqual(len(records), 5000)
        # set-based: the query count does not grow with the number of records
        self.assertLess(queries, 150, "queries for 5000 records")
        self.assertTrue(all(records.mapped("duplicate_key")))
        self.assertEqual(set(records.mapped("attendance_time")), {"09:00:00"})
        self.assertEqual(
            self.env["mail.message"].search_count(
                [("model", "=", self.Attendance._name), ("res_id", "in", records.ids)]
            ),
            0,
            "no per-record chatter message on creation",
        )
        self.assertEqual(set(records.mapped("create_uid")), {self.manager})
