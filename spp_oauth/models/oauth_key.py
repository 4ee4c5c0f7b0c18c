"""Signing keys of the access tokens, and the Python API to issue and verify tokens."""

import logging
import os
import threading
from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError

from ..tools import tokens

_logger = logging.getLogger(__name__)

#: Token issuer (``iss``) unless the system parameter ``spp_oauth.issuer`` is set.
DEFAULT_ISSUER = "openspp:auth-service"
#: Server configuration option and environment variable naming a private key PEM file.
CONFIG_OPTION = "spp_oauth_private_key_file"
ENV_VARIABLE = "SPP_OAUTH_PRIVATE_KEY_FILE"
#: A previous key is kept for verification this long after it stopped signing.
KEY_RETENTION = timedelta(seconds=tokens.MAX_TOKEN_LIFETIME + tokens.DEFAULT_LEEWAY)

# (path, mtime_ns, size) -> (kid, algorithm, private_pem, public_pem), per process
_config_key_cache = {}
_config_key_lock = threading.Lock()


def _config_key_path():
    """The operator's private key file, from the server configuration or environment."""
    return tools.config.get(CONFIG_OPTION) or os.environ.get(ENV_VARIABLE) or None


def _load_config_key(path):
    """Read and parse the operator's key file (cached until the file changes)."""
    try:
        stat = os.stat(path)
        cache_key = (path, stat.st_mtime_ns, stat.st_size)
        with _config_key_lock:
            if cache_key not in _config_key_cache:
                with open(path, encoding="ascii") as handle:
                    private_pem = handle.read()
                algorithm = tokens.algorithm_for_private_key(
                    tokens.load_private_key(private_pem)
                )
                public_pem = tokens.public_pem_from_private(private_pem)
                kid = tokens.jwk_thumbprint(public_pem)
                _config_key_cache.clear()
                _config_key_cache[cache_key] = (kid, algorithm, private_pem, public_pem)
            return _config_key_cache[cache_key]
    except (OSError, ValueError, TypeError, UnicodeDecodeError) as exc:
        # Never log the file content: only the path and the kind of problem.
        _logger.warning(
            "spp_oauth: the signing key file %s could not be used (%s)",
            path,
            type(exc).__name__,
        )
        raise tokens.OAuthTokenError(
            "no_key", "the configured signing key could not be loaded"
        ) from None


class SppOAuthKey(models.Model):
    """A signing key pair of the access tokens.

    Exactly one key is ``current`` (it signs new tokens); ``previous`` keys only verify
    tokens they signed until those have expired (``KEY_RETENTION`` after rotation);
    ``retired`` keys are kept for the record, without their private part.

    The private part is readable by system administrators only (model ACL and field
    ``groups``) and is never written to the log. When the operator supplies a key file
    (server option ``spp_oauth_private_key_file`` or environment variable
    ``SPP_OAUTH_PRIVATE_KEY_FILE``), that key signs the tokens; only its public part is
    recorded here, so tokens it signed stay verifiable after the file changes.
    """

    _name = "spp.oauth.key"
    _description = "OAuth Signing Key"
    _order = "state_sequence, id desc"
    _rec_name = "kid"

    kid = fields.Char("Key ID", required=True, readonly=True, index=True, copy=False)
    algorithm = fields.Selection(
        [("RS256", "RS256 (RSA 2048)"), ("ES256", "ES256 (EC P-256)")],
        required=True,
        readonly=True,
        default="RS256",
    )
    public_key_pem = fields.Text("Public Key", required=True, readonly=True)
    private_key_pem = fields.Text(
        "Private Key",
        readonly=True,
        copy=False,
        prefetch=False,
        groups="base.group_system",
    )
    source = fields.Selection(
        [("database", "Generated"), ("config", "Server configuration")],
        required=True,
        readonly=True,
        default="database",
    )
    state = fields.Selection(
        [("current", "Current"), ("previous", "Previous"), ("retired", "Retired")],
        required=True,
        readonly=True,
        default="current",
        index=True,
    )
    state_sequence = fields.Integer(compute="_compute_state_sequence", store=True)
    retired_at = fields.Datetime(
        "Stopped Signing At",
        readonly=True,
        help="Tokens signed by this key stay valid until they expire.",
    )

    _sql_constraints = [("kid_uniq", "unique(kid)", "The key id must be unique.")]

    # Every change of a key clears the verification keys cached by each worker
    # (Odoo's registry cache, signalled through the database to every worker and
    # node at the end of the changing transaction).
    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    @api.depends("state")
    def _compute_state_sequence(self):
        order = {"current": 0, "previous": 1, "retired": 2}
        for key in self:
            key.state_sequence = order.get(key.state, 3)

    def _check_system(self):
        if not (self.env.su or self.env.user._is_system()):
            raise AccessError(_("Only system administrators can manage signing keys."))

    # ------------------------------------------------------------------------------
    # Key management
    # ------------------------------------------------------------------------------

    @api.model
    def _spp_oauth_default_algorithm(self):
        value = self.env["ir.config_parameter"].sudo().get_param("spp_oauth.algorithm")
        return value if value in tokens.ALGORITHMS else "RS256"

    @api.model
    def _spp_oauth_generate_key(self, algorithm=None):
        """Create a new current key; the former current key becomes ``previous``."""
        algorithm = algorithm or self._spp_oauth_default_algorithm()
        private_pem = tokens.generate_private_key(algorithm)
        public_pem = tokens.public_pem_from_private(private_pem)
        Key = self.sudo()
        Key.search([("state", "=", "current")]).write(
            {"state": "previous", "retired_at": fields.Datetime.now()}
        )
        key = Key.create(
            {
                "kid": tokens.jwk_thumbprint(public_pem),
                "algorithm": algorithm,
                "public_key_pem": public_pem,
                "private_key_pem": private_pem,
                "source": "database",
                "state": "current",
            }
        )
        _logger.info("spp_oauth: new %s signing key %s", algorithm, key.kid)
        return key

    @api.model
    def _spp_oauth_init_keys(self):
        """Install hook: make sure a signing key exists, so tokens work at once."""
        if not self.sudo().search_count([("state", "=", "current")]):
            self._spp_oauth_generate_key()

    @api.model
    def action_rotate(self, algorithm=None):
        """Rotate the signing key (system administrators only).

        New tokens are signed with a new key at once; tokens signed with the previous
        key stay valid until they expire. With an operator-supplied key file, rotate by
        replacing the file instead.
        """
        self._check_system()
        if _config_key_path():
            raise UserError(
                _(
                    "The signing key comes from the server configuration (%s): replace "
                    "that file to rotate it.",
                    CONFIG_OPTION,
                )
            )
        if algorithm is not None and algorithm not in tokens.ALGORITHMS:
            raise UserError(_("Unsupported algorithm %s.", algorithm))
        self._spp_oauth_generate_key(algorithm)
        return {"type": "ir.actions.client", "tag": "reload"}

    @api.model
    def _spp_oauth_record_config_key(self, kid, algorithm, public_pem):
        """Record the operator key's public part and make it the current key.

        Written with SQL upserts so concurrent workers cannot collide; runs only when
        the configured key differs from the recorded current key.
        """
        cr = self.env.cr
        cr.execute(
            """
            INSERT INTO spp_oauth_key (kid, algorithm, public_key_pem, source, state,
                                       state_sequence, create_date, write_date,
                                       create_uid, write_uid)
            VALUES (%s, %s, %s, 'config', 'current', 0, now() at time zone 'UTC',
                    now() at time zone 'UTC', %s, %s)
            ON CONFLICT (kid) DO UPDATE
               SET state = 'current', state_sequence = 0, retired_at = NULL
             WHERE spp_oauth_key.state != 'current'
            """,
            (kid, algorithm, public_pem, self.env.uid, self.env.uid),
        )
        cr.execute(
            """
            UPDATE spp_oauth_key
               SET state = 'previous', state_sequence = 1,
                   retired_at = now() at time zone 'UTC'
             WHERE state = 'current' AND kid != %s
            """,
            (kid,),
        )
        self.invalidate_model()
        self.env.registry.clear_cache()
        _logger.info("spp_oauth: signing with the configured key %s", kid)

    @api.model
    def _spp_oauth_signing_key(self):
        """Return ``(kid, algorithm, private_pem)`` of the key that signs new tokens."""
        Key = self.sudo()
        path = _config_key_path()
        current = Key.search([("state", "=", "current")], limit=1)
        if path:
            kid, algorithm, private_pem, public_pem = _load_config_key(path)
            if current.kid != kid:
                Key._spp_oauth_record_config_key(kid, algorithm, public_pem)
            return kid, algorithm, private_pem
        if not current or not current.private_key_pem:
            # No key yet, or the operator removed the key file: generate one.
            current = Key._spp_oauth_generate_key()
        return current.kid, current.algorithm, current.private_key_pem

    @api.model
    def _spp_oauth_verification_keys(self):
        """``{kid: (algorithm, public_pem)}`` of the keys whose tokens may be valid."""
        cutoff = fields.Datetime.now() - KEY_RETENTION
        return {
            kid: (algorithm, public_pem)
            for kid, algorithm, public_pem, state, retired_at in self._spp_oauth_keys()
            if state == "current" or (retired_at and retired_at > cutoff)
        }

    @api.model
    @tools.ormcache()
    def _spp_oauth_keys(self):
        """The current and previous keys' ``(kid, algorithm, public_pem, state,
        retired_at)``, cached per worker: verifying a token costs no query. The
        public part only (never the private key) is kept in memory."""
        self.env.cr.execute(
            """
            SELECT kid, algorithm, public_key_pem, state, retired_at
              FROM spp_oauth_key
             WHERE state IN ('current', 'previous')
            """
        )
        return tuple(self.env.cr.fetchall())

    @api.autovacuum
    def _gc_retired_keys(self):
        """Retire previous keys whose tokens have all expired (dropping the private
        part)."""
        cutoff = fields.Datetime.now() - KEY_RETENTION
        self.sudo().search(
            [("state", "=", "previous"), ("retired_at", "<=", cutoff)]
        ).write({"state": "retired", "private_key_pem": False})

    # ------------------------------------------------------------------------------
    # Python API
    # ------------------------------------------------------------------------------

    @api.model
    def _spp_oauth_issuer(self):
        return (
            self.env["ir.config_parameter"].sudo().get_param("spp_oauth.issuer")
            or DEFAULT_ISSUER
        )

    @api.model
    def issue_token(
        self, subject, audience, scopes, lifetime_seconds, extra_claims=None
    ):
        """Sign an access token; return ``(token, claims)``.

        :param str subject: the ``sub`` claim (an API client id).
        :param str audience: the ``aud`` claim: the API the token is meant for.
        :param scopes: iterable of scope names (``scope`` claim, space separated).
        :param int lifetime_seconds: clamped to 60 s .. 24 h.
        :param dict extra_claims: additional claims (cannot replace registered ones).

        Callable in superuser mode or by system administrators only, since a token
        grants API access: controllers call it through ``sudo()``.
        """
        self._check_system()
        kid, algorithm, private_pem = self._spp_oauth_signing_key()
        return tokens.issue(
            private_pem=private_pem,
            kid=kid,
            algorithm=algorithm,
            issuer=self._spp_oauth_issuer(),
            subject=subject,
            audience=audience,
            scopes=scopes,
            lifetime=lifetime_seconds,
            extra_claims=extra_claims,
        )

    @api.model
    def verify_token(self, token, audience):
        """Verify an access token meant for ``audience``; return its claims.

        :raises OAuthTokenError: for any invalid token, with a short ``reason`` code.
        """
        return tokens.verify(
            token,
            keys=self._spp_oauth_verification_keys(),
            issuer=self._spp_oauth_issuer(),
            audience=audience,
        )

    @api.model
    def get_jwks(self):
        """The public JWKS document of the keys whose tokens may still be valid."""
        keys = self._spp_oauth_verification_keys()
        return tokens.build_jwks(
            (kid, algorithm, pem) for kid, (algorithm, pem) in sorted(keys.items())
        )
