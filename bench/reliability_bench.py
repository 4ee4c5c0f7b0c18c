"""Reliability benchmark of the attendance API on a multi-process Odoo server.

Run it with ``bench/reliability_bench.sh`` (it prepares PostgreSQL and a fresh
database, then calls this script). Phases, each bounded in requests and seconds, all
traffic on 127.0.0.1:

1. ``load``: N concurrent clients (default 32) submit batches of cards with
   ``uuid``s for a fixed time; throughput, latency percentiles, error rate, then the
   database must hold exactly the cards that got a success answer, once each.
2. ``pg-restart``: clients submit while PostgreSQL is restarted (``pg_ctl restart``);
   requests fail cleanly while it is down, the server recovers by itself, and every
   acknowledged card is stored exactly once.
3. ``memory``: RSS of the HTTP workers across a long run of list and history
   requests (no growth per request).
4. ``limits``: the largest page (``limit=500``) and the largest batch (1,000 cards)
   against the workers' time and memory limits.

Prints a summary table and writes ``bench/results/reliability-<time>.json``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil
import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from odoo_process import (  # noqa: E402
    make_api_client,
    make_subscribers,
    percentile,
    start_server,
    submission,
)

RESULTS = ROOT / "bench" / "results"
#: Kinds of the requests that got no answer at all, counted.
ERRORS = {}
ERRORS_LOCK = threading.Lock()


class Auth:
    """Bearer headers of one API client, renewed when the token expires (the
    runs last longer than a token's lifetime)."""

    def __init__(self, server, client):
        self.server = server
        self.client = client
        self.lock = threading.Lock()
        self.headers = server.bearer(client)

    def renew(self, stale):
        with self.lock:
            if self.headers is stale:
                self.headers = self.server.bearer(self.client)
        return self.headers


class Cards:
    """Unique cards: each (person, day, minute) once, so that no uniqueness rule
    makes two of them duplicates."""

    def __init__(self, persons):
        self.persons = persons
        self.lock = threading.Lock()
        self.counter = 0

    def batch(self, size, source):
        with self.lock:
            start = self.counter
            self.counter += size
        records = {}
        uuids = []
        for number in range(start, start + size):
            person = self.persons[number % len(self.persons)]
            slot = number // len(self.persons)
            day = date(2005, 1, 1) + timedelta(days=slot // 600)
            minute = slot % 600
            card_uuid = str(uuid.uuid4())
            uuids.append(card_uuid)
            records.setdefault(person, []).append(
                {
                    "date_time": f"{day} {7 + minute // 60:02d}:{minute % 60:02d}:00",
                    "uuid": card_uuid,
                }
            )
        body = submission(
            [{"person_id": p, "time_card": cards} for p, cards in records.items()]
        )
        body["submission_source"] = source
        return body, uuids


def db_counts(dsn, uuids=None, source=None):
    """``(rows with one of uuids, distinct such uuids, rows of source)``."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cr:
        rows = distinct = by_source = None
        if uuids is not None:
            cr.execute(
                "SELECT count(*), count(DISTINCT uuid) FROM spp_attendance_list "
                "WHERE uuid = ANY(%s)",
                [list(uuids)],
            )
            rows, distinct = cr.fetchone()
        if source is not None:
            cr.execute(
                "SELECT count(*) FROM spp_attendance_list WHERE submission_source = %s",
                [source],
            )
            by_source = cr.fetchone()[0]
        return rows, distinct, by_source


def submit_loop(server, headers, cards, size, source, deadline, max_requests, log):
    """Submit batches until ``deadline``; record (start, seconds, status, uuids)."""
    session = requests.Session()
    sent = 0
    while time.monotonic() < deadline and sent < max_requests:
        body, uuids = cards.batch(size, source)
        started = time.monotonic()
        try:
            current = headers.headers
            response = session.post(
                server.url + "/attendances", json=body, headers=current, timeout=120
            )
            if response.status_code == 401:  # token expired: renew, send again
                response = session.post(
                    server.url + "/attendances",
                    json=body,
                    headers=headers.renew(current),
                    timeout=120,
                )
            status = response.status_code
            if status == 200:
                results = response.json()["results"]
                if {r["status"] for r in results} - {"created", "unchanged"}:
                    status = -2  # a 200 that did not store every card
        except requests.RequestException as exc:
            status = -1  # connection refused/reset/timed out: no answer
            with ERRORS_LOCK:
                cause = exc
                while cause.__context__ is not None and cause is not cause.__context__:
                    cause = cause.__context__
                key = f"{type(exc).__name__}: {type(cause).__name__}"
                ERRORS[key] = ERRORS.get(key, 0) + 1
        log.append((started, time.monotonic() - started, status, uuids))
        sent += 1
        if status not in (200, -2) and status >= 0 and status < 500:
            time.sleep(0.05)
        elif status < 0 or status >= 500:
            time.sleep(0.2)  # back off while the server is unavailable


def phase_load(server, headers, cards, dsn, args):
    source = f"bench-load-{uuid.uuid4().hex[:8]}"
    log = []
    deadline = time.monotonic() + args.duration
    started = time.monotonic()
    with ThreadPoolExecutor(args.clients) as pool:
        for _ in range(args.clients):
            pool.submit(
                submit_loop,
                server,
                headers,
                cards,
                args.batch,
                source,
                deadline,
                args.max_requests,
                log,
            )
    elapsed = time.monotonic() - started
    ok = [entry for entry in log if entry[2] == 200]
    latencies = [entry[1] for entry in ok]
    acknowledged = {u for entry in ok for u in entry[3]}
    rows, distinct, by_source = db_counts(dsn, acknowledged, source)
    statuses = {}
    for entry in log:
        statuses[entry[2]] = statuses.get(entry[2], 0) + 1
    return {
        "clients": args.clients,
        "batch": args.batch,
        "seconds": round(elapsed, 1),
        "requests": len(log),
        "statuses": statuses,
        "no_answer_causes": dict(ERRORS),
        "non_4xx_errors": sum(1 for e in log if e[2] < 0 or e[2] >= 500 or e[2] == -2),
        "requests_per_s": round(len(log) / elapsed, 1),
        "cards_per_s": round(len(acknowledged) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000),
        "p95_ms": round(percentile(latencies, 0.95) * 1000),
        "p99_ms": round(percentile(latencies, 0.99) * 1000),
        "max_ms": round(max(latencies, default=0) * 1000),
        "acknowledged_cards": len(acknowledged),
        "stored_rows": rows,
        "stored_distinct": distinct,
        "rows_of_run": by_source,
        "exactly_once": rows == distinct == len(acknowledged) == by_source,
    }


def phase_pg_restart(server, headers, cards, dsn, args):
    source = f"bench-pg-{uuid.uuid4().hex[:8]}"
    log = []
    clients = 8
    deadline = time.monotonic() + args.pg_duration
    events = {}

    def restart():
        time.sleep(args.pg_duration / 4)
        events["down"] = time.monotonic()
        subprocess.run(args.pg_restart_command, shell=True, check=True)
        events["up"] = time.monotonic()

    restarter = threading.Thread(target=restart)
    restarter.start()
    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(
                submit_loop, server, headers, cards, 10, source, deadline, 10**6, log
            )
    restarter.join()
    log.sort()
    after_up = [e for e in log if e[0] >= events["up"]]
    first_ok = next((e for e in after_up if e[2] == 200), None)
    during = [e for e in log if events["down"] - 1 <= e[0] <= events["up"]]
    bad_outside = [
        e
        for e in log
        if (e[2] < 0 or e[2] >= 500)
        and not (events["down"] - 5 <= e[0] <= events["up"] + 15)
    ]
    acknowledged = {u for e in log if e[2] == 200 for u in e[3]}
    rows, distinct, by_source = db_counts(dsn, acknowledged, source)
    statuses = {}
    for entry in log:
        statuses[entry[2]] = statuses.get(entry[2], 0) + 1
    recovery = (first_ok[0] + first_ok[1] - events["up"]) if first_ok else None
    return {
        "seconds": args.pg_duration,
        "restart_seconds": round(events["up"] - events["down"], 1),
        "requests": len(log),
        "statuses": statuses,
        "statuses_during_restart": sorted({e[2] for e in during}),
        "errors_away_from_restart": len(bad_outside),
        "recovered_after_s": round(recovery, 2) if recovery is not None else None,
        "server_restarted": False,
        "server_pid_alive": server.process.poll() is None,
        "acknowledged_cards": len(acknowledged),
        "stored_rows": rows,
        "rows_of_run": by_source,
        "exactly_once": rows == distinct == len(acknowledged) == by_source,
    }


def worker_rss(server):
    return {w.pid: w.memory_info().rss for w in server.worker_processes()}


def phase_memory(server, headers, persons, args):
    session = requests.Session()
    paths = [
        lambda i: f"/attendance/{persons[i % 50]}?limit=100",
        lambda i: f"/attendances?limit=50&page={1 + i % 5}",
        lambda i: "/subscribers?limit=200",
        lambda i: f"/attendance?person_id={persons[i % 50]}&limit=30&page=2",
    ]

    def run(count, offset):
        for i in range(offset, offset + count):
            current = headers.headers
            url = server.url + paths[i % len(paths)](i)
            response = session.get(url, headers=current, timeout=120)
            if response.status_code == 401:  # token expired
                response = session.get(url, headers=headers.renew(current), timeout=120)
            assert response.status_code == 200, response.text[:300]

    run(args.memory_warmup, 0)
    before = worker_rss(server)
    samples = []
    step = args.memory_requests // 5
    started = time.monotonic()
    for index in range(5):
        run(step, args.memory_warmup + index * step)
        samples.append(worker_rss(server))
    elapsed = time.monotonic() - started
    after = samples[-1]
    same_workers = set(before) == set(after)
    growth = {
        pid: round((after[pid] - before[pid]) / 2**20, 1)
        for pid in before
        if pid in after
    }
    return {
        "requests": step * 5,
        "seconds": round(elapsed, 1),
        "requests_per_s": round(step * 5 / elapsed, 1),
        "rss_before_mib": {p: round(v / 2**20, 1) for p, v in before.items()},
        "rss_after_mib": {p: round(v / 2**20, 1) for p, v in after.items()},
        "rss_samples_mib": [
            {p: round(v / 2**20, 1) for p, v in s.items()} for s in samples
        ],
        "growth_mib": growth,
        "growth_kib_per_request": round(
            max(growth.values(), default=0) * 1024 / (step * 5 / 2), 3
        ),
        "same_workers": same_workers,
    }


def phase_limits(server, auth, cards, persons, args):
    headers = auth.renew(auth.headers)
    # A person with more than 500 records, then the largest page of it.
    person = persons[0]
    body, _uuids = cards.batch(1000, "bench-limits")
    for record in body["records"]:
        record["person_id"] = person
    for index, record_cards in enumerate(
        card for record in body["records"] for card in record["time_card"]
    ):
        day = date(1990, 1, 1) + timedelta(days=index)
        record_cards["date_time"] = f"{day} 09:00:00"
    batch_times = []
    for attempt in range(args.limit_repeats):
        if attempt:
            body, _uuids = cards.batch(1000, "bench-limits")
        started = time.monotonic()
        response = server.post("/attendances", json=body, headers=headers, timeout=300)
        batch_times.append(time.monotonic() - started)
        assert response.status_code == 200, response.text[:500]
    rss_after_batches = worker_rss(server)
    page_times = []
    for _ in range(args.limit_repeats):
        started = time.monotonic()
        response = server.get(
            f"/attendance/{person}?limit=500", headers=headers, timeout=300
        )
        page_times.append(time.monotonic() - started)
        assert response.status_code == 200
        assert len(response.json()["attendance_list"]) == 500
    many_times = []
    for _ in range(args.limit_repeats):
        started = time.monotonic()
        response = server.get("/attendances?limit=500", headers=headers, timeout=300)
        many_times.append(time.monotonic() - started)
        assert response.status_code == 200
    return {
        "batch_1000_cards_s": [round(t, 2) for t in batch_times],
        "page_500_records_s": [round(t, 2) for t in page_times],
        "page_500_persons_s": [round(t, 2) for t in many_times],
        "worker_rss_mib": {
            p: round(v / 2**20, 1) for p, v in worker_rss(server).items()
        },
        "worker_rss_after_batches_mib": {
            p: round(v / 2**20, 1) for p, v in rss_after_batches.items()
        },
        "limit_time_real_s": args.limit_time_real,
        "limit_memory_soft_mib": args.limit_memory_soft // 2**20,
    }


def once(r):
    stored = r["stored_rows"]
    return (
        f"{r['exactly_once']} ({r['acknowledged_cards']} acknowledged, {stored} stored)"
    )


def table(rows):
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"| {name.ljust(width)} | {value} |" for name, value in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--odoo-bin", required=True)
    parser.add_argument("--log-dir", required=True)
    # Odoo's advice for 2 cores: 2 x cores + 1. Its listen backlog is 8 x workers.
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--batch", type=int, default=20, help="cards per request")
    parser.add_argument("--duration", type=int, default=180, help="load seconds")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--pg-duration", type=int, default=40)
    parser.add_argument("--pg-restart-command", default=os.environ.get("PG_RESTART"))
    parser.add_argument("--memory-requests", type=int, default=3000)
    parser.add_argument("--memory-warmup", type=int, default=300)
    parser.add_argument("--limit-repeats", type=int, default=5)
    parser.add_argument("--limit-time-real", type=int, default=120)
    parser.add_argument("--limit-memory-soft", type=int, default=2048 * 2**20)
    parser.add_argument(
        "--phases", default="load,pg-restart,memory,limits", help="comma-separated"
    )
    args = parser.parse_args()
    phases = args.phases.split(",")

    server = start_server(
        args.odoo_bin,
        args.config,
        args.database,
        os.path.join(args.log_dir, "bench-reliability-server.txt"),
        workers=args.workers,
        extra_args=[
            f"--limit-time-real={args.limit_time_real}",
            f"--limit-memory-soft={args.limit_memory_soft}",
            f"--db_maxconn={max(64, args.clients * 2)}",
        ],
    )
    result = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "workers": args.workers,
    }
    try:
        server.set_param("spp_oauth.throttle_ip_limit", 1_000_000)
        persons = make_subscribers(server, 500)
        client = make_api_client(server)
        headers = Auth(server, client)
        cards = Cards(persons)
        dsn = (
            f"host={os.environ['PGHOST']} port={os.environ['PGPORT']} "
            f"user={os.environ['PGUSER']} dbname={args.database}"
        )
        if "load" in phases:
            print(f"load: {args.clients} clients for {args.duration}s ...", flush=True)
            result["load"] = phase_load(server, headers, cards, dsn, args)
            print(json.dumps(result["load"]), flush=True)
        if "memory" in phases:
            print("memory ...", flush=True)
            result["memory"] = phase_memory(server, headers, persons, args)
            print(json.dumps(result["memory"]), flush=True)
        if "limits" in phases:
            print("limits ...", flush=True)
            result["limits"] = phase_limits(server, headers, cards, persons, args)
            print(json.dumps(result["limits"]), flush=True)
        if "pg-restart" in phases:
            if not args.pg_restart_command:
                raise SystemExit(
                    "pg-restart needs --pg-restart-command (or PG_RESTART)"
                )
            print("pg-restart ...", flush=True)
            result["pg_restart"] = phase_pg_restart(server, headers, cards, dsn, args)
            print(json.dumps(result["pg_restart"]), flush=True)
    finally:
        server.stop()

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"reliability-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    rows = [("machine", json.dumps(result["machine"]))]
    if "load" in result:
        r = result["load"]
        rows += [
            ("load: clients x cards/request", f"{r['clients']} x {r['batch']}"),
            ("load: requests (seconds)", f"{r['requests']} ({r['seconds']} s)"),
            (
                "load: throughput",
                f"{r['requests_per_s']} req/s, {r['cards_per_s']} cards/s",
            ),
            (
                "load: latency p50/p95/p99/max",
                f"{r['p50_ms']}/{r['p95_ms']}/{r['p99_ms']}/{r['max_ms']} ms",
            ),
            ("load: statuses", json.dumps(r["statuses"])),
            ("load: non-4xx errors", r["non_4xx_errors"]),
            (
                "load: exactly once",
                once(r),
            ),
        ]
    if "pg_restart" in result:
        r = result["pg_restart"]
        rows += [
            ("pg restart: downtime", f"{r['restart_seconds']} s"),
            (
                "pg restart: statuses (during)",
                f"{json.dumps(r['statuses'])} ({r['statuses_during_restart']})",
            ),
            ("pg restart: errors away from restart", r["errors_away_from_restart"]),
            (
                "pg restart: recovered after",
                f"{r['recovered_after_s']} s, pid alive: {r['server_pid_alive']}",
            ),
            (
                "pg restart: exactly once",
                once(r),
            ),
        ]
    if "memory" in result:
        r = result["memory"]
        rows += [
            ("memory: requests", f"{r['requests']} ({r['requests_per_s']} req/s)"),
            (
                "memory: worker RSS before -> after",
                f"{r['rss_before_mib']} -> {r['rss_after_mib']} MiB",
            ),
            (
                "memory: growth",
                f"{r['growth_mib']} MiB ({r['growth_kib_per_request']} KiB/request)",
            ),
        ]
    if "limits" in result:
        r = result["limits"]
        rows += [
            ("limits: POST 1000 cards", f"{r['batch_1000_cards_s']} s"),
            ("limits: GET history limit=500", f"{r['page_500_records_s']} s"),
            ("limits: GET /attendances limit=500", f"{r['page_500_persons_s']} s"),
            (
                "limits: worker RSS",
                f"{r['worker_rss_mib']} MiB (limits: "
                f"{r['limit_memory_soft_mib']} MiB, {r['limit_time_real_s']} s)",
            ),
        ]
    print()
    print(table(rows))
    print(f"\nresults: {out}")
    ok = (
        all(
            result.get(phase, {}).get("exactly_once", True)
            for phase in ("load", "pg_restart")
        )
        and result.get("load", {}).get("non_4xx_errors", 0) == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
