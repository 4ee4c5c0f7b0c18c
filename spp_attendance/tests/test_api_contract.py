"""The API contract itself: each route's declaration, the models that validate and
shape requests and responses, and the OpenAPI document generated from them."""

import uuid

from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_openapi

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from odoo.addons.spp_attendance.api import schemas
from odoo.addons.spp_attendance.api.validation import (
    ApiError,
    dump,
    validate_body,
    validate_query,
)
from odoo.addons.spp_attendance.controllers.attendance_api import ROUTES, api_document

GOOD_CARD = {"date_time": "2024-10-21 08:30:00"}


def submit_body(card=None, person_id="PID-1", **top):
    body = {
        "submitted_by": "app",
        "submitted_datetime": "2024-10-21 09:00:00",
        "records": [{"person_id": person_id, "time_card": [card or GOOD_CARD]}],
    }
    body.update(top)
    return body


@tagged("post_install", "-at_install")
class TestContract(TransactionCase):
    def refused(self, model, data):
        with self.assertRaises(ApiError) as caught:
            validate_body(model, data)
        self.assertEqual(caught.exception.status, 400)
        return caught.exception

    def test_every_route_declaration_is_in_the_document(self):
        document = api_document()
        validate_openapi(document)
        operations = [
            (path, method, operation["operationId"])
            for path, item in document["paths"].items()
            for method, operation in item.items()
        ]
        # every API route, and the token endpoint
        self.assertEqual(len(operations), len(ROUTES) + 1, operations)
        for route in ROUTES:
            with self.subTest(route=route.operation):
                operation = document["paths"][route.path][route.method]
                self.assertEqual(operation["operationId"], route.operation)
                self.assertEqual(operation["security"][1]["oauth2"], [route.scope])
                names = [p["name"] for p in operation.get("parameters", [])]
                query = list(route.query.model_fields) if route.query else []
                self.assertEqual(names, [*route.path_params, *query])
                self.assertEqual(
                    "requestBody" in operation, route.body is not None, route
                )
                declared = {str(status) for status in route.responses}
                self.assertEqual(set(operation["responses"]) - {"414"}, declared)
                for status, response in operation["responses"].items():
                    if status == "414":
                        continue
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    name = ref.rsplit("/", 1)[1]
                    self.assertIn(name, document["components"]["schemas"])

    def test_body_refuses_what_the_upstream_schema_refused(self):
        cases = {
            "true as a type id": (
                submit_body(dict(GOOD_CARD, attendance_type=True)),
                "records/0/time_card/0/attendance_type",
                "type",
            ),
            "negative type id": (
                submit_body(dict(GOOD_CARD, attendance_location=-1)),
                "records/0/time_card/0/attendance_location",
                "type",
            ),
            "fractional person id": (
                submit_body(person_id=1.5),
                "records/0/person_id",
                "type",
            ),
            "empty person id": (
                submit_body(person_id=""),
                "records/0/person_id",
                "type",
            ),
            "category": (
                submit_body(dict(GOOD_CARD, attendance_category="late")),
                "records/0/time_card/0/attendance_category",
                "format",
            ),
            "long description": (
                submit_body(dict(GOOD_CARD, attendance_description="x" * 10_001)),
                "records/0/time_card/0/attendance_description",
                "too_long",
            ),
            "no records": (submit_body(records=[]), "records", "too_short"),
            "uuid with a space": (
                submit_body(dict(GOOD_CARD, uuid="not a uuid")),
                "records/0/time_card/0/uuid",
                "format",
            ),
            "date_time format": (
                submit_body({"date_time": "21/10/2024"}),
                "records/0/time_card/0/date_time",
                "format",
            ),
            "card missing date_time": (
                submit_body({"attendance_type": 1}),
                "records/0/time_card/0",
                "required",
            ),
        }
        for name, (body, path, reason) in cases.items():
            with self.subTest(case=name):
                error = self.refused(schemas.SubmitBody, body)
                self.assertIn(
                    {"path": path, "reason": reason},
                    [{"path": d["path"], "reason": d["reason"]} for d in error.details],
                )
                self.assertTrue(error.message.startswith("Invalid request body."))
        error = self.refused(
            schemas.UpdateBody,
            {
                "submitted_by": "x",
                "submitted_datetime": "2024-10-21 09:00:00",
                "records": [{"id": True, "time_card": {}}],
            },
        )
        self.assertEqual(error.details[0]["path"], "records/0/id")
        self.assertEqual(
            error.message,
            "Invalid request body. records/0/id: id has the wrong type "
            "(expected integer).",
        )

    def test_upstream_wording_and_no_echo(self):
        error = self.refused(schemas.SubmitBody, {"submitted_by": "a"})
        self.assertEqual(
            error.message, "Missing required fields: submitted_datetime, records"
        )
        huge = "x" * 100_000
        error = self.refused(schemas.SubmitBody, submit_body({"date_time": huge}))
        self.assertNotIn("xxxxxxxxxx", error.message)
        self.assertLess(len(str(error.details)), 500)
        # An impossible date is read after the schema: its own message.
        error = self.refused(
            schemas.SubmitBody, submit_body({"date_time": "2024-02-30 08:30:00"})
        )
        self.assertEqual(
            error.message,
            "records/0/time_card/0/date_time: invalid date and time "
            "'2024-02-30 08:30:00'.",
        )

    def test_leniency_of_the_upstream_api(self):
        body = validate_body(
            schemas.SubmitBody,
            submit_body(
                dict(
                    GOOD_CARD,
                    attendance_type="12",
                    attendance_location=5.0,
                    attendance_category="ABSENT",
                ),
                person_id=123,
                submitted_by=7,
            ),
        )
        card = body.records[0].time_card[0]
        self.assertEqual(body.records[0].person_id, "123")
        self.assertEqual(body.submitted_by, "7")
        self.assertEqual((card.attendance_type, card.attendance_location), (12, 5))
        self.assertEqual(card.attendance_category, "absent")
        card = (
            validate_body(
                schemas.SubmitBody, submit_body(dict(GOOD_CARD, attendance_type=0))
            )
            .records[0]
            .time_card[0]
        )
        self.assertIsNone(card.attendance_type)
        self.assertEqual(card.date_time.isoformat(), "2024-10-21T08:30:00")
        # a final newline after a date and time, as the former validation allowed
        body = validate_body(
            schemas.SubmitBody,
            dict(
                submit_body(dict(GOOD_CARD, date_time="2024-10-21 08:30:00\n")),
                submitted_datetime="2024-10-21 09:00:00\n",
            ),
        )
        self.assertEqual(
            body.records[0].time_card[0].date_time.isoformat(), "2024-10-21T08:30:00"
        )

    def test_query_parameters(self):
        query = validate_query(schemas.HistoryQuery, {"limit": "5", "page": ""})
        self.assertEqual((query.page, query.limit), (1, 5))
        for args, message in (
            ({"limit": "²"}, "limit must be an integer."),
            ({"limit": "true"}, "limit must be an integer."),
            ({"limit": "0"}, "limit must be between 1 and 500."),
            (
                {"from_date": "2024-13-01"},
                "from_date must be a date in the format " "YYYY-MM-DD.",
            ),
            ({"limit": "\x00"}, "limit must not contain NUL characters."),
        ):
            with self.subTest(args=args), self.assertRaises(ApiError) as caught:
                validate_query(schemas.HistoryQuery, args)
            self.assertEqual(caught.exception.message, message)
        with self.assertRaises(ApiError) as caught:
            validate_query(schemas.PersonHistoryQuery, {"limit": "x"})
        # every other parameter is read before a missing one is reported
        self.assertEqual(caught.exception.message, "limit must be an integer.")

    def test_responses_keep_the_keys_they_were_given(self):
        result = {"index": 0, "person_id": "P", "status": "created", "id": 1}
        self.assertEqual(dump(schemas.CardResult, result), result)
        self.assertEqual(dump(schemas.NamedRef, {}), {})
        self.assertEqual(
            dump(schemas.Error, {"error": {"code": 404, "message": "x"}}),
            {"error": {"code": 404, "message": "x"}},
        )

    def test_uuid_is_stored_in_the_form_uuid_writes(self):
        """Canonical values take a shortcut; every form ends the same."""
        Attendance = self.env["spp.attendance.list"]
        value = uuid.uuid4()
        for form in (
            str(value),
            str(value).upper(),
            value.hex,
            value.urn,
            "{%s}" % value,
            " %s " % value,
        ):
            with self.subTest(form=form):
                self.assertEqual(Attendance._normalize_uuid(form), str(value))
        for bad in ("123", "g" * 32, "123e4567-e89b-12d3-a456-42661417400"):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                Attendance._normalize_uuid(bad)

    def test_document_uuid_is_what_the_model_accepts(self):
        document = api_document()
        card = document["components"]["schemas"]["TimeCard"]
        checker = Draft202012Validator(
            card["properties"]["uuid"], format_checker=FormatChecker()
        )
        Attendance = self.env["spp.attendance.list"]
        for value in (str(uuid.uuid4()), str(uuid.uuid4()).upper(), None):
            with self.subTest(value=value):
                self.assertTrue(checker.is_valid(value))
                # the request check and the model take it
                validate_body(
                    schemas.SubmitBody, submit_body(dict(GOOD_CARD, uuid=value))
                )
                if value:
                    self.assertEqual(Attendance._normalize_uuid(value), value.lower())
        for value in ("not-a-uuid", "not a uuid", "123", "x" * 36, ""):
            with self.subTest(value=value):
                self.assertFalse(checker.is_valid(value))
