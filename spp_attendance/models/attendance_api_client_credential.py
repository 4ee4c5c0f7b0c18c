"""API clients of the attendance API (OAuth 2.0 client credentials)."""

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

#: The ``aud`` of the attendance API's access tokens.
ATTENDANCE_AUDIENCE = "spp_attendance"


class SppAttendanceApiClientCredential(models.Model):
    """A mobile app or system allowed to call the attendance API.

    The client authenticates at ``POST /auth/token`` with its client id and secret and
    receives a short-lived bearer token for the ``spp_attendance`` audience, carrying
    the scopes granted here (``read``, ``write``). The secret is stored only as a hash
    and shown once, to the manager who generated it. Archiving the client revokes it:
    its tokens stop working at once.
    """

    _name = "spp.attendance.api.client.credential"
    _description = "SPP Attendance Client Credential"
    _inherit = ["spp.oauth.client.mixin", "mail.thread"]
    _order = "name"

    _spp_oauth_audience = ATTENDANCE_AUDIENCE
    _spp_oauth_scope_names = ("read", "write")
    # Read by every API request (the company of its environment, the audit notes).
    _spp_oauth_cached_fields = ("name", "company_id")

    name = fields.Char("Client Name", required=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    scopes = fields.Char(tracking=True)
    scope_read = fields.Boolean(
        "Read", compute="_compute_scope_read", inverse="_inverse_scope_read"
    )
    scope_write = fields.Boolean(
        "Write", compute="_compute_scope_write", inverse="_inverse_scope_write"
    )
    token_lifetime = fields.Integer(tracking=True)
    active = fields.Boolean(tracking=True)

    _sql_constraints = [
        ("name_uniq", "unique(name)", "Client Name must be unique!"),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        clients = super().create(vals_list)
        clients._sync_api_user_companies()
        return clients

    def write(self, vals):
        result = super().write(vals)
        if vals.get("company_id"):
            self._sync_api_user_companies()
        return result

    @api.model
    def _sync_api_user_companies(self):
        """Add the companies of the API clients to the API's technical user.

        The API runs as that user with the client's company as its only allowed
        company (record rules then hide every other company's data); Odoo refuses
        an allowed company the user does not belong to.
        """
        user = self.env.ref("spp_attendance.user_attendance_api", False)
        if not user:
            return
        clients = self or self.with_context(active_test=False).sudo().search([])
        missing = clients.sudo().company_id - user.sudo().company_ids
        if missing:
            user.sudo().write({"company_ids": [Command.link(c.id) for c in missing]})

    def _set_scope(self, scope, granted):
        for client in self:
            scopes = self._spp_oauth_parse_scopes(client.scopes)
            scopes = scopes | {scope} if granted else scopes - {scope}
            client.scopes = " ".join(
                name for name in self._spp_oauth_scope_names if name in scopes
            )

    @api.depends("scopes")
    def _compute_scope_read(self):
        for client in self:
            client.scope_read = "read" in self._spp_oauth_parse_scopes(client.scopes)

    @api.depends("scopes")
    def _compute_scope_write(self):
        for client in self:
            client.scope_write = "write" in self._spp_oauth_parse_scopes(client.scopes)

    def _inverse_scope_read(self):
        for client in self:
            client._set_scope("read", client.scope_read)

    def _inverse_scope_write(self):
        for client in self:
            client._set_scope("write", client.scope_write)

    def export_data(self, fields_to_export):
        raise UserError(_("Not allowed to export on this model."))

    def _spp_attendance_show_secret(self, secret):
        """Open the one-time dialog showing the client id and ``secret``.

        The dialog's record is readable by the current user only (record rule) and is
        deleted when the dialog is closed with "Done".
        """
        self.ensure_one()
        wizard = self.env["spp.attendance.show.credential.wizard"].create(
            {
                "credential_id": self.id,
                "client_name": self.name,
                "display_client_id": self.client_id,
                "display_client_secret": secret,
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Client Credentials"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_generate_secret(self):
        """Give the client its first secret and show it once."""
        self.ensure_one()
        if self.has_secret:
            raise UserError(
                _("This client already has a secret: use Regenerate Secret instead.")
            )
        secret = self._spp_oauth_generate_secret()
        return self._spp_attendance_show_secret(secret)

    def action_regenerate_secret(self):
        """Replace the secret; the old secret and its tokens stop working at once."""
        self.ensure_one()
        secret = self._spp_oauth_generate_secret()
        self.message_post(
            body=_("Client secret regenerated: the previous secret no longer works.")
        )
        return self._spp_attendance_show_secret(secret)

    def action_revoke(self):
        """Archive the client: its tokens stop working at once."""
        self.action_archive()
        self.message_post(body=_("Client revoked: its tokens no longer work."))
        return True

    def _spp_oauth_env_user(self):
        # A dedicated technical user, so that audit fields and chatter name the API.
        # Looked up through ir.model.data's per-worker cache: env.ref() would add
        # a query to every request (its exists() check).
        user_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "spp_attendance.user_attendance_api", raise_if_not_found=False
        )
        if user_id:
            return self.env["res.users"].browse(user_id)
        return super()._spp_oauth_env_user()

    def _spp_oauth_env_context(self):
        return {"spp_attendance_api_client_id": self.id}
