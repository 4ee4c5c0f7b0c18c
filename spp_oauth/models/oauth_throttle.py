"""Failure counters shared by all worker processes (brute-force protection)."""

import contextlib
from datetime import timedelta

from odoo import api, fields, models, sql_db

#: Defaults, overridable with system parameters of the same name.
THROTTLE_DEFAULTS = {
    # failed authentications allowed per client id within the window
    "spp_oauth.throttle_client_limit": 10,
    # failed authentications allowed per remote address within the window
    "spp_oauth.throttle_ip_limit": 30,
    # window length, in seconds (a blocked key is released when its window ends)
    "spp_oauth.throttle_window": 300,
}


class SppOAuthThrottle(models.Model):
    """Fixed-window failure counters, one row per key (``client:<id>``, ``ip:<addr>``).

    The counters live in the database so that the limit holds across worker processes
    and restarts; they are written with atomic upserts through a separate cursor that
    commits at once, so a failure is counted even when the request's own transaction
    is rolled back. Only the superuser reads or writes them.
    """

    _name = "spp.oauth.throttle"
    _description = "OAuth Failure Counter"
    _log_access = False
    _rec_name = "throttle_key"

    throttle_key = fields.Char(required=True, index=True, readonly=True)
    window_start = fields.Datetime(required=True, readonly=True)
    failures = fields.Integer(required=True, readonly=True, default=0)

    _sql_constraints = [
        ("throttle_key_uniq", "unique(throttle_key)", "One counter per key.")
    ]

    @api.model
    def _spp_throttle_settings(self):
        """``(client_limit, ip_limit, window_seconds)`` from the system parameters."""
        get = self.env["ir.config_parameter"].sudo().get_param
        values = []
        for name, default in THROTTLE_DEFAULTS.items():
            try:
                values.append(max(1, int(get(name, default))))
            except (TypeError, ValueError):
                values.append(default)
        return tuple(values)

    @contextlib.contextmanager
    def _spp_throttle_cursor(self):
        """A cursor of its own that commits on exit (a test cursor in test mode).

        READ COMMITTED lets concurrent upserts of one counter wait for each other
        instead of failing with a serialization error.
        """
        with self.pool.cursor() as cr:
            if isinstance(cr, sql_db.Cursor):
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            yield cr

    @api.model
    def _spp_throttle_retry_after(self, limits, window, cr=None):
        """Seconds until the first blocked key is released, or 0 when none is blocked.

        :param dict limits: ``{key: max_failures}``.
        :param int window: the window length in seconds.
        """
        if not limits:
            return 0
        if cr is None:
            with self._spp_throttle_cursor() as own_cr:
                return self._spp_throttle_retry_after(limits, window, cr=own_cr)
        cr.execute(
            """
            SELECT throttle_key, failures,
                   EXTRACT(EPOCH FROM window_start + %s * interval '1 second'
                                      - (clock_timestamp() at time zone 'UTC'))
              FROM spp_oauth_throttle
             WHERE throttle_key IN %s
               AND window_start > (clock_timestamp() at time zone 'UTC')
                                  - %s * interval '1 second'
            """,
            (window, tuple(limits), window),
        )
        retry_after = 0
        for key, failures, remaining in cr.fetchall():
            if failures >= limits[key]:
                retry_after = max(retry_after, int(remaining) + 1)
        return retry_after

    @api.model
    def _spp_throttle_record_failure(self, keys, window, cr=None):
        """Count one failure for each key; return ``{key: failures in window}``."""
        if not keys:
            return {}
        if cr is None:
            with self._spp_throttle_cursor() as own_cr:
                return self._spp_throttle_record_failure(keys, window, cr=own_cr)
        counts = {}
        for key in sorted(set(keys)):  # a fixed order avoids deadlocks between workers
            cr.execute(
                """
                INSERT INTO spp_oauth_throttle (throttle_key, window_start, failures)
                VALUES (%(key)s, clock_timestamp() at time zone 'UTC', 1)
                ON CONFLICT (throttle_key) DO UPDATE SET
                    failures = CASE
                        WHEN spp_oauth_throttle.window_start
                             <= (clock_timestamp() at time zone 'UTC')
                                - %(window)s * interval '1 s'
                        THEN 1 ELSE spp_oauth_throttle.failures + 1 END,
                    window_start = CASE
                        WHEN spp_oauth_throttle.window_start
                             <= (clock_timestamp() at time zone 'UTC')
                                - %(window)s * interval '1 s'
                        THEN clock_timestamp() at time zone 'UTC'
                        ELSE spp_oauth_throttle.window_start END
                RETURNING failures
                """,
                {"key": key, "window": window},
            )
            counts[key] = cr.fetchone()[0]
        return counts

    @api.autovacuum
    def _gc_expired_counters(self):
        """Delete counters whose window ended long ago."""
        window = self._spp_throttle_settings()[2]
        cutoff = fields.Datetime.now() - timedelta(seconds=window) - timedelta(hours=1)
        self.env.cr.execute(
            "DELETE FROM spp_oauth_throttle WHERE window_start < %s", (cutoff,)
        )
