from datetime import date

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL


def _month_start(day=None):
    return (day or date.today()).replace(day=1)


class AttendanceParticipationWizard(models.TransientModel):
    """Participation report: choose a period (and optionally a type, a location,
    "not seen for N days"), then :meth:`action_show` fills the report's lines
    (``spp.attendance.participation``) with one ``INSERT ... SELECT`` and opens
    them in a list and a pivot."""

    _name = "spp.attendance.participation.wizard"
    _description = "Attendance Participation Report"

    date_from = fields.Date(
        string="From", required=True, default=lambda self: _month_start()
    )
    date_to = fields.Date(
        string="To",
        required=True,
        default=lambda self: _month_start() + relativedelta(months=1, days=-1),
    )
    attendance_type_id = fields.Many2one("spp.attendance.type", string="Type")
    attendance_location_id = fields.Many2one(
        "spp.attendance.location", string="Location"
    )
    not_seen_days = fields.Integer(
        string="Not Seen for (days)",
        help="Only the active subscribers whose last presence is this many days "
        "or more before the end of the period (or today if the period ends "
        "later), or who were never present. 0: no such filter; the report then "
        "lists the subscribers with at least one record in the period.",
    )
    line_ids = fields.One2many(
        "spp.attendance.participation", "wizard_id", string="Lines"
    )

    @api.constrains("date_from", "date_to", "not_seen_days")
    def _check_period(self):
        for wizard in self:
            if wizard.date_from > wizard.date_to:
                raise ValidationError(_("The period's start is after its end."))
            if wizard.not_seen_days < 0:
                raise ValidationError(_("The number of days cannot be negative."))

    def unlink(self):
        # the lines' table has no foreign key to cascade (see its model)
        self.env["spp.attendance.participation"]._delete_lines("wizard_id", self.ids)
        return super().unlink()

    def _reference_date(self):
        return min(self.date_to, fields.Date.context_today(self))

    def _fill_lines(self):
        """(Re)compute this report's lines with one INSERT ... SELECT."""
        self.ensure_one()
        Subscriber = self.env["spp.attendance.subscriber"]
        self.env["spp.attendance.list"].check_access_rights("read")
        Subscriber.check_access_rights("read")
        self.env["spp.attendance.list"].flush_model()
        Subscriber.flush_model(["company_id", "active"])
        self.env["spp.attendance.participation"]._delete_lines("wizard_id", self.ids)
        reference = self._reference_date()
        query = Subscriber._participation_query(
            self.date_from,
            self.date_to,
            type_ids=self.attendance_type_id.ids or None,
            location_ids=self.attendance_location_id.ids or None,
            not_seen_days=self.not_seen_days or None,
            reference_date=reference,
        )
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO spp_attendance_participation (
                    wizard_id, subscriber_id, company_id, days_present, days_absent,
                    days_recorded, attendance_rate, last_seen, days_since_seen,
                    never_seen, create_uid, write_uid, create_date, write_date)
                SELECT %(wizard)s, r.subscriber_id, r.company_id, r.days_present,
                       r.days_absent, r.days_present + r.days_absent,
                       CASE WHEN r.days_present + r.days_absent > 0
                            THEN ROUND(100.0 * r.days_present
                                       / (r.days_present + r.days_absent), 1)
                       END,
                       r.last_seen,
                       %(reference)s::date - r.last_seen,
                       r.last_seen IS NULL,
                       %(uid)s, %(uid)s, %(now)s, %(now)s
                  FROM (%(query)s) r
                """,
                wizard=self.id,
                reference=reference,
                uid=self.env.uid,
                now=fields.Datetime.now(),
                query=query,
            )
        )
        self.env["spp.attendance.participation"].invalidate_model()
        self.invalidate_recordset(["line_ids"])

    def action_show(self):
        """Compute the report for the chosen period and open it."""
        self.ensure_one()
        self._fill_lines()
        name = _(
            "Participation %(from)s - %(to)s",
            **{
                "from": fields.Date.to_string(self.date_from),
                "to": fields.Date.to_string(self.date_to),
            },
        )
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": "spp.attendance.participation",
            "view_mode": "tree,pivot",
            "views": [(False, "tree"), (False, "pivot")],
            "domain": [("wizard_id", "=", self.id)],
            "context": {"create": False},
            "target": "current",
        }
