import werkzeug.exceptions

from odoo import models
from odoo.http import request

from ..http import body_too_large


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        """Refuse bodies over a route's ``spp_max_body_size`` before they are parsed."""
        max_bytes = rule.endpoint.routing.get("spp_max_body_size")
        if max_bytes:
            response = body_too_large(max_bytes)
            if response is not None:
                werkzeug.exceptions.abort(response)
        result = super()._pre_dispatch(rule, args)
        if max_bytes:
            # Also bound what werkzeug's form parser accepts.
            request.httprequest.max_content_length = max_bytes
        return result
