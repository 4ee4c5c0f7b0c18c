"""The API runs as its technical user, not as superuser: another company's records,
found by any key (id, person id, uuid), are answered exactly as missing ones.

Each route is called twice: once with the key of a record of another company, once
with a key that exists nowhere. The two answers must be the same, apart from the key
itself.
"""

import re
import uuid
from datetime import datetime

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .test_api_attendance import ApiCase

MISSING_PERSON = "PID-NOWHERE"
MISSING_ID = 2_000_000_000


def _without(value, key):
    """``value`` (decoded JSON) with every occurrence of ``key`` replaced."""
    if isinstance(value, dict):
        return {name: _without(item, key) for name, item in value.items()}
    if isinstance(value, list):
        return [_without(item, key) for item in value]
    if value == key:
        return "<key>"
    if isinstance(value, str):
        return re.sub(rf"\b{re.escape(str(key))}\b", "<key>", value)
    return value


@tagged("post_install", "-at_install")
class TestCompanyIsolation(ApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = cls.env["res.company"].create({"name": "API Other Company"})
        cls.stranger = cls.Subscriber.create(
            {
                "person_identifier": "PID-OTHER",
                "family_name": "Other",
                "given_name": "Olga",
                "company_id": cls.other.id,
            }
        )
        cls.foreign_uuid = str(uuid.uuid4())
        cls.foreign = cls.env["spp.attendance.list"].create(
            {
                "subscriber_id": cls.stranger.id,
                "attendance_datetime": datetime(2024, 10, 21, 5, 30),
                "uuid": cls.foreign_uuid,
            }
        )
        cls.other_client, cls.other_secret = cls._create_client(
            "API other company app", company_id=cls.other.id
        )

    def assertSameAsMissing(self, call, key, missing):
        """``call(k)`` answers for ``key`` exactly as for ``missing``."""
        seen, unseen = call(key), call(missing)
        self.assertEqual(seen.status_code, unseen.status_code, seen.text)
        self.assertEqual(
            _without(seen.json(), key), _without(unseen.json(), missing), seen.text
        )
        return seen

    def put(self, record_id):
        return self.api(
            "PUT",
            "/attendances",
            {
                "submitted_by": "x",
                "submitted_datetime": "2024-10-21 09:00:00",
                "records": [
                    {"id": record_id, "time_card": {"attendance_category": "absent"}}
                ],
            },
        )

    def test_person_routes(self):
        for route in (
            "/attendance/{}",
            "/attendance?person_id={}",
            "/subscriber/{}",
            "/subscriber?person_id={}",
        ):
            with self.subTest(route=route):
                response = self.assertSameAsMissing(
                    lambda pid, route=route: self.api("GET", route.format(pid)),
                    self.stranger.person_identifier,
                    MISSING_PERSON,
                )
                self.assertEqual(response.status_code, 404)

    def test_list_routes(self):
        response = self.assertSameAsMissing(
            lambda pid: self.api("GET", f"/attendances?person_ids={pid}"),
            self.stranger.person_identifier,
            MISSING_PERSON,
        )
        self.assertEqual(response.status_code, 200)
        body = self.api("GET", "/subscribers?limit=500").json()
        persons = {record["person_id"] for record in body["records"]}
        self.assertNotIn(self.stranger.person_identifier, persons)
        own = self.Subscriber.search_count([("company_id", "=", self.company.id)])
        self.assertEqual(body["pagination"]["total_records"], own)

    def test_submit_for_another_companys_person(self):
        before = self.Attendance.search_count([])
        response = self.assertSameAsMissing(
            lambda pid: self.submit([{"person_id": pid, "time_card": [self.card()]}]),
            self.stranger.person_identifier,
            MISSING_PERSON,
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.Attendance.search_count([]), before)

    def test_update_and_delete_by_another_companys_id(self):
        response = self.assertSameAsMissing(self.put, self.foreign.id, MISSING_ID)
        self.assertEqual(response.status_code, 404)
        response = self.assertSameAsMissing(
            lambda rid: self.api("DELETE", f"/attendances?ids={rid}"),
            self.foreign.id,
            MISSING_ID,
        )
        self.assertEqual(response.status_code, 404)
        self.assertTrue(self.foreign.active)
        self.assertEqual(self.foreign.attendance_category, "present")

    def test_another_companys_uuid_is_free(self):
        """Same uuid as a record of another company: stored as a new card (the uuid
        is unique per company), not refused as ``uuid_conflict``."""
        fresh = str(uuid.uuid4())
        seen, unseen = (
            self.submit(
                [{"person_id": "PID-API-1", "time_card": [self.card(uuid=key)]}]
            )
            for key in (self.foreign_uuid, fresh)
        )
        for response in (seen, unseen):
            self.assertEqual(response.status_code, 200, response.text)
            self.assertEqual(response.json()["results"][0]["status"], "created")
        mine = self.Attendance.search([("uuid", "=", self.foreign_uuid)]) - self.foreign
        self.assertEqual(mine.company_id, self.company)
        self.assertEqual(mine.id, seen.json()["results"][0]["id"])
        # a retry finds this company's record, not the other one
        retry = self.submit(
            [
                {
                    "person_id": "PID-API-1",
                    "time_card": [self.card(uuid=self.foreign_uuid)],
                }
            ]
        )
        self.assertEqual(
            (retry.json()["results"][0]["status"], retry.json()["results"][0]["id"]),
            ("unchanged", mine.id),
        )
        self.assertEqual(self.foreign.subscriber_id, self.stranger)

    def test_other_companys_client_sees_its_company_only(self):
        token = self._token(self.other_client, self.other_secret)
        response = self.api("GET", "/subscriber/PID-OTHER", token=token)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            self.api("GET", "/subscriber/PID-API-1", token=token).status_code, 404
        )
        retry = self.api(
            "POST",
            "/attendances",
            token=token,
            body={
                "submitted_by": "x",
                "submitted_datetime": "2024-10-21 09:00:00",
                "records": [
                    {
                        "person_id": "PID-OTHER",
                        "time_card": [
                            # the stored moment, in UTC: the same card
                            {
                                "date_time": "2024-10-21T05:30:00Z",
                                "uuid": self.foreign_uuid,
                            }
                        ],
                    }
                ],
            },
        )
        self.assertEqual(retry.status_code, 200, retry.text)
        self.assertEqual(
            (retry.json()["results"][0]["status"], retry.json()["results"][0]["id"]),
            ("unchanged", self.foreign.id),
        )

    def test_branch_client_sees_its_branch(self):
        """res.partner's rule (``company_id parent_of`` the allowed companies) is
        answered from the worker's copy of the company's ``parent_path``: it must
        be the branch's own, whose path holds its parent."""
        branch = self.env["res.company"].create(
            {"name": "API Branch", "parent_id": self.env.company.id}
        )
        member = self.Subscriber.create(
            {
                "person_identifier": "PID-BRANCH",
                "family_name": "Branch",
                "given_name": "Bea",
                "company_id": branch.id,
            }
        )
        self.assertEqual(member.partner_id.company_id, branch)
        client, secret = self._create_client("API branch app", company_id=branch.id)
        token = self._token(client, secret)
        for path in ("/subscriber/PID-BRANCH", "/attendance/PID-BRANCH"):
            response = self.api("GET", path, token=token)
            self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            self.api("GET", "/subscriber/PID-OTHER", token=token).status_code, 404
        )
        stored = branch.parent_path
        self.assertEqual(stored, f"{self.env.company.parent_path}{branch.id}/")
        self.env.invalidate_all()
        branch._spp_cache_parent_path()
        with self.assertQueryCount(0):
            self.assertEqual(branch.parent_path, stored)

    def test_api_user_rights(self):
        """The technical user: what the API needs, nothing of administration."""
        user = self.env.ref("spp_attendance.user_attendance_api")
        self.assertFalse(user.active)
        self.assertFalse(user._is_superuser() or user._is_admin())
        self.assertIn(self.other, user.company_ids)
        env = self.env(user=user, context={"allowed_company_ids": self.company.ids})
        self.assertTrue(env["spp.attendance.list"].check_access_rights("create"))
        self.assertFalse(
            env["spp.attendance.list"].check_access_rights("unlink", False)
        )
        self.assertFalse(
            env["spp.attendance.subscriber"].check_access_rights("write", False)
        )
        for model in (
            "spp.attendance.api.client.credential",
            "spp.oauth.key",
            "ir.config_parameter",
        ):
            with self.subTest(model=model), self.assertRaises(AccessError):
                env[model].search([], limit=1)
        # record rules, not the services, keep the other company out
        self.assertFalse(
            env["spp.attendance.list"].search([("id", "=", self.foreign.id)])
        )
        self.assertFalse(
            env["spp.attendance.subscriber"].search(
                [("person_identifier", "=", "PID-OTHER")]
            )
        )
