"""The summaries' incremental maintenance (issue #15, item 2): dirty keys written
by triggers on every write path, folded into the folded tables.

At every step the daily summary and the program reach must equal a direct
aggregate of the records, before and after a fold; a fold must empty the dirty
keys it took and leave the folded tables equal to the direct aggregate; a dirty
row committed after a fold's snapshot must survive it; with nothing dirty, a read
must not touch the records.
"""

import json
import re
import uuid
from datetime import date, datetime

import pytz

from odoo import SUPERUSER_ID, api
from odoo.tests import new_test_user, tagged

from ..models.attendance_summary_fold import DIRTY_TABLE, FOLD_LOCK
from ..services.archive import ArchiveService
from ..services.results import Change
from ..services.submit import SubmitService
from ..services.update import UpdateService
from .common import AttendanceCase, daily_aggregate

DAY = date(2032, 5, 10)
NEXT_DAY = date(2032, 5, 11)

DAILY = daily_aggregate()
DAILY_COLUMNS = """id, attendance_date, attendance_type_id, attendance_location_id,
    company_id, present_count, absent_count, record_count, participant_count"""
REACH = """
    SELECT MIN(id), date_trunc('month', attendance_date)::date,
           attendance_type_id, attendance_location_id, company_id,
           COUNT(DISTINCT subscriber_id),
           COUNT(DISTINCT subscriber_id) FILTER (WHERE attendance_category = 'present'),
           COUNT(*)
      FROM spp_attendance_list WHERE active
  GROUP BY 2, attendance_type_id, attendance_location_id, company_id
"""
REACH_COLUMNS = """id, month, attendance_type_id, attendance_location_id, company_id,
    participant_count, present_participant_count, record_count"""


def _plan_nodes(plan):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def _rows(cr, sql):
    cr.execute(sql)
    return sorted(cr.fetchall(), key=repr)


class FoldAssertions:
    """Comparisons of the summaries with the records, on any cursor."""

    def assertExact(self, cr, msg=""):
        """The views (what the ORM reads) equal the direct aggregates."""
        self.assertEqual(
            _rows(cr, f"SELECT {DAILY_COLUMNS} FROM spp_attendance_daily_summary"),
            _rows(cr, DAILY),
            f"daily summary {msg}",
        )
        self.assertEqual(
            _rows(cr, f"SELECT {REACH_COLUMNS} FROM spp_attendance_reach"),
            _rows(cr, REACH),
            f"program reach {msg}",
        )

    def assertFolded(self, cr, msg=""):
        """Nothing dirty, and the folded tables alone equal the direct
        aggregates."""
        self.assertEqual(_rows(cr, f"SELECT id FROM {DIRTY_TABLE}"), [], msg)
        self.assertEqual(
            _rows(
                cr, f"SELECT {DAILY_COLUMNS} FROM spp_attendance_daily_summary_folded"
            ),
            _rows(cr, DAILY),
            f"folded daily summary {msg}",
        )
        self.assertEqual(
            _rows(cr, f"SELECT {REACH_COLUMNS} FROM spp_attendance_reach_folded"),
            _rows(cr, REACH),
            f"folded program reach {msg}",
        )


@tagged("post_install", "-at_install")
class TestSummaryFold(FoldAssertions, AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Fold = cls.env["spp.attendance.summary.fold"]
        cls.alice = cls.create_subscriber("FOLD-1", given="Alice")
        cls.bob = cls.create_subscriber("FOLD-2", given="Bob")

    def setUp(self):
        super().setUp()
        # start from nothing dirty (the demo data and the set-up wrote records)
        self.Fold._fold()

    # helpers ---------------------------------------------------------------

    def dirty_keys(self):
        self.env.flush_all()
        self.cr.execute(
            f"SELECT DISTINCT attendance_date, type_key, location_key, company_key "
            f"FROM {DIRTY_TABLE}"
        )
        return set(self.cr.fetchall())

    def key(self, day=DAY, type_=None, location=None):
        type_ = self.training if type_ is None else type_
        location = self.hall if location is None else location
        return (day, type_.id or 0, location.id or 0, self.company.id)

    def record(self, subscriber, day=DAY, **vals):
        return self.Attendance.create(
            dict(
                {
                    "subscriber_id": subscriber.id,
                    "attendance_type_id": self.training.id,
                    "attendance_location_id": self.hall.id,
                    "attendance_date": day,
                    "attendance_time": "09:00:00",
                },
                **vals,
            )
        )

    def assertStep(self, dirty, msg):
        """After a write: exactly ``dirty`` is dirty; the summaries are exact
        before and after a fold, which empties the dirty keys."""
        self.assertEqual(self.dirty_keys(), dirty, msg)
        self.assertExact(self.cr, f"{msg}, before the fold")
        self.assertEqual(self.Fold._fold(), len(dirty), msg)
        self.assertFolded(self.cr, f"{msg}, after the fold")
        self.assertExact(self.cr, f"{msg}, after the fold")

    # every write path --------------------------------------------------------

    def test_back_office_writes(self):
        records = self.record(self.alice) | self.record(self.bob, NEXT_DAY)
        self.assertStep({self.key(), self.key(NEXT_DAY)}, "create")
        records[0].attendance_type_id = self.meeting
        self.assertStep({self.key(), self.key(type_=self.meeting)}, "type")
        records[0].attendance_location_id = False
        self.assertStep(
            {
                self.key(type_=self.meeting),
                self.key(type_=self.meeting, location=self.Location),
            },
            "location cleared",
        )
        records[1].attendance_category = "absent"
        self.assertStep({self.key(NEXT_DAY)}, "category")
        records[1].attendance_date = DAY
        self.assertStep({self.key(NEXT_DAY), self.key()}, "date")
        records[1].attendance_description = "not counted"
        self.assertStep(set(), "a column the summaries do not read")
        records[1].active = False
        self.assertStep({self.key()}, "archive")
        records[1].active = True
        self.assertStep({self.key()}, "unarchive")
        records.unlink()
        self.assertStep(
            {self.key(), self.key(type_=self.meeting, location=self.Location)},
            "unlink",
        )

    def test_api_submit_update_archive(self):
        cards = [
            {
                "person_id": subscriber.person_identifier,
                "moment": datetime(2032, 5, 10, 8, minute),
                "type_id": self.training.id,
                "location_id": self.hall.id,
                "category": "present",
                "description": None,
                "url": None,
                "uuid": None,
                "path": f"records[{index}]",
            }
            for index, (subscriber, minute) in enumerate(
                [(self.alice, 1), (self.bob, 2)]
            )
        ]
        submission = {
            "submitted_by": "fold-test",
            "submitted_datetime": datetime(2032, 5, 10, 12),
            "submission_source": "mobile",
        }
        results = SubmitService(self.env).submit(
            cards, submission, client=None, ignore_unique=False, atomic=True
        )
        self.assertEqual([r.status for r in results], ["created", "created"])
        self.assertStep({self.key()}, "API submit (one INSERT)")
        ids = [result.id for result in results]
        UpdateService(self.env).update(
            [
                Change(id=ids[0], values={"location_id": self.nairobi.id}),
                Change(id=ids[1], values={"category": "absent"}),
            ],
            submission,
        )
        self.assertStep(
            {self.key(), self.key(location=self.nairobi)},
            "API update (one UPDATE ... FROM unnest)",
        )
        ArchiveService(self.env).archive([ids[1]])
        self.assertStep({self.key()}, "API archive")

    def test_check_in_desk(self):
        officer = new_test_user(
            self.env,
            login="fold_officer",
            groups="spp_attendance.group_attendance_officer",
            tz="UTC",
        )
        Desk = self.env["spp.attendance.desk"].with_user(officer)
        session = Desk.open_session(self.training.id, self.nairobi.id)
        scanned_at = datetime.now(pytz.utc)
        result = Desk.check_in(
            session,
            [
                {
                    "uuid": str(uuid.uuid4()),
                    "person_id": subscriber.person_identifier,
                    "category": "present",
                    "scanned_at": scanned_at.isoformat(),
                }
                for subscriber in (self.alice, self.bob)
            ],
        )
        self.assertEqual(
            [answer["status"] for answer in result["answers"]],
            ["recorded", "recorded"],
        )
        day = scanned_at.astimezone(pytz.timezone("Africa/Nairobi")).date()
        self.assertStep({self.key(day, location=self.nairobi)}, "check-in desk")

    def test_subscriber_company_and_rule_change(self):
        records = self.record(self.alice) | self.record(self.bob)
        self.assertStep({self.key()}, "create")
        self.set_uniqueness("date", "time", "type", "location")
        self.assertStep(set(), "a uniqueness rule change rewrites keys only")
        company_b = self.env["res.company"].create({"name": "Fold Co B"})
        self.bob.company_id = company_b
        self.assertEqual(records[1].company_id, company_b)
        self.assertStep(
            {self.key(), (DAY, self.training.id, self.hall.id, company_b.id)},
            "the records follow their subscriber's company",
        )

    # reads ------------------------------------------------------------------

    def _read_group_query(self, model, domain, aggregates, groupby):
        """The SQL of the ORM's read_group, as executed (with its parameters)."""
        table = self.env[model]._table
        with self.assertLogs("odoo.sql_db", "DEBUG") as logs:
            self.env[model].with_user(self.env.ref("base.user_admin")).read_group(
                domain, aggregates, groupby, lazy=False
            )
        queries = [
            re.sub(r"^\[[0-9.]+ ms\] query: ", "", record.getMessage())
            for record in logs.records
            if f'FROM "{table}"' in record.getMessage()
            and "GROUP BY" in record.getMessage()
        ]
        self.assertEqual(len(queries), 1, logs.output)
        return queries[0]

    def _plan(self, query):
        self.cr.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query)
        return self.cr.fetchone()[0][0]["Plan"]

    def _scans(self, plan, table):
        return [
            node for node in _plan_nodes(plan) if node.get("Relation Name") == table
        ]

    def test_reads_come_from_the_folded_rows_when_nothing_is_dirty(self):
        self.record(self.alice)
        self.Fold._fold()
        for model, aggregates, groupby in (
            (
                "spp.attendance.daily.summary",
                ["present_count:sum", "absent_count:sum"],
                ["attendance_date:week", "attendance_type_id"],
            ),
            (
                "spp.attendance.reach",
                ["participant_count:sum"],
                ["month:month", "attendance_location_id"],
            ),
        ):
            query = self._read_group_query(model, [], aggregates, groupby)
            plan = self._plan(query)
            folded = self._scans(plan, f"{self.env[model]._table}_folded")
            self.assertTrue(folded, json.dumps(plan))
            self.assertTrue(all(node["Actual Loops"] for node in folded))
            records = self._scans(plan, "spp_attendance_list")
            # in the plan (the live branch), never executed: a one-time filter
            # on "anything dirty?" cuts it
            self.assertTrue(records, json.dumps(plan))
            for node in records:
                self.assertEqual(node["Actual Loops"], 0, json.dumps(plan))

    def test_period_and_company_conditions_reach_both_branches(self):
        self.record(self.alice)
        self.Fold._fold()
        self.record(self.bob, NEXT_DAY)  # dirty: the live branch runs
        self.env.flush_all()
        query = self._read_group_query(
            "spp.attendance.daily.summary",
            [("attendance_date", ">=", DAY), ("attendance_date", "<=", NEXT_DAY)],
            ["present_count:sum"],
            ["attendance_date:day"],
        )
        plan = self._plan(query)
        for table in ("spp_attendance_daily_summary_folded", "spp_attendance_list"):
            scans = self._scans(plan, table)
            self.assertTrue(scans, json.dumps(plan))
            for scan in scans:
                conditions = " ".join(
                    scan.get(key, "")
                    for key in ("Index Cond", "Filter", "Recheck Cond")
                )
                self.assertIn("attendance_date", conditions, json.dumps(plan))
                self.assertIn("company_id", conditions, json.dumps(plan))

    # the scheduled action ------------------------------------------------------

    def test_scheduled_action_folds(self):
        self.record(self.alice)
        self.assertEqual(self.dirty_keys(), {self.key()})
        cron = self.env.ref("spp_attendance.ir_cron_fold_attendance_summary")
        self.assertTrue(cron.active)
        cron.method_direct_trigger()
        self.assertFolded(self.cr, "after the scheduled action")


@tagged("post_install", "-at_install")
class TestFoldConcurrency(FoldAssertions, AttendanceCase):
    """A writer commits after a fold's snapshot: its dirty row survives the
    fold, and its key stays exact. Real cursors, committed; what they commit is
    removed afterwards."""

    IDENTIFIER = "FOLD-CONCURRENCY-1"

    def new_env(self):
        cr = self.registry.cursor()
        cr.execute("SET lock_timeout = '30s'")
        self.addCleanup(cr.close)
        return api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})

    def cleanup(self):
        env = self.new_env()
        subscriber = (
            env["spp.attendance.subscriber"]
            .with_context(active_test=False)
            .search([("person_identifier", "=", self.IDENTIFIER)])
        )
        partner = subscriber.partner_id
        subscriber.attendance_list_ids.with_context(active_test=False).unlink()
        subscriber.unlink()
        partner.unlink()
        env["spp.attendance.summary.fold"]._fold()
        env.cr.commit()

    def test_a_dirty_row_committed_after_the_snapshot_survives_the_fold(self):
        setup = self.new_env()
        self.addCleanup(self.cleanup)
        subscriber = setup["spp.attendance.subscriber"].create(
            {"person_identifier": self.IDENTIFIER, "family_name": "Fold"}
        )
        vals = {
            "subscriber_id": subscriber.id,
            "attendance_date": DAY,
            "attendance_time": "08:00:00",
        }
        setup["spp.attendance.list"].create(vals)
        setup.cr.commit()

        folder = self.new_env()
        # the folder's snapshot: it sees the first record and its dirty row
        folder.cr.execute(f"SELECT COUNT(*) FROM {DIRTY_TABLE}")
        self.assertTrue(folder.cr.fetchone()[0])
        writer = self.new_env()
        writer["spp.attendance.list"].create(dict(vals, attendance_time="09:00:00"))
        writer.cr.commit()
        self.assertTrue(folder["spp.attendance.summary.fold"]._fold())
        folder.cr.commit()

        check = self.new_env()
        key = (DAY, 0, 0, subscriber.company_id.id)
        check.cr.execute(
            f"SELECT attendance_date, type_key, location_key, company_key "
            f"FROM {DIRTY_TABLE}"
        )
        self.assertIn(key, check.cr.fetchall(), "the writer's dirty row is kept")
        check.cr.execute(
            "SELECT record_count FROM spp_attendance_daily_summary_folded "
            "WHERE attendance_date = %s",
            [DAY],
        )
        self.assertEqual(check.cr.fetchall(), [(1,)], "folded as of the snapshot")
        self.assertExact(check.cr, "with the writer's key still dirty")
        check.cr.execute(
            "SELECT record_count FROM spp_attendance_daily_summary "
            "WHERE attendance_date = %s",
            [DAY],
        )
        self.assertEqual(check.cr.fetchall(), [(2,)], "the view counts both")
        check["spp.attendance.summary.fold"]._fold()
        self.assertFolded(check.cr, "after the next fold")
        check.cr.rollback()

    def test_a_concurrent_fold_skips(self):
        """Folders never wait for nor fail on each other: one holding the lock
        makes another skip; one that committed after another's snapshot makes
        that one skip too (its snapshot would delete rows already folded)."""
        setup = self.new_env()
        self.addCleanup(self.cleanup)
        subscriber = setup["spp.attendance.subscriber"].create(
            {"person_identifier": self.IDENTIFIER, "family_name": "Fold"}
        )
        setup["spp.attendance.list"].create(
            {
                "subscriber_id": subscriber.id,
                "attendance_date": DAY,
                "attendance_time": "08:00:00",
            }
        )
        setup.cr.commit()

        holder = self.new_env()
        holder.cr.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
        late = self.new_env()
        # the late folder's snapshot: it sees the committed dirty row
        late.cr.execute(f"SELECT COUNT(*) FROM {DIRTY_TABLE}")
        self.assertTrue(late.cr.fetchone()[0])
        self.assertIsNone(late["spp.attendance.summary.fold"]._fold(), "lock held")
        holder.cr.rollback()

        first = self.new_env()
        self.assertTrue(first["spp.attendance.summary.fold"]._fold())
        first.cr.commit()
        with self.assertNoLogs("odoo.sql_db", "ERROR"):
            self.assertIsNone(
                late["spp.attendance.summary.fold"]._fold(), "stale snapshot"
            )
        # the late folder's transaction is still usable
        late.cr.execute("SELECT 1")
        late.cr.rollback()
        check = self.new_env()
        self.assertExact(check.cr, "after the skipped fold")
