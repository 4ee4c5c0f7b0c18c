"""A DCI Social Registry emulator for the registry import tests and benchmark.

A small threaded ``http.server`` bound to 127.0.0.1 on a free port. It serves

* ``POST <prefix>/oauth2/client/token``: the OAuth2 client-credentials grant,
  form-encoded as the DCI authz API requires and/or with upstream's JSON body;
* ``POST <prefix>/registry/sync/search``: the DCI sync search, bearer token
  required, paginated with ``search_criteria.pagination``.

What the search returns (``mode``):

* ``population``: ``population`` generated persons in the DCI core Person
  shape (or the legacy OpenSPP/OpenCRVS shape with ``shape="legacy"``), made
  on the fly page by page so that memory stays flat whatever the size;
* ``pool``: the records of ``pool``, by default the person objects published
  with the standard (see ``published_persons``), paged;
* ``replay``: the bytes of one of the standard's example responses
  (``replay_file``, relative to the fixture folder), served verbatim.

Faults (``fault``): ``"401"``, ``"403"``, ``"500"``, ``"non_json"``,
``"rjct"`` (item status rjct), ``"rjct_header"`` (header status rjct),
``"ack_err"``, ``"not_ready"``, ``"hang"`` (holds the answer until
:meth:`release` or :meth:`reset`),
``"token_missing"``, ``"ignore_page"`` (always answers page 1),
``"repeat_page"`` (answers page 1's records but the requested page number),
``"no_paging"`` (every record on every page, no pagination: OpenSPP's own DCI
server);
and ``fail_on_page`` (HTTP 500 for that page only).

``hang_on_page``: holds the answer to that page, like ``"hang"``, and sets
the ``hanging`` event meanwhile (a test waits on it, not on a clock).

Transient failures, to test the client's retries: ``transient_failures = N``
answers the next N search requests with ``transient_status`` (503 by default;
429, 502, 504...) and, when ``retry_after`` is set, a ``Retry-After`` header
of that value, then serves normally; ``transient_served`` counts them.

Pagination (``population`` and ``pool`` modes), to emulate registries that
are not this tidy:

* ``page_cap``: the registry's own maximum page size; a larger request gets
  this many records. ``cap_offsets`` says how it counts page N: ``"served"``
  (from record (N-1) x cap, the sound way) or ``"requested"`` (from
  (N-1) x the size asked for, then truncated: persons in between are never
  served);
* ``report_page_size``: the ``page_size`` it answers, ``"served"`` (its own
  size), ``"requested"`` (an echo of the request), a number (that number,
  whatever it serves) or ``None`` (left out);
* ``report_total``: ``"count"``, ``"empty"`` (``""`` as in the standard's
  samples) or ``None`` (left out); ``report_pagination=False`` leaves the
  whole ``pagination`` object out;
* ``total_by_page``: ``{page_number: total_count}`` to report another total
  on those pages (e.g. a total that shrinks);
* ``empty_from_page``: from this page on, no records (the total unchanged);
* ``replay_last_page``: in ``replay`` mode, pages after this one answer the
  same body with no records (a registry of one page) instead of replaying it.

The fixtures are the DCI example messages in ``data/dci_examples/`` next to
this file (their sources in its ``manifest.json``); they are only read, never
modified.

Run on its own (for the benchmark or by hand)::

    python dci_emulator.py --population 100000 [--port 0]

prints ``URL <base url>`` and serves until interrupted.
"""

import argparse
import json
import secrets
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

TOKEN_PATH = "/oauth2/client/token"
SEARCH_PATH = "/registry/sync/search"


#: The DCI example fixtures, kept in the repository with their source manifest.
EXAMPLES_DIR = Path(__file__).resolve().parent / "data" / "dci_examples"


def load_example(relative_path):
    return json.loads((EXAMPLES_DIR / relative_path).read_bytes())


def published_persons():
    """The person objects published with the standard, sliced out of its examples.

    Nine persons: the SRPerson of social flow 2, the Person of social flow 3a
    (``name`` as a list) and the CRVS_Person of CRVS flow 1, which all carry
    UIN 847951632; the CRVS OpenAPI person (``identifier`` as a single object,
    UIN 197382465); the nested person of social flow 1-3 (``first_name``,
    ``sex`` "F", NID 0205202401); and the four ``member_list`` persons of the
    social OpenAPI group example, two of which have their identifier under
    malformed keys (no identifier found).
    """

    def first_record(path):
        body = load_example(path)
        return body["message"]["search_response"][0]["data"]["reg_records"][0]

    group = load_example(
        "spdci-compliance-spec/openapi-examples/social_reg_record_group.example.json"
    )
    return [
        first_record("spdci-standards/social/processflow2res.json"),
        first_record("spdci-standards/social/processflow3ares.json"),
        first_record("spdci-standards/crvs/processflow1res.json"),
        load_example(
            "spdci-compliance-spec/openapi-examples/crvs_reg_record_person.example.json"
        ),
        first_record("spdci-standards/social/processflow1-3res.json")[
            "demographic_info"
        ]["person"],
        *(member["demographic_info"] for member in group["member_list"]),
    ]


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def person_identifier(index, prefix="UIN"):
    return f"{prefix}{index:08d}"


class DCIRegistryEmulator:
    """The emulator; use as a context manager or call ``start``/``stop``."""

    def __init__(
        self,
        *,
        population=0,
        mode="population",
        shape="dci",
        client_id="dci-client",
        client_secret="dci-secret-value",
        token_styles=("form", "json"),
        token_shape="standard",
        prefix="",
        replay_file=None,
    ):
        self.population = population
        self.mode = mode
        self.shape = shape
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_styles = tuple(token_styles)
        self.token_shape = token_shape
        self.prefix = prefix.rstrip("/")
        self.replay_file = replay_file
        self.generation = 1
        self.defect_every = 0
        self.fault = None
        self.fail_on_page = None
        self.transient_failures = 0
        self.transient_status = 503
        self.retry_after = None
        self.transient_served = 0
        self.hang_on_page = None
        self.hanging = threading.Event()
        self._release = threading.Event()
        self.reset_pagination()
        self.token_requests = []
        self.search_requests = []
        self.keep_requests = True
        #: Prefix of the generated identifiers (UIN00000001...).
        self.identifier_prefix = "UIN"
        self._tokens = set()
        self._lock = threading.Lock()
        self.pool = None
        self._server = None
        self._thread = None

    # -- lifecycle ----------------------------------------------------------

    def start(self):
        emulator = self

        class Handler(_Handler):
            pass

        Handler.emulator = emulator
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dci-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        """Base URL of the registry (with the path prefix, if any)."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def reset(self):
        with self._lock:
            self.token_requests.clear()
            self.search_requests.clear()
            self.fault = None
            self.fail_on_page = None
            self.transient_failures = 0
            self.transient_status = 503
            self.retry_after = None
            self.transient_served = 0
            self.hang_on_page = None
            self.hanging.clear()
            self.pool = None
        self.release()
        self.reset_pagination()

    def release(self):
        """Let the answers held by the ``hang`` fault go."""
        released, self._release = self._release, threading.Event()
        released.set()

    def reset_pagination(self):
        """Back to a registry that paginates as asked and reports it all."""
        self.page_cap = None
        self.cap_offsets = "served"
        self.report_page_size = "requested"
        self.report_total = "count"
        self.report_pagination = True
        self.total_by_page = {}
        self.empty_from_page = None
        self.replay_last_page = None

    def expire_tokens(self):
        """Forget every issued token: the next search gets a 401."""
        with self._lock:
            self._tokens.clear()

    # -- data ----------------------------------------------------------------

    def person(self, index):
        """Generated person number ``index`` (1-based)."""
        given = f"Given{index}"
        if self.generation > 1 and index % 10 == 0:
            given = f"{given}-v{self.generation}"
        sex = ("female", "male", "other")[index % 3]
        if self.shape == "legacy":
            person = {
                "identifier": [
                    {
                        "name": "NID",
                        "identifier": person_identifier(index, self.identifier_prefix),
                    }
                ],
                "givenName": given,
                "familyName": f"Family{index}",
                "additionalName": f"Addl{index}",
                "sex": sex,
                "birthDate": "1990-01-01",
                "email": f"person{index}@example.org",
                "phoneNumbers": [{"phone": f"+1555{index:07d}"}],
            }
        else:
            person = {
                "@type": "SRPerson",
                "identifier": [
                    {
                        "identifier_type": "UIN",
                        "identifier_value": person_identifier(
                            index, self.identifier_prefix
                        ),
                    },
                    {"identifier_type": "BRN", "identifier_value": f"B{index}"},
                ],
                "name": {
                    "surname": f"Family{index}",
                    "given_name": given,
                    "second_name": f"Addl{index}",
                    "prefix": "",
                },
                "sex": sex,
                "birth_date": "1990-01-01T00:00:00",
                "phone_number": [f"+1555{index:07d}"],
                "email": [f"person{index}@example.org"],
            }
        if self.defect_every and index % self.defect_every == 0:
            kind = (index // self.defect_every) % 3
            if kind == 0:
                person.pop("identifier")
            elif kind == 1:
                person.pop("name", None)
                person.pop("givenName", None)
                person.pop("familyName", None)
            else:
                person["sex"] = ["female", "male"]
        return person

    def records(self, start, count):
        """(``count`` records from offset ``start``, total count) for the
        current mode."""
        if self.mode == "pool":
            if self.pool is None:
                self.pool = published_persons()
            return self.pool[start : start + count], len(self.pool)
        stop = min(start + count, self.population)
        return [self.person(i) for i in range(start + 1, stop + 1)], self.population

    def page(self, page_size, page_number):
        """(records, pagination or None) of a page, as this registry pages."""
        served = min(page_size, self.page_cap) if self.page_cap else page_size
        step = page_size if self.cap_offsets == "requested" else served
        records, total = self.records((page_number - 1) * step, served)
        if self.empty_from_page and page_number >= self.empty_from_page:
            records = []
        if not self.report_pagination:
            return records, None
        pagination = {"page_number": page_number}
        if self.report_page_size == "served":
            pagination["page_size"] = served
        elif self.report_page_size == "requested":
            pagination["page_size"] = page_size
        elif isinstance(self.report_page_size, int):
            pagination["page_size"] = self.report_page_size
        total = self.total_by_page.get(page_number, total)
        if self.report_total == "count":
            pagination["total_count"] = total
        elif self.report_total == "empty":
            pagination["total_count"] = ""
        return records, pagination

    def replay_body(self, page_number):
        data = (EXAMPLES_DIR / self.replay_file).read_bytes()
        if not self.replay_last_page or page_number <= self.replay_last_page:
            return data
        body = json.loads(data)
        for item in body["message"]["search_response"]:
            if isinstance(item.get("data"), dict):
                item["data"]["reg_records"] = []
        return body

    # -- responses -----------------------------------------------------------

    def token_response(self, handler, body, content_type):
        if content_type.startswith("application/x-www-form-urlencoded"):
            style = "form"
            try:
                fields = {
                    k: v[0]
                    for k, v in parse_qs(
                        body.decode(), keep_blank_values=True, strict_parsing=True
                    ).items()
                }
            except ValueError:
                fields = {}
        elif content_type.startswith("application/json"):
            style = "json"
            try:
                fields = json.loads(body)
            except ValueError:
                fields = {}
        else:
            style, fields = "other", {}
        with self._lock:
            if self.keep_requests:
                self.token_requests.append(
                    {
                        "style": style,
                        "content_type": content_type,
                        "fields": fields,
                        "headers": dict(handler.headers),
                    }
                )
        if style not in self.token_styles or not isinstance(fields, dict):
            return 400, {
                "error": "invalid_request",
                "error_description": f"{style} body not accepted",
            }
        if fields.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if (
            fields.get("client_id") != self.client_id
            or fields.get("client_secret") != self.client_secret
        ):
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        if self.fault == "token_missing":
            return 200, {"token_type": "bearer", "expires_in": "36000"}
        if self.token_shape == "nested":
            return 200, {"data": {"tokens": [{"value": token, "type": "Bearer"}]}}
        return 200, {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": "36000",
        }

    def transient_failure(self):
        """(status, payload, headers) of a transient failure, or None once
        ``transient_failures`` have been served."""
        with self._lock:
            if self.transient_failures <= 0:
                return None
            self.transient_failures -= 1
            self.transient_served += 1
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        status = self.transient_status
        payload = {"errors": [{"code": f"err.{status}", "message": "try again"}]}
        return status, payload, headers

    def search_response(self, handler, body):
        """(status, payload) where payload is a dict or raw bytes."""
        auth = handler.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if not token or token not in self._tokens:
            return 401, {
                "errors": [
                    {
                        "code": "err.request.unauthorized",
                        "message": "missing or invalid bearer token",
                    }
                ]
            }
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        with self._lock:
            if self.keep_requests:
                self.search_requests.append(request)
        fault = self.fault
        if fault in ("401", "403", "500"):
            return int(fault), {"errors": [{"code": f"err.{fault}", "message": fault}]}
        if fault == "non_json":
            return 200, b"<html><body>502 Bad Gateway</body></html>"
        if fault == "hang":
            # Held until the test releases it: the client's own timeout decides,
            # not a race between a sleep here and a timer there. The bound only
            # frees the thread of a test that forgot to release it.
            self._release.wait(timeout=600)
        if not isinstance(request, dict) or not isinstance(
            request.get("message"), dict
        ):
            return 200, {
                "message": {
                    "ack_status": "ERR",
                    "timestamp": _now(),
                    "correlation_id": str(uuid.uuid4()),
                    "error": {"code": "err.request.bad", "message": "no message"},
                }
            }
        if fault == "ack_err":
            return 200, {
                "message": {
                    "ack_status": "ERR",
                    "timestamp": _now(),
                    "correlation_id": str(uuid.uuid4()),
                    "error": {
                        "code": "err.sender_id.invalid",
                        "message": "unknown sender",
                    },
                }
            }
        message = request["message"]
        item = (message.get("search_request") or [{}])[0]
        criteria = item.get("search_criteria") or {}
        pagination = criteria.get("pagination") or {}
        page_size = pagination.get("page_size", 10)
        page_number = pagination.get("page_number", 1)
        if self.mode == "replay":
            return 200, self.replay_body(page_number)
        if fault == "ignore_page":
            page_number = 1
        header = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": _now(),
            "action": "on-search",
            "status": "succ",
            "total_count": 1,
            "completed_count": 1,
            "sender_id": "dci-registry-emulator",
            "receiver_id": (request.get("header") or {}).get("sender_id", ""),
            "is_msg_encrypted": False,
        }
        response_item = {
            "reference_id": item.get("reference_id", ""),
            "timestamp": _now(),
            "status": "succ",
        }
        envelope = {
            "signature": "",
            "header": header,
            "message": {
                "transaction_id": message.get("transaction_id", ""),
                "correlation_id": str(uuid.uuid4()),
                "search_response": [response_item],
            },
        }
        if fault == "rjct_header":
            header.update(
                status="rjct",
                status_reason_code="rjct.version.invalid",
                status_reason_message="version not supported",
            )
            response_item["status"] = "rjct"
            return 200, envelope
        if fault == "rjct":
            response_item.update(
                status="rjct",
                status_reason_code="rjct.search.too_many_records_found",
                status_reason_message="narrow the query",
            )
            return 200, envelope
        if fault == "not_ready":
            response_item["status"] = "pdng"
            return 200, envelope
        if not (
            isinstance(page_size, int)
            and isinstance(page_number, int)
            and page_size >= 1
            and page_number >= 1
        ):
            response_item.update(
                status="rjct",
                status_reason_code="rjct.pagination.invalid",
                status_reason_message="page_size and page_number start at 1",
            )
            return 200, envelope
        if self.hang_on_page and page_number == self.hang_on_page:
            release = self._release
            self.hanging.set()
            release.wait(timeout=600)
            self.hanging.clear()
        if self.fail_on_page and page_number == self.fail_on_page:
            return 500, {"errors": [{"code": "err.service.unavailable", "message": ""}]}
        records, reported = self.page(page_size, page_number)
        if fault == "repeat_page":
            records = self.page(page_size, 1)[0]
        elif fault == "no_paging":
            records, reported = self.records(0, self.population)[0], None
        response_item.update(
            data={
                "version": "1.0.0",
                "reg_type": criteria.get("reg_type", "ns:org:RegistryType:Social"),
                "reg_record_type": "SRPerson",
                "reg_records": records,
            },
            locale="eng",
        )
        if reported is not None:
            response_item["pagination"] = reported
        return 200, envelope


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator = None

    def log_message(self, format, *args):
        pass

    def _send(self, status, payload, content_type="application/json", headers=None):
        if isinstance(payload, bytes):
            data = payload
            if payload.lstrip().startswith(b"<"):
                content_type = "text/html"
        else:
            data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (its timeout) before the answer: normal here
            self.close_connection = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator = self.emulator
        path = self.path.split("?", 1)[0]
        if emulator.prefix and path.startswith(emulator.prefix + "/"):
            path = path[len(emulator.prefix) :]
        elif emulator.prefix:
            path = None
        headers = None
        if path == TOKEN_PATH:
            content_type = self.headers.get("Content-Type", "")
            status, payload = emulator.token_response(self, body, content_type)
        elif path == SEARCH_PATH:
            failure = emulator.transient_failure()
            if failure:
                status, payload, headers = failure
            else:
                status, payload = emulator.search_response(self, body)
        else:
            status, payload = 404, {"errors": [{"code": "err.request.not_found"}]}
        self._send(status, payload, headers=headers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--population", type=int, default=1000)
    parser.add_argument("--mode", default="population")
    parser.add_argument("--shape", default="dci")
    parser.add_argument("--client-id", default="dci-client")
    parser.add_argument("--client-secret", default="dci-secret-value")
    parser.add_argument(
        "--page-cap", type=int, default=None, help="the registry's own page size"
    )
    parser.add_argument(
        "--identifier-prefix",
        default="UIN",
        help="of the generated persons' identifiers (two registries, two prefixes)",
    )
    args = parser.parse_args()
    emulator = DCIRegistryEmulator(
        population=args.population,
        mode=args.mode,
        shape=args.shape,
        client_id=args.client_id,
        client_secret=args.client_secret,
    )
    emulator.keep_requests = False
    emulator.identifier_prefix = args.identifier_prefix
    emulator.page_cap = args.page_cap
    if args.page_cap:
        emulator.report_page_size = "served"
    emulator.start()
    sys.stdout.write(f"URL {emulator.url}\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
