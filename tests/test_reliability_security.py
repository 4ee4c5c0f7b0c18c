"""Authentication and authorisation on a multi-process server.

* token brute force is throttled (429) with one counter shared by every worker;
* a read-scoped client cannot write; a client of company A cannot read or change
  company B's subscribers or records;
* a Viewer cannot write through the web client's RPC;
* the private signing key, client secret hashes, the one-time secret display and
  the registry secret cannot be read by any non-admin RPC path (``read``,
  ``search_read``, ``web_search_read``, ``read_group``, ``export_data``,
  ``default_get``, search domains and orders, the settings form).
"""

import re
import threading
import uuid
from pathlib import Path

import pytest
from odoo_process import make_api_client, make_subscribers, raw_http, submission

WERKZEUG_LINE = re.compile(
    r"^\S+ \S+ (\d+) INFO \S+ werkzeug: .*\"POST (\S+) [^\"]*\" (\d+)"
)


def _group_id(server, xmlid):
    module, name = xmlid.split(".")
    return server.rpc(
        "ir.model.data",
        "search_read",
        [("module", "=", module), ("name", "=", name)],
        ["res_id"],
    )[0]["res_id"]


def _user(server, group_xmlid):
    login = f"user-{uuid.uuid4().hex[:8]}"
    server.rpc(
        "res.users",
        "create",
        {
            "name": login,
            "login": login,
            "password": login + "-pw",
            "groups_id": [(6, 0, [_group_id(server, group_xmlid)])],
        },
    )
    return server.session(login, login + "-pw")


# -- token throttle --------------------------------------------------------------------


def _served_by(server, path, client_marker_count):
    """``{pid: [status, ...]}`` of the last ``client_marker_count`` requests to path."""
    lines = Path(server.log_file).read_text(errors="replace").splitlines()
    hits = []
    for line in lines:
        match = WERKZEUG_LINE.match(line)
        if match and match[2] == path:
            hits.append((int(match[1]), int(match[3])))
    by_pid = {}
    for pid, status in hits[-client_marker_count:]:
        by_pid.setdefault(pid, []).append(status)
    return by_pid


class _Occupier:
    """Makes one given HTTP worker busy, deterministically, so that every other
    request goes to the other worker.

    A worker is busy with a ``POST /attendances`` whose card's uuid is held by an
    uncommitted row of a test connection (:class:`PgProbe`): the request waits
    inside its transaction, on the uuid's unique index, until that connection
    rolls back. Which worker took it is read from its HTTP connection. The waiting
    request holds nothing the token endpoint needs."""

    def __init__(self, server):
        self.server = server
        self.headers = {
            **server.bearer(make_api_client(server)),
            "Content-Type": "application/json",
        }
        self.person = make_subscribers(server, 1)[0]
        self.day = 0

    def _occupy_a_free_worker(self):
        probe = self.server.probe()
        card_uuid = str(uuid.uuid4())
        self.day += 1
        moment = f"2040-01-{self.day:02d} 08:00:00"
        probe.execute(
            # with the subscriber's company: the uuid is unique per company
            "INSERT INTO spp_attendance_list (subscriber_id, company_id, "
            "attendance_category, attendance_datetime, attendance_date, "
            "attendance_time, submitted_by, submitted_datetime, uuid, active) "
            "SELECT id, company_id, 'present', now(), current_date, '00:00:00', "
            "'occupier', now(), %s, true FROM spp_attendance_subscriber "
            "WHERE person_identifier = %s",
            (card_uuid, self.person),
        )
        body = submission(
            [
                {
                    "person_id": self.person,
                    "time_card": [{"date_time": moment, "uuid": card_uuid}],
                }
            ]
        )
        sent, connection = threading.Event(), {}

        def on_sent(sock):
            connection["port"] = sock.getsockname()[1]
            sent.set()

        def send():
            try:
                raw_http(
                    self.server.port,
                    "POST",
                    "/attendances",
                    body,
                    self.headers,
                    on_sent=on_sent,
                )
            finally:
                sent.set()

        thread = threading.Thread(target=send)
        thread.start()
        probe.wait_for_waiters(1)
        assert sent.wait(timeout=300) and "port" in connection
        worker = self.server.worker_serving(connection["port"])
        assert worker is not None, "no worker holds the occupying request"
        return probe, thread, worker

    def occupy(self, pid):
        """Make worker ``pid`` busy and leave the other one free."""
        held = self._occupy_a_free_worker()
        if held[2].pid != pid:
            # The other worker took it: the next request can only go to ``pid``.
            target = self._occupy_a_free_worker()
            assert target[2].pid == pid, (target[2].pid, pid)
            self.release(held)
            held = target
        return held

    @staticmethod
    def release(held):
        probe, thread, _worker = held
        probe.close()  # rolls back: the request goes on and is answered
        thread.join(timeout=300)
        assert not thread.is_alive()


def test_client_and_key_changes_reach_every_worker_at_once(odoo_workers_server):
    """Each worker caches API clients and verification keys (no query per request);
    a change made through any worker is seen by every worker at its next request:
    the change clears Odoo's registry cache, which Odoo signals through the
    database. Each check is made on each worker in turn (the other one kept busy),
    after both have cached the client and the keys."""
    server = odoo_workers_server
    occupier = _Occupier(server)
    pids = [worker.pid for worker in server.worker_processes()[:2]]
    assert len(pids) == 2
    client = make_api_client(server)
    person = make_subscribers(server, 1)[0]
    model = "spp.attendance.api.client.credential"

    def status_on_each_worker(headers):
        statuses = []
        for pid in pids:
            held = occupier.occupy(next(other for other in pids if other != pid))
            try:
                response = server.get(f"/subscriber/{person}", headers=headers)
                statuses.append(response.status_code)
            finally:
                occupier.release(held)
        return statuses

    old_headers = server.bearer(client)
    assert status_on_each_worker(old_headers) == [200, 200]
    # a new signing key: tokens it signs verify everywhere at once
    server.rpc("spp.oauth.key", "action_rotate")
    new_headers = server.bearer(client)
    assert status_on_each_worker(new_headers) == [200, 200]
    # a regenerated secret: tokens obtained before it are refused everywhere
    action = server.rpc(model, "action_regenerate_secret", [client["id"]])
    client["client_secret"] = server.rpc(
        action["res_model"], "read", [action["res_id"]], ["display_client_secret"]
    )[0]["display_client_secret"]
    assert status_on_each_worker(new_headers) == [401, 401]
    fresh_headers = server.bearer(client)
    assert status_on_each_worker(fresh_headers) == [200, 200]
    # a revoked client: refused everywhere
    server.rpc(model, "action_revoke", [client["id"]])
    assert status_on_each_worker(fresh_headers) == [401, 401]


def test_type_and_location_changes_reach_every_worker_at_once(odoo_workers_server):
    """Each worker keeps a copy of the attendance types and locations (no query
    per request); archiving one, or changing a location's timezone, in the back
    office is seen by every worker at its next request. Each check is made on each
    worker in turn (the other one kept busy), after both have cached them."""
    server = odoo_workers_server
    occupier = _Occupier(server)
    pids = [worker.pid for worker in server.worker_processes()[:2]]
    assert len(pids) == 2
    headers = server.bearer(make_api_client(server))
    person = make_subscribers(server, 1)[0]
    tag = uuid.uuid4().hex[:8]
    type_id = server.rpc("spp.attendance.type", "create", {"name": f"Type {tag}"})
    location_id = server.rpc(
        "spp.attendance.location", "create", {"name": f"Site {tag}", "tz": "UTC"}
    )
    days = iter(range(1, 29))

    def post_on_each_worker():
        answers = []
        for pid in pids:
            held = occupier.occupy(next(other for other in pids if other != pid))
            try:
                card = {
                    "date_time": f"2025-02-{next(days):02d} 08:00:00",
                    "attendance_type": type_id,
                    "attendance_location": location_id,
                }
                body = submission([{"person_id": person, "time_card": [card]}])
                answers.append(server.post("/attendances", headers=headers, json=body))
            finally:
                occupier.release(held)
        return answers

    assert [r.status_code for r in post_on_each_worker()] == [200, 200]
    server.rpc("spp.attendance.type", "action_archive", [type_id])
    refused = post_on_each_worker()
    assert [r.status_code for r in refused] == [400, 400]
    assert all("Attendance Type" in r.text for r in refused)
    server.rpc("spp.attendance.type", "action_unarchive", [type_id])
    server.rpc("spp.attendance.location", "write", [location_id], {"tz": "Asia/Tokyo"})
    stored = post_on_each_worker()
    assert [r.status_code for r in stored] == [200, 200]
    ids = [r.json()["results"][0]["id"] for r in stored]
    zones = server.rpc("spp.attendance.list", "read", ids, ["attendance_tz"])
    assert [z["attendance_tz"] for z in zones] == ["Asia/Tokyo", "Asia/Tokyo"]


def test_token_brute_force_is_throttled_across_workers(odoo_workers_server):
    """One failure counter for the whole server: the guesses answered by one worker
    count on the other. Each worker is kept busy in turn, so the guesses are known
    to be split between the two worker processes, whatever the scheduling."""
    server = odoo_workers_server
    client = make_api_client(server)
    occupier = _Occupier(server)
    first, second = (worker.pid for worker in server.worker_processes()[:2])
    server.set_param("spp_oauth.throttle_client_limit", 6)

    def guess(secret="guess"):
        return server.post(
            "/auth/token",
            json={"client_id": client["client_id"], "client_secret": secret},
        )

    try:
        held = occupier.occupy(second)
        on_first = [guess() for _ in range(3)]
        occupier.release(held)
        held = occupier.occupy(first)
        on_second = [guess() for _ in range(4)]
        occupier.release(held)
        assert [r.status_code for r in on_first] == [401] * 3
        # Three more failures reach the limit of 6: the seventh guess is refused.
        assert [r.status_code for r in on_second] == [401, 401, 401, 429]
        assert int(on_second[-1].headers["Retry-After"]) > 0
        assert on_second[-1].json()["error"] == "too_many_requests"
        assert _served_by(server, "/auth/token", 7) == {
            first: [401] * 3,
            second: [401, 401, 401, 429],
        }
        # Blocked on every worker: even the right secret is refused until the
        # window ends.
        for busy in (second, first):
            held = occupier.occupy(busy)
            response = guess(client["client_secret"])
            occupier.release(held)
            assert response.status_code == 429, (busy, response.text)
        served = _served_by(server, "/auth/token", 2)
        assert set(served) == {first, second}, served
    finally:
        server.set_param("spp_oauth.throttle_client_limit", 10)


def test_token_brute_force_from_one_address_is_throttled(odoo_workers_server):
    server = odoo_workers_server
    server.set_param("spp_oauth.throttle_ip_limit", 5)
    try:
        codes = [
            server.post(
                "/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": f"c-id-{uuid.uuid4()}",
                    "client_secret": "guess",
                },
            ).status_code
            for _ in range(8)
        ]
        assert codes[-1] == 429 and codes.count(401) <= 5, codes
    finally:
        # Every test talks from 127.0.0.1: lift the address limit again.
        server.set_param("spp_oauth.throttle_ip_limit", 1_000_000)


# -- API scopes and companies ----------------------------------------------------------


@pytest.fixture(scope="module")
def companies(odoo_workers_server):
    """Company A (the main company) and a new company B, each with a client, a
    subscriber and one attendance record."""
    server = odoo_workers_server
    company_b = server.rpc("res.company", "create", {"name": f"B {uuid.uuid4().hex}"})
    server.rpc("res.users", "write", [2], {"company_ids": [(4, company_b)]})
    context = {"allowed_company_ids": [company_b, 1]}
    data = {}
    for name, company in (("A", 1), ("B", company_b)):
        client = make_api_client(server, company_id=company)
        person = f"{name}-{uuid.uuid4().hex[:8]}"
        server.rpc(
            "spp.attendance.subscriber",
            "create",
            {"person_identifier": person, "family_name": name, "company_id": company},
            context=context,
        )
        headers = server.bearer(client)
        body = submission(
            [{"person_id": person, "time_card": [{"date_time": "2031-01-02 10:00:00"}]}]
        )
        response = server.post("/attendances", headers=headers, json=body)
        assert response.status_code == 200, response.text
        data[name] = {
            "headers": headers,
            "person": person,
            "record_id": response.json()["results"][0]["id"],
        }
    return data


def test_read_scope_cannot_write(odoo_workers_server):
    server = odoo_workers_server
    headers = server.bearer(make_api_client(server, scopes="read"))
    person = make_subscribers(server, 1)[0]
    body = submission(
        [{"person_id": person, "time_card": [{"date_time": "2031-01-03 10:00:00"}]}]
    )
    for method, query in (("POST", ""), ("PUT", ""), ("DELETE", "?ids=1")):
        response = server.request(
            method, "/attendances" + query, headers=headers, json=body
        )
        assert response.status_code == 403, (method, response.text)
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    assert server.get(f"/attendance/{person}", headers=headers).status_code == 200
    assert (
        server.rpc(
            "spp.attendance.list",
            "search_count",
            [("person_identifier", "=", person)],
        )
        == 0
    )


def test_company_a_cannot_read_or_change_company_b(odoo_workers_server, companies):
    server = odoo_workers_server
    a, b = companies["A"], companies["B"]
    headers = a["headers"]
    for path in (
        f"/subscriber/{b['person']}",
        f"/subscriber?person_id={b['person']}",
        f"/attendance/{b['person']}",
        f"/attendance?person_id={b['person']}",
    ):
        response = server.get(path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert b["person"] not in response.text.replace(f"PersonID {b['person']}", "")
    listed = server.get(
        "/attendances", headers=headers, params={"person_ids": b["person"]}
    ).json()
    assert listed["records"] == [] or all(
        not r["attendance_list"] for r in listed["records"]
    )
    subscribers = server.get(
        "/subscribers", headers=headers, params={"limit": 500}
    ).json()
    assert b["person"] not in [s["person_id"] for s in subscribers["records"]]
    assert a["person"] in [s["person_id"] for s in subscribers["records"]] or (
        subscribers["pagination"]["total_pages"] > 1
    )
    # Writes: storing for B's person, updating or removing B's record.
    body = submission(
        [{"person_id": b["person"], "time_card": [{"date_time": "2031-02-01 10:00"}]}]
    )
    response = server.post("/attendances", headers=headers, json=body)
    assert response.status_code == 400
    assert response.json()["results"][0]["reason"] == "unknown_person"
    update = submission(
        [{"id": b["record_id"], "time_card": {"attendance_category": "absent"}}]
    )
    response = server.request("PUT", "/attendances", headers=headers, json=update)
    assert response.status_code == 404, response.text
    response = server.request(
        "DELETE", f"/attendances?ids={b['record_id']}", headers=headers
    )
    assert response.status_code == 404, response.text
    # B's record is untouched and B still sees it.
    history = server.get(f"/attendance/{b['person']}", headers=b["headers"]).json()
    assert [
        (i["id"], i["attendance_category"]) for i in history["attendance_list"]
    ] == [(b["record_id"], "present")]


# -- back office users -----------------------------------------------------------------


def test_viewer_cannot_write_through_rpc(odoo_workers_server, companies):
    server = odoo_workers_server
    viewer = _user(server, "spp_attendance.group_attendance_viewer")
    record_id = companies["A"]["record_id"]
    subscriber = server.rpc(
        "spp.attendance.list", "read", [record_id], ["subscriber_id"]
    )[0]["subscriber_id"][0]
    attempts = [
        (
            "spp.attendance.list",
            "write",
            [[record_id], {"attendance_category": "absent"}],
        ),
        ("spp.attendance.list", "unlink", [[record_id]]),
        ("spp.attendance.list", "action_archive", [[record_id]]),
        (
            "spp.attendance.list",
            "create",
            [
                {
                    "subscriber_id": subscriber,
                    "attendance_datetime": "2031-03-01 10:00:00",
                }
            ],
        ),
        ("spp.attendance.subscriber", "write", [[subscriber], {"family_name": "X"}]),
        (
            "spp.attendance.subscriber",
            "create",
            [{"person_identifier": "V-1", "family_name": "V"}],
        ),
        ("spp.attendance.type", "create", [{"name": "viewer type"}]),
        ("spp.attendance.location", "create", [{"name": "viewer location"}]),
        ("spp.attendance.api.client.credential", "create", [{"name": "viewer app"}]),
        ("ir.config_parameter", "set_param", ["spp_attendance.date_unique", "1"]),
    ]
    for model, method, args in attempts:
        result, error = server.rpc_call(viewer, model, method, *args)
        assert error, (model, method, result)
        assert error["data"]["name"] in (
            "odoo.exceptions.AccessError",
            "odoo.exceptions.UserError",
        ), (model, method, error["data"]["name"])
    # Reading is what a Viewer does.
    result, error = server.rpc_call(
        viewer, "spp.attendance.list", "read", [record_id], ["attendance_category"]
    )
    assert not error and result[0]["attendance_category"] == "present"


SECRETS = [
    ("spp.oauth.key", "private_key_pem"),
    ("spp.attendance.api.client.credential", "client_secret_hash"),
    ("spp.attendance.show.credential.wizard", "display_client_secret"),
]


@pytest.mark.parametrize("group", ["viewer", "manager"])
def test_secrets_unreadable_by_non_admin(odoo_workers_server, group):
    server = odoo_workers_server
    session = _user(server, f"spp_attendance.group_attendance_{group}")
    # Admin creates a client and leaves its one-time secret dialog open; the
    # registry secret is set in the settings.
    client = make_api_client(server)
    server.set_param("spp_attendance.registry_client_secret", "registry-s3cret")
    wizard_ids = server.rpc("spp.attendance.show.credential.wizard", "search", [])
    key_ids = server.rpc("spp.oauth.key", "search", [])
    secrets = [client["client_secret"], "registry-s3cret", "PRIVATE KEY"]
    ids = {
        "spp.oauth.key": key_ids,
        "spp.attendance.api.client.credential": [client["id"]],
        "spp.attendance.show.credential.wizard": wizard_ids,
    }

    def leaked(result):
        text = repr(result)
        return [secret for secret in secrets if secret in text] or (
            "pbkdf2" in text and ["hash"]
        )

    for model, fname in SECRETS:
        calls = [
            ("read", [ids[model], [fname]], {}),
            ("read", [ids[model]], {}),
            ("search_read", [[]], {"fields": [fname]}),
            ("search_read", [[]], {}),
            ("web_search_read", [[]], {"specification": {fname: {}}}),
            ("read_group", [[], [f"{fname}:array_agg"], []], {}),
            ("read_group", [[], [fname], [fname]], {}),
            ("export_data", [ids[model], [fname]], {}),
            ("default_get", [[fname]], {}),
            ("search", [[(fname, "=like", "-----BEGIN%")]], {}),
            ("search", [[(fname, "!=", False)]], {}),
            ("search", [[]], {"order": fname}),
            ("fields_get", [[fname]], {}),
        ]
        for method, args, kwargs in calls:
            result, error = server.rpc_call(session, model, method, *args, **kwargs)
            assert not leaked(result), (model, method, result)
            if method == "search" and fname in repr((args, kwargs)):
                # A search or an order on a protected field would be an oracle:
                # refused, or (secret display) no record of another user matches.
                assert error or result == [], (model, method, args, kwargs, result)
            if error:
                assert "PRIVATE KEY" not in repr(error)
                assert client["client_secret"] not in repr(error)
    for method, args in (
        ("get_param", ["spp_attendance.registry_client_secret"]),
        ("search_read", [[("key", "like", "secret")]]),
    ):
        result, error = server.rpc_call(session, "ir.config_parameter", method, *args)
        assert error and "registry-s3cret" not in repr(result), (method, result)
    # The settings form (res.config.settings) as the back office opens it.
    for method, args in (
        ("default_get", [["registry_client_secret", "registry_client_secret_set"]]),
        ("onchange", [[], {}, [], {"registry_client_secret": {}}]),
        ("fields_get", [["registry_client_secret"]]),
    ):
        result, error = server.rpc_call(session, "res.config.settings", method, *args)
        assert "registry-s3cret" not in repr(result), (method, result)
