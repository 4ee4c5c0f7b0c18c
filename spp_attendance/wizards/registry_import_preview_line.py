from odoo import fields, models

from ..models.attendance_import_log import SKIP_REASON_SELECTION


class RegistryImportPreviewLine(models.TransientModel):
    """One person of the registry import preview and what importing would do."""

    _name = "spp.attendance.registry.import.preview.line"
    _description = "Registry Import Preview Line"
    _order = "sequence, id"

    wizard_id = fields.Many2one(
        "spp.attendance.registry.import.wizard", required=True, ondelete="cascade"
    )
    sequence = fields.Integer()
    page = fields.Integer()
    action = fields.Selection(
        [
            ("create", "Create"),
            ("update", "Update"),
            ("unchanged", "Unchanged"),
            ("skip", "Skip"),
        ]
    )
    person_identifier = fields.Char(string="Identifier")
    family_name = fields.Char()
    given_name = fields.Char()
    addl_name = fields.Char(string="Additional Names")
    gender = fields.Char()
    email = fields.Char()
    phone = fields.Char()
    changes = fields.Char(help="Fields an update would change (old > new).")
    reason = fields.Selection(SKIP_REASON_SELECTION, string="Skip Reason")
    detail = fields.Char()
