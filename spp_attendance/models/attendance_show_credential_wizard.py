"""One-time display of a newly generated client secret."""

from odoo import fields, models


class SppAttendanceShowCredentialWizard(models.TransientModel):
    """Shows a client id and its new secret once, to the manager who generated it.

    A record rule restricts every access to the record's creator, so another manager
    cannot read it; "Done" deletes it, and the transient vacuum removes forgotten ones.
    The secret itself is stored nowhere else: the credential keeps only its hash.
    """

    _name = "spp.attendance.show.credential.wizard"
    _description = "Show API Client Credentials"
    _transient_max_hours = 0.25

    credential_id = fields.Many2one(
        "spp.attendance.api.client.credential", readonly=True, ondelete="cascade"
    )
    client_name = fields.Char(readonly=True)
    display_client_id = fields.Char("Client ID", readonly=True)
    display_client_secret = fields.Char(
        "Client Secret",
        readonly=True,
        help="Copy this now - it will not be shown again!",
    )

    def action_done(self):
        self.unlink()
        return {"type": "ir.actions.act_window_close"}
