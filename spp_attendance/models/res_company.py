from odoo import api, models, tools


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model
    @tools.ormcache("company_id")
    def _spp_parent_path(self, company_id):
        # read() fetches only this column (the attribute would prefetch the row)
        return self.sudo().browse(company_id).read(["parent_path"])[0]["parent_path"]

    def _spp_cache_parent_path(self):
        """Put the companies' ``parent_path`` in the transaction's cache from the
        worker's copy.

        Every API request reads it otherwise (one query): res.partner's
        multi-company rule (``company_id parent_of company_ids``) applies to
        subscribers through ``_inherits``. A company's ``parent_path`` never
        changes once it is created: Odoo 17 refuses to change a company's parent
        (``res.company.write``).
        """
        field = self._fields["parent_path"]
        cache = self.env.cache
        for company in self:
            if not cache.contains(company, field):
                cache.set(company, field, self._spp_parent_path(company.id))
