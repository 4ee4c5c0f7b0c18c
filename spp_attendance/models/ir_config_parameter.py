from odoo import api, models

from .attendance_list import UNIQUENESS_KEYS


class IrConfigParameter(models.Model):
    """Apply the attendance uniqueness rule however its parameters change.

    Settings, ``set_param`` from a script, the System Parameters menu, a data
    file: every change of a ``spp_attendance.*_unique`` parameter recomputes
    the duplicate keys (or is refused when existing records conflict).
    """

    _inherit = "ir.config_parameter"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if any(vals.get("key") in UNIQUENESS_KEYS for vals in vals_list):
            self._spp_attendance_uniqueness_changed()
        return records

    def write(self, vals):
        touched = bool(UNIQUENESS_KEYS.intersection(self.mapped("key")))
        result = super().write(vals)
        touched = touched or bool(UNIQUENESS_KEYS.intersection(self.mapped("key")))
        if touched and {"key", "value"}.intersection(vals):
            self._spp_attendance_uniqueness_changed()
        return result

    def unlink(self):
        touched = bool(UNIQUENESS_KEYS.intersection(self.mapped("key")))
        result = super().unlink()
        if touched:
            self._spp_attendance_uniqueness_changed()
        return result

    def _spp_attendance_uniqueness_changed(self):
        if self.env.context.get("spp_attendance_defer_uniqueness"):
            return
        self.env["spp.attendance.list"].sudo()._apply_uniqueness_settings()
