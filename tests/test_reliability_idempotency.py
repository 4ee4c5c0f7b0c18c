"""Exactly once under network and process faults, on a multi-process server.

A field device on a bad network sends a batch and loses the connection before it
reads the answer; it retries with the same card ``uuid``s. Whatever happened on the
server (batch stored, batch still running, the worker killed mid-request) the
database ends up with exactly one copy of every card.
"""

import threading
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


def _retry(server, headers, body):
    response = server.post("/attendances", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return [result["status"] for result in response.json()["results"]]


SENTINEL = "spp_attendance.uniqueness_version"


def _hold_uniqueness_settings(probe):
    """Lock the uniqueness settings' sentinel row ``FOR UPDATE`` in the probe's
    transaction. Every writer locks it ``FOR SHARE`` (``_get_uniqueness_flags``)
    before it looks anything up, so each batch stops at that known point, inside
    its transaction, until the probe rolls back."""
    # The row exists once any uniqueness rule was set; make sure it does.
    probe.execute(
        "INSERT INTO ir_config_parameter (key, value) VALUES (%s, 'reliability') "
        "ON CONFLICT (key) DO NOTHING",
        (SENTINEL,),
    )
    probe.connection.commit()
    probe.execute(
        "SELECT 1 FROM ir_config_parameter WHERE key = %s FOR UPDATE", (SENTINEL,)
    )


def _cut_while_held(server, headers, body, probe):
    """Send ``body`` while ``probe`` holds the uniqueness settings, wait until the
    server's backend waits for them (the request is being processed), then reset
    the connection without reading the answer. Returns that backend's row
    ``(pid, client port, query)``; the request goes on when the probe rolls back."""
    _hold_uniqueness_settings(probe)
    waiting = {}
    raw_http(
        server.port,
        "POST",
        "/attendances",
        body,
        {**headers, "Content-Type": "application/json"},
        read=False,
        on_sent=lambda _sock: waiting.update(first=probe.wait_for_waiters(1)[0]),
    )
    return waiting["first"]


def test_connection_cut_after_the_server_stored_the_batch(api):
    """The answer is lost: the retry reports every card unchanged, stores none.

    The batch is held at a lock until the connection is cut, so the server is
    known to be processing it when the client disappears."""
    server, headers, persons = api
    body, uuids = _batch(persons, 200)
    with server.probe() as probe:
        first = _cut_while_held(server, headers, body, probe)
        probe.rollback()
        probe.wait_transaction_ended(first[0])
    assert _stored(server, uuids) == {u: 1 for u in uuids}
    assert _retry(server, headers, body) == ["unchanged"] * len(uuids)
    assert _stored(server, uuids) == {u: 1 for u in uuids}


def test_connection_cut_then_immediate_retry_races_the_first_request(api):
    """The retry runs while the first request is still being processed (by the
    other worker): whichever commits first stores the cards, the other reports them
    unchanged; never two copies.

    Both requests are held at the same lock, inside their transactions, and
    released together: a real race, on any machine."""
    server, headers, persons = api
    body, uuids = _batch(persons, 600)
    outcome = {}

    def retry():
        try:
            outcome["statuses"] = _retry(server, headers, body)
        except AssertionError as exc:  # reported below
            outcome["error"] = exc

    with server.probe() as probe:
        first = _cut_while_held(server, headers, body, probe)
        thread = threading.Thread(target=retry)
        thread.start()
        assert first in probe.wait_for_waiters(2)
        probe.rollback()
        thread.join(timeout=300)
        assert not thread.is_alive()
        probe.wait_transaction_ended(first[0])
    assert "error" not in outcome, outcome
    statuses = outcome["statuses"]
    # One transaction commits the cards, the other sees them committed.
    assert set(statuses) in ({"created"}, {"unchanged"}), set(statuses)
    assert _stored(server, uuids) == {u: 1 for u in uuids}
    assert _retry(server, headers, body) == ["unchanged"] * len(uuids)


def test_worker_killed_mid_batch_stores_all_or_nothing_then_retry_once(api):
    """SIGKILL of the worker processing a 1,000-card batch, in the middle of its
    INSERT: nothing of the batch is stored; the retry stores it exactly once; the
    prefork master replaces the dead worker and the server keeps serving.

    The kill point is deterministic: the test inserts, without committing, a row
    with the uuid of the batch's last card, so the batch's INSERT writes the cards
    before it and then waits for the test's transaction on the uuid's unique
    index. The test kills exactly the worker whose backend waits, then lets the
    backend go on (it can never commit: its client is gone)."""
    server, headers, persons = api
    body, uuids = _batch(persons, 1000)
    last_card = body["records"][-1]["time_card"][-1]
    outcome = {}
    sent = threading.Event()

    def send():
        def on_sent(sock):
            outcome["client_port"] = sock.getsockname()[1]
            sent.set()

        try:
            outcome["answer"] = raw_http(
                server.port,
                "POST",
                "/attendances",
                body,
                {**headers, "Content-Type": "application/json"},
                on_sent=on_sent,
            )
        except OSError as exc:
            outcome["error"] = exc
        finally:
            sent.set()

    thread = threading.Thread(target=send)
    with server.probe() as probe:
        probe.execute(
            # with the subscriber's company: the uuid is unique per company
            "INSERT INTO spp_attendance_list (subscriber_id, company_id, "
            "attendance_category, attendance_datetime, attendance_date, "
            "attendance_time, submitted_by, submitted_datetime, uuid, active) "
            "SELECT id, company_id, 'present', now(), current_date, '00:00:00', "
            "'fault injection', now(), %s, true FROM spp_attendance_subscriber "
            "WHERE person_identifier = %s",
            (last_card["uuid"], body["records"][-1]["person_id"]),
        )
        thread.start()
        backend_pid, pg_client_port, query = probe.wait_for_waiters(1)[0]
        # Inside the batch's INSERT of the records: the cards before the last one
        # are written (uncommitted) when the worker dies.
        assert (
            query.lstrip().upper().startswith('INSERT INTO "SPP_ATTENDANCE_LIST"')
        ), query[:200]
        assert sent.wait(timeout=300) and "client_port" in outcome, outcome
        # The worker holding this request's HTTP connection...
        victim = server.worker_serving(outcome["client_port"])
        assert victim is not None, "no worker holds the request's connection"
        # ...owns the waiting backend (checked when PostgreSQL is reached by TCP).
        if pg_client_port and pg_client_port > 0:
            assert pg_client_port in {
                conn.laddr.port for conn in victim.connections(kind="tcp")
            }
        victim.kill()
        thread.join(timeout=300)
        assert not thread.is_alive()
        probe.rollback()
        probe.wait_backend_gone(backend_pid)
    answer = outcome.get("answer")
    # The client got no answer: the connection was reset or closed empty.
    assert answer is None or answer[0] is None, answer
    assert _stored(server, uuids) == {}, "part of the batch survived the kill"
    server.wait_for_workers(2)
    assert _retry(server, headers, body) == ["created"] * len(uuids)
    assert _stored(server, uuids) == {u: 1 for u in uuids}
    assert psutil.pid_exists(server.process.pid)
