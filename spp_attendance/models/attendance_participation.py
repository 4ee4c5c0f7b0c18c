from odoo import api, fields, models
from odoo.tools import SQL


class AttendanceParticipation(models.TransientModel):
    """One line of the participation report: a subscriber's participation over
    the period of a :class:`spp.attendance.participation.wizard`.

    A transient table, not a SQL view: "distinct days present
    within the period" depends on the chosen period, which a view grouped by
    subscriber cannot take as a parameter. The wizard fills its lines with one
    ``INSERT ... SELECT`` (see ``spp.attendance.subscriber._participation_query``)
    so the numbers are exact for any period, and the list, pivot, sort, filters
    and export then work on stored columns. Lines are private to the user who
    ran the report (record rule) and vacuumed like any transient record.

    The table is created by :meth:`init` (``_auto = False``) **without foreign
    keys**: PostgreSQL checks each foreign key row by row (a lookup and a row
    lock on the referenced row), which took 2.0 s of the 2.4 s spent writing a
    month's 100,000 lines at 1M records, for values the ``INSERT ... SELECT``
    reads from the referenced tables in the same statement. What the foreign
    keys' ``ON DELETE`` did is done where the rows are deleted: a wizard's
    :meth:`unlink` deletes its lines, a subscriber's deletes theirs (instead
    of emptying ``subscriber_id``). Companies and users that ran reports are
    kept in practice (Odoo archives them); a line left pointing to one is
    vacuumed with the others. Subscribers with records cannot be deleted; one
    without any, deleted by another transaction while a "not seen" report is
    being computed (the foreign key's row lock would have made one wait for
    the other), leaves a line that makes that report's list fail ("Record
    does not exist") until it is run again or vacuumed.
    """

    _name = "spp.attendance.participation"
    _description = "Attendance Participation (report line)"
    _order = "attendance_rate desc nulls last, days_present desc, id"
    _rec_name = "subscriber_id"
    _auto = False
    # transient records are vacuumed by their create/write date
    _log_access = True

    # no foreign key: ondelete is done by the wizard's unlink()
    wizard_id = fields.Many2one(
        "spp.attendance.participation.wizard",
        string="Report",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    subscriber_id = fields.Many2one(
        "spp.attendance.subscriber", string="Subscriber", readonly=True
    )
    person_identifier = fields.Char(
        related="subscriber_id.person_identifier", string="Person ID"
    )
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    days_present = fields.Integer(readonly=True)
    days_absent = fields.Integer(
        readonly=True,
        help="Days of the period with absent records and no present record.",
    )
    days_recorded = fields.Integer(
        readonly=True,
        help="Distinct days of the period with at least one record.",
    )
    attendance_rate = fields.Float(
        string="Attendance Rate (%)",
        readonly=True,
        digits=(5, 1),
        group_operator="avg",
        help="Days present / (days present + days absent), in percent; empty "
        "without any day recorded in the period.",
    )
    last_seen = fields.Date(
        readonly=True,
        help="Latest date present, over all history up to the end of the period "
        "(with the report's type and location).",
    )
    days_since_seen = fields.Integer(
        string="Days Not Seen",
        readonly=True,
        group_operator="max",
        help="Days from the last date present to the end of the period (or today "
        "if the period ends later); empty if never seen.",
    )
    never_seen = fields.Boolean(readonly=True)

    def init(self):
        # Columns as the ORM would create them for the fields above; with
        # _auto = False a new stored field needs its column added here.
        self.env.cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %(table)s (
                    id SERIAL PRIMARY KEY,
                    wizard_id INTEGER NOT NULL,
                    subscriber_id INTEGER,
                    company_id INTEGER,
                    days_present INTEGER,
                    days_absent INTEGER,
                    days_recorded INTEGER,
                    days_since_seen INTEGER,
                    create_uid INTEGER,
                    write_uid INTEGER,
                    last_seen DATE,
                    attendance_rate NUMERIC,
                    never_seen BOOLEAN,
                    create_date TIMESTAMP WITHOUT TIME ZONE,
                    write_date TIMESTAMP WITHOUT TIME ZONE
                );
                CREATE INDEX IF NOT EXISTS %(index)s ON %(table)s (wizard_id);
                """,
                table=SQL.identifier(self._table),
                index=SQL.identifier(f"{self._table}__wizard_id_index"),
            )
        )
        # A database from before this version: its table has the foreign keys
        # the ORM created; drop them and their reflection.
        self.env.cr.execute(
            SQL(
                """
                SELECT conname FROM pg_constraint
                 WHERE conrelid = %s::regclass AND contype = 'f'
                """,
                self._table,
            )
        )
        for (name,) in self.env.cr.fetchall():
            self.env.cr.execute(
                SQL(
                    "ALTER TABLE %s DROP CONSTRAINT %s",
                    SQL.identifier(self._table),
                    SQL.identifier(name),
                )
            )
            self.env.cr.execute(
                SQL(
                    "DELETE FROM ir_model_constraint WHERE name = %s AND type = 'f'",
                    name,
                )
            )

    @api.model
    def _delete_lines(self, column, ids):
        """Delete the lines whose ``column`` (wizard_id or subscriber_id) is
        in ``ids``, in one statement, whoever ran them (the foreign keys'
        ``ON DELETE`` did the same)."""
        if ids:
            self.env.cr.execute(
                SQL(
                    "DELETE FROM %s WHERE %s = ANY(%s)",
                    SQL.identifier(self._table),
                    SQL.identifier(column),
                    list(ids),
                )
            )
            self.invalidate_model()
            self.env["spp.attendance.participation.wizard"].invalidate_model(
                ["line_ids"]
            )

    def action_view_records(self):
        """The records of this subscriber counted by the report."""
        self.ensure_one()
        wizard = self.wizard_id
        domain = [
            ("subscriber_id", "=", self.subscriber_id.id),
            ("attendance_date", ">=", wizard.date_from),
            ("attendance_date", "<=", wizard.date_to),
        ]
        if wizard.attendance_type_id:
            domain.append(("attendance_type_id", "=", wizard.attendance_type_id.id))
        if wizard.attendance_location_id:
            domain.append(
                ("attendance_location_id", "=", wizard.attendance_location_id.id)
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.subscriber_id.display_name,
            "res_model": "spp.attendance.list",
            "view_mode": "tree,form",
            "views": [(False, "tree"), (False, "form")],
            "domain": domain,
        }
