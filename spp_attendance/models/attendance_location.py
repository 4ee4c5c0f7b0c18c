from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.res_partner import _tz_get


class AttendanceLocation(models.Model):
    """Where attendance is taken. Its timezone decides the local date and time."""

    _name = "spp.attendance.location"
    _inherit = ["spp.attendance.type"]
    _description = "Attendance Location"
    _order = "name, id"

    tz = fields.Selection(
        _tz_get,
        string="Timezone",
        help="Timezone of the place. The local date and time of the attendance "
        "taken here are computed in this timezone. When empty, the company's "
        "timezone is used (or the user's).",
    )
    latitude = fields.Float(digits=(10, 7))
    longitude = fields.Float(digits=(10, 7))

    _api_cached_fields = ("name", "description", "active", "tz")

    def init(self):
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS spp_attendance_location_name_ci_uniq "
            "ON spp_attendance_location (lower(name))"
        )

    @api.constrains("latitude", "longitude")
    def _check_coordinates(self):
        for location in self:
            if not -90 <= (location.latitude or 0.0) <= 90:
                raise ValidationError(
                    _(
                        "Location '%(name)s': latitude %(value)s is out of range "
                        "(it must be between -90 and 90).",
                        name=location.name,
                        value=location.latitude,
                    )
                )
            if not -180 <= (location.longitude or 0.0) <= 180:
                raise ValidationError(
                    _(
                        "Location '%(name)s': longitude %(value)s is out of range "
                        "(it must be between -180 and 180).",
                        name=location.name,
                        value=location.longitude,
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_in_use(self):
        self._check_not_in_use("attendance_location_id")
