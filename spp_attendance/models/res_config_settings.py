import json

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..tools import dci
from .attendance_import_log import (
    MAPPING_PARAMS,
    PARAM_DEFAULTS,
    PARAM_PREFIX,
    SECRET_PARAM,
)
from .attendance_list import UNIQUENESS_PARAMS


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # The rule asked for (the one in force, or the one a queued change will put
    # in force). Saving a different one queues a change, applied by a job
    # (spp.attendance.uniqueness.change): nothing that grows with the table
    # runs in the settings request.
    attendance_date_unique = fields.Boolean(string="Unique per date")
    attendance_time_unique = fields.Boolean(string="Unique per time")
    attendance_type_unique = fields.Boolean(string="Unique per type")
    attendance_location_unique = fields.Boolean(string="Unique per location")
    attendance_uniqueness_change_id = fields.Many2one(
        "spp.attendance.uniqueness.change",
        string="Last Rule Change",
        default=lambda self: self.env["spp.attendance.uniqueness.change"]._latest(),
        readonly=True,
    )
    attendance_uniqueness_state = fields.Selection(
        related="attendance_uniqueness_change_id.state", string="Rule Change"
    )
    attendance_uniqueness_message = fields.Text(
        related="attendance_uniqueness_change_id.message", string="Why Refused"
    )
    attendance_uniqueness_job_state = fields.Char(
        related="attendance_uniqueness_change_id.job_state", string="Job"
    )
    attendance_uniqueness_in_force = fields.Char(
        string="Rule in Force", compute="_compute_attendance_uniqueness_in_force"
    )

    @api.depends("attendance_uniqueness_change_id")
    def _compute_attendance_uniqueness_in_force(self):
        Attendance = self.env["spp.attendance.list"].sudo()
        flags = Attendance._get_uniqueness_flags()
        in_force = Attendance._uniqueness_labels(flags) if flags else _("none")
        for settings in self:
            settings.attendance_uniqueness_in_force = in_force

    @api.model
    def _get_uniqueness_values(self):
        """The rule asked for, as the four settings fields' values."""
        res = {}
        change = self.env["spp.attendance.uniqueness.change"]._latest()
        if change.state == "queued":
            flags = change._flags_tuple(change.flags)
        else:
            flags = self.env["spp.attendance.list"].sudo()._get_uniqueness_flags()
        for name in UNIQUENESS_PARAMS:
            res[f"attendance_{name}_unique"] = name in flags
        return res

    def set_values(self):
        self._check_registry_settings()
        res = super().set_values()
        self.env["spp.attendance.uniqueness.change"]._request(
            tuple(
                name for name in UNIQUENESS_PARAMS if self[f"attendance_{name}_unique"]
            )
        )
        self._set_registry_search_criteria()
        return res

    def action_attendance_uniqueness_conflicts(self):
        return self.attendance_uniqueness_change_id.action_show_conflicts()

    # ------------------------------------------------------------------
    # Registry import (Settings > Attendance > Registry Import)
    #
    # Stored as ``spp_attendance.registry_*`` system parameters. The client
    # secret is write-only: the field always reads empty, only system
    # administrators can set it, and ``registry_client_secret_set`` says
    # whether one is stored.
    # ------------------------------------------------------------------

    registry_server_url = fields.Char(
        string="Registry Server URL",
        config_parameter="spp_attendance.registry_server_url",
        help="Base URL of the registry, with its path prefix if any "
        "(e.g. https://registry.example.org/namespace/v1.0.0).",
    )
    registry_token_endpoint = fields.Char(
        string="Token Endpoint",
        config_parameter="spp_attendance.registry_token_endpoint",
        default=dci.DEFAULT_TOKEN_ENDPOINT,
    )
    registry_search_endpoint = fields.Char(
        string="Search Endpoint",
        config_parameter="spp_attendance.registry_search_endpoint",
        default=dci.DEFAULT_SEARCH_ENDPOINT,
    )
    registry_client_id = fields.Char(
        string="Registry Client ID",
        config_parameter="spp_attendance.registry_client_id",
    )
    registry_client_secret = fields.Char(
        compute="_compute_registry_client_secret",
        inverse="_inverse_registry_client_secret",
        readonly=False,
        groups="base.group_system",
        help="Write-only: type a new secret to replace the stored one.",
    )
    registry_client_secret_set = fields.Boolean(
        string="Client Secret Is Set", compute="_compute_registry_client_secret"
    )
    registry_token_style = fields.Selection(
        [
            (dci.TOKEN_STYLE_FORM, "Form-encoded (RFC 6749, DCI standard)"),
            (dci.TOKEN_STYLE_JSON, "JSON body (upstream OpenSPP)"),
        ],
        string="Token Request Style",
        config_parameter="spp_attendance.registry_token_style",
        default=dci.TOKEN_STYLE_FORM,
    )
    registry_token_path = fields.Char(
        string="Token Path",
        config_parameter="spp_attendance.registry_token_path",
        default=dci.DEFAULT_TOKEN_PATH,
        help="Dotted path to the access token in the token response.",
    )
    registry_mapping_preset = fields.Selection(
        [
            ("dci", "DCI Social Registry v1.0.0"),
            ("legacy", "Legacy OpenSPP / OpenCRVS"),
            ("custom", "Custom"),
        ],
        string="Mapping Preset",
        config_parameter="spp_attendance.registry_mapping_preset",
        default="dci",
    )
    registry_records_path = fields.Char(
        string="Records Path",
        config_parameter="spp_attendance.registry_records_path",
        help="Path to the list of person records in the search response; [*] "
        "collects the lists of every element.",
    )
    registry_identifier_path = fields.Char(
        string="Person Identifier Path",
        config_parameter="spp_attendance.registry_identifier_path",
    )
    registry_family_name_path = fields.Char(
        string="Family Name Path",
        config_parameter="spp_attendance.registry_family_name_path",
    )
    registry_given_name_path = fields.Char(
        string="Given Name Path",
        config_parameter="spp_attendance.registry_given_name_path",
    )
    registry_addl_name_path = fields.Char(
        string="Additional Names Path",
        config_parameter="spp_attendance.registry_addl_name_path",
    )
    registry_gender_path = fields.Char(
        string="Gender Path", config_parameter="spp_attendance.registry_gender_path"
    )
    registry_email_path = fields.Char(
        string="Email Path", config_parameter="spp_attendance.registry_email_path"
    )
    registry_phone_path = fields.Char(
        string="Phone Path", config_parameter="spp_attendance.registry_phone_path"
    )
    registry_search_criteria = fields.Text(
        string="Search Query",
        help="DCI search_criteria sent to the registry (JSON: reg_type, "
        "query_type, query); pagination is added by the import.",
    )
    registry_page_size = fields.Integer(
        string="Page Size",
        config_parameter="spp_attendance.registry_page_size",
        default=dci.DEFAULT_PAGE_SIZE,
    )
    registry_timeout = fields.Integer(
        string="Timeout (seconds)",
        config_parameter="spp_attendance.registry_timeout",
        default=dci.DEFAULT_TIMEOUT,
    )
    registry_sender_id = fields.Char(
        string="Sender ID",
        config_parameter="spp_attendance.registry_sender_id",
        help="Our id as registered with the registry (default: this server's URL).",
    )
    registry_receiver_id = fields.Char(
        string="Receiver ID",
        config_parameter="spp_attendance.registry_receiver_id",
        help="The registry's id (optional).",
    )

    def _compute_registry_client_secret(self):
        is_set = bool(self.env["ir.config_parameter"].sudo().get_param(SECRET_PARAM))
        for settings in self:
            # never read back: the field only ever receives a new secret
            settings.registry_client_secret = False
            settings.registry_client_secret_set = is_set

    def _inverse_registry_client_secret(self):
        for settings in self:
            secret = (settings.registry_client_secret or "").strip()
            if secret:
                self.env["ir.config_parameter"].sudo().set_param(SECRET_PARAM, secret)

    def action_registry_clear_secret(self):
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators can change the registry secret."))
        self.env["ir.config_parameter"].sudo().set_param(SECRET_PARAM, False)
        return {"type": "ir.actions.client", "tag": "reload"}

    @api.onchange("registry_mapping_preset")
    def _onchange_registry_mapping_preset(self):
        preset = dci.PRESETS.get(self.registry_mapping_preset)
        for key, path in (preset or {}).items():
            self[f"registry_{MAPPING_PARAMS[key]}"] = path

    @api.onchange(*(f"registry_{param}" for param in MAPPING_PARAMS.values()))
    def _onchange_registry_mapping_paths(self):
        paths = {
            key: (self[f"registry_{param}"] or "").strip()
            for key, param in MAPPING_PARAMS.items()
        }
        self.registry_mapping_preset = next(
            (name for name, preset in dci.PRESETS.items() if preset == paths), "custom"
        )

    def get_values(self):
        res = super().get_values()
        res.update(self._get_uniqueness_values())
        res["registry_search_criteria"] = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(
                PARAM_PREFIX + "search_criteria", PARAM_DEFAULTS["search_criteria"]
            )
        )
        return res

    def _set_registry_search_criteria(self):
        criteria = dci.parse_search_criteria(self.registry_search_criteria or "")
        self.env["ir.config_parameter"].sudo().set_param(
            PARAM_PREFIX + "search_criteria", json.dumps(criteria, indent=1)
        )

    def _check_registry_settings(self):
        for settings in self:
            try:
                if settings.registry_server_url:
                    dci.join_url(
                        settings.registry_server_url, settings.registry_search_endpoint
                    )
                dci.parse_search_criteria(settings.registry_search_criteria or "")
                for param in MAPPING_PARAMS.values():
                    dci.parse_path(settings[f"registry_{param}"] or "")
            except dci.DCIError as err:
                raise ValidationError(_("Registry import settings: %s", err.message))
            if not 1 <= settings.registry_page_size <= dci.MAX_PAGE_SIZE:
                raise ValidationError(
                    _(
                        "Registry import settings: the page size must be between 1 "
                        "and %s.",
                        dci.MAX_PAGE_SIZE,
                    )
                )
            if not dci.MIN_TIMEOUT <= settings.registry_timeout <= dci.MAX_TIMEOUT:
                raise ValidationError(
                    _(
                        "Registry import settings: the timeout must be between "
                        "%(min)s and %(max)s seconds.",
                        min=dci.MIN_TIMEOUT,
                        max=dci.MAX_TIMEOUT,
                    )
                )

    def action_open_registry_import(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "spp_attendance.action_registry_import_wizard"
        )
