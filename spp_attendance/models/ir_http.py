import werkzeug.exceptions

from odoo import models
from odoo.http import request

#: Paths of the API routes that take an identifier in the path.
API_PATH_PREFIXES = ("/attendance/", "/subscriber/")


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _handle_error(cls, exception):
        """Answer an unroutable API path with the API's JSON 404, not an HTML page.

        ``/attendance/<person_id>`` cannot match an identifier holding a line break
        (werkzeug's path converter stops at it), so such a request never reaches the
        controller; API clients still get the documented error envelope.
        """
        if isinstance(exception, werkzeug.exceptions.NotFound) and (
            request.httprequest.path.startswith(API_PATH_PREFIXES)
        ):
            return request.make_json_response(
                {
                    "error": {
                        "code": 404,
                        "message": "Not found: use the person_id query parameter "
                        "for identifiers with line breaks.",
                    }
                },
                status=404,
            )
        return super()._handle_error(exception)
