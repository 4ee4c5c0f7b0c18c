"""End-to-end fixtures: a real Odoo server process on 127.0.0.1, driven over HTTP.

scripts/test.sh prepares a copy of the freshly installed test database
(``SPP_E2E_DB``); the ``odoo_server`` fixture serves it with the same Odoo configuration
on a free port, and stops it at the end of the session. Its log goes to the test log
folder, so the run fails if the server logs an error (see the root conftest.py).
"""

import pytest
from odoo_process import server_from_environment


@pytest.fixture(scope="session")
def odoo_server():
    """A single-process Odoo server on its own copy of the test database
    (``SPP_E2E_DB``, prepared by scripts/test.sh)."""
    try:
        server = server_from_environment("e2e-server.log", db_variable="SPP_E2E_DB")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def odoo_workers_server():
    """Odoo as production runs it: 2 HTTP worker processes (prefork) + gevent.

    Serves its own copy of the test database (``SPP_WORKERS_DB``, prepared by
    scripts/test.sh); its log is checked like every other Odoo log of the run.
    """
    try:
        server = server_from_environment("workers-server.log", workers=2)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    # All test traffic comes from 127.0.0.1: the per-address token throttle would
    # soon block every test after the failed logins of the hostile tests (the
    # per-client limit stays; test_reliability_security checks both limits).
    server.set_param("spp_oauth.throttle_ip_limit", 1_000_000)
    yield server
    server.stop()
