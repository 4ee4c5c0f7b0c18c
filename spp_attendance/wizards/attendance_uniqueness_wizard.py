from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..models.attendance_list import UNIQUENESS_PARAMS


class AttendanceUniquenessWizard(models.TransientModel):
    """The uniqueness rule, for Attendance Managers.

    Odoo lets only administrators save the Settings page; this dialog lets a
    Manager ask for a rule the same way: a job applies it, or refuses it when
    existing records conflict with it (the Settings page shows which).
    """

    _name = "spp.attendance.uniqueness.wizard"
    _description = "Attendance Uniqueness Rule"

    date_unique = fields.Boolean("Date")
    time_unique = fields.Boolean("Time")
    type_unique = fields.Boolean("Attendance Type")
    location_unique = fields.Boolean("Attendance Location")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        settings = self.env["res.config.settings"].sudo()._get_uniqueness_values()
        for name in UNIQUENESS_PARAMS:
            if f"{name}_unique" in fields_list:
                values[f"{name}_unique"] = settings[f"attendance_{name}_unique"]
        return values

    def action_apply(self):
        self.ensure_one()
        if not self.env.user.has_group("spp_attendance.group_attendance_manager"):
            raise AccessError(_("Only Attendance Managers can change the rule."))
        # Queued: a job applies it, or refuses it (with the reason on the
        # Settings page) if existing records break the new rule.
        self.env["spp.attendance.uniqueness.change"]._request(
            tuple(name for name in UNIQUENESS_PARAMS if self[f"{name}_unique"])
        )
        return {"type": "ir.actions.act_window_close"}
