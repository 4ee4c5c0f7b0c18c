"""Helpers shared by the API client and token tests."""

import base64

from odoo.addons.spp_oauth.tools import tokens

CLIENT_MODEL = "spp.attendance.api.client.credential"
AUDIENCE = "spp_attendance"


def basic_auth(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class ApiClientMixin:
    """Creates API clients with a known secret (as the superuser of the test)."""

    @classmethod
    def _create_client(cls, name, scopes="read write", **values):
        client = cls.env[CLIENT_MODEL].create(
            dict({"name": name, "scopes": scopes}, **values)
        )
        return client, client._spp_oauth_generate_secret()

    def _sign(self, claims=None, key=None, **kwargs):
        """A token signed with the current (or given) database key."""
        key = key or self.env["spp.oauth.key"].search([("state", "=", "current")])
        params = {
            "private_pem": key.private_key_pem,
            "kid": key.kid,
            "algorithm": key.algorithm,
            "issuer": self.env["spp.oauth.key"]._spp_oauth_issuer(),
            "subject": self.client.client_id,
            "audience": AUDIENCE,
            "scopes": ["read", "write"],
            "lifetime": 600,
            "extra_claims": {
                "client_id": self.client.client_id,
                "sver": self.client.secret_version,
            },
        }
        params.update(kwargs)
        return tokens.issue(**params)[0]
