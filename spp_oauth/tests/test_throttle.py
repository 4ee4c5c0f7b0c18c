"""Failure counters shared between worker processes (separate database connections)."""

import uuid

from odoo import sql_db
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestThrottleAcrossConnections(TransactionCase):
    """Two independent connections stand for two Odoo worker processes."""

    def setUp(self):
        super().setUp()
        self.Throttle = self.env["spp.oauth.throttle"]
        self.prefix = f"test-{uuid.uuid4().hex}:"
        db = sql_db.db_connect(self.env.cr.dbname)
        self.worker_a = db.cursor()
        self.worker_b = db.cursor()
        self.addCleanup(self._cleanup, db)

    def _cleanup(self, db):
        self.worker_a.close()
        self.worker_b.close()
        with db.cursor() as cr:
            cr.execute(
                "DELETE FROM spp_oauth_throttle WHERE throttle_key LIKE %s",
                (self.prefix + "%",),
            )

    def test_limit_holds_across_workers(self):
        client = self.prefix + "client:c-id-x"
        address = self.prefix + "ip:192.0.2.1"
        limits = {client: 3, address: 5}
        window = 300
        for expected, worker in ((1, self.worker_a), (2, self.worker_b)):
            counts = self.Throttle._spp_throttle_record_failure(
                [client, address], window, cr=worker
            )
            worker.commit()
            self.assertEqual(counts[client], expected)
        self.assertEqual(
            self.Throttle._spp_throttle_retry_after(limits, window, cr=self.worker_a), 0
        )
        self.worker_a.commit()
        self.Throttle._spp_throttle_record_failure([client], window, cr=self.worker_a)
        self.worker_a.commit()
        # worker B sees the failures counted by worker A
        retry_after = self.Throttle._spp_throttle_retry_after(
            limits, window, cr=self.worker_b
        )
        self.worker_b.commit()
        self.assertGreater(retry_after, 0)
        self.assertLessEqual(retry_after, window + 1)
        # another client from another address is not affected
        other = {self.prefix + "client:c-id-y": 3, self.prefix + "ip:192.0.2.2": 5}
        self.assertEqual(
            self.Throttle._spp_throttle_retry_after(other, window, cr=self.worker_b), 0
        )
        self.worker_b.commit()
        # the window ends: the key is released and counting starts again
        self.worker_a.execute(
            "UPDATE spp_oauth_throttle SET window_start = window_start - interval "
            "'301 seconds' WHERE throttle_key LIKE %s",
            (self.prefix + "%",),
        )
        self.worker_a.commit()
        self.assertEqual(
            self.Throttle._spp_throttle_retry_after(limits, window, cr=self.worker_b), 0
        )
        counts = self.Throttle._spp_throttle_record_failure(
            [client], window, cr=self.worker_b
        )
        self.worker_b.commit()
        self.assertEqual(counts[client], 1)

    def test_counted_on_a_cursor_of_its_own(self):
        """Without an explicit cursor the failure is committed at once."""
        key = self.prefix + "ip:198.51.100.7"
        if self.registry.test_cr is not None:
            self.skipTest("registry in test mode: cursors are not independent")
        self.Throttle._spp_throttle_record_failure([key], 300)
        # committed: another connection sees it
        self.worker_a.execute(
            "SELECT failures FROM spp_oauth_throttle WHERE throttle_key = %s", (key,)
        )
        self.assertEqual(self.worker_a.fetchone(), (1,))
        self.worker_a.commit()

    def test_settings_defaults(self):
        self.assertEqual(self.Throttle._spp_throttle_settings(), (10, 30, 300))
        self.env["ir.config_parameter"].set_param(
            "spp_oauth.throttle_client_limit", "3"
        )
        self.env["ir.config_parameter"].set_param("spp_oauth.throttle_window", "oops")
        self.assertEqual(self.Throttle._spp_throttle_settings(), (3, 30, 300))
