"""The cyclic garbage collector's thresholds of an Odoo 17 worker."""

import gc

#: Python's defaults, which Odoo 17 keeps.
PYTHON_DEFAULT = 700
#: Odoo's own choice from 18.0 on (``odoo/init.py``), for the same reason.
ODOO_THRESHOLDS = (12_000, 20, 25)


def raise_gc_thresholds():
    """Raise the collector's thresholds to Odoo 18's, unless someone set them.

    A request allocates thousands of objects (a 1,000-card batch: its request
    and response models). Under Python's (700, 10, 10) many of them live long
    enough to be promoted, and every few such requests a full collection walks
    the worker's whole heap (the registry's hundreds of thousands of objects):
    11 % of a 1,000-card POST in a profile, and its slowest requests. Odoo 18
    raises the thresholds at start-up for this reason; Odoo 17 does not.
    Only Python's default is replaced, so a deployment's own setting wins.
    """
    if gc.get_threshold()[0] == PYTHON_DEFAULT:
        gc.set_threshold(*ODOO_THRESHOLDS)
