"""Start and drive real Odoo server processes for the end-to-end tests and benchmarks.

Plain Python (no pytest, no Odoo import), so that ``bench/`` scripts reuse it:

* :func:`start_server` starts ``odoo`` on 127.0.0.1 on free ports, in single-process
  mode or in multi-process mode (``--workers``, with the gevent port Odoo needs), and
  waits until it answers;
* :class:`OdooServer` talks to it over HTTP: JSON-RPC as admin, the API with a token,
  and lists its worker processes (``psutil``) for the fault tests;
* :func:`make_api_client` creates an API client through JSON-RPC as a manager does in
  the back office, and returns its one-time client id and secret.
"""

import configparser
import json
import math
import os
import signal
import socket
import struct
import subprocess
import time
import uuid

import psutil
import psycopg2
import requests


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, fraction):
    """Nearest-rank percentile (the smallest value with at least ``fraction`` of the
    values at or below it) of a list; ``nan`` for an empty one."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


#: Client-side timeout of one HTTP exchange with the test server. It only turns a
#: hang into a failure: a loaded or slow machine makes requests slower, never wrong.
HTTP_TIMEOUT = 300


class OdooServer:
    def __init__(self, url, db, process, log_file=None, workers=0, conf=None):
        self.url = url
        self.db = db
        self.process = process
        self.log_file = log_file
        self.workers = workers
        self.conf = conf
        self._admin = None

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    # -- HTTP ------------------------------------------------------------------------

    def get(self, path, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.get(self.url + path, **kwargs)

    def post(self, path, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.post(self.url + path, **kwargs)

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.request(method, self.url + path, **kwargs)

    def session(self, login="admin", password="admin"):
        """A ``requests`` session logged in to the back office."""
        session = requests.Session()
        response = session.post(
            self.url + "/web/session/authenticate",
            json={
                "jsonrpc": "2.0",
                "params": {"db": self.db, "login": login, "password": password},
            },
            timeout=HTTP_TIMEOUT,
        ).json()
        assert response.get("result", {}).get("uid"), response
        return session

    def admin_session(self):
        """A ``requests`` session logged in to the back office as admin."""
        return self.session()

    def rpc_call(self, session, model, method, *args, **kwargs):
        """``(result, error)`` of a JSON-RPC model call (the web client's route)."""
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
            timeout=HTTP_TIMEOUT,
        ).json()
        return response.get("result"), response.get("error")

    def rpc(self, model, method, *args, session=None, **kwargs):
        """Call a model method as admin (or ``session``) through JSON-RPC."""
        if session is None:
            if self._admin is None:
                self._admin = self.admin_session()
            session = self._admin
        result, error = self.rpc_call(session, model, method, *args, **kwargs)
        if error:
            raise AssertionError(error)
        return result

    def set_param(self, key, value):
        self.rpc("ir.config_parameter", "set_param", key, value)

    # -- the API ---------------------------------------------------------------------

    def token(self, client):
        response = self.post(
            "/auth/token",
            json={
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def bearer(self, client):
        return {"Authorization": "Bearer " + self.token(client)}

    # -- processes -------------------------------------------------------------------

    def worker_processes(self):
        """The HTTP worker processes of a multi-process server (not the gevent one)."""
        master = psutil.Process(self.process.pid)
        workers = []
        for child in master.children():
            try:
                cmdline = child.cmdline()
            except psutil.Error:
                continue
            if "gevent" not in cmdline:
                workers.append(child)
        return workers

    def wait_for_workers(self, count=None, timeout=HTTP_TIMEOUT):
        count = count or self.workers
        wait_until(
            lambda: len(self.worker_processes()) >= count,
            f"{count} worker processes",
            timeout,
        )

    def worker_serving(self, client_port):
        """The worker process holding the HTTP connection from ``client_port``."""
        for worker in self.worker_processes():
            try:
                connections = worker.connections(kind="tcp")
            except psutil.Error:
                continue
            for conn in connections:
                if (
                    conn.laddr
                    and conn.raddr
                    and conn.laddr.port == self.port
                    and conn.raddr.port == client_port
                ):
                    return worker
        return None

    def probe(self):
        """A :class:`PgProbe` on this server's database."""
        return PgProbe(self)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    child.kill()
                self.process.kill()
                self.process.wait(timeout=30)


def start_server(
    odoo_bin,
    conf,
    db,
    log_file,
    workers=0,
    extra_args=(),
    timeout=180,
    env=None,
):
    """Start Odoo serving ``db`` on 127.0.0.1 (free ports); wait until it answers.

    ``workers`` > 0 runs the production (multi-process, prefork) mode with that many
    HTTP workers, plus the gevent process on its own port. ``env``: environment
    variables to set for it (e.g. ``ODOO_QUEUE_JOB_CHANNELS`` for its job runner).
    """
    port = free_port()
    args = [
        odoo_bin,
        "-c",
        conf,
        "-d",
        db,
        "--http-interface=127.0.0.1",
        f"--http-port={port}",
        f"--gevent-port={free_port()}",
        f"--logfile={log_file}",
        "--max-cron-threads=0",
    ]
    if workers:
        args.append(f"--workers={workers}")
    args += list(extra_args)
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, **(env or {})),
    )
    url = f"http://127.0.0.1:{port}"
    server = OdooServer(url, db, process, log_file=log_file, workers=workers, conf=conf)

    def answers():
        if process.poll() is not None:
            raise RuntimeError(f"the Odoo server exited; see {log_file}")
        try:
            return requests.get(url + "/web/login", timeout=30).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, "the Odoo server answering", timeout)
    except (AssertionError, RuntimeError):
        server.stop()
        raise RuntimeError(f"the Odoo server did not start; see {log_file}") from None
    if workers:
        server.wait_for_workers()
    return server


def server_from_environment(log_name, workers=0, db_variable="SPP_WORKERS_DB"):
    """Start a server on the database that scripts/test.sh prepared for it."""
    db = os.environ.get(db_variable)
    conf = os.environ.get("SPP_TEST_ODOO_CONF")
    odoo_bin = os.environ.get("SPP_ODOO_BIN")
    if not (db and conf and odoo_bin):
        raise RuntimeError(f"run through scripts/test.sh ({db_variable} is not set)")
    log_file = os.path.join(os.environ["SPP_TEST_LOG_DIR"], log_name)
    return start_server(odoo_bin, conf, db, log_file, workers=workers)


# -- synchronisation on states ---------------------------------------------------------


def wait_until(condition, what, timeout=HTTP_TIMEOUT, interval=0.05):
    """Poll ``condition()`` until it returns a true value, and return that value.

    The tests synchronise on observable states (rows, locks, processes); the timeout
    only turns a hang into a clear failure, and is far above what any machine
    needs, so it is never what makes a test pass or fail.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout} s")
        time.sleep(interval)


class PgProbe:
    """A direct PostgreSQL connection to a server's database, for fault injection.

    It takes locks that the server's transactions must wait for, and it sees, in
    ``pg_stat_activity``, which server backend waits and for what, so that a test
    acts at a known point inside a request instead of guessing with timings.
    """

    def __init__(self, server):
        parser = configparser.ConfigParser()
        parser.read(server.conf)
        options = parser["options"]
        params = {"dbname": server.db, "application_name": "spp-test-probe"}
        for key in ("host", "port", "user", "password"):
            value = options.get("db_" + key, "False")
            if value not in ("", "False"):
                params[key] = value
        self.db = server.db
        self._params = params
        self.connection = psycopg2.connect(**params)
        self.cursor = self.connection.cursor()
        self.cursor.execute("SELECT pg_backend_pid()")
        self.pid = self.cursor.fetchone()[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if not self.connection.closed:
            self.connection.rollback()
            self.connection.close()

    def execute(self, query, params=None):
        self.cursor.execute(query, params)
        return self.cursor

    def rollback(self):
        """End the probe's transaction: every lock it holds is released."""
        self.connection.rollback()

    def _activity(self, query, params=()):
        # A separate short transaction per look, so that the probe's own locks
        # stay held: pg_stat_activity is read through a second connection.
        look = psycopg2.connect(**self._params)
        try:
            with look.cursor() as cr:
                cr.execute(query, params)
                return cr.fetchall()
        finally:
            look.close()

    def waiting_backends(self):
        """``[(backend pid, client port, query)]`` of the backends of the database
        that wait for a lock held by the probe (client port -1 or ``None`` over a
        Unix socket)."""
        return self._activity(
            "SELECT pid, client_port, query FROM pg_stat_activity "
            "WHERE datname = %s AND %s = ANY(pg_blocking_pids(pid)) ORDER BY pid",
            (self.db, self.pid),
        )

    def wait_for_waiters(self, count=1, timeout=HTTP_TIMEOUT):
        """Wait until ``count`` backends wait for the probe's locks; return them."""
        return wait_until(
            lambda: (rows := self.waiting_backends()) and len(rows) >= count and rows,
            f"{count} server backend(s) waiting for the test's lock",
            timeout,
        )

    def wait_transaction_ended(self, backend_pid, timeout=HTTP_TIMEOUT):
        """Wait until a backend has no transaction open (or has exited)."""
        wait_until(
            lambda: not self._activity(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s "
                "AND xact_start IS NOT NULL",
                (backend_pid,),
            ),
            f"the transaction of backend {backend_pid} to end",
            timeout,
        )

    def wait_backend_gone(self, backend_pid, timeout=HTTP_TIMEOUT):
        wait_until(
            lambda: not self._activity(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
            ),
            f"backend {backend_pid} to exit",
            timeout,
        )


# -- fixtures data --------------------------------------------------------------------


def make_api_client(server, scopes="read write", company_id=None, name=None):
    """Create an API client as a manager does; return its id, secret and record id."""
    values = {"name": name or f"client {uuid.uuid4().hex[:10]}", "scopes": scopes}
    if company_id:
        values["company_id"] = company_id
    record_id = server.rpc("spp.attendance.api.client.credential", "create", values)
    action = server.rpc(
        "spp.attendance.api.client.credential", "action_generate_secret", [record_id]
    )
    shown = server.rpc(
        action["res_model"],
        "read",
        [action["res_id"]],
        ["display_client_id", "display_client_secret"],
    )[0]
    return {
        "id": record_id,
        "client_id": shown["display_client_id"],
        "client_secret": shown["display_client_secret"],
    }


def make_subscribers(server, count, prefix=None, company_id=None):
    """Create ``count`` subscribers; return their person identifiers."""
    prefix = prefix or f"P{uuid.uuid4().hex[:8]}"
    values = []
    for index in range(count):
        vals = {
            "person_identifier": f"{prefix}-{index:05d}",
            "family_name": "Family",
            "given_name": f"Given {index}",
        }
        if company_id:
            vals["company_id"] = company_id
        values.append(vals)
    server.rpc("spp.attendance.subscriber", "create", values)
    return [vals["person_identifier"] for vals in values]


def submission(records, submitted_by="reliability-suite"):
    return {
        "submitted_by": submitted_by,
        "submitted_datetime": "2025-01-15 12:00:00",
        "submission_source": "tests",
        "records": records,
    }


def raw_http(
    port,
    method,
    path,
    body=b"",
    headers=None,
    read=True,
    timeout=HTTP_TIMEOUT,
    on_sent=None,
):
    """Send one HTTP/1.1 request over a raw socket.

    With ``read=False`` the connection is reset once the request is sent (after
    ``on_sent(socket)`` returns, if given), before any answer is read: the client never
    learns what the server did. Returns ``(status, body bytes)`` or ``None``.
    """
    if isinstance(body, dict | list):
        body = json.dumps(body).encode()
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        if on_sent is not None:
            on_sent(sock)
        if not read:
            # RST instead of FIN: the server's answer goes nowhere.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            return None
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    status = int(data.split(b" ", 2)[1]) if data else None
    return status, data.partition(b"\r\n\r\n")[2]
