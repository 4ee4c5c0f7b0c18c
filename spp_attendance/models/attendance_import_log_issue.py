from odoo import fields, models

from .attendance_import_log import SKIP_REASON_SELECTION


class AttendanceImportLogIssue(models.Model):
    """A person record a registry import skipped, and why."""

    _name = "spp.attendance.import.log.issue"
    _description = "Registry Import Skipped Record"
    _order = "log_id, page, position, id"

    log_id = fields.Many2one(
        "spp.attendance.import.log", required=True, ondelete="cascade", index=True
    )
    page = fields.Integer(readonly=True)
    position = fields.Integer(readonly=True, help="Position of the record in its page.")
    identifier = fields.Char(readonly=True)
    reason = fields.Selection(SKIP_REASON_SELECTION, readonly=True)
    detail = fields.Char(readonly=True)
