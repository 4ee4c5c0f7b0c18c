from odoo import _, api, fields, models
from odoo.tools import SQL


class AttendanceDailySummary(models.Model):
    """Attendance per day and session: one row per local date x attendance type x
    location x company, over the *active* records.

    Backed by a plain PostgreSQL view over ``spp_attendance_list`` (``_auto =
    False``), not by a table maintained by triggers:

    * it is always exactly right, whatever path wrote the records (API, back
      office, import, archive, unlink, a change of the uniqueness rule), because
      it *is* the records: nothing to keep in sync, no race between concurrent
      writers (the distinct participants of a group could not be maintained
      exactly and cheaply by triggers under concurrency);
    * a bounded date range is cheap: the date condition is pushed into the view
      and served by the index on the local date ``attendance_date`` (index scan,
      incremental sort on the other group keys). Measured at 1,000,000 records: a
      month of ~150,000 records aggregates into ~3,500 rows in ~0.1 s. A
      composite index (date, type, location) partial on ``active`` was measured
      and brought nothing the date index does not already give, so there is none;
    * the price: a read *without* a date range (an all-time pivot or graph)
      aggregates the whole table, which grows linearly with it (~0.25 s for
      counts, ~0.6 s with distinct participants at 1,000,000 records). A table
      maintained incrementally would remove that cost; it is left for later.

    The ``id`` of a row is the smallest id of its records. Reading rows by id
    (form view, ``read``) first looks up those records' dates so that the
    aggregation is restricted to those dates (see :meth:`_as_query`); otherwise
    it would aggregate the whole table.
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
