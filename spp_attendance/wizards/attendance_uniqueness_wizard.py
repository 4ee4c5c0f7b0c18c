from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..models.attendance_list import UNIQUENESS_PARAMS, _is_true


class AttendanceUniquenessWizard(models.TransientModel):
    """The uniqueness rule, for Attendance Managers.

    Odoo lets only administrators save the Settings page; this dialog lets a
    Manager change the same four parameters (``spp_attendance.date_unique`` ...),
    applied at once and refused, like from Settings, when existing records
    conflict with the new rule.
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
        params = self.env["ir.config_parameter"].sudo()
        for name, (param, _code) in UNIQUENESS_PARAMS.items():
            if f"{name}_unique" in fields_list:
                values[f"{name}_unique"] = _is_true(params.get_param(param))
        return values

    def action_apply(self):
        self.ensure_one()
        if not self.env.user.has_group("spp_attendance.group_attendance_manager"):
            raise AccessError(_("Only Attendance Managers can change the rule."))
        params = self.env["ir.config_parameter"].sudo()
        deferred = params.with_context(spp_attendance_defer_uniqueness=True)
        for name, (param, _code) in UNIQUENESS_PARAMS.items():
            deferred.set_param(param, "True" if self[f"{name}_unique"] else False)
        # Refused (and rolled back) with the number of conflicts if existing
        # records break the new rule.
        self.env["spp.attendance.list"].sudo()._apply_uniqueness_settings()
        return {"type": "ir.actions.act_window_close"}
