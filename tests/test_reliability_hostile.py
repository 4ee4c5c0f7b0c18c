"""Hostile and absurd input: every answer is a clean 4xx (or a success), never a 5xx,
and what is stored comes back exactly as it was sent, escaped where it is shown."""

import json
import socket
import uuid

import pytest
from odoo_process import make_api_client, make_subscribers, raw_http, submission

MAX_BODY = 4 * 1024 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def api(odoo_workers_server):
    server = odoo_workers_server
    client = make_api_client(server)
    persons = make_subscribers(server, 3)
    return server, server.bearer(client), persons


def _card(person, **card):
    card.setdefault("date_time", "2032-03-04 10:00:00")
    return submission([{"person_id": person, "time_card": [card]}])


def _assert_clean_4xx(response, allowed=(400,)):
    assert response.status_code in allowed, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json")
    assert "error" in response.json()


def test_oversized_bodies_are_413_before_parsing(api):
    server, headers, persons = api
    body = b'{"records": [' + b" " * (MAX_BODY + 10) + b"]}"
    response = server.post("/attendances", headers={**headers, **JSON}, data=body)
    _assert_clean_4xx(response, (413,))
    token_body = json.dumps({"client_id": "x" * 70000, "client_secret": "y"})
    response = server.post("/auth/token", data=token_body, headers=JSON)
    assert response.status_code == 413, response.text[:300]
    # A declared length over the limit is refused without waiting for the body.
    status, _body = raw_http(
        server.port,
        "POST",
        "/attendances",
        b"{}",
        {**headers, "Content-Type": "application/json"},
    )
    assert status == 400
    with socket.create_connection(("127.0.0.1", server.port), timeout=300) as sock:
        sock.sendall(
            (
                "POST /attendances HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Authorization: {headers['Authorization']}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {10 * MAX_BODY}\r\n\r\n"
            ).encode()
        )
        answer = sock.recv(65536)
    assert answer.split(b" ", 2)[1] == b"413", answer[:200]


@pytest.mark.parametrize("path", ["/attendances", "/auth/token"])
def test_chunked_body_cannot_bypass_the_size_limit(api, path):
    """Without Content-Length (chunked transfer) the limit must hold as well: the
    server must not read an unbounded body into memory."""
    server, headers, _persons = api
    chunk = b" " * 65536
    with socket.create_connection(("127.0.0.1", server.port), timeout=300) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Authorization: {headers['Authorization']}\r\n"
                "Content-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        sent = 0
        try:
            while sent < 2 * MAX_BODY:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed early: fine
        answer = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1])
    assert status in (411, 413), answer[:300]


def test_deeply_nested_and_huge_json(api):
    server, headers, persons = api
    for body in (
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        json.dumps(
            {
                **submission([]),
                "records": [{"person_id": persons[0], "time_card": []}] * 200_000,
            }
        ),
        json.dumps(
            _card(persons[0], attendance_description={"a": [[[[{"b": [[[]]]}]]]] * 500})
        ),
        json.dumps(
            submission(
                [
                    {
                        "person_id": persons[0],
                        "time_card": [{"date_time": "2032-03-04 10:00:00"}] * 20_000,
                    }
                ]
            )
        ),
    ):
        response = server.post(
            "/attendances", headers={**headers, **JSON}, data=body.encode()
        )
        _assert_clean_4xx(response, (400, 413))
        assert len(response.content) < 20_000, "the error echoes the input back"


def test_invalid_utf8_and_wrong_content(api):
    server, headers, persons = api
    for body in (
        b'{"submitted_by": "\xff\xfe", "records": []}',
        b"\xc3\x28",
        b"\x00\x00\x00",
        b"null",
        b"[]",
        b'"text"',
        b"1e999999",
        b'{"records": NaN}',
    ):
        response = server.post("/attendances", headers={**headers, **JSON}, data=body)
        _assert_clean_4xx(response)
    for body in (b"\xff\xfe", b'{"client_id": "\xff", "client_secret": "x"}'):
        response = server.post("/auth/token", data=body, headers=JSON)
        assert response.status_code in (400, 401), response.text[:300]


SQLISH = [
    "1' OR '1'='1",
    "'; DROP TABLE spp_attendance_list; --",
    "1); DELETE FROM res_users; --",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    "types",
    "a/b/../c",
]


@pytest.mark.parametrize("identifier", SQLISH)
def test_sql_looking_identifiers(api, identifier):
    server, headers, persons = api
    for path, params in (
        ("/attendance", {"person_id": identifier}),
        ("/subscriber", {"person_id": identifier}),
        ("/attendances", {"person_ids": f"{persons[0]},{identifier}"}),
    ):
        response = server.get(path, headers=headers, params=params)
        assert response.status_code in (200, 404), (path, response.text[:300])
        if path == "/attendances":
            ids = [r["person_id"] for r in response.json()["records"]]
            assert ids == [persons[0]], ids
    response = server.post("/attendances", headers=headers, json=_card(identifier))
    _assert_clean_4xx(response)
    assert response.json()["results"][0]["reason"] == "unknown_person"
    response = server.post(
        "/auth/token", json={"client_id": identifier, "client_secret": identifier}
    )
    assert response.status_code == 401
    assert server.rpc("spp.attendance.list", "search_count", []) > 0


@pytest.mark.parametrize(
    "query",
    [
        "limit=1000000000",
        "limit=0",
        "limit=-1",
        "page=-3",
        "page=0",
        "page=99999999999999999999",
        "limit=1e3",
        "last_id=-1",
        "cursor=%%%",
        "cursor=eyJzIjogImEifQ",
        "cursor=eyJ0IjoiXHUwMDAwIiwiaSI6MX0",
        "cursor=eyJ0IjoiMjAyNC0wMS0wMSAwMDowMDowMCIsImkiOjFlNDAwfQ",
        "cursor=eyJ0IjoiMjAyNC0wMS0wMSAwMDowMDowMCIsImkiOi0xZTQwMH0",
        "cursor=eyJ0IjpbIngiXSwiaSI6e319",
        "cursor=eyJzIjoxZTQwMH0",
        "cursor=eyJzIjoiXHUwMDAwIn0",
        "from_date=0000-00-00",
        "from_date=2024-13-45",
        "to_date=1900-01-01&from_date=2999-01-01",
        "attendance_type=99999999999",
        "attendance_category=maybe",
    ],
)
def test_absurd_query_parameters_are_400(api, query):
    server, headers, persons = api
    for path in (f"/attendance/{persons[0]}", "/attendances", "/subscribers"):
        response = server.get(f"{path}?{query}", headers=headers)
        if response.status_code == 200 and (
            path == "/subscribers" or query.startswith("last_id")
        ):
            continue  # a parameter the route does not declare is ignored
        _assert_clean_4xx(response)


def test_largest_page_number_is_served(api):
    server, headers, persons = api
    response = server.get(
        f"/attendance/{persons[0]}?page=1000000&limit=500", headers=headers
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["attendance_list"] == []


@pytest.mark.parametrize(
    "moment,accepted",
    [
        ("0001-01-01 00:00:00", False),
        ("1899-12-31 23:59:59", False),
        ("1900-01-01 00:00:00", True),
        ("1900-01-01T00:00:00+14:00", True),
        ("2999-12-31T23:59:59-12:00", True),
        ("3000-01-01 00:00:00", False),
        ("9999-12-31 23:59:59", False),
        ("2024-02-30 10:00:00", False),
        ("2024-01-01 24:00:00", False),
        ("2024-01-01T10:00:00+99:99", False),
    ],
)
def test_timestamps_far_in_the_past_and_future(api, moment, accepted):
    server, headers, persons = api
    response = server.post(
        "/attendances",
        headers=headers,
        json=_card(persons[1], uuid=str(uuid.uuid4()), date_time=moment),
    )
    if accepted:
        assert response.status_code == 200, response.text[:300]
    else:
        _assert_clean_4xx(response)


CONTROL_TEXT = "tab\there\nnew line \x01\x07\x1b[31m red \x7f \u202e evil \ufeff end"
MARKUP = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_control_characters_are_stored_and_returned_exactly(api):
    server, headers, persons = api
    response = server.post(
        "/attendances",
        headers=headers,
        json={
            **_card(
                persons[2],
                date_time="2032-05-05 10:00:00",
                attendance_description=CONTROL_TEXT + MARKUP,
            ),
            "submitted_by": "agent \x1b[2J" + MARKUP,
            "submission_source": MARKUP,
        },
    )
    assert response.status_code == 200, response.text[:300]
    record_id = response.json()["results"][0]["id"]
    # JSON escapes them on the way out; the values are exactly what was sent.
    raw = server.get(f"/attendance/{persons[2]}", headers=headers)
    assert b"\x1b" not in raw.content and b"\x01" not in raw.content
    item = next(i for i in raw.json()["attendance_list"] if i["id"] == record_id)
    assert item["attendance_description"] == CONTROL_TEXT + MARKUP
    assert item["submitted_by"] == "agent \x1b[2J" + MARKUP
    stored = server.rpc(
        "spp.attendance.list",
        "read",
        [record_id],
        ["attendance_description", "submission_source"],
    )[0]
    assert stored["attendance_description"] == CONTROL_TEXT + MARKUP
    # Shown in the back office: the deletion note on the subscriber's chatter (an
    # HTML field) names the record's source, escaped.
    subscriber = server.rpc(
        "spp.attendance.list", "read", [record_id], ["subscriber_id"]
    )[0]["subscriber_id"][0]
    server.rpc("spp.attendance.list", "unlink", [record_id])
    bodies = server.rpc(
        "mail.message",
        "search_read",
        [("model", "=", "spp.attendance.subscriber"), ("res_id", "=", subscriber)],
        ["body"],
    )
    body = next(m["body"] for m in bodies if "deleted" in m["body"])
    assert "&lt;script&gt;" in body and "<script>" not in body, body


@pytest.mark.parametrize(
    "where",
    ["description", "submitted_by", "person_id", "query", "path", "token"],
)
def test_nul_characters_are_refused_cleanly(api, where):
    """PostgreSQL cannot store NUL in text: refused with a 400, never a 500."""
    server, headers, persons = api
    if where == "query":
        response = server.get(
            "/attendances", headers=headers, params={"person_ids": "a\x00b"}
        )
    elif where == "path":
        response = server.get("/attendance/a%00b", headers=headers)
        _assert_clean_4xx(response, (400, 404))
        # A line break stops werkzeug's path converter: no route matches, and the
        # API's JSON 404 answers (not Odoo's HTML page).
        for path in ("/attendance/a%0Ab", "/subscriber/a%0Ab", "/attendance/%0A"):
            response = server.get(path, headers=headers)
            _assert_clean_4xx(response, (404,))
    elif where == "token":
        response = server.post(
            "/auth/token", json={"client_id": "c\x00", "client_secret": "s\x00"}
        )
        assert response.status_code in (400, 401), response.text[:300]
        return
    else:
        body = _card(persons[0], date_time="2032-06-06 10:00:00")
        if where == "description":
            body["records"][0]["time_card"][0]["attendance_description"] = "a\x00b"
        elif where == "submitted_by":
            body["submitted_by"] = "a\x00b"
        else:
            body["records"][0]["person_id"] = "a\x00b"
        response = server.post("/attendances", headers=headers, json=body)
    _assert_clean_4xx(response, (400, 404))
