"""Two Odoo nodes on one database, as a scaled-out deployment runs them.

Two Odoo server processes (two "nodes", each with 2 HTTP workers) serve the same
database (``SPP_MULTINODE_DB``, prepared by scripts/test.sh). Node A also runs
queue_job's job runner, which sends each job to a round-robin TCP proxy in front of
both nodes (the reverse proxy of the README's "Scaling out"), so jobs run on either
node. Traffic is spread by sending each request to a chosen node. Shown:

* a card whose answer was lost on one node, retried on the other, is stored once;
* the token throttle counts failures made on both nodes;
* revoking a client or rotating the signing key takes effect on both nodes at once;
* a registry import's page jobs, dispatched by the real job runner, run on both
  nodes and create every person once.
"""

import base64
import importlib.util
import itertools
import json
import os
import socket
import threading
from pathlib import Path

import pytest
from odoo_process import make_api_client, make_subscribers, start_server, wait_until
from test_reliability_idempotency import _batch, _cut_while_held, _retry, _stored

ROOT = Path(__file__).resolve().parent.parent
IMPORT_TIMEOUT = 600


class RoundRobinProxy:
    """A TCP proxy on 127.0.0.1 that sends each new connection to the next backend
    in turn: the load balancer in front of the nodes."""

    def __init__(self):
        self.backends = []
        self.connections = []
        self._turn = itertools.count()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _address = self._sock.accept()
            except OSError:  # closed
                return
            backend = self.backends[next(self._turn) % len(self.backends)]
            self.connections.append(backend)
            try:
                upstream = socket.create_connection(("127.0.0.1", backend))
            except OSError:
                client.close()
                continue
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(source, target), daemon=True
                ).start()

    @staticmethod
    def _pipe(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self._sock.close()


@pytest.fixture(scope="module")
def nodes():
    db = os.environ.get("SPP_MULTINODE_DB")
    conf = os.environ.get("SPP_TEST_ODOO_CONF")
    odoo_bin = os.environ.get("SPP_ODOO_BIN")
    if not (db and conf and odoo_bin):
        pytest.fail("run through scripts/test.sh (SPP_MULTINODE_DB is not set)")
    log_dir = Path(os.environ["SPP_TEST_LOG_DIR"])
    proxy = RoundRobinProxy()
    runner = {
        "ODOO_QUEUE_JOB_CHANNELS": "root:2,root.spp_registry_import:1,"
        "root.spp_uniqueness:1",
        "ODOO_QUEUE_JOB_HOST": "127.0.0.1",
        "ODOO_QUEUE_JOB_PORT": str(proxy.port),
    }
    started = []
    try:
        for name, env in (("a", runner), ("b", {"ODOO_QUEUE_JOB_CHANNELS": "root:0"})):
            started.append(
                start_server(
                    odoo_bin,
                    conf,
                    db,
                    str(log_dir / f"multinode-{name}.log"),
                    workers=2,
                    env=env,
                )
            )
        node_a, node_b = started
        proxy.backends = [node_a.port, node_b.port]
        # every request comes from 127.0.0.1: only the per-client limit matters here
        node_a.set_param("spp_oauth.throttle_ip_limit", 1_000_000)
        yield node_a, node_b
    finally:
        for server in started:
            server.stop()
        proxy.close()


def test_card_retried_on_the_other_node_is_stored_once(nodes):
    node_a, node_b = nodes
    client = make_api_client(node_a)
    headers = node_a.bearer(client)
    body, uuids = _batch(make_subscribers(node_b, 10), 40)
    with node_a.probe() as probe:
        # node A is processing the batch when the device loses the connection
        first = _cut_while_held(node_a, headers, body, probe)
        probe.rollback()
        probe.wait_transaction_ended(first[0])
    # the device retries through the load balancer, which picks node B
    assert _retry(node_b, headers, body) == ["unchanged"] * len(uuids)
    assert _stored(node_a, uuids) == {card: 1 for card in uuids}


def test_token_throttle_counts_failures_on_both_nodes(nodes):
    node_a, node_b = nodes
    client = make_api_client(node_a)
    node_a.set_param("spp_oauth.throttle_client_limit", 6)

    def guess(node, secret="guess"):
        return node.post(
            "/auth/token",
            json={"client_id": client["client_id"], "client_secret": secret},
        )

    try:
        codes = [guess(node).status_code for node in (node_a, node_b) * 3]
        assert codes == [401] * 6
        # the seventh failure is refused, whichever node gets it
        refused = guess(node_a)
        assert refused.status_code == 429, refused.text
        for node in (node_b, node_a):
            assert guess(node, client["client_secret"]).status_code == 429
    finally:
        node_a.set_param("spp_oauth.throttle_client_limit", 10)


def _kid(token):
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))[
        "kid"
    ]


def test_revoking_a_client_and_rotating_the_key_reach_both_nodes(nodes):
    node_a, node_b = nodes
    client = make_api_client(node_a)
    token = node_a.token(client)
    headers = {"Authorization": "Bearer " + token}
    for node in (node_a, node_b):  # both nodes now hold it in their caches
        assert node.get("/attendance/types", headers=headers).status_code == 200
    # rotated on node B: node A signs the next token with the new key at once,
    # and both nodes verify it and publish the key
    node_b.rpc("spp.oauth.key", "action_rotate")
    current = node_b.rpc(
        "spp.oauth.key", "search_read", [("state", "=", "current")], ["kid"]
    )[0]["kid"]
    assert current != _kid(token)
    fresh = node_a.token(client)
    assert _kid(fresh) == current
    for node in (node_a, node_b):
        kids = {key["kid"] for key in node.get("/auth/jwks.json").json()["keys"]}
        assert current in kids
        answer = node.get(
            "/attendance/types", headers={"Authorization": "Bearer " + fresh}
        )
        assert answer.status_code == 200, answer.text
    # revoked on node A: refused on both nodes, at once
    node_a.rpc("spp.attendance.api.client.credential", "action_revoke", [client["id"]])
    for node in (node_b, node_a):
        for sent in (token, fresh):
            answer = node.get(
                "/attendance/types", headers={"Authorization": "Bearer " + sent}
            )
            assert answer.status_code == 401, answer.text


def _emulator_class():
    """The DCI registry emulator of the addon's tests (a plain module)."""
    path = ROOT / "spp_attendance" / "tests" / "dci_emulator.py"
    spec = importlib.util.spec_from_file_location("spp_dci_emulator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DCIRegistryEmulator


def test_import_jobs_run_on_both_nodes_and_create_each_person_once(nodes):
    node_a, node_b = nodes
    population, page_size = 360, 40
    with _emulator_class()(population=population, prefix="/dci/v1.0.0") as emulator:
        params = {
            "server_url": emulator.url,
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "page_size": page_size,
        }
        for name, value in params.items():
            node_a.set_param(f"spp_attendance.registry_{name}", value)
        wizard = node_b.rpc(
            "spp.attendance.registry.import.wizard",
            "create",
            {"run_in_background": True},
        )
        action = node_b.rpc(
            "spp.attendance.registry.import.wizard", "action_import", [wizard]
        )
        log_id = action["res_id"]

        def ended():
            (log,) = node_a.rpc(
                "spp.attendance.import.log",
                "read",
                [log_id],
                ["state", "created_count", "pages_done", "error_message"],
            )
            return log if log["state"] != "running" else None

        log = wait_until(ended, "the import's jobs to end", IMPORT_TIMEOUT)
    pages = population // page_size
    assert (log["state"], log["created_count"], log["pages_done"]) == (
        "done",
        population,
        pages,
    ), log
    with node_a.probe() as probe:
        rows = probe.execute(
            "SELECT count(*), count(DISTINCT person_identifier) "
            "FROM spp_attendance_subscriber WHERE person_identifier LIKE 'UIN%%'"
        ).fetchall()
        assert rows == [(population, population)]
        jobs = probe.execute(
            "SELECT state, worker_pid FROM queue_job WHERE identity_key LIKE %s",
            (f"spp_registry_import:{log_id}:%",),
        ).fetchall()
    assert [state for state, _pid in jobs] == ["done"] * pages
    ran_on = {pid for _state, pid in jobs}
    pids_a = {worker.pid for worker in node_a.worker_processes()}
    pids_b = {worker.pid for worker in node_b.worker_processes()}
    assert ran_on & pids_a and ran_on & pids_b, (ran_on, pids_a, pids_b)
    assert ran_on <= pids_a | pids_b
