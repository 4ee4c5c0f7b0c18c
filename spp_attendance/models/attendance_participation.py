from odoo import fields, models


class AttendanceParticipation(models.TransientModel):
    """One line of the participation report: a subscriber's participation over
    the period of a :class:`spp.attendance.participation.wizard`.

    A transient table, not an ``_auto = False`` view: "distinct days present
    within the period" depends on the chosen period, which a view grouped by
    subscriber cannot take as a parameter. The wizard fills its lines with one
    ``INSERT ... SELECT`` (see ``spp.attendance.subscriber._participation_query``)
    so the numbers are exact for any period, and the list, pivot, sort, filters
    and export then work on stored columns. Lines are private to the user who
    ran the report (record rule) and vacuumed like any transient record.
    """

    _name = "spp.attendance.participation"
    _description = "Attendance Participation (report line)"
    _order = "attendance_rate desc nulls last, days_present desc, id"
    _rec_name = "subscriber_id"

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
