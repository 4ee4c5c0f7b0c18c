"""The DCI wire format in plain functions, against a real HTTP registry emulator.

No database: ``tools/dci`` is plain Python, so these tests call it directly.
"""

import json
import socket
import time
from pathlib import Path

from urllib3 import HTTPResponse

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..tools import dci
from .registry_common import (
    EXAMPLES_DIR,
    DCIRegistryEmulator,
    example,
    fixture_digests,
    fixture_files,
    request_validator,
    schema_errors,
)

DCI = dci.PRESETS["dci"]
LEGACY = dci.PRESETS["legacy"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestDciFunctions(BaseCase):
    def test_fixtures_are_the_published_bytes(self):
        digests = fixture_digests()
        # the manifest names every file of the folder, and only those
        self.assertEqual(sorted(digests), fixture_files())
        self.assertEqual(len(digests), 10)
        changed = [name for name, (want, got) in digests.items() if want != got]
        self.assertEqual(changed, [], "DCI example fixtures must stay unmodified")

    def test_fixtures_are_read_from_the_repository(self):
        """The fixtures are in the addon, not in a folder beside the checkout."""
        tests = Path(__file__).resolve().parent
        self.assertEqual(EXAMPLES_DIR, tests / "data" / "dci_examples")
        self.assertTrue((EXAMPLES_DIR / "manifest.json").is_file())

    def test_join_url_keeps_the_path_prefix(self):
        join = dci.join_url
        self.assertEqual(
            join("https://sandbox.spdci.org/namespace/v1.0.0", "/registry/sync/search"),
            "https://sandbox.spdci.org/namespace/v1.0.0/registry/sync/search",
        )
        self.assertEqual(
            join("https://r.example.org/api/", "oauth2/client/token"),
            "https://r.example.org/api/oauth2/client/token",
        )
        self.assertEqual(
            join("http://127.0.0.1:8000", "/registry/sync/search"),
            "http://127.0.0.1:8000/registry/sync/search",
        )
        self.assertEqual(
            join("https://a.org/x", "https://b.org/token"), "https://b.org/token"
        )
        for bad in ("", "registry.example.org", "ftp://r.org"):
            with self.assertRaises(dci.DCIError) as caught:
                join(bad, "/registry/sync/search")
            self.assertEqual(caught.exception.code, "invalid_url")

    def test_paths_tolerate_the_standards_variations(self):
        resolve = dci.resolve
        self.assertEqual(
            dci.parse_path("message.search_response[*].data.reg_records"),
            ["message", "search_response", "*", "data", "reg_records"],
        )
        self.assertEqual(dci.parse_path("identifier.0.identifier_value")[1], 0)
        # identifier as a list or as a single object
        as_list = {"identifier": [{"identifier_value": "1"}, {"identifier_value": "2"}]}
        as_object = {"identifier": {"identifier_value": "3"}}
        self.assertEqual(resolve(as_list, "identifier.0.identifier_value"), "1")
        self.assertEqual(resolve(as_list, "identifier.1.identifier_value"), "2")
        self.assertEqual(resolve(as_object, "identifier.0.identifier_value"), "3")
        # name as an object or as a one-element list
        self.assertEqual(resolve({"name": {"surname": "A"}}, "name.surname"), "A")
        self.assertEqual(resolve({"name": [{"surname": "B"}]}, "name.surname"), "B")
        # misses
        self.assertIsNone(resolve(as_list, "identifier.5.identifier_value"))
        self.assertIsNone(resolve({"name": "plain"}, "name.surname"))
        self.assertEqual(resolve({}, "x", default="d"), "d")
        with self.assertRaises(dci.DCIError):
            dci.parse_path("a..b")

    def test_records_path(self):
        body = {
            "message": {
                "search_response": [
                    {"data": {"reg_records": [{"a": 1}, {"a": 2}]}},
                    {"data": {"reg_records": [{"a": 3}]}},
                ]
            }
        }
        self.assertEqual(
            [r["a"] for r in dci.extract_records(body, DCI["records"])], [1, 2, 3]
        )
        self.assertEqual(
            dci.extract_records(body, "message.search_response.1.data.reg_records"),
            [{"a": 3}],
        )
        # registry core: reg_records as a single object
        lone = {"message": {"search_response": [{"data": {"reg_records": {"a": 9}}}]}}
        self.assertEqual(dci.extract_records(lone, DCI["records"]), [{"a": 9}])
        # nothing found: an empty search_response is an empty page
        empty = {"message": {"search_response": []}}
        self.assertEqual(dci.extract_records(empty, DCI["records"]), [])
        with self.assertRaises(dci.DCIError) as caught:
            dci.extract_records({"message": {}}, DCI["records"])
        self.assertEqual(caught.exception.code, "path_not_found")
        self.assertIn("'message' exists", caught.exception.message)
        with self.assertRaises(dci.DCIError) as caught:
            dci.extract_records({"header": {"version": "1.0.0"}}, "header.version")
        self.assertEqual(caught.exception.code, "records_not_list")

    def test_dci_preset_on_every_published_person_example(self):
        expected = {
            "spdci-standards/social/processflow2res.json": "847951632",
            "spdci-standards/social/processflow3ares.json": "847951632",
            "spdci-standards/crvs/processflow1res.json": "847951632",
            "spdci-standards/crvs/processflow6res.json": "847951632",
        }
        for path, identifier in expected.items():
            page = dci.parse_search_response(example(path), DCI["records"])
            self.assertEqual(len(page.records), 1, path)
            values = dci.map_record(page.records[0], DCI)
            self.assertEqual(
                values,
                {
                    "person_identifier": identifier,
                    "family_name": "Phumchai",
                    "given_name": "Sudarat",
                    "gender": "female",
                    "email": "PhumchaiS@isp.com",
                    "phone": "+1 (425) 555-1212",
                },
                path,
            )
        crvs = example(
            "spdci-compliance-spec/openapi-examples/crvs_reg_record_person.example.json"
        )
        self.assertEqual(dci.map_record(crvs, DCI)["person_identifier"], "197382465")
        # Group records hold no person at the top level: skipped, not crashing
        page = dci.parse_search_response(
            example("spdci-sr-mockup/sr_sync_search_response.json"), DCI["records"]
        )
        self.assertEqual(page.total_count, 24250)
        with self.assertRaises(dci.Skip) as caught:
            dci.map_record(page.records[0], DCI)
        self.assertEqual(caught.exception.reason, "missing_identifier")
        # ... and a records path into the group reaches its members
        members = dci.extract_records(
            example("spdci-sr-mockup/sr_sync_search_response.json"),
            "message.search_response[*].data.reg_records[*].member_list[*]"
            ".demographic_info",
        )
        self.assertEqual(len(members), 4)

    def test_legacy_preset(self):
        record = {
            "identifier": [{"name": "NID", "identifier": "N-1"}],
            "givenName": "Ana",
            "familyName": "Lopez",
            "sex": "Female",
            "email": "ana@example.org",
            "phoneNumbers": [{"phone": "+123"}],
        }
        self.assertEqual(
            dci.map_record(record, LEGACY),
            {
                "person_identifier": "N-1",
                "family_name": "Lopez",
                "given_name": "Ana",
                "gender": "female",
                "email": "ana@example.org",
                "phone": "+123",
            },
        )
        # the legacy paths find nothing in a DCI v1.0.0 record
        dci_record = example("spdci-standards/social/processflow2res.json")["message"][
            "search_response"
        ][0]["data"]["reg_records"][0]
        with self.assertRaises(dci.Skip):
            dci.map_record(dci_record, LEGACY)

    def test_map_record_skip_reasons_and_missing_fields(self):
        def reason(record):
            with self.assertRaises(dci.Skip) as caught:
                dci.map_record(record, DCI)
            return caught.exception.reason

        person = {
            "identifier": [{"identifier_value": "X1"}],
            "name": {"surname": "S", "given_name": "G"},
        }
        self.assertEqual(reason("not a record"), "not_object")
        self.assertEqual(reason({"name": {"surname": "S"}}), "missing_identifier")
        self.assertEqual(
            reason(
                {"identifier": [{"identifier_value": "  "}], "name": {"surname": "S"}}
            ),
            "missing_identifier",
        )
        self.assertEqual(
            reason({"identifier": [{"identifier_value": "X"}]}), "missing_names"
        )
        self.assertEqual(reason(dict(person, sex=["female", "male"])), "wrong_type")
        self.assertEqual(reason(dict(person, sex={"code": "F"})), "wrong_type")
        self.assertEqual(reason(dict(person, sex=True)), "wrong_type")
        self.assertEqual(reason(dict(person, sex="X")), "invalid_value")
        # absent or empty fields are left out (an update never wipes them)
        values = dci.map_record(dict(person, email=[], phone_number=[" "]), DCI)
        self.assertNotIn("email", values)
        self.assertNotIn("phone", values)
        self.assertNotIn("gender", values)
        # numbers as identifiers, one-letter sex codes
        values = dci.map_record(
            {
                "identifier": {"identifier_value": 12345},
                "name": {"surname": "S"},
                "sex": "F",
            },
            DCI,
        )
        self.assertEqual(values["person_identifier"], "12345")
        self.assertEqual(values["gender"], "female")

    def test_envelope_is_schema_valid_and_fresh_per_page(self):
        validator = request_validator()
        first = dci.build_search_request(
            sender_id="openspp",
            receiver_id="registry",
            transaction_id="txn-1",
            search_criteria=dci.DEFAULT_SEARCH_CRITERIA,
            page_number=1,
            page_size=100,
        )
        second = dci.build_search_request(
            sender_id="openspp",
            transaction_id="txn-1",
            search_criteria={
                "query_type": "idtype-value",
                "query": {"type": "UIN", "value": "847951632"},
                "pagination": {"page_size": 0},
            },
            page_number=2,
            page_size=100,
        )
        for envelope in (first, second):
            self.assertEqual(schema_errors(validator, envelope), [])
            self.assertEqual(envelope["header"]["action"], "search")
            self.assertEqual(envelope["header"]["total_count"], 1)
            self.assertEqual(envelope["message"]["transaction_id"], "txn-1")
        self.assertNotEqual(
            first["header"]["message_id"], second["header"]["message_id"]
        )
        self.assertEqual(
            second["message"]["search_request"][0]["search_criteria"]["pagination"],
            {"page_size": 100, "page_number": 2},
        )
        # the validator is strict: the standard's own sample request fails it
        published = example("spdci-standards/social/processflow2req.json")
        errors = schema_errors(validator, published)
        self.assertTrue(any("total_count" in error for error in errors), errors)

    def test_search_criteria_validation(self):
        parse = dci.parse_search_criteria
        self.assertEqual(parse(""), dci.DEFAULT_SEARCH_CRITERIA)
        self.assertEqual(parse('{"query_type": "predicate", "query": []}')["query"], [])
        for bad in (
            "{not json",
            "[]",
            '{"query_type": "sql", "query": "x"}',
            '{"query_type": "predicate"}',
            '{"query_type": "predicate", "query": {}}',
            '{"query_type": "idtype-value", "query": []}',
        ):
            with self.assertRaises(dci.DCIError, msg=bad):
                parse(bad)

    def test_stop_rule(self):
        def page(number, count, total, size=None, first=0):
            records = [{"i": first + i} for i in range(count)]
            return dci.Page(number, records, total, page_size=size, page_number=number)

        def last(pager, *args, **kwargs):
            return pager.advance(page(pager.number, *args, **kwargs))

        # total known: stop when it is reached, whatever the page sizes
        pager = dci.Pager(10)
        self.assertFalse(last(pager, 10, 25, first=0))
        self.assertFalse(last(pager, 10, 25, first=10))
        self.assertTrue(last(pager, 5, 25, first=20))
        self.assertEqual((pager.received, pager.pages, pager.done), (25, 3, True))
        self.assertTrue(last(dci.Pager(10), 0, 0), "an empty registry")
        # a short page is not the end while the total says more
        pager = dci.Pager(10)
        self.assertFalse(last(pager, 4, 9))
        self.assertFalse(last(pager, 4, 9, first=4))
        self.assertTrue(last(pager, 1, 9, first=8))
        # no total: an empty page ends it, a short one (ours) does not
        pager = dci.Pager(10)
        self.assertFalse(last(pager, 10, None))
        self.assertFalse(last(pager, 5, None, size=10, first=10))
        self.assertTrue(last(pager, 0, None))
        # ... but a page shorter than the registry's own reported size does
        pager = dci.Pager(100)
        self.assertFalse(last(pager, 30, None, size=30))
        self.assertEqual((pager.request_size, pager.registry_size), (30, 30))
        self.assertTrue(last(pager, 7, None, size=30, first=30))
        # the state is a plain dict, and survives a round trip (background)
        pager = dci.Pager(10)
        last(pager, 10, 30)
        pager = dci.Pager.from_dict(json.loads(json.dumps(pager.to_dict())))
        self.assertEqual((pager.number, pager.received, pager.total), (2, 10, 30))
        # a contradiction leaves the state as it was (a resume asks again)
        state = pager.to_dict()
        with self.assertRaises(dci.DCIError) as caught:
            last(pager, 10, 20, first=10)
        self.assertEqual(caught.exception.code, "pagination_inconsistent")
        self.assertEqual(pager.to_dict(), state)
        self.assertFalse(last(pager, 10, 30, first=10))
        # a registry that never ends (no total, always full pages)
        pager = dci.Pager(10, max_pages=3)
        last(pager, 10, None)
        last(pager, 10, None, first=10)
        with self.assertRaises(dci.DCIError) as caught:
            last(pager, 10, None, first=20)
        self.assertEqual(caught.exception.code, "pagination_limit")
        self.assertIn("Stopped after 3 pages", caught.exception.message)
        self.assertEqual(dci.page_count(24250, 2000), 13)
        self.assertEqual(dci.bounded_timeout(10000), dci.MAX_TIMEOUT)
        self.assertEqual(dci.bounded_timeout(0), dci.DEFAULT_TIMEOUT)
        self.assertEqual(dci.bounded_timeout("x"), dci.DEFAULT_TIMEOUT)


@tagged("post_install", "-at_install")
class TestDciClient(BaseCase):
    """The client against the emulator: tokens, pagination and every error."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emulator = DCIRegistryEmulator(population=250, prefix="/namespace/v1.0.0")
        cls.emulator.start()
        cls.addClassCleanup(cls.emulator.stop)
        cls.validator = request_validator()

    def setUp(self):
        super().setUp()
        self.emulator.reset()
        self.emulator.mode = "population"
        self.emulator.population = 250
        self.emulator.token_styles = ("form", "json")
        self.emulator.token_shape = "standard"

    def client(self, **overrides):
        config = {
            "server_url": self.emulator.url,
            "client_id": self.emulator.client_id,
            "client_secret": self.emulator.client_secret,
            "page_size": 100,
            "timeout": 5,
            "sender_id": "openspp-test",
            "mapping": DCI,
            "backoff_factor": 0,  # retries without waiting
            **overrides,
        }
        return dci.RegistryClient(config)

    def error(self, client):
        with self.assertRaises(dci.DCIError) as caught:
            list(client.iter_pages())
        error = caught.exception
        self.assertNotIn(self.emulator.client_secret, error.message)
        return error

    def test_form_token_request_as_the_standard_says(self):
        self.emulator.token_styles = ("form",)
        pages = list(self.client().iter_pages())
        self.assertEqual([len(p.records) for p in pages], [100, 100, 50])
        token_request = self.emulator.token_requests[0]
        self.assertEqual(
            token_request["content_type"], "application/x-www-form-urlencoded"
        )
        published = example(
            "spdci-standards/openapi-examples/authz_token_request.fields.example.json"
        )
        self.assertEqual(set(token_request["fields"]), set(published))
        self.assertEqual(token_request["fields"]["grant_type"], "client_credentials")
        self.assertIn("timestamp", {k.lower() for k in token_request["headers"]})
        # a JSON-only registry refuses the form request
        self.emulator.token_styles = ("json",)
        self.assertEqual(self.error(self.client()).code, "http_error")

    def test_json_token_request_and_token_path(self):
        self.emulator.token_styles = ("json",)
        self.emulator.token_shape = "nested"
        client = self.client(token_style="json", token_path="data.tokens.0.value")
        self.assertEqual(sum(len(p.records) for p in client.iter_pages()), 250)
        self.assertEqual(self.emulator.token_requests[0]["style"], "json")
        # the default path finds nothing in that response
        error = self.error(self.client(token_style="json"))
        self.assertEqual(error.code, "token_missing")
        self.assertIn("access_token", error.message)

    def test_every_page_request_is_schema_valid(self):
        pages = list(self.client().iter_pages())
        self.assertEqual(len(pages), 3)
        requests = self.emulator.search_requests
        self.assertEqual(len(requests), 3)
        for body in requests:
            self.assertEqual(schema_errors(self.validator, body), [])
        self.assertEqual(
            [
                r["message"]["search_request"][0]["search_criteria"]["pagination"]
                for r in requests
            ],
            [{"page_size": 100, "page_number": n} for n in (1, 2, 3)],
        )
        self.assertEqual(len({r["message"]["transaction_id"] for r in requests}), 1)
        self.assertEqual(len({r["header"]["message_id"] for r in requests}), 3)

    def test_token_refreshed_once_after_401(self):
        client = self.client()
        pages = client.iter_pages()
        next(pages)
        self.emulator.expire_tokens()
        self.assertEqual(sum(len(p.records) for p in pages), 150)
        self.assertEqual(len(self.emulator.token_requests), 2)

    def test_errors(self):
        cases = {
            "401": ("http_401", "HTTP 401"),
            "403": ("http_403", "HTTP 403"),
            "500": ("http_5xx", "HTTP 500"),
            "non_json": ("non_json", "not JSON"),
            "rjct": ("rejected", "rjct.search.too_many_records_found"),
            "rjct_header": ("rejected", "rjct.version.invalid"),
            "ack_err": ("ack_error", "err.sender_id.invalid"),
            "not_ready": ("not_ready", "pdng"),
            "token_missing": ("token_missing", "access_token"),
            "ignore_page": ("pagination_loop", "page number"),
            "repeat_page": ("pagination_loop", "same 100 record(s) as page 1"),
        }
        for fault, (code, text) in cases.items():
            with self.subTest(fault=fault):
                self.emulator.fault = fault
                error = self.error(self.client())
                self.assertEqual(error.code, code)
                self.assertIn(text, error.message)
        self.emulator.fault = None
        error = self.error(self.client(client_secret="wrong"))
        self.assertEqual((error.code, error.status), ("http_401", 401))
        self.assertIn("client id and secret", error.message)

    def test_connection_refused_and_timeout(self):
        error = self.error(self.client(server_url=f"http://127.0.0.1:{free_port()}"))
        self.assertEqual(error.code, "connection")
        self.emulator.fault = "hang"
        error = self.error(self.client(timeout=1))
        self.emulator.release()
        self.assertEqual(error.code, "timeout")
        self.assertIn("1 seconds", error.message)

    def test_mapping_errors(self):
        error = self.error(self.client(mapping=dict(DCI, records="message.results")))
        self.assertEqual(error.code, "path_not_found")
        error = self.error(self.client(mapping=dict(DCI, records="header.action")))
        self.assertEqual(error.code, "records_not_list")
        with self.assertRaises(dci.DCIError) as caught:
            self.client(mapping=dict(DCI, identifier=""))
        self.assertEqual(caught.exception.code, "config")

    def test_replay_of_the_standards_responses(self):
        self.emulator.mode = "replay"
        for path in (
            "spdci-standards/social/processflow2res.json",
            "spdci-standards/social/processflow3ares.json",
            "spdci-standards/crvs/processflow1res.json",
        ):
            self.emulator.replay_file = path
            pages = list(self.client().iter_pages())
            self.assertEqual(len(pages), 1, path)
            self.assertEqual(
                dci.map_record(pages[0].records[0], DCI)["person_identifier"],
                "847951632",
            )
        # DCI's own SR mock: no header, string counts, and page 5 of 2000-person
        # pages (1 record, total 24250) as the answer to page 1: not the end
        self.emulator.replay_file = "spdci-sr-mockup/sr_sync_search_response.json"
        error = self.error(self.client())
        self.assertEqual(error.code, "pagination_loop")
        self.assertIn("Asked for page 1, the registry answered page 5", error.message)
        self.assertIn("page_size 2000, total_count 24250", error.message)
        body = json.dumps(self.emulator.search_requests[-1])
        self.assertIn('"page_number": 1', body)
        # no pagination at all and one short page: one more page is asked for;
        # the same page again means the registry sends everything at once
        # (Pager._answers_everything_at_once), an empty one that it ended
        self.emulator.replay_file = "spdci-standards/social/processflow1-3res.json"
        pages = list(self.client().iter_pages())
        self.assertEqual([len(p.records) for p in pages], [1, 0])
        self.emulator.replay_last_page = 1
        pages = list(self.client().iter_pages())
        self.assertEqual([len(p.records) for p in pages], [1, 0])

    # -- retries -------------------------------------------------------------

    def test_transient_failures_are_retried(self):
        for status in (503, 502, 504, 429):
            with self.subTest(status=status):
                self.emulator.reset()
                self.emulator.transient_status = status
                self.emulator.transient_failures = 2  # the default retries
                if status == 429:
                    self.emulator.retry_after = 0
                pages = list(self.client().iter_pages())
                self.assertEqual([len(p.records) for p in pages], [100, 100, 50])
                self.assertEqual(self.emulator.transient_served, 2)
                # each page reached the registry once
                self.assertEqual(len(self.emulator.search_requests), 3)

    def test_retries_are_bounded_and_configurable(self):
        self.emulator.transient_failures = 3
        error = self.error(self.client())
        self.assertEqual((error.code, error.status), ("http_5xx", 503))
        self.assertIn("HTTP 503", error.message)
        self.assertEqual(self.emulator.transient_served, 3)  # 1 + 2 retries
        self.assertEqual(self.emulator.search_requests, [])
        self.emulator.reset()
        self.emulator.transient_failures = 5
        error = self.error(self.client(retries=0))
        self.assertEqual(error.code, "http_5xx")
        self.assertEqual(self.emulator.transient_served, 1)
        self.emulator.reset()
        self.emulator.transient_status = 429
        self.emulator.transient_failures = 5
        error = self.error(self.client(retries=1, retry_after_max=0))
        self.assertEqual((error.code, error.status), ("http_error", 429))
        self.assertEqual(self.emulator.transient_served, 2)

    def test_http_500_and_timeouts_are_not_retried(self):
        self.emulator.fault = "500"
        error = self.error(self.client())
        self.assertEqual(error.code, "http_5xx")
        self.assertEqual(len(self.emulator.search_requests), 1)
        self.emulator.fault = "hang"
        error = self.error(self.client(timeout=1))
        self.emulator.release()
        self.assertEqual(error.code, "timeout")
        self.assertEqual(len(self.emulator.search_requests), 2)

    def test_retry_after_is_honoured_and_capped(self):
        self.emulator.transient_status = 429
        self.emulator.retry_after = 1
        self.emulator.transient_failures = 1
        started = time.monotonic()
        pages = list(self.client(retry_after_max=5).iter_pages())
        self.assertGreaterEqual(time.monotonic() - started, 1)
        self.assertEqual(len(pages), 3)
        # a registry asking for an hour waits the cap (0 here), not an hour
        policy = dci.retry_policy(retry_after_max=0)
        for value, expected in (("3600", 0), ("not a date", None)):
            response = HTTPResponse(body=b"", headers={"Retry-After": value})
            self.assertEqual(policy.get_retry_after(response), expected)
        policy = dci.retry_policy(retry_after_max=30).new(total=1)
        response = HTTPResponse(body=b"", headers={"Retry-After": "3600"})
        self.assertEqual(policy.get_retry_after(response), 30)

    def test_token_renewed_before_it_expires(self):
        client = self.client()
        pages = client.iter_pages()
        next(pages)
        self.assertAlmostEqual(client._token_expires_at - time.time(), 36000, delta=60)
        client._token_expires_at = time.time() + 10  # within the margin
        self.assertEqual(sum(len(p.records) for p in pages), 150)
        self.assertEqual(len(self.emulator.token_requests), 2)
        self.assertEqual(len(self.emulator.search_requests), 3)  # no 401
