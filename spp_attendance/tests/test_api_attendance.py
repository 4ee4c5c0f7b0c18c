"""The attendance REST API over real HTTP: upstream contract, errors, idempotency,
atomicity, uniqueness, pagination, scopes and company isolation."""

import json
import uuid
from datetime import date, datetime, timedelta

from odoo.tests import HttpCase, tagged

from odoo.addons.spp_attendance.api import schemas
from odoo.addons.spp_attendance.api.validation import BUILT_TO_SHAPE, dump
from odoo.addons.spp_attendance.controllers.attendance_api import ROUTES, api_document

from .common import UNIQUE_PARAMS
from .oauth_common import ApiClientMixin


class ApiCase(ApiClientMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ICP = cls.env["ir.config_parameter"].sudo()
        for param in UNIQUE_PARAMS.values():
            cls.ICP.set_param(param, False)
        cls.company = cls.env.company
        cls.company.partner_id.tz = "Africa/Nairobi"  # UTC+3, no DST
        cls.Attendance = cls.env["spp.attendance.list"].with_context(active_test=False)
        cls.Subscriber = cls.env["spp.attendance.subscriber"]
        cls.client, cls.secret = cls._create_client("API test app")
        cls.reader, cls.reader_secret = cls._create_client("API reader", scopes="read")
        cls.training = cls.env["spp.attendance.type"].create(
            {"name": "API Training", "description": "Weekly training"}
        )
        cls.hall = cls.env["spp.attendance.location"].create({"name": "API Hall"})
        cls.lima = cls.env["spp.attendance.location"].create(
            {"name": "API Lima", "tz": "America/Lima"}  # UTC-5, no DST
        )
        cls.juan = cls.Subscriber.create(
            {
                "person_identifier": "PID-API-1",
                "family_name": "Cruz",
                "given_name": "Juan",
            }
        )
        cls.ana = cls.Subscriber.create(
            {
                "person_identifier": "PID-API-2",
                "family_name": "Santos",
                "given_name": "Ana",
            }
        )

    def setUp(self):
        super().setUp()
        self.token = self._token(self.client, self.secret)

    def _token(self, client, secret):
        response = self.opener.post(
            self.base_url() + "/auth/token",
            json={"client_id": client.client_id, "client_secret": secret},
            timeout=30,
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["access_token"]

    def api(self, method, path, body=None, raw=None, token=None, headers=None):
        headers = dict(headers or {})
        headers.setdefault("Authorization", f"Bearer {token or self.token}")
        data = raw
        if body is not None:
            data = json.dumps(body)
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        return self.opener.request(
            method, self.base_url() + path, data=data, headers=headers, timeout=60
        )

    def submit(self, records, query="", **top):
        body = {
            "submitted_by": "field-app",
            "submitted_datetime": "2024-10-21 09:00:00",
            "submission_source": "mobile",
            "records": records,
        }
        body.update(top)
        return self.api("POST", "/attendances" + query, body)

    def card(self, date_time="2024-10-21 08:30:00", **extra):
        return dict({"date_time": date_time}, **extra)

    def assertApiError(self, response, status, path=None):
        self.assertEqual(response.status_code, status, response.text)
        body = response.json()
        self.assertEqual(body["error"]["code"], status)
        self.assertTrue(body["error"]["message"])
        if path:
            paths = [d["path"] for d in body["error"].get("details", [])]
            self.assertIn(path, paths, body)
        return body

    def stored(self, subscriber=None):
        return self.Attendance.search(
            [("subscriber_id", "=", (subscriber or self.juan).id)]
        )

    def set_unique(self, *flags):
        ICP = self.ICP.with_context(spp_attendance_defer_uniqueness=True)
        for name, param in UNIQUE_PARAMS.items():
            ICP.set_param(param, "True" if name in flags else False)
        self.env["spp.attendance.list"].sudo()._apply_uniqueness_settings()


@tagged("post_install", "-at_install")
class TestSubmit(ApiCase):
    def test_upstream_payload(self):
        response = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [
                        self.card(
                            attendance_type=self.training.id,
                            attendance_location=self.hall.id,
                            attendance_description="Morning",
                            attendance_external_url="https://example.org/p/1",
                        ),
                        self.card("2024-10-22 08:30:00", attendance_type=0),
                    ],
                },
                {"person_id": "PID-API-2", "time_card": [self.card()]},
            ]
        )
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["message"], "Attendance list created successfully.")
        self.assertEqual(body["person_ids"], ["PID-API-1", "PID-API-2"])
        self.assertEqual([r["status"] for r in body["results"]], ["created"] * 3)
        records = self.stored()
        self.assertEqual(len(records), 2)
        first = records.filtered(lambda r: r.attendance_type_id)
        self.assertEqual(first.attendance_date, date(2024, 10, 21))
        self.assertEqual(first.attendance_time, "08:30:00")
        # company timezone Nairobi (UTC+3): 08:30 local is 05:30 UTC
        self.assertEqual(first.attendance_datetime, datetime(2024, 10, 21, 5, 30))
        self.assertEqual(first.attendance_category, "present")
        self.assertEqual(first.attendance_location_id, self.hall)
        self.assertEqual(first.submitted_by, "field-app")
        self.assertEqual(first.submitted_datetime, datetime(2024, 10, 21, 9, 0))
        self.assertEqual(first.submission_source, "mobile")
        self.assertEqual(first.api_client_id, self.client)
        self.assertEqual(body["results"][0]["id"], first.id)

    def test_answers_are_utf8_json_of_their_byte_length(self):
        """Answers are serialised by the response models: UTF-8 text (not
        escaped), declared as JSON, with the length in bytes."""
        self.juan.given_name = "José Ñandú"
        response = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [self.card(attendance_description="Café, 東京")],
                }
            ]
        )
        self.assertEqual(response.status_code, 200, response.text)
        for path in ("/attendance/PID-API-1", "/subscriber/PID-API-1"):
            with self.subTest(path=path):
                response = self.api("GET", path)
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(
                    response.headers["Content-Type"], "application/json; charset=utf-8"
                )
                self.assertEqual(
                    int(response.headers["Content-Length"]), len(response.content)
                )
                text = response.content.decode("utf-8")
                self.assertNotIn("\\u", text)
                self.assertEqual(json.loads(text), response.json())
        history = self.api("GET", "/attendance/PID-API-1").json()
        self.assertEqual(
            history["attendance_list"][0]["attendance_description"], "Café, 東京"
        )
        self.assertEqual(history["attendance_list"][0]["date"], "2024-10-21")
        self.assertEqual(history["dates_present"], ["2024-10-21"])
        self.assertEqual(
            history["attendance_list"][0]["submitted_datetime"], "2024-10-21 09:00:00"
        )
        subscriber = self.api("GET", "/subscriber/PID-API-1").json()
        self.assertEqual(subscriber["given_name"], "José Ñandú")

    def test_iso_datetime_and_location_timezone(self):
        response = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [
                        # 04:30 UTC = 23:30 the previous day in Lima (UTC-5)
                        self.card(
                            "2024-10-21T04:30:00Z", attendance_location=self.lima.id
                        ),
                        # naive: local time of the location
                        self.card(
                            "2024-10-21 23:30:00", attendance_location=self.lima.id
                        ),
                        self.card(
                            "2024-10-21T23:30:00+03:00", attendance_category="ABSENT"
                        ),
                    ],
                }
            ]
        )
        self.assertEqual(response.status_code, 200, response.text)
        ids = [r["id"] for r in response.json()["results"]]
        lima_utc, lima_local, nairobi = self.Attendance.browse(ids)
        self.assertEqual(
            (lima_utc.attendance_date, lima_utc.attendance_time),
            (date(2024, 10, 20), "23:30:00"),
        )
        self.assertEqual(lima_local.attendance_datetime, datetime(2024, 10, 22, 4, 30))
        self.assertEqual(lima_local.attendance_date, date(2024, 10, 21))
        self.assertEqual(nairobi.attendance_date, date(2024, 10, 21))
        self.assertEqual(nairobi.attendance_time, "23:30:00")
        self.assertEqual(nairobi.attendance_category, "absent")

    def test_atomic_by_default(self):
        before = self.Attendance.search_count([])
        response = self.submit(
            [
                {"person_id": "PID-API-1", "time_card": [self.card()]},
                {"person_id": "NOBODY", "time_card": [self.card()]},
            ]
        )
        body = self.assertApiError(response, 400, "records/1/time_card/0")
        self.assertIn("NOBODY", body["error"]["message"])
        self.assertEqual(self.Attendance.search_count([]), before)
        statuses = [r["status"] for r in body["results"]]
        self.assertEqual(statuses, ["rejected", "rejected"])
        self.assertEqual(body["results"][1]["reason"], "unknown_person")
        self.assertEqual(body["results"][0]["reason"], "not_stored")

    def test_non_atomic_stores_the_valid_cards(self):
        response = self.submit(
            [
                {"person_id": "PID-API-1", "time_card": [self.card()]},
                {
                    "person_id": "PID-API-2",
                    "time_card": [self.card(attendance_type=999999)],
                },
            ],
            query="?atomic=false",
        )
        self.assertEqual(response.status_code, 207, response.text)
        results = response.json()["results"]
        self.assertEqual([r["status"] for r in results], ["created", "rejected"])
        self.assertEqual(results[1]["reason"], "unknown_type")
        self.assertIn("999999", results[1]["message"])
        self.assertEqual(len(self.stored()), 1)
        self.assertFalse(self.stored(self.ana))

    def test_unknown_type_does_not_list_the_others(self):
        response = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [self.card(attendance_type=424242)],
                }
            ]
        )
        body = self.assertApiError(response, 400)
        self.assertIn("424242", body["error"]["message"])
        self.assertNotIn(self.training.name, response.text)

    def test_idempotent_retry_with_uuid(self):
        card_uuid = str(uuid.uuid4())
        records = [
            {
                "person_id": "PID-API-1",
                "time_card": [
                    self.card(uuid=card_uuid, attendance_type=self.training.id)
                ],
            }
        ]
        first = self.submit(records).json()["results"][0]
        self.assertEqual(first["status"], "created")
        for _retry in range(2):
            again = self.submit(records)
            self.assertEqual(again.status_code, 200, again.text)
            result = again.json()["results"][0]
            self.assertEqual(result["status"], "unchanged")
            self.assertEqual(result["id"], first["id"])
        self.assertEqual(len(self.stored()), 1)
        # the same uuid in upper case is the same uuid
        upper = [
            {
                "person_id": "PID-API-1",
                "time_card": [dict(records[0]["time_card"][0], uuid=card_uuid.upper())],
            }
        ]
        self.assertEqual(self.submit(upper).json()["results"][0]["status"], "unchanged")
        # same uuid, other content: a conflict, nothing stored
        conflict = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [self.card("2024-10-25 08:00:00", uuid=card_uuid)],
                }
            ]
        )
        body = self.assertApiError(conflict, 409)
        self.assertEqual(body["results"][0]["reason"], "uuid_conflict")
        self.assertEqual(len(self.stored()), 1)

    def test_invalid_uuid_is_rejected_with_its_reason(self):
        """A uuid that is not an RFC 4122 UUID: that card is rejected with reason
        ``invalid_uuid`` naming where it is; with ``atomic=false`` the others are
        stored."""
        good = self.card("2024-10-22 08:30:00", uuid=str(uuid.uuid4()))
        bad = self.card("2024-10-23 08:30:00", uuid="not-a-uuid")
        before = self.Attendance.search_count([])
        response = self.submit(
            [{"person_id": "PID-API-1", "time_card": [good, bad]}],
            query="?atomic=false",
        )
        self.assertEqual(response.status_code, 207, response.text)
        created, rejected = response.json()["results"]
        self.assertEqual(created["status"], "created")
        self.assertEqual(
            (rejected["status"], rejected["reason"]), ("rejected", "invalid_uuid")
        )
        self.assertIn("records/0/time_card/1", rejected["message"])
        self.assertIn("uuid", rejected["message"])
        self.assertEqual(self.Attendance.search_count([]), before + 1)

    def test_same_uuid_twice_in_one_request(self):
        card_uuid = str(uuid.uuid4())
        card = self.card(uuid=card_uuid)
        response = self.submit(
            [{"person_id": "PID-API-1", "time_card": [card, dict(card)]}]
        )
        self.assertEqual(response.status_code, 200, response.text)
        results = response.json()["results"]
        self.assertEqual([r["status"] for r in results], ["created", "unchanged"])
        self.assertEqual(results[0]["id"], results[1]["id"])
        other = dict(card, date_time="2024-10-23 08:00:00")
        response = self.submit(
            [
                {
                    "person_id": "PID-API-2",
                    "time_card": [
                        dict(card, uuid=str(uuid.uuid4())),
                        dict(other, uuid=card_uuid),
                    ],
                }
            ]
        )
        self.assertApiError(response, 409)

    def test_duplicates_inside_one_request(self):
        self.set_unique("date", "time")
        cards = [self.card(), self.card(attendance_category="absent")]
        response = self.submit([{"person_id": "PID-API-1", "time_card": cards}])
        body = self.assertApiError(response, 400, "records/0/time_card/1")
        self.assertEqual(body["results"][1]["reason"], "duplicate")
        self.assertFalse(self.stored())
        response = self.submit(
            [{"person_id": "PID-API-1", "time_card": cards}],
            query="?ignore_unique=true",
        )
        self.assertEqual(response.status_code, 200, response.text)
        results = response.json()["results"]
        self.assertEqual([r["status"] for r in results], ["created", "duplicate"])
        self.assertEqual(results[1]["id"], results[0]["id"])
        self.assertEqual(len(self.stored()), 1)

    def test_duplicates_against_stored_records(self):
        self.set_unique("date")
        self.submit([{"person_id": "PID-API-1", "time_card": [self.card()]}])
        response = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [self.card("2024-10-21 17:00:00")],
                }
            ]
        )
        body = self.assertApiError(response, 400)
        self.assertIn("Duplicate", body["error"]["message"])
        response = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [
                        self.card("2024-10-21 17:00:00"),
                        self.card("2024-10-22 17:00:00"),
                    ],
                }
            ],
            query="?ignore_unique=1",
        )
        self.assertEqual(
            [r["status"] for r in response.json()["results"]], ["duplicate", "created"]
        )
        self.assertEqual(response.json()["person_ids"], ["PID-API-1"])
        self.assertEqual(len(self.stored()), 2)

    def test_bad_input_is_a_clear_400(self):
        good = {"person_id": "PID-API-1", "time_card": [self.card()]}
        cases = {
            "not json": (None, b"{nope", "(body)"),
            "invalid utf-8": (None, b'{"records": "\xff"}', "(body)"),
            "array body": ([good], None, "(body)"),
            "missing records": (
                {"submitted_by": "a", "submitted_datetime": "2024-10-21 09:00:00"},
                None,
                None,
            ),
            "records not a list": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": good,
                },
                None,
                "records",
            ),
            "time_card object": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [{"person_id": "PID-API-1", "time_card": self.card()}],
                },
                None,
                "records/0/time_card",
            ),
            "true as type id": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [
                        {
                            "person_id": "PID-API-1",
                            "time_card": [self.card(attendance_type=True)],
                        }
                    ],
                },
                None,
                "records/0/time_card/0/attendance_type",
            ),
            "list as location": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [
                        {
                            "person_id": "PID-API-1",
                            "time_card": [self.card(attendance_location=[1])],
                        }
                    ],
                },
                None,
                "records/0/time_card/0/attendance_location",
            ),
            "null submitted_by": (
                {
                    "submitted_by": None,
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [good],
                },
                None,
                "submitted_by",
            ),
            "bad date_time": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [
                        {
                            "person_id": "PID-API-1",
                            "time_card": [self.card("21/10/2024 8:30")],
                        }
                    ],
                },
                None,
                "records/0/time_card/0/date_time",
            ),
            "impossible date": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [
                        {
                            "person_id": "PID-API-1",
                            "time_card": [self.card("2024-02-30 08:30:00")],
                        }
                    ],
                },
                None,
                "records/0/time_card/0/date_time",
            ),
            "bad category": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [
                        {
                            "person_id": "PID-API-1",
                            "time_card": [self.card(attendance_category="late")],
                        }
                    ],
                },
                None,
                "records/0/time_card/0/attendance_category",
            ),
            "non-string category": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [
                        {
                            "person_id": "PID-API-1",
                            "time_card": [self.card(attendance_category=1)],
                        }
                    ],
                },
                None,
                "records/0/time_card/0/attendance_category",
            ),
            "bad url": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [
                        {
                            "person_id": "PID-API-1",
                            "time_card": [
                                self.card(attendance_external_url="javascript:alert(1)")
                            ],
                        }
                    ],
                },
                None,
                "records/0/time_card/0",
            ),
            "bad uuid": (
                {
                    "submitted_by": "a",
                    "submitted_datetime": "2024-10-21 09:00:00",
                    "records": [
                        {
                            "person_id": "PID-API-1",
                            "time_card": [self.card(uuid="not a uuid")],
                        }
                    ],
                },
                None,
                "records/0/time_card/0/uuid",
            ),
            "deep nesting": (None, b"[" * 100000 + b"]" * 100000, "(body)"),
        }
        before = self.Attendance.search_count([])
        for name, (body, raw, path) in cases.items():
            with self.subTest(case=name):
                response = self.api("POST", "/attendances", body=body, raw=raw)
                self.assertApiError(response, 400, path)
        self.assertEqual(self.Attendance.search_count([]), before)

    def test_body_too_large(self):
        raw = b'{"records": [' + b" " * (5 * 1024 * 1024) + b"]}"
        response = self.api("POST", "/attendances", raw=raw)
        self.assertApiError(response, 413)

    def test_batch_is_set_based(self):
        """The number of queries does not grow with the number of cards."""

        def records(count, offset):
            start = datetime(2024, 1, 1, 8, 0) + timedelta(days=offset)
            return [
                {
                    "person_id": "PID-API-1",
                    "time_card": [
                        self.card(
                            (start + timedelta(minutes=n)).strftime(
                                "%Y-%m-%d %H:%M:%S"
                            ),
                            attendance_type=self.training.id,
                            uuid=str(uuid.uuid4()),
                        )
                        for n in range(count)
                    ],
                }
            ]

        self.set_unique("date", "time")
        counts = []
        for count, offset in ((5, 0), (200, 10)):
            self.env.cr.flush()
            queries_before = self.env.cr.sql_log_count
            response = self.submit(records(count, offset))
            self.assertEqual(response.status_code, 200, response.text)
            counts.append(self.env.cr.sql_log_count - queries_before)
        # the insert of 200 rows is one statement, like that of 5 rows
        self.assertLessEqual(counts[1], counts[0] + 5, counts)


@tagged("post_install", "-at_install")
class TestUpdateDelete(ApiCase):
    def setUp(self):
        super().setUp()
        response = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [
                        self.card(attendance_type=self.training.id),
                        self.card("2024-10-22 08:30:00"),
                    ],
                }
            ]
        )
        self.ids = [r["id"] for r in response.json()["results"]]

    def put(self, records):
        return self.api(
            "PUT",
            "/attendances",
            {
                "submitted_by": "supervisor",
                "submitted_datetime": "2024-10-23T10:00:00+03:00",
                "records": records,
            },
        )

    def test_update(self):
        response = self.put(
            [
                {
                    "id": self.ids[0],
                    "time_card": {
                        "attendance_category": "Absent",
                        "attendance_type": 0,
                        "date_time": "2024-10-21 10:00:00",
                        "attendance_description": "late",
                    },
                }
            ]
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            response.json()["message"], "Attendance list updated successfully."
        )
        record = self.Attendance.browse(self.ids[0])
        self.assertEqual(record.attendance_category, "absent")
        self.assertFalse(record.attendance_type_id)
        self.assertEqual(record.attendance_time, "10:00:00")
        self.assertEqual(record.attendance_description, "late")
        self.assertEqual(record.submitted_by, "supervisor")
        self.assertEqual(record.submitted_datetime, datetime(2024, 10, 23, 7, 0))
        self.assertIn(self.client.name, record.message_ids.mapped("body")[0])
        # the audit trail names the API (create/write uid: see tests/test_e2e_api.py,
        # against a real server with real commits)
        api_user = self.env.ref("spp_attendance.user_attendance_api")
        self.assertEqual(record.message_ids[0].author_id, api_user.partner_id)

    def test_update_is_atomic(self):
        response = self.put(
            [
                {"id": self.ids[0], "time_card": {"attendance_category": "absent"}},
                {"id": 987654321, "time_card": {"attendance_category": "absent"}},
            ]
        )
        body = self.assertApiError(response, 404, "records/1")
        self.assertIn("987654321", body["error"]["message"])
        self.assertEqual(
            self.Attendance.browse(self.ids[0]).attendance_category, "present"
        )

    def test_update_respects_uniqueness(self):
        self.set_unique("date")
        response = self.put(
            [{"id": self.ids[1], "time_card": {"date_time": "2024-10-21 15:00:00"}}]
        )
        self.assertApiError(response, 409)
        self.assertEqual(
            self.Attendance.browse(self.ids[1]).attendance_date, date(2024, 10, 22)
        )

    def test_update_bad_input(self):
        for records, path in (
            ([{"id": "1", "time_card": {}}], "records/0/id"),
            ([{"id": True, "time_card": {}}], "records/0/id"),
            ([{"id": self.ids[0], "time_card": []}], "records/0/time_card"),
            ([{"id": self.ids[0], "time_card": {"date_time": None}}], None),
            ([{"id": self.ids[0]}], None),
        ):
            with self.subTest(records=records):
                self.assertApiError(self.put(records), 400, path)

    def test_delete_archives_and_reports_missing(self):
        response = self.api("DELETE", f"/attendances?ids={self.ids[0]},999999")
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["message"], "Attendance list deleted successfully.")
        self.assertEqual(body["deleted_ids"], [self.ids[0]])
        self.assertEqual(body["missing_ids"], [999999])
        record = self.Attendance.browse(self.ids[0])
        self.assertTrue(record.exists())
        self.assertFalse(record.active)
        history = self.api("GET", "/attendance/PID-API-1").json()
        self.assertEqual([i["id"] for i in history["attendance_list"]], [self.ids[1]])
        self.assertApiError(self.api("DELETE", "/attendances?ids=999999"), 404)
        self.assertApiError(self.api("DELETE", "/attendances?ids=1,abc"), 400)
        self.assertApiError(self.api("DELETE", "/attendances"), 400)

    def test_archived_record_no_longer_counts_for_uniqueness(self):
        self.set_unique("date", "time", "type")
        self.api("DELETE", f"/attendances?ids={self.ids[0]}")
        response = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [self.card(attendance_type=self.training.id)],
                }
            ]
        )
        self.assertEqual(response.status_code, 200, response.text)


@tagged("post_install", "-at_install")
class TestRead(ApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        start = datetime(2024, 3, 1, 5, 0)
        vals = []
        for day in range(25):
            vals.append(
                {
                    "subscriber_id": cls.juan.id,
                    "attendance_datetime": start + timedelta(days=day),
                    "attendance_category": "absent" if day % 5 == 4 else "present",
                    "attendance_type_id": cls.training.id if day % 2 else False,
                    "attendance_location_id": cls.hall.id,
                }
            )
        cls.history = cls.env["spp.attendance.list"].create(vals)
        cls.types_person = cls.Subscriber.create(
            {"person_identifier": "types", "family_name": "Types", "given_name": "T"}
        )
        cls.slash_person = cls.Subscriber.create(
            {"person_identifier": "a/b", "family_name": "Slash", "given_name": "S"}
        )

    def test_person_history(self):
        response = self.api("GET", "/attendance/PID-API-1?limit=10")
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["person_id"], "PID-API-1")
        self.assertEqual(body["number_of_days_present"], 20)
        self.assertEqual(body["dates_present"], sorted(body["dates_present"]))
        self.assertEqual(len(body["attendance_list"]), 10)
        self.assertEqual(
            body["pagination"],
            {"page": 1, "limit": 10, "total_records": 25, "total_pages": 3},
        )
        item = body["attendance_list"][0]
        self.assertEqual(item["date"], "2024-03-25")
        self.assertEqual(item["time"], "08:00:00")
        self.assertEqual(
            set(item["attendance_location"]), {"id", "name", "description"}
        )
        self.assertTrue(body["next_cursor"])

    def test_person_history_without_records_or_archived(self):
        """The records' query finds the person; an empty page asks the
        subscribers: an empty history is a 200, an archived person a 404 (as an
        unknown one), records or not."""
        quiet = self.Subscriber.create(
            {"person_identifier": "PID-QUIET", "family_name": "Q", "given_name": "Q"}
        )
        for path in (
            "/attendance/PID-QUIET",
            "/attendance/PID-API-1?from_date=2030-01-01",
            "/attendance/PID-API-1?page=9",
        ):
            with self.subTest(path=path):
                response = self.api("GET", path)
                self.assertEqual(response.status_code, 200, response.text)
                body = response.json()
                self.assertEqual(body["person_id"], path.split("/")[2].split("?")[0])
                self.assertEqual(body["attendance_list"], [])
        self.assertEqual(
            self.api("GET", "/attendance/PID-API-1?page=9").json()["pagination"][
                "total_records"
            ],
            25,
        )
        self.env["spp.attendance.list"].create(
            {"subscriber_id": quiet.id, "attendance_datetime": datetime(2024, 1, 1, 8)}
        )
        self.assertEqual(
            len(self.api("GET", "/attendance/PID-QUIET").json()["attendance_list"]), 1
        )
        quiet.action_archive()
        self.assertApiError(self.api("GET", "/attendance/PID-QUIET"), 404)

    def test_offset_pages_and_cursor_walk_return_each_record_once(self):
        expected = set(self.history.ids)
        by_page = []
        for page in (1, 2, 3):
            body = self.api("GET", f"/attendance/PID-API-1?limit=10&page={page}").json()
            by_page += [i["id"] for i in body["attendance_list"]]
        self.assertEqual(sorted(by_page), sorted(expected))
        seen, cursor = [], ""
        for _step in range(10):
            body = self.api("GET", f"/attendance/PID-API-1?limit=7{cursor}").json()
            seen += [i["id"] for i in body["attendance_list"]]
            if not body["next_cursor"]:
                break
            cursor = f"&cursor={body['next_cursor']}"
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(set(seen), expected)

    def test_filters_apply_independently(self):
        body = self.api("GET", "/attendance/PID-API-1?from_date=2024-03-20").json()
        self.assertEqual(body["pagination"]["total_records"], 6)
        body = self.api("GET", "/attendance/PID-API-1?to_date=2024-03-02").json()
        self.assertEqual(body["pagination"]["total_records"], 2)
        body = self.api(
            "GET", f"/attendance/PID-API-1?attendance_type={self.training.id}"
        ).json()
        self.assertEqual(body["pagination"]["total_records"], 12)
        body = self.api(
            "GET", "/attendance/PID-API-1?attendance_category=absent"
        ).json()
        self.assertEqual(body["pagination"]["total_records"], 5)
        self.assertEqual(body["number_of_days_present"], 0)

    def test_summary_is_the_same_from_one_page_or_from_the_aggregate(self):
        """A first page that holds the whole history counts its days from its
        own rows; a partial page asks the aggregate: both give the same."""
        # a second record on a day present, and one on a day absent
        self.Attendance.create(
            [
                {
                    "subscriber_id": self.juan.id,
                    "attendance_datetime": datetime(2024, 3, 1, 9, 0),
                    "attendance_category": "absent",
                },
                {
                    "subscriber_id": self.juan.id,
                    "attendance_datetime": datetime(2024, 3, 5, 9, 0),
                    "attendance_category": "present",
                },
            ]
        )
        for query in (
            "",
            "&from_date=2024-03-20",
            f"&attendance_type={self.training.id}",
            "&attendance_category=present",
            "&attendance_category=absent",
        ):
            with self.subTest(query=query):
                whole = self.api("GET", f"/attendance/PID-API-1?limit=100{query}")
                part = self.api("GET", f"/attendance/PID-API-1?limit=2{query}")
                whole, part = whole.json(), part.json()
                self.assertFalse(whole["next_cursor"])
                self.assertEqual(
                    len(whole["attendance_list"]), whole["pagination"]["total_records"]
                )
                for key in ("dates_present", "number_of_days_present"):
                    self.assertEqual(whole[key], part[key], key)
                self.assertEqual(
                    whole["pagination"]["total_records"],
                    part["pagination"]["total_records"],
                )
        body = self.api("GET", "/attendance/PID-API-1?limit=100").json()
        self.assertEqual(body["pagination"]["total_records"], 27)
        self.assertEqual(body["number_of_days_present"], 21)

    def test_record_answers_are_built_in_their_models_shape(self):
        """A person's history and a page of /attendances are written as the
        services build them (``BUILT_TO_SHAPE``): validated through their model,
        they come out unchanged, for every kind of record."""
        self.Attendance.create(
            [
                {  # every optional value set
                    "subscriber_id": self.ana.id,
                    "attendance_datetime": datetime(2024, 4, 1, 6, 0),
                    "attendance_type_id": self.training.id,
                    "attendance_location_id": self.lima.id,
                    "attendance_description": "Évaluation, 東京",
                    "attendance_external_url": "https://example.org/e/1",
                    "uuid": "123e4567-e89b-12d3-a456-426614174000",
                    "submitted_by": "app",
                    "submitted_datetime": datetime(2024, 4, 1, 7, 0),
                    "submission_source": "mobile",
                },
                {  # none of them, absent
                    "subscriber_id": self.ana.id,
                    "attendance_datetime": datetime(2024, 4, 2, 6, 0),
                    "attendance_category": "absent",
                },
            ]
        )
        persons = "PID-API-1,PID-API-2,types"
        for path, model in (
            ("/attendance/PID-API-2", schemas.PersonHistory),
            ("/attendance/PID-API-1?limit=5", schemas.PersonHistory),
            (f"/attendances?person_ids={persons}", schemas.PersonsAttendance),
            (f"/attendances?person_ids={persons}&limit=1", schemas.PersonsAttendance),
        ):
            with self.subTest(path=path):
                self.assertIn(model, BUILT_TO_SHAPE)
                response = self.api("GET", path)
                self.assertEqual(response.status_code, 200, response.text)
                answer = response.json()
                self.assertEqual(dump(model, answer), answer)
        body = self.api("GET", f"/attendances?person_ids={persons}").json()
        by_person = {r["person_id"]: r for r in body["records"]}
        self.assertEqual(by_person["types"]["attendance_list"], [])
        by_date = {r["date"]: r for r in by_person["PID-API-2"]["attendance_list"]}
        full, bare = by_date["2024-04-01"], by_date["2024-04-02"]
        self.assertEqual(full["attendance_type"]["name"], "API Training")
        self.assertEqual(full["uuid"], "123e4567-e89b-12d3-a456-426614174000")
        self.assertEqual((bare["attendance_type"], bare["uuid"]), ({}, None))

    def test_read_errors(self):
        for query, status, path in (
            ("limit=501", 400, "query/limit"),
            ("limit=0", 400, "query/limit"),
            (f"limit={10**9}", 400, "query/limit"),
            ("page=-1", 400, "query/page"),
            ("page=x", 400, "query/page"),
            ("from_date=2024-13-01", 400, "query/from_date"),
            ("from_date=2024-03-10&to_date=2024-03-01", 400, "query/from_date"),
            ("attendance_type=999999", 400, "query/attendance_type"),
            ("attendance_category=late", 400, "query/attendance_category"),
            ("cursor=%%%", 400, "query/cursor"),
        ):
            with self.subTest(query=query):
                response = self.api("GET", f"/attendance/PID-API-1?{query}")
                self.assertApiError(response, status, path)
        self.assertApiError(self.api("GET", "/attendance/NOBODY"), 404)
        # the person is checked before the cursor
        self.assertApiError(self.api("GET", "/attendance/NOBODY?cursor=%%%"), 404)

    def test_every_identifier_is_addressable(self):
        body = self.api("GET", "/attendance?person_id=types").json()
        self.assertEqual(body["person_id"], "types")
        self.assertEqual(self.api("GET", "/attendance/a/b").json()["person_id"], "a/b")
        self.assertEqual(
            self.api("GET", "/attendance?person_id=a%2Fb").json()["person_id"], "a/b"
        )
        self.assertEqual(self.api("GET", "/subscriber/a/b").json()["person_id"], "a/b")
        self.assertEqual(
            self.api("GET", "/subscriber?person_id=types").json()["person_id"], "types"
        )
        # /attendance/types stays the list of types
        self.assertIn("records", self.api("GET", "/attendance/types").json())

    def test_types_and_locations(self):
        types = self.api("GET", "/attendance/types").json()["records"]
        self.assertIn(
            {
                "id": self.training.id,
                "name": "API Training",
                "description": "Weekly training",
            },
            types,
        )
        locations = self.api("GET", "/attendance/locations").json()["records"]
        self.assertIn(self.hall.id, [loc["id"] for loc in locations])

    def test_many_persons(self):
        # upstream's JSON body on GET
        response = self.api(
            "GET",
            "/attendances?limit=5",
            body={"person_ids": ["PID-API-1", "PID-API-2"]},
        )
        self.assertEqual(response.status_code, 200, response.text)
        records = response.json()["records"]
        self.assertEqual([r["person_id"] for r in records], ["PID-API-1", "PID-API-2"])
        self.assertEqual(len(records[0]["attendance_list"]), 25)
        self.assertEqual(records[0]["number_of_days_present"], 20)
        self.assertEqual(records[1]["attendance_list"], [])
        # and the query-string form
        body = self.api("GET", "/attendances?person_ids=PID-API-2").json()
        self.assertEqual([r["person_id"] for r in body["records"]], ["PID-API-2"])

    def test_many_persons_pages_and_cursor(self):
        total = self.Subscriber.search_count([])
        pages = []
        for page in range(1, total + 1):
            body = self.api("GET", f"/attendances?limit=1&page={page}").json()
            if not body["records"]:
                break
            pages.append(body["records"][0]["person_id"])
        self.assertEqual(len(pages), total)
        self.assertEqual(len(set(pages)), total)
        walked, cursor = [], ""
        for _step in range(total + 1):
            body = self.api("GET", f"/attendances?limit=2{cursor}").json()
            walked += [r["person_id"] for r in body["records"]]
            self.assertEqual(body["pagination"]["total_records"], total)
            if not body["next_cursor"]:
                break
            cursor = f"&cursor={body['next_cursor']}"
        self.assertEqual(sorted(walked), sorted(pages))

    def test_many_persons_query_count_does_not_grow(self):
        """One page of persons costs the same queries whatever the number of
        persons, records, types and locations on it (no N+1)."""
        locations = self.env["spp.attendance.location"].create(
            [{"name": f"API Site {n}"} for n in range(8)]
        )
        persons = self.Subscriber.create(
            [
                {
                    "person_identifier": f"PID-QC-{n}",
                    "family_name": "Q",
                    "given_name": str(n),
                }
                for n in range(8)
            ]
        )
        self.env["spp.attendance.list"].create(
            [
                {
                    "subscriber_id": person.id,
                    "attendance_datetime": datetime(2024, 4, 1, 8)
                    + timedelta(days=day),
                    "attendance_location_id": locations[(n + day) % 8].id,
                    "attendance_type_id": self.training.id,
                }
                for n, person in enumerate(persons)
                for day in range(3)
            ]
        )
        counts = []
        for count in (1, 2, 8):  # the first request warms the caches
            ids = ",".join(persons[:count].mapped("person_identifier"))
            self.env.cr.flush()
            before = self.env.cr.sql_log_count
            response = self.api("GET", f"/attendances?person_ids={ids}")
            self.assertEqual(response.status_code, 200, response.text)
            self.assertEqual(len(response.json()["records"]), count)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[1], counts[2], counts)

    def test_subscribers(self):
        body = self.api("GET", "/subscribers?limit=500").json()
        by_person = {r["person_id"]: r for r in body["records"]}
        self.assertEqual(
            by_person["PID-API-1"],
            {
                "id": self.juan.id,
                "person_id": "PID-API-1",
                "name": "Cruz, Juan",
                "family_name": "Cruz",
                "given_name": "Juan",
                "email": False,
                "phone": False,
                "mobile": False,
            },
        )
        single = self.api("GET", "/subscriber/PID-API-2").json()
        self.assertEqual(single["id"], self.ana.id)
        self.assertApiError(self.api("GET", "/subscriber/NOBODY"), 404)


@tagged("post_install", "-at_install")
class TestAccess(ApiCase):
    def test_read_scope_cannot_write(self):
        token = self._token(self.reader, self.reader_secret)
        self.assertEqual(
            self.api("GET", "/attendance/types", token=token).status_code, 200
        )
        response = self.api(
            "POST",
            "/attendances",
            token=token,
            body={
                "submitted_by": "x",
                "submitted_datetime": "2024-10-21 09:00:00",
                "records": [],
            },
        )
        self.assertEqual(response.status_code, 403)
        self.assertIn("insufficient_scope", response.headers["WWW-Authenticate"])
        for method in ("PUT", "DELETE"):
            self.assertEqual(
                self.api(
                    method, "/attendances?ids=1", token=token, body={}
                ).status_code,
                403,
            )

    def test_every_route_needs_a_token(self):
        for route in ROUTES:
            path = route.path.replace("{person_id}", "PID-API-1")
            with self.subTest(route=f"{route.method} {path}"):
                response = self.api(
                    route.method.upper(), path, headers={"Authorization": "Bearer nope"}
                )
                self.assertEqual(response.status_code, 401)
                self.assertIn("invalid_token", response.headers["WWW-Authenticate"])

    def test_other_company_is_invisible(self):
        other = self.env["res.company"].create({"name": "API Other Company"})
        stranger = self.Subscriber.with_company(other).create(
            {
                "person_identifier": "PID-OTHER",
                "family_name": "Other",
                "given_name": "O",
                "company_id": other.id,
            }
        )
        record = self.env["spp.attendance.list"].create(
            {
                "subscriber_id": stranger.id,
                "attendance_datetime": datetime(2024, 1, 1, 8),
            }
        )
        self.assertApiError(self.api("GET", "/attendance/PID-OTHER"), 404)
        self.assertApiError(self.api("GET", "/subscriber/PID-OTHER"), 404)
        persons = [
            r["person_id"]
            for r in self.api("GET", "/subscribers?limit=500").json()["records"]
        ]
        self.assertNotIn("PID-OTHER", persons)
        response = self.submit([{"person_id": "PID-OTHER", "time_card": [self.card()]}])
        self.assertApiError(response, 400)
        self.assertApiError(self.api("DELETE", f"/attendances?ids={record.id}"), 404)
        self.assertTrue(record.active)
        response = self.api(
            "PUT",
            "/attendances",
            {
                "submitted_by": "x",
                "submitted_datetime": "2024-10-21 09:00:00",
                "records": [
                    {"id": record.id, "time_card": {"attendance_category": "absent"}}
                ],
            },
        )
        self.assertApiError(response, 404)
        self.assertEqual(record.attendance_category, "present")


@tagged("post_install", "-at_install")
class TestOpenApi(ApiCase):
    def test_document_is_valid_and_served(self):
        from openapi_spec_validator import validate

        response = self.opener.get(self.base_url() + "/api/openapi.json", timeout=30)
        self.assertEqual(response.status_code, 200)
        document = response.json()
        validate(document)
        self.assertEqual(document["paths"].keys(), api_document()["paths"].keys())

    def test_every_documented_route_is_served(self):
        """The document and the controllers cannot drift apart."""
        routing = self.env["ir.http"].routing_map()
        adapter = routing.bind("localhost")
        for route in ROUTES:
            path = route.path.replace("{person_id}", "X")
            with self.subTest(route=f"{route.method} {path}"):
                rule, _args = adapter.match(
                    path, method=route.method.upper(), return_rule=True
                )
                # The route itself, not another that happens to match the path
                # (``/attendance/<path:person_id>`` matches /attendance/types too).
                self.assertEqual(
                    rule.rule, route.path.replace("{person_id}", "<path:person_id>")
                )
