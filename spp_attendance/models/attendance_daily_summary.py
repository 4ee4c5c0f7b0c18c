from odoo import _, api, fields, models
from odoo.tools import SQL


class AttendanceDailySummary(models.Model):
    """Attendance per day and session: one row per local date x attendance type x
    location x company, over the *active* records.

    Folded rows plus live dirty keys (see ``spp.attendance.record.aggregate``
    and ``spp.attendance.summary.fold``): a table of folded rows
    (``spp_attendance_daily_summary_folded``), written only by the fold, and
    triggers on the records that append the keys each statement changed to a
    dirty-keys table. The model reads a VIEW: the folded rows of the keys that
    are not dirty, UNION ALL the records' aggregate over the dirty keys.

    * Exact at every moment, whatever path wrote the records (the ORM, the
      API's raw-SQL INSERT and UPDATE, imports, archive, unlink, a subscriber's
      company) and whatever the fold's lag: a change's dirty row commits with
      it, so the reader's snapshot sees both or neither.
    * Writers never update a shared summary row: appending a dirty key never
      conflicts, whereas a trigger maintaining the row itself made concurrent
      writers of one day and session fail with serialization errors under
      Odoo's REPEATABLE READ (tried and rejected), and could not keep
      ``participant_count`` (distinct subscribers) exact without re-reading
      the group anyway.
    * Reads cost the folded rows (thousands, not millions) plus the records of
      the dirty keys, which a scheduled fold keeps to a few minutes of writes.
      With nothing dirty the records are not read at all.

    The ``id`` of a row is the smallest id of its records. Reading rows by id
    (form view, ``read``) first looks up those records' dates so that the read
    is restricted to those dates (see :meth:`_as_query`).
    """

    _name = "spp.attendance.daily.summary"
    _description = "Daily Attendance Summary"
    _inherit = "spp.attendance.record.aggregate"
    _auto = False
    _order = "attendance_date desc, id desc"

    attendance_date = fields.Date(string="Date", readonly=True)
    all_day = fields.Boolean(readonly=True)
    attendance_type_id = fields.Many2one(
        "spp.attendance.type", string="Type", readonly=True
    )
    attendance_location_id = fields.Many2one(
        "spp.attendance.location", string="Location", readonly=True
    )
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    present_count = fields.Integer(string="Present", readonly=True)
    absent_count = fields.Integer(string="Absent", readonly=True)
    record_count = fields.Integer(string="Records", readonly=True)
    participant_count = fields.Integer(
        string="Participants",
        readonly=True,
        help="Distinct subscribers with a record in this session on this day. "
        "Summed over several days (pivot, graph) it counts participant-days.",
    )

    def _aggregate_sql(self, condition):
        return SQL(
            """
            SELECT MIN(l.id) AS id,
                   l.attendance_date,
                   TRUE AS all_day,
                   l.attendance_type_id,
                   l.attendance_location_id,
                   l.company_id,
                   COUNT(*) FILTER (WHERE l.attendance_category = 'present')
                       AS present_count,
                   COUNT(*) FILTER (WHERE l.attendance_category = 'absent')
                       AS absent_count,
                   COUNT(*) AS record_count,
                   COUNT(DISTINCT l.subscriber_id) AS participant_count
              FROM spp_attendance_list l
             WHERE l.active AND %s
          GROUP BY l.attendance_date, l.attendance_type_id,
                   l.attendance_location_id, l.company_id
            """,
            condition,
        )

    @api.depends(
        "attendance_type_id", "attendance_location_id", "present_count", "absent_count"
    )
    def _compute_display_name(self):
        for row in self:
            row.display_name = _(
                "%(type)s @ %(location)s: %(present)s present, %(absent)s absent",
                type=row.attendance_type_id.name or _("No type"),
                location=row.attendance_location_id.name or _("No location"),
                present=row.present_count,
                absent=row.absent_count,
            )

    def _records_domain(self):
        self.ensure_one()
        return [
            ("attendance_date", "=", self.attendance_date),
            ("attendance_type_id", "=", self.attendance_type_id.id),
            ("attendance_location_id", "=", self.attendance_location_id.id),
            ("company_id", "=", self.company_id.id),
        ]

    def action_view_records(self):
        """Open the attendance records this row counts."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.display_name,
            "res_model": "spp.attendance.list",
            "view_mode": "tree,form,pivot,graph",
            "views": [
                (False, "tree"),
                (False, "form"),
                (False, "pivot"),
                (False, "graph"),
            ],
            "domain": self._records_domain(),
            "context": {"default_submission_source": "Back office"},
        }
