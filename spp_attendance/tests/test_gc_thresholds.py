"""The collector's thresholds of the worker (see ``tools/gc_thresholds.py``)."""

import gc

from odoo.tests import BaseCase

from ..tools.gc_thresholds import ODOO_THRESHOLDS, raise_gc_thresholds


class TestGcThresholds(BaseCase):
    def setUp(self):
        super().setUp()
        self.addCleanup(gc.set_threshold, *gc.get_threshold())

    def test_python_default_is_raised_to_odoo_18s(self):
        gc.set_threshold(700, 10, 10)
        raise_gc_thresholds()
        self.assertEqual(gc.get_threshold(), ODOO_THRESHOLDS)

    def test_a_deployments_own_setting_is_kept(self):
        gc.set_threshold(5_000, 15, 15)
        raise_gc_thresholds()
        self.assertEqual(gc.get_threshold(), (5_000, 15, 15))
