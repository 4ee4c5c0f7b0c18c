"""Exactly once under network and process faults, on a multi-process server.

A field device on a bad network sends a batch and loses the connection before it
reads the answer; it retries with the same card ``uuid``s. Whatever happened on the
server (batch stored, batch still running, the worker killed mid-request) the
database ends up with exactly one copy of every card.
"""

import threading
import time
import uuid
from datetime import date, timedelta

import psutil
import pytest
from odoo_process import make_api_client, make_subscribers, raw_http, submission


@pytest.fixture(scope="module")
def api(odoo_workers_server):
    server = odoo_workers_server
    client = make_api_client(server)
    persons = make_subscribers(server, 20)
    return server, server.bearer(client), persons


def _batch(persons, count):
    """``count`` cards with fresh uuids; each on its own day so that no uniqueness
    setting makes two of them duplicates."""
    start = date(2001, 1, 1)
    cards_by_person = {person: [] for person in persons}
    uuids = []
    for index in range(count):
        card_uuid = str(uuid.uuid4())
        uuids.append(card_uuid)
        day = start + timedelta(days=index)
        cards_by_person[persons[index % len(persons)]].append(
            {
                "date_time": f"{day.isoformat()} 08:{index % 60:02d}:00",
                "attendance_description": f"card {index}",
                "uuid": card_uuid,
            }
        )
    records = [
        {"person_id": person, "time_card": cards}
        for person, cards in cards_by_person.items()
        if cards
    ]
    return submission(records), uuids


def _stored(server, uuids):
    """How many records hold each of ``uuids`` (archived ones included)."""
    groups = server.rpc(
        "spp.attendance.list",
        "read_group",
        [("uuid", "in", uuids), ("active", "in", [True, False])],
        ["uuid"],
        ["uuid"],
        lazy=False,
    )
    return {group["uuid"]: group["__count"] for group in groups}


def _wait_stored(server, uuids, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_stored(server, uuids)) == len(uuids):
            return
        time.sleep(0.2)
    raise AssertionError("the server never stored the batch")


def _retry(server, headers, body):
    response = server.post("/attendances", headers=headers, json=body, timeout=120)
    assert response.status_code == 200, response.text
    return [result["status"] for result in response.json()["results"]]


def test_connection_cut_after_the_server_stored_the_batch(api):
    """The answer is lost: the retry reports every card unchanged, stores none."""
    server, headers, persons = api
    body, uuids = _batch(persons, 200)
    raw_http(
        server.port,
        "POST",
        "/attendances",
        body,
        {**headers, "Content-Type": "application/json"},
        read=False,
    )
    _wait_stored(server, uuids)
    assert _retry(server, headers, body) == ["unchanged"] * len(uuids)
    assert _stored(server, uuids) == {u: 1 for u in uuids}


def test_connection_cut_then_immediate_retry_races_the_first_request(api):
    """The retry arrives while the first request is still being processed (by the
    other worker): whichever commits first stores the cards, the other reports them
    unchanged; never two copies."""
    server, headers, persons = api
    body, uuids = _batch(persons, 600)
    raw_http(
        server.port,
        "POST",
        "/attendances",
        body,
        {**headers, "Content-Type": "application/json"},
        read=False,
    )
    statuses = _retry(server, headers, body)
    assert set(statuses) <= {"created", "unchanged"}, set(statuses)
    _wait_stored(server, uuids)
    time.sleep(1)  # let the first request finish, whatever it does
    assert _stored(server, uuids) == {u: 1 for u in uuids}
    assert _retry(server, headers, body) == ["unchanged"] * len(uuids)


def _busy_worker(server, before, spent=0.4):
    """The worker that has spent ``spent`` CPU seconds since ``before`` (a
    ``{pid: cpu seconds}`` snapshot), or ``None``."""
    for worker in server.worker_processes():
        try:
            times = worker.cpu_times()
        except psutil.Error:
            continue
        if times.user + times.system - before.get(worker.pid, 0.0) >= spent:
            return worker
    return None


def _cpu_snapshot(server):
    snapshot = {}
    for worker in server.worker_processes():
        times = worker.cpu_times()
        snapshot[worker.pid] = times.user + times.system
    return snapshot


def test_worker_killed_mid_batch_stores_all_or_nothing_then_retry_once(api):
    """SIGKILL of the worker processing a 1,000-card batch: the batch is stored
    completely or not at all; the retry stores it exactly once; the prefork master
    replaces the dead worker and the server keeps serving."""
    server, headers, persons = api
    body, uuids = _batch(persons, 1000)
    before = _cpu_snapshot(server)
    outcome = {}

    def send():
        try:
            outcome["answer"] = raw_http(
                server.port,
                "POST",
                "/attendances",
                body,
                {**headers, "Content-Type": "application/json"},
                timeout=120,
            )
        except OSError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=send)
    thread.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and thread.is_alive() and time.monotonic() < deadline:
        victim = _busy_worker(server, before)
        time.sleep(0.02)
    assert victim is not None, f"no worker picked the batch up: {outcome}"
    victim.kill()
    thread.join(timeout=60)
    answer = outcome.get("answer")
    # The client got no answer: the connection was reset or closed empty.
    assert answer is None or answer[0] is None, answer
    stored = _stored(server, uuids)
    assert len(stored) in (0, len(uuids)), f"partial batch: {len(stored)} cards"
    server.wait_for_workers(2)
    statuses = _retry(server, headers, body)
    expected = "unchanged" if stored else "created"
    assert statuses == [expected] * len(uuids)
    assert _stored(server, uuids) == {u: 1 for u in uuids}
    assert psutil.pid_exists(server.process.pid)
