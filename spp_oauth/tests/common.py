"""A test-only API client model and routes, so that spp_oauth is tested on its own.

The model is taken out of the addon's model list as soon as it is defined, so it is
never part of a real registry nor of a database: :class:`SppOAuthHttpCase` adds it to
the test registry for one test class (its table lives in the test transaction, which
is rolled back) and removes it afterwards. The routes exist once this module is
imported.
"""

import base64
import logging

from odoo import fields, http, models
from odoo.http import request
from odoo.tests import HttpCase

from odoo.addons.spp_oauth.http import require_bearer, token_endpoint_response
from odoo.addons.spp_oauth.tools import tokens

_logger = logging.getLogger(__name__)

TEST_CLIENT_MODEL = "spp.oauth.test.client"
TEST_AUDIENCE = "spp_oauth_test"
TEST_REALM = "spp_oauth_test"
TEST_MAX_BODY_SIZE = 4096
PREFIX = "/spp_oauth/test"


class SppOAuthTestClient(models.Model):
    _name = TEST_CLIENT_MODEL
    _inherit = "spp.oauth.client.mixin"
    _description = "spp_oauth test API client"
    _module = "spp_oauth"

    _spp_oauth_audience = TEST_AUDIENCE
    _spp_oauth_scope_names = ("read", "write", "admin")

    name = fields.Char(required=True)

    def _spp_oauth_env_context(self):
        return {"spp_oauth_test_client_id": self.id}


# Never loaded with the addon: only SppOAuthHttpCase adds it to the test registry.
models.MetaModel.module_to_models["spp_oauth"].remove(SppOAuthTestClient)


#: Options of every test route: plain HTTP, no CSRF token, no session.
ROUTE = {"type": "http", "csrf": False, "save_session": False}
#: ... protected by the auth method with the test client model.
BEARER = dict(ROUTE, auth="spp_bearer", spp_client_model=TEST_CLIENT_MODEL)


def _whoami():
    return request.make_json_response(
        {
            "client_id": request.spp_oauth_client.client_id,
            "scope": request.spp_oauth_claims["scope"],
            "uid": request.env.uid,
            "context": dict(request.env.context),
        }
    )


class SppOAuthTestController(http.Controller):
    @http.route(f"{PREFIX}/read", methods=["GET"], spp_scope="read", **BEARER)
    def bearer_read(self, **kwargs):
        return _whoami()

    @http.route(
        f"{PREFIX}/write",
        methods=["POST"],
        spp_audience=TEST_AUDIENCE,
        spp_scope="write",
        spp_max_body_size=TEST_MAX_BODY_SIZE,
        **BEARER,
    )
    def bearer_write(self, **kwargs):
        return request.make_json_response(
            {"ok": True, "size": len(request.httprequest.get_data())}
        )

    @http.route(f"{PREFIX}/any_scope", methods=["GET"], **BEARER)
    def any_scope(self, **kwargs):
        return _whoami()

    @http.route(f"{PREFIX}/misconfigured", methods=["GET"], auth="spp_bearer", **ROUTE)
    def misconfigured(self, **kwargs):
        return request.make_json_response({"reached": True})

    @http.route(f"{PREFIX}/legacy/read", methods=["GET"], auth="none", **ROUTE)
    @require_bearer(TEST_CLIENT_MODEL, TEST_AUDIENCE, scope="read")
    def legacy_read(self, **kwargs):
        return _whoami()

    @http.route(
        f"{PREFIX}/token",
        methods=["POST"],
        spp_max_body_size=TEST_MAX_BODY_SIZE,
        auth="none",
        **ROUTE,
    )
    def token(self, **kwargs):
        return token_endpoint_response(
            TEST_CLIENT_MODEL, realm=TEST_REALM, logger=_logger
        )


def basic_auth(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class SppOAuthHttpCase(HttpCase):
    """HttpCase with the test client model in the registry and the test routes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._add_test_client_model()
        cls.registry.clear_cache("routing")

    @classmethod
    def _add_test_client_model(cls):
        registry, cr = cls.registry, cls.env.cr
        cls.env.flush_all()
        SppOAuthTestClient._build_model(registry, cr)
        cls.addClassCleanup(cls._remove_test_client_model)
        registry.setup_models(cr)
        registry.init_models(cr, [TEST_CLIENT_MODEL], {"module": "spp_oauth"})

    @classmethod
    def _remove_test_client_model(cls):
        registry = cls.registry
        registry.models.pop(TEST_CLIENT_MODEL, None)
        registry["spp.oauth.client.mixin"]._inherit_children.discard(TEST_CLIENT_MODEL)
        # TransactionCase's own class cleanup (registered before this one, so run
        # after it) sets the models up again: registry.registry_invalidated is set.
        registry.registry_invalidated = True

    @classmethod
    def _create_client(cls, name, scopes="read write", **values):
        client = cls.env[TEST_CLIENT_MODEL].create(
            dict({"name": name, "scopes": scopes}, **values)
        )
        return client, client._spp_oauth_generate_secret()

    def _sign(self, client=None, key=None, **kwargs):
        """A token signed with the current (or given) database key."""
        client = client or self.client
        key = key or self.env["spp.oauth.key"].search([("state", "=", "current")])
        params = {
            "private_pem": key.private_key_pem,
            "kid": key.kid,
            "algorithm": key.algorithm,
            "issuer": self.env["spp.oauth.key"]._spp_oauth_issuer(),
            "subject": client.client_id,
            "audience": TEST_AUDIENCE,
            "scopes": ["read", "write"],
            "lifetime": 600,
            "extra_claims": {
                "client_id": client.client_id,
                "sver": client.secret_version,
            },
        }
        params.update(kwargs)
        return tokens.issue(**params)[0]
