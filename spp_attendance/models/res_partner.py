from odoo import api, models

from .attendance_subscriber_import import page_defaults, shared_precomputes


class ResPartner(models.Model):
    """The contacts of a registry import's page: defaults and precomputed values
    computed once per page when they cannot differ (see
    ``attendance_subscriber_import.py``); ``create()`` is otherwise untouched."""

    _inherit = "res.partner"

    @api.model
    def _add_missing_default_values(self, values):
        return page_defaults(self, values, super()._add_missing_default_values)

    def _add_precomputed_values(self, vals_list):
        return shared_precomputes(self, vals_list, super()._add_precomputed_values)
