import logging

from psycopg2 import errors

from odoo import api, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

#: append-only keys (date, type, location, company) whose summary rows changed
DIRTY_TABLE = "spp_attendance_summary_dirty"
#: the keys one fold takes (a temporary table of the folding transaction)
FOLD_KEYS_TABLE = "spp_attendance_summary_fold_keys"
#: pg_try_advisory_xact_lock key of the fold: one folder at a time
FOLD_LOCK = 7_114_530_015

# The record columns a summary row depends on: an UPDATE that changes none of
# them marks nothing (e.g. a uniqueness rule change rewriting every key).
_RELEVANT = (
    "id, attendance_date, attendance_type_id, attendance_location_id, company_id, "
    "attendance_category, active, subscriber_id"
)
_MARK_DIRTY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION spp_attendance_summary_mark_dirty() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {DIRTY_TABLE} (attendance_date, type_key, location_key, company_key)
        SELECT DISTINCT attendance_date, COALESCE(attendance_type_id, 0),
               COALESCE(attendance_location_id, 0), COALESCE(company_id, 0)
          FROM new_rows WHERE active;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {DIRTY_TABLE} (attendance_date, type_key, location_key, company_key)
        SELECT DISTINCT attendance_date, COALESCE(attendance_type_id, 0),
               COALESCE(attendance_location_id, 0), COALESCE(company_id, 0)
          FROM old_rows WHERE active;
    ELSE
        -- the changed rows' old and new versions, by set difference: linear
        -- whatever plan PL/pgSQL cached (a join of the transition tables
        -- planned for a 1-row UPDATE would be a nested loop on a large one)
        INSERT INTO {DIRTY_TABLE} (attendance_date, type_key, location_key, company_key)
        SELECT DISTINCT attendance_date, COALESCE(attendance_type_id, 0),
               COALESCE(attendance_location_id, 0), COALESCE(company_id, 0)
          FROM (
                (SELECT {_RELEVANT} FROM old_rows
                 EXCEPT ALL
                 SELECT {_RELEVANT} FROM new_rows)
                UNION ALL
                (SELECT {_RELEVANT} FROM new_rows
                 EXCEPT ALL
                 SELECT {_RELEVANT} FROM old_rows)
               ) AS changed
         WHERE active;
    END IF;
    RETURN NULL;
END
$$
"""

# PostgreSQL allows transition tables on one event per trigger only.
_TRIGGERS = {
    "spp_attendance_list_summary_insert": "AFTER INSERT ON spp_attendance_list "
    "REFERENCING NEW TABLE AS new_rows",
    "spp_attendance_list_summary_update": "AFTER UPDATE ON spp_attendance_list "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "spp_attendance_list_summary_delete": "AFTER DELETE ON spp_attendance_list "
    "REFERENCING OLD TABLE AS old_rows",
}


def uninstall_hook(env):
    """Drop what the summaries created outside Odoo's models: Odoo drops the
    models' views and the records' table, not these."""
    env.cr.execute(
        SQL(
            "DROP TABLE IF EXISTS %s, spp_attendance_daily_summary_folded, "
            "spp_attendance_reach_folded CASCADE",
            SQL.identifier(DIRTY_TABLE),
        )
    )
    env.cr.execute(
        "DROP FUNCTION IF EXISTS spp_attendance_summary_mark_dirty() CASCADE"
    )


class AttendanceSummaryFold(models.AbstractModel):
    """The incremental maintenance of the attendance summaries (daily summary,
    program reach): dirty keys written by triggers, folded later.

    Writers of ``spp_attendance_list`` never touch a summary row. Statement-level
    triggers (with transition tables, so one INSERT per statement whatever its
    size, and on every path: ORM, the API's raw-SQL INSERT and UPDATE ... FROM
    unnest, imports, archive, unlink) append one row per distinct affected key
    (local date, type, location, company; 0 for an empty one) to
    ``spp_attendance_summary_dirty``. Appending never conflicts: concurrent
    writers of the same day and session do not serialise on a shared row, as a
    trigger updating the summary row would (Odoo runs REPEATABLE READ: the
    second writer would fail with a serialization error).

    The dirty row commits with the records, so a reader's snapshot sees either
    both or neither: the summary models read their folded rows for the keys
    that are not dirty and aggregate the records of the dirty keys (see
    ``spp.attendance.record.aggregate``), exact at every moment whatever the
    fold's lag. :meth:`_fold` moves dirty keys into the folded tables; it runs
    from a scheduled action (``ir_cron_fold_attendance_summary``).
    """

    _name = "spp.attendance.summary.fold"
    _description = "Fold of the attendance summaries"

    #: the models whose folded rows a fold refreshes
    _summary_models = ("spp.attendance.daily.summary", "spp.attendance.reach")

    @api.model
    def _ensure_dirty_keys(self):
        """The dirty-keys table and the triggers that fill it (idempotent: the
        summary models call it from their ``init``)."""
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %s (
                    id bigserial PRIMARY KEY,
                    attendance_date date NOT NULL,
                    type_key integer NOT NULL,
                    location_key integer NOT NULL,
                    company_key integer NOT NULL
                )
                """,
                SQL.identifier(DIRTY_TABLE),
            )
        )
        cr.execute(_MARK_DIRTY_FUNCTION)
        for name, definition in _TRIGGERS.items():
            trigger = SQL.identifier(name)
            cr.execute(SQL("DROP TRIGGER IF EXISTS %s ON spp_attendance_list", trigger))
            cr.execute(
                SQL(
                    "CREATE TRIGGER %s %s FOR EACH STATEMENT "
                    "EXECUTE FUNCTION spp_attendance_summary_mark_dirty()",
                    trigger,
                    SQL(definition),
                )
            )

    @api.model
    def _fold(self):
        """Fold the dirty keys visible now into the folded tables.

        Takes (deletes) the dirty rows this transaction sees, recomputes their
        keys from the records and replaces their folded rows, in the caller's
        transaction. A dirty row committed by a writer after this transaction's
        snapshot is neither seen nor deleted: its key stays live until the next
        fold. Returns the number of distinct keys folded, or ``None`` when
        another fold holds the lock (or committed after this transaction's
        snapshot): that one does the work, nothing waits.
        """
        cr = self.env.cr
        self.env["spp.attendance.list"].flush_model()
        try:
            with cr.savepoint(flush=False):
                cr.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
                if not cr.fetchone()[0]:
                    return None
                count = self._fold_locked()
        except errors.SerializationFailure:
            # Our snapshot predates a fold that committed since: the next run
            # (a new transaction) folds what is left.
            _logger.info("Attendance summary fold skipped: a concurrent fold")
            return None
        for model in self._summary_models:
            self.env[model].invalidate_model()
        return count

    def _fold_locked(self):
        cr = self.env.cr
        keys = SQL.identifier(FOLD_KEYS_TABLE)
        cr.execute(SQL("DROP TABLE IF EXISTS pg_temp.%s", keys))
        cr.execute(
            SQL(
                """
                CREATE TEMPORARY TABLE %s (
                    attendance_date date NOT NULL,
                    type_key integer NOT NULL,
                    location_key integer NOT NULL,
                    company_key integer NOT NULL
                ) ON COMMIT DROP
                """,
                keys,
            )
        )
        # One statement takes exactly the rows it deletes, in any isolation level.
        # Not logged on failure: a serialization failure here is the expected
        # race with a concurrent fold, answered by _fold; others still raise.
        cr.execute(
            SQL(
                """
                WITH taken AS (
                    DELETE FROM %s
                    RETURNING attendance_date, type_key, location_key, company_key
                )
                INSERT INTO %s
                SELECT DISTINCT attendance_date, type_key, location_key, company_key
                  FROM taken
                """,
                SQL.identifier(DIRTY_TABLE),
                keys,
            ),
            log_exceptions=False,
        )
        count = cr.rowcount
        if count:
            # autovacuum never analyzes a temporary table
            cr.execute(SQL("ANALYZE %s", keys))
            for model in self._summary_models:
                self.env[model]._fold_keys(FOLD_KEYS_TABLE)
        return count

    @api.model
    def _cron_fold(self):
        count = self._fold()
        if count:
            _logger.info("Attendance summary fold: %s keys folded", count)
