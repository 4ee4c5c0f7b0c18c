from odoo import api, fields, models, tools
from odoo.tools import SQL


class AttendanceReach(models.Model):
    """Program reach: distinct participants per month, attendance type,
    location and company, over the *active* records.

    A plain PostgreSQL view (``_auto = False``) grouped by month, so
    ``COUNT(DISTINCT subscriber_id)`` is exact for each row. Summing rows (pivot
    totals over several months, types or locations) adds their participants: a
    subscriber of two locations counts twice in the total.

    The ``id`` of a row is the smallest id of its records; reading rows by id
    first restricts the view to those records' months (see :meth:`_as_query`).
    """

    _name = "spp.attendance.reach"
    _description = "Program Reach per Month"
    _auto = False
    _order = "month desc, id desc"
    _rec_name = "month"

    month = fields.Date(readonly=True, help="First day of the month.")
    attendance_type_id = fields.Many2one(
        "spp.attendance.type", string="Type", readonly=True
    )
    attendance_location_id = fields.Many2one(
        "spp.attendance.location", string="Location", readonly=True
    )
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    participant_count = fields.Integer(
        string="Participants",
        readonly=True,
        help="Distinct subscribers with at least one record in the month.",
    )
    present_participant_count = fields.Integer(
        string="Participants Present",
        readonly=True,
        help="Distinct subscribers present at least once in the month.",
    )
    record_count = fields.Integer(string="Records", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %s AS (
                    SELECT MIN(l.id) AS id,
                           date_trunc('month', l.attendance_date)::date AS month,
                           l.attendance_type_id,
                           l.attendance_location_id,
                           l.company_id,
                           COUNT(DISTINCT l.subscriber_id) AS participant_count,
                           COUNT(DISTINCT l.subscriber_id)
                               FILTER (WHERE l.attendance_category = 'present')
                               AS present_participant_count,
                           COUNT(*) AS record_count
                      FROM spp_attendance_list l
                     WHERE l.active
                  GROUP BY date_trunc('month', l.attendance_date)::date,
                           l.attendance_type_id, l.attendance_location_id,
                           l.company_id
                )
                """,
                SQL.identifier(self._table),
            )
        )

    @api.model
    def _flush_search(self, domain, fields=None, order=None, seen=None):
        # rows are computed from the records: write their pending changes first
        # and forget rows read earlier in this transaction
        self.env["spp.attendance.list"].flush_model()
        self.invalidate_model()
        return super()._flush_search(domain, fields=fields, order=order, seen=seen)

    def _as_query(self, ordered=True):
        # the id is an aggregate (MIN): restrict to the months of those records so
        # that reading by id does not aggregate the whole table
        query = super()._as_query(ordered)
        ids = tuple(id_ for id_ in self._ids if isinstance(id_, int))
        if ids:
            self.env["spp.attendance.list"].flush_model()
            self.env.cr.execute(
                "SELECT DISTINCT date_trunc('month', attendance_date)::date "
                "FROM spp_attendance_list WHERE id IN %s",
                [ids],
            )
            months = tuple(row[0] for row in self.env.cr.fetchall())
            query.add_where(
                SQL("%s IN %s", SQL.identifier(self._table, "month"), months)
                if months
                else SQL("FALSE")
            )
        return query
