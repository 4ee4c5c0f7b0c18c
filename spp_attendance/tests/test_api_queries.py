"""SQL queries per API request: a small number that does not grow with the page
size or the batch size, and nothing read of the API client or the signing keys once
a worker has cached them (issue #12).

Counted from ``odoo.sql_db``'s log of the request: that includes Odoo's database
list query and the test mode's savepoints (2 per request, 3 for a POST), and leaves
out the per-request registry signalling check (skipped in test mode).
"""

import logging

from odoo.tests import tagged

from .test_api_attendance import ApiCase

#: Upper bounds measured on this code (test-mode counts, see above); a change that
#: adds queries per request must raise them knowingly.
MAX_QUERIES = {
    "update": 32,
    "delete": 32,
    "submit": 16,
    "history": 10,
    "subscribers": 8,
    "attendances": 12,
}


@tagged("post_install", "-at_install")
class TestApiQueries(ApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.people = cls.Subscriber.create(
            [
                {
                    "person_identifier": f"PID-Q-{i:03d}",
                    "family_name": "Query",
                    "given_name": str(i),
                }
                for i in range(60)
            ]
        )

    def queries(self, method, path, body=None):
        """The SQL statements of one request (logged by ``odoo.sql_db``)."""
        sql_logger = logging.getLogger("odoo.sql_db")
        level = sql_logger.level
        self.env.flush_all()
        with self.assertLogs(sql_logger, logging.DEBUG) as logs:
            sql_logger.setLevel(logging.DEBUG)
            try:
                response = self.api(method, path, body)
            finally:
                sql_logger.setLevel(level)
        self.assertLess(response.status_code, 300, response.text)
        return [line for line in logs.output if "query:" in line]

    def submission(self, count, day, **card):
        return {
            "submitted_by": "x",
            "submitted_datetime": "2024-10-21 09:00:00",
            "records": [
                {
                    "person_id": person.person_identifier,
                    "time_card": [
                        dict(card, date_time=f"2024-10-{day:02d} 08:30:00"),
                    ],
                }
                for person in self.people[:count]
            ],
        }

    def test_submit_does_not_grow_with_the_batch(self):
        self.api("POST", "/attendances", self.submission(1, 1))  # warm-up
        counts = {
            size: len(self.queries("POST", "/attendances", self.submission(size, day)))
            for size, day in ((1, 2), (20, 3), (60, 4))
        }
        self.assertEqual(len(set(counts.values())), 1, counts)
        self.assertLessEqual(counts[60], MAX_QUERIES["submit"], counts)

    def test_update_and_delete_do_not_grow_with_the_batch(self):
        """Set-based PUT and DELETE: at most twice a POST's queries, whatever the
        number of records, with one audit note per record and no tracking
        message."""
        response = self.api("POST", "/attendances", self.submission(60, 6))
        ids = [result["id"] for result in response.json()["results"]]
        warm_up = self.submission(0, 1)
        warm_up["records"] = [
            {"id": ids[0], "time_card": {"attendance_description": "x"}}
        ]
        self.api("PUT", "/attendances", warm_up)
        counts = {}
        for size in (1, 20, 60):
            body = self.submission(0, 1)
            body["records"] = [
                {"id": record_id, "time_card": {"attendance_category": category}}
                for record_id in ids[:size]
                for category in ("absent",)
            ]
            counts[size] = len(self.queries("PUT", "/attendances", body))
            body["records"] = [
                {"id": r["id"], "time_card": {"attendance_category": "present"}}
                for r in body["records"]
            ]
            self.api("PUT", "/attendances", body)
        self.assertEqual(len(set(counts.values())), 1, counts)
        self.assertLessEqual(counts[60], MAX_QUERIES["update"], counts)
        record = self.Attendance.browse(ids[59])
        notes = record.message_ids
        self.assertEqual(len(notes), 2, "one note per PUT, no tracking message")
        # warm-up included for the first record: 3 notes there
        self.assertIn("Absent", notes[-1].body)
        self.assertFalse(notes.tracking_value_ids)
        deletes = {
            size: len(
                self.queries("DELETE", "/attendances?ids=" + ",".join(map(str, chunk)))
            )
            for size, chunk in ((1, ids[:1]), (20, ids[1:21]), (39, ids[21:]))
        }
        self.assertEqual(len(set(deletes.values())), 1, deletes)
        self.assertLessEqual(deletes[39], MAX_QUERIES["delete"], deletes)
        self.assertFalse(self.Attendance.browse(ids).filtered("active"))
        self.assertFalse(record.message_ids.tracking_value_ids)

    def test_reads_do_not_grow_with_the_page(self):
        self.api(
            "POST",
            "/attendances",
            self.submission(
                60,
                5,
                attendance_type=self.training.id,
                attendance_location=self.hall.id,
            ),
        )
        for name, path in (
            ("history", "/attendance/PID-Q-000?limit={}"),
            ("subscribers", "/subscribers?limit={}"),
            ("attendances", "/attendances?limit={}"),
        ):
            with self.subTest(route=name):
                self.api("GET", path.format(5))  # warm-up
                counts = [len(self.queries("GET", path.format(n))) for n in (5, 50)]
                self.assertEqual(counts[0], counts[1], counts)
                self.assertLessEqual(counts[0], MAX_QUERIES[name], counts)

    def test_client_and_keys_are_not_read_per_request(self):
        """Once cached, authenticating a request reads neither the API client nor
        the signing keys; changing either clears the cache (see
        tests/test_reliability_security.py for every worker of a real server)."""
        self.api("GET", "/subscriber/PID-Q-000")  # warm-up
        statements = self.queries("GET", "/subscriber/PID-Q-000")
        for table in ("spp_oauth_key", "spp_attendance_api_client_credential"):
            self.assertFalse([s for s in statements if table in s], table)
        # revoking clears the cache: the next request reads the client again
        self.client.action_revoke()
        response = self.api("GET", "/subscriber/PID-Q-000")
        self.assertEqual(response.status_code, 401)
