import logging
import uuid as uuid_lib

import psycopg2

from odoo import _, api, models
from odoo.exceptions import RedirectWarning, UserError
from odoo.tools import SQL

from .attendance_list import UNIQUENESS_SENTINEL

_logger = logging.getLogger(__name__)


class AttendanceListUniquenessSettings(models.Model):
    """Applying a change of the uniqueness settings to every stored record."""

    # One concern per file on purpose (see attendance_list.py): not merged.
    _inherit = "spp.attendance.list"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _apply_uniqueness_settings(self):
        """Recompute every duplicate key for the current settings, set-based.

        Called whenever a uniqueness parameter changes (Settings or a direct
        ``ir.config_parameter`` write). When existing active records would
        violate the new rule nothing is changed and a ``RedirectWarning`` (with
        the number of conflicts and an action listing them) is raised, which
        rolls the settings change back.

        :return: number of records whose key changed
        """
        cr = self.env.cr
        self.env["ir.config_parameter"].flush_model()
        # Bump the sentinel: waits for in-flight writers, and makes writers
        # that read the old settings fail instead of writing outdated keys.
        cr.execute(
            """
            INSERT INTO ir_config_parameter
                (key, value, create_uid, create_date, write_uid, write_date)
            VALUES (%s, %s, %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
            ON CONFLICT (key) DO UPDATE
                SET value = EXCLUDED.value, write_uid = EXCLUDED.write_uid,
                    write_date = EXCLUDED.write_date
            """,
            [UNIQUENESS_SENTINEL, uuid_lib.uuid4().hex, self.env.uid, self.env.uid],
        )
        self.env["ir.config_parameter"].invalidate_model()
        self.flush_model()
        flags = self._get_uniqueness_flags()
        if flags:
            groups = self._uniqueness_conflict_groups(flags)
            if groups:
                self._raise_uniqueness_conflicts(flags, groups)
            new_value = SQL(
                "CASE WHEN active THEN %s END", self._duplicate_key_sql(flags)
            )
        else:
            new_value = SQL("NULL::varchar")
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        "UPDATE spp_attendance_list SET duplicate_key = %s "
                        "WHERE duplicate_key IS DISTINCT FROM (%s)",
                        new_value,
                        new_value,
                    )
                )
                # Read here: releasing the savepoint resets the cursor's rowcount.
                count = cr.rowcount
        except psycopg2.errors.UniqueViolation as exc:
            raise UserError(
                _(
                    "Attendance records were changed while the uniqueness "
                    "settings were being applied. Please try again."
                )
            ) from exc
        if count:
            # The planner's statistics on duplicate_key are stale after a mass
            # update (e.g. all NULL before): the lookup of every write would be
            # planned as a full index scan until autovacuum analyzes the table.
            cr.execute("ANALYZE spp_attendance_list (duplicate_key)")
        self.invalidate_model(["duplicate_key"])
        _logger.info(
            "Attendance uniqueness set to (%s): %s duplicate keys updated",
            ", ".join(flags) or "none",
            count,
        )
        return count

    @api.model
    def _uniqueness_conflict_groups(self, flags):
        """Ids of the active records that would share a key under ``flags``,
        one sorted list per key (one set-based query; none without flags)."""
        if not flags:
            return []
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT array_agg(id ORDER BY id) FROM spp_attendance_list "
                "WHERE active GROUP BY %s HAVING count(*) > 1",
                self._duplicate_key_sql(flags),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _uniqueness_conflicts_action(self, groups):
        """The window action listing the records of conflict ``groups``."""
        record_ids = [record_id for group in groups for record_id in group]
        return {
            "type": "ir.actions.act_window",
            "name": _("Attendance records in conflict"),
            "res_model": self._name,
            "views": [(False, "list"), (False, "form")],
            "view_mode": "list,form",
            "domain": [("id", "in", record_ids)],
            "context": {"group_by": ["subscriber_id"], "create": False},
            "target": "current",
        }

    @api.model
    def _raise_uniqueness_conflicts(self, flags, groups):
        record_ids = [record_id for group in groups for record_id in group]
        action = self._uniqueness_conflicts_action(groups)
        raise RedirectWarning(
            _(
                "These uniqueness settings cannot be applied: %(records)s existing "
                "attendance records (%(groups)s groups) have the same subscriber "
                "and the same %(fields)s. Correct or archive the duplicates first. "
                "Click 'Show the conflicting records' to see them (Attendance > "
                "Attendance Records, grouped by subscriber).",
                records=len(record_ids),
                groups=len(groups),
                fields=self._uniqueness_labels(flags),
            ),
            action,
            _("Show the conflicting records"),
        )
