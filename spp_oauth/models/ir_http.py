import logging

import werkzeug.exceptions

from odoo import api, models
from odoo.http import request

from ..http import AUTH_METHOD, body_too_large, check_bearer, use_client_env

_logger = logging.getLogger(__name__)


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _authenticate(cls, endpoint):
        """Refuse bodies over ``spp_max_body_size``, then authenticate.

        The size is checked first, so that an oversized request gets 413 (or 411)
        whatever its credentials, before its body is read or parsed. The route's
        ``routing`` is kept on the request for the ``spp_bearer`` auth method, which
        Odoo calls without arguments.
        """
        routing = endpoint.routing
        max_bytes = routing.get("spp_max_body_size")
        if max_bytes:
            response = body_too_large(max_bytes)
            if response is not None:
                werkzeug.exceptions.abort(response)
        request.spp_oauth_routing = routing
        return super()._authenticate(endpoint)

    @classmethod
    def _auth_method_spp_bearer(cls):
        """``auth="spp_bearer"``: a valid bearer token of the route's client model.

        The route names ``spp_client_model`` (inherits ``spp.oauth.client.mixin``) and
        optionally ``spp_scope`` (the scope the token must carry) and ``spp_audience``
        (default: the client model's ``_spp_oauth_audience``). Refusals are raised as
        ``BearerAuthError`` (401 ``invalid_token``, 403 ``insufficient_scope``), whose
        prepared JSON response Odoo sends as it is.
        """
        routing = getattr(request, "spp_oauth_routing", None) or {}
        client_model = routing.get("spp_client_model")
        if not client_model:
            _logger.error(
                "route %s: auth=%r needs spp_client_model",
                routing.get("routes"),
                AUTH_METHOD,
            )
            raise werkzeug.exceptions.InternalServerError()
        # As auth="none" until _pre_dispatch is done (Odoo's _pre_dispatch reads the
        # language as the current user, which the API user may not be allowed to).
        request.env = api.Environment(request.env.cr, None, request.env.context)
        check_bearer(
            client_model,
            audience=routing.get("spp_audience"),
            scope=routing.get("spp_scope"),
            update_env=False,
        )

    @classmethod
    def _pre_dispatch(cls, rule, args):
        result = super()._pre_dispatch(rule, args)
        routing = rule.endpoint.routing
        client = getattr(request, "spp_oauth_client", None)
        if routing.get("auth") == AUTH_METHOD and client is not None:
            # The controller runs as the client's env user, with its context only.
            use_client_env(client)
        max_bytes = routing.get("spp_max_body_size")
        if max_bytes:
            # Also bound what werkzeug's form parser accepts.
            request.httprequest.max_content_length = max_bytes
        return result
