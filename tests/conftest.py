"""End-to-end fixtures: a real Odoo server process on 127.0.0.1, driven over HTTP.

scripts/test.sh prepares a copy of the freshly installed test database
(``SPP_E2E_DB``); the ``odoo_server`` fixture serves it with the same Odoo configuration
on a free port, and stops it at the end of the session. Its log goes to the test log
folder, so the run fails if the server logs an error (see the root conftest.py).
"""

import os
import socket
import subprocess
import time

import pytest
import requests


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OdooServer:
    def __init__(self, url, db, process):
        self.url = url
        self.db = db
        self.process = process

    def get(self, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return requests.get(self.url + path, **kwargs)

    def post(self, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return requests.post(self.url + path, **kwargs)

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.url + path, **kwargs)

    def admin_session(self):
        """A ``requests`` session logged in to the back office as admin."""
        session = requests.Session()
        response = session.post(
            self.url + "/web/session/authenticate",
            json={
                "jsonrpc": "2.0",
                "params": {"db": self.db, "login": "admin", "password": "admin"},
            },
            timeout=30,
        ).json()
        assert response.get("result", {}).get("uid"), response
        return session

    def rpc(self, model, method, *args, session=None, **kwargs):
        """Call a model method as admin through JSON-RPC (the web client's route)."""
        session = session or self.admin_session()
        response = session.post(
            self.url + "/web/dataset/call_kw",
            json={
                "jsonrpc": "2.0",
                "params": {
                    "model": model,
                    "method": method,
                    "args": list(args),
                    "kwargs": kwargs,
                },
            },
            timeout=60,
        ).json()
        if "error" in response:
            raise AssertionError(response["error"])
        return response["result"]


@pytest.fixture(scope="session")
def odoo_server():
    db = os.environ.get("SPP_E2E_DB")
    conf = os.environ.get("SPP_TEST_ODOO_CONF")
    odoo_bin = os.environ.get("SPP_ODOO_BIN")
    if not (db and conf and odoo_bin):
        pytest.fail("end-to-end tests need scripts/test.sh (SPP_E2E_DB is not set)")
    port = _free_port()
    log_file = os.path.join(os.environ["SPP_TEST_LOG_DIR"], "e2e-server.log")
    process = subprocess.Popen(
        [
            odoo_bin,
            "-c",
            conf,
            "-d",
            db,
            f"--db-filter=^{db}$",
            "--http-interface=127.0.0.1",
            f"--http-port={port}",
            f"--gevent-port={_free_port()}",
            f"--logfile={log_file}",
            "--max-cron-threads=0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(url + "/web/login", timeout=5).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Odoo server did not start; see {log_file}")
        time.sleep(0.5)
    yield OdooServer(url, db, process)
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def odoo_workers_server():
    """Odoo as production runs it: 2 HTTP worker processes (prefork) + gevent.

    Serves its own copy of the test database (``SPP_WORKERS_DB``, prepared by
    scripts/test.sh); its log is checked like every other Odoo log of the run.
    """
    from odoo_process import server_from_environment

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
