"""Many clients racing to store the same cards, under every uniqueness setting.

Eight clients send the same 20 time cards at the same moment to a server with two
worker processes (so two transactions really run side by side). Under each
uniqueness setting, each card is stored exactly once, every other request gets a
clean answer (``duplicate`` with ``ignore_unique``, else a 400 naming the
duplicates) and no request fails with a 5xx.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from odoo_process import make_api_client, make_subscribers, submission

FLAGS = ("date", "time", "type", "location")
CLIENTS = 8


@pytest.fixture(scope="module")
def race(odoo_workers_server):
    server = odoo_workers_server
    # Existing records (demo data, other tests) would conflict with the stricter
    # settings (e.g. the same time every day): archived records have no key.
    active = server.rpc("spp.attendance.list", "search", [("active", "=", True)])
    server.rpc("spp.attendance.list", "write", active, {"active": False})
    type_id = server.rpc("spp.attendance.type", "create", {"name": "Race type"})
    location_id = server.rpc(
        "spp.attendance.location", "create", {"name": "Race hall", "tz": "UTC"}
    )
    client = make_api_client(server)
    yield server, server.bearer(client), type_id, location_id
    for flag in FLAGS:
        server.set_param(f"spp_attendance.{flag}_unique", False)


def _set_uniqueness(server, flags):
    for flag in FLAGS:
        server.set_param(f"spp_attendance.{flag}_unique", flag in flags)


def _cards(persons, type_id, location_id, marker):
    return submission(
        [
            {
                "person_id": person,
                "time_card": [
                    {
                        "date_time": "2030-05-06 09:15:00",
                        "attendance_type": type_id,
                        "attendance_location": location_id,
                        "attendance_description": marker,
                    }
                ],
            }
            for person in persons
        ]
    )


def _race(server, headers, body, query=""):
    barrier = threading.Barrier(CLIENTS)

    def send(_index):
        barrier.wait(timeout=300)
        return server.post("/attendances" + query, headers=headers, json=body)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(send, range(CLIENTS)))


def _stored(server, marker):
    return server.rpc(
        "spp.attendance.list",
        "search_read",
        [("attendance_description", "=", marker)],
        ["subscriber_id"],
    )


@pytest.mark.parametrize(
    "flags", [("date",), ("time",), ("type",), ("location",), FLAGS], ids="+".join
)
def test_racing_duplicates_stored_exactly_once(race, flags):
    server, headers, type_id, location_id = race
    _set_uniqueness(server, flags)
    persons = make_subscribers(server, 20)

    # ignore_unique: every request succeeds; each card is created by one of them.
    marker = f"race {uuid.uuid4().hex}"
    body = _cards(persons, type_id, location_id, marker)
    responses = _race(server, headers, body, "?ignore_unique=true")
    assert [r.status_code for r in responses] == [200] * CLIENTS, [
        r.text[:300] for r in responses
    ]
    created = [0] * len(persons)
    for response in responses:
        for index, result in enumerate(response.json()["results"]):
            assert result["status"] in ("created", "duplicate"), result
            created[index] += result["status"] == "created"
    assert created == [1] * len(persons)
    stored = _stored(server, marker)
    assert len({r["subscriber_id"][0] for r in stored}) == len(stored) == len(persons)

    # Default (atomic, duplicates refused): exactly one request stores the batch,
    # the others get a 400 listing the duplicates; nothing is stored twice.
    marker = f"race {uuid.uuid4().hex}"
    body = _cards(persons, type_id, location_id, marker)
    # Other day, time, type and location than above: new keys under every setting.
    for record in body["records"]:
        record["time_card"][0]["date_time"] = "2030-05-07 10:20:00"
        record["time_card"][0]["attendance_type"] = None
        record["time_card"][0]["attendance_location"] = None
    responses = _race(server, headers, body)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [400] * (CLIENTS - 1), [r.text[:300] for r in responses]
    for response in responses:
        if response.status_code == 400:
            reasons = {d["reason"] for d in response.json()["error"]["details"]}
            assert reasons == {"duplicate"}, response.text[:500]
    stored = _stored(server, marker)
    assert len({r["subscriber_id"][0] for r in stored}) == len(stored) == len(persons)
