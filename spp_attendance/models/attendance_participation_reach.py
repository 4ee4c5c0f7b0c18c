from odoo import fields, models
from odoo.tools import SQL


class AttendanceReach(models.Model):
    """Program reach: distinct participants per month, attendance type,
    location and company, over the *active* records.

    Folded rows (``spp_attendance_reach_folded``) plus the live aggregate of
    the dirty keys' months, like the daily summary (see
    ``spp.attendance.record.aggregate``): ``COUNT(DISTINCT subscriber_id)`` is
    exact for each row; a dirty key re-reads the records of its month (one
    range of the date index for all dirty months) until it is folded. Summing
    rows (pivot totals over several months, types or locations) adds their
    participants: a subscriber of two locations counts twice in the total.

    The ``id`` of a row is the smallest id of its records; reading rows by id
    first restricts the view to those records' months (see :meth:`_as_query`).
    """

    _name = "spp.attendance.reach"
    _description = "Program Reach per Month"
    _inherit = "spp.attendance.record.aggregate"
    _auto = False
    _period_column = "month"
    _period_of_record = "date_trunc('month', attendance_date)::date"
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

    def _period_sql(self, alias):
        return SQL(
            "date_trunc('month', %s.attendance_date)::date", SQL.identifier(alias)
        )

    def _period_end_sql(self, period):
        return SQL("(%s + interval '1 month')::date", period)

    def _aggregate_sql(self, condition):
        return SQL(
            """
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
             WHERE l.active AND %s
          GROUP BY date_trunc('month', l.attendance_date)::date,
                   l.attendance_type_id, l.attendance_location_id,
                   l.company_id
            """,
            condition,
        )
