"""The attendance API as an upstream OpenSPP client uses it, over real HTTP.

A manager sets up an API client in the back office (through JSON-RPC, as the web
client does), the app takes a token with upstream's JSON body, submits time cards
with upstream's payload, reads them back, corrects and removes one.
"""

import json
import uuid

import pytest


@pytest.fixture(scope="module")
def setup(odoo_server):
    session = odoo_server.admin_session()
    suffix = uuid.uuid4().hex[:8]
    type_id = odoo_server.rpc(
        "spp.attendance.type",
        "create",
        {"name": f"E2E Training {suffix}"},
        session=session,
    )
    location_id = odoo_server.rpc(
        "spp.attendance.location",
        "create",
        {"name": f"E2E Hall {suffix}", "tz": "Africa/Nairobi"},
        session=session,
    )
    person = f"E2E-{suffix}"
    odoo_server.rpc(
        "spp.attendance.subscriber",
        "create",
        {"person_identifier": person, "family_name": "Dela Cruz", "given_name": "Juan"},
        session=session,
    )
    client = odoo_server.rpc(
        "spp.attendance.api.client.credential",
        "create",
        {"name": f"E2E app {suffix}", "scopes": "read write"},
        session=session,
    )
    action = odoo_server.rpc(
        "spp.attendance.api.client.credential",
        "action_generate_secret",
        [client],
        session=session,
    )
    shown = odoo_server.rpc(
        action["res_model"],
        "read",
        [action["res_id"]],
        ["display_client_id", "display_client_secret"],
        session=session,
    )[0]
    return {
        "client_id": shown["display_client_id"],
        "client_secret": shown["display_client_secret"],
        "type_id": type_id,
        "location_id": location_id,
        "person": person,
    }


@pytest.fixture(scope="module")
def headers(odoo_server, setup):
    # Upstream clients post the JSON body without a Content-Type header.
    response = odoo_server.post(
        "/auth/token",
        data=json.dumps(
            {"client_id": setup["client_id"], "client_secret": setup["client_secret"]}
        ),
    )
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer"
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_upstream_client_round_trip(odoo_server, setup, headers):
    person = setup["person"]
    submitted = odoo_server.post(
        "/attendances",
        headers=headers,
        json={
            "submitted_by": "mobile-app",
            "submitted_datetime": "2024-10-21 09:00:00",
            "submission_source": "self-reg",
            "records": [
                {
                    "person_id": person,
                    "time_card": [
                        {
                            "date_time": "2024-10-21 08:30:00",
                            "attendance_type": setup["type_id"],
                            "attendance_location": setup["location_id"],
                            "attendance_description": "Morning session",
                            "attendance_external_url": "https://example.org/photo/1",
                        },
                        {
                            "date_time": "2024-10-22T20:45:00Z",
                            "attendance_category": "Absent",
                        },
                    ],
                }
            ],
        },
    )
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["message"] == "Attendance list created successfully."
    assert body["person_ids"] == [person]
    assert [r["status"] for r in body["results"]] == ["created", "created"]

    history = odoo_server.get(f"/attendance/{person}", headers=headers).json()
    assert history["person_id"] == person
    assert history["number_of_days_present"] == 1
    assert history["dates_present"] == ["2024-10-21"]
    by_date = {item["date"]: item for item in history["attendance_list"]}
    # 08:30 local in Nairobi; the absent card was 20:45 UTC = 23:45 in the company tz
    # only if it is UTC+3, so just check it is there with its category.
    assert by_date["2024-10-21"]["time"] == "08:30:00"
    assert by_date["2024-10-21"]["attendance_type"]["id"] == setup["type_id"]
    assert [i["attendance_category"] for i in history["attendance_list"]].count(
        "absent"
    ) == 1
    assert history["pagination"]["total_records"] == 2

    many = odoo_server.request(
        "GET", "/attendances", headers=headers, json={"person_ids": [person]}
    ).json()
    assert [r["person_id"] for r in many["records"]] == [person]
    assert len(many["records"][0]["attendance_list"]) == 2

    first_id = by_date["2024-10-21"]["id"]
    updated = odoo_server.request(
        "PUT",
        "/attendances",
        headers=headers,
        json={
            "submitted_by": "supervisor",
            "submitted_datetime": "2024-10-23 10:00:00",
            "records": [
                {"id": first_id, "time_card": {"attendance_category": "absent"}}
            ],
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["message"] == "Attendance list updated successfully."
    # the audit trail says the API did it, and which client
    audit = odoo_server.rpc(
        "spp.attendance.list",
        "read",
        [first_id],
        ["create_uid", "write_uid", "api_client_id"],
    )[0]
    assert audit["create_uid"][1] == "Attendance API"
    assert audit["write_uid"][1] == "Attendance API"
    assert audit["api_client_id"][1].startswith("E2E app")

    deleted = odoo_server.request(
        "DELETE", f"/attendances?ids={first_id},999999999", headers=headers
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted_ids"] == [first_id]
    assert deleted.json()["missing_ids"] == [999999999]
    history = odoo_server.get(f"/attendance/{person}", headers=headers).json()
    assert [i["id"] for i in history["attendance_list"]] != [first_id]
    assert history["pagination"]["total_records"] == 1


def test_types_and_locations(odoo_server, setup, headers):
    types = odoo_server.get("/attendance/types", headers=headers).json()["records"]
    assert setup["type_id"] in [t["id"] for t in types]
    locations = odoo_server.get("/attendance/locations", headers=headers).json()
    assert setup["location_id"] in [loc["id"] for loc in locations["records"]]


def test_no_token_is_401_never_500(odoo_server):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer x"}):
        response = odoo_server.get("/attendance/types", headers=headers)
        assert response.status_code == 401
        assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_openapi_document_is_served_and_valid(odoo_server):
    from openapi_spec_validator import validate

    document = odoo_server.get("/api/openapi.json").json()
    validate(document)
    assert "/attendances" in document["paths"]
    assert "/auth/token" in document["paths"]
