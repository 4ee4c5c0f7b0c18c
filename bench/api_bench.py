"""REST API benchmark: throughput, latency and SQL queries per request, over HTTP.

    bench/api_bench.sh [--subscribers 100000] [--records 1000000] [...]

(the wrapper starts the embedded PostgreSQL and installs ``spp_oauth`` +
``spp_attendance`` without demo data in a fresh database), or directly against a
database that has both addons:

    .venv/bin/python bench/api_bench.py -c ODOO_CONF -d DB [...]

Steps:

1. fixtures through the ORM: attendance types, locations (with time zones), an API
   client and its secret;
2. bulk load with set-based SQL (``INSERT ... SELECT generate_series``): the
   subscribers (``res_partner`` + ``spp_attendance_subscriber``) and their
   attendance records, every stored column filled as the ORM would, then
   ``VACUUM ANALYZE``;
3. an Odoo server in multi-worker mode on 127.0.0.1, a token from ``POST
   /auth/token``, then concurrent clients measure: records/second of 1,000-card
   ``POST /attendances``, latency of ``GET /attendance/<person_id>``, of ``GET
   /attendances`` for 100 named persons and of plain pages (by ``page`` and by
   ``last_id``), of ``GET /subscribers`` pages;
4. after each HTTP phase, its **floors** on the same database and the same kind of
   rows (``api_floors.py``): the bare ORM call (``create()`` of the batch's values,
   or the ``search_read`` of the rows a GET returns) and a single SQL statement
   (``INSERT ... SELECT ... FROM unnest``, or the ``SELECT`` of the same rows), in
   as many processes as the phase had clients, writes rolled back; the summary
   prints each figure beside them, with the ratios;
5. a second, single-process server with ``--log-level=debug_sql``: one request of
   each kind at a time, its SQL queries counted from the log (Odoo's per-request
   count on the access line, and the ``odoo.sql_db`` query lines by kind).

Every loop is bounded in count and in seconds; the servers are stopped at the end.
The summary is printed and written to ``bench/results/api-<date>.md``.
"""

import argparse
import base64
import contextlib
import json
import os
import platform
import random
import re
import signal
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from odoo_process import percentile, start_server

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_floors

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "BENCH-"
FAMILY_NAMES = [
    "Dela Cruz",
    "Santos",
    "Reyes",
    "Garcia",
    "Mendoza",
    "Okafor",
    "Mwangi",
    "Otieno",
    "Nguyen",
    "Tran",
    "Rahman",
    "Hossain",
    "Silva",
    "Pereira",
    "Haile",
    "Tesfaye",
    "Banda",
    "Phiri",
    "Khan",
    "Ali",
]
GIVEN_NAMES = [
    "Juan",
    "Maria",
    "Jose",
    "Ana",
    "Grace",
    "John",
    "Amina",
    "Peter",
    "Linh",
    "Minh",
    "Fatima",
    "Karim",
    "Joao",
    "Rosa",
    "Abebe",
    "Sara",
    "Chisomo",
    "Mercy",
    "Imran",
    "Aisha",
    "Wanjiru",
    "Kofi",
    "Thandiwe",
]
LOCATION_TZS = [
    "Africa/Nairobi",
    "Asia/Manila",
    "Asia/Dhaka",
    "Africa/Lagos",
    "America/Sao_Paulo",
    "Asia/Ho_Chi_Minh",
    "Africa/Addis_Ababa",
    "Africa/Blantyre",
    "Asia/Karachi",
    "UTC",
]
TYPE_NAMES = ["Training", "Health check", "Community meeting", "Cash pick-up", "Class"]


# ---------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def person(number):
    return f"{PREFIX}{number:07d}"


def cursor(values):
    """A list cursor as the API encodes it (base64url JSON, see
    ``controllers/attendance_api.py``: ``s`` last id, ``t`` the walk's count)."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def machine_info():
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.0f} GiB"
                break
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": memory,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


class Database:
    """psycopg2 connections to the benchmark database (from Odoo's configuration)."""

    def __init__(self, config, dbname):
        import odoo

        odoo.tools.config.parse_config(
            ["-c", config, "-d", dbname, "--log-level=warn", "--logfile="]
        )
        self.dbname = dbname
        self.info = odoo.sql_db.connection_info_for(dbname)[1]

    def connect(self, autocommit=False):
        connection = psycopg2.connect(**self.info)
        connection.autocommit = autocommit
        return connection

    def scalar(self, query, params=None):
        with contextlib.closing(self.connect(autocommit=True)) as connection:
            with connection.cursor() as cr:
                cr.execute(query, params)
                return cr.fetchone()[0]


# ---------------------------------------------------------------------------------
# 1. Fixtures through the ORM
# ---------------------------------------------------------------------------------


def setup_fixtures(dbname, unique_flags):
    """Types, locations, uniqueness settings and an API client (with its secret)."""
    import odoo
    from odoo import api

    registry = odoo.modules.registry.Registry(dbname)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        Type = env["spp.attendance.type"].with_context(active_test=False)
        Location = env["spp.attendance.location"].with_context(active_test=False)
        types = Type.search([("name", "in", [f"Bench {n}" for n in TYPE_NAMES])])
        if not types:
            types = Type.create([{"name": f"Bench {n}"} for n in TYPE_NAMES])
        locations = Location.search([("name", "like", "Bench site ")])
        if not locations:
            locations = Location.create(
                [
                    {"name": f"Bench site {i:02d}", "tz": LOCATION_TZS[i % 10]}
                    for i in range(20)
                ]
            )
        # all parameters first, then one recomputation of the keys (timed: on a
        # loaded database this is the cost of changing the rule in Settings)
        ICP = env["ir.config_parameter"].with_context(
            spp_attendance_defer_uniqueness=True
        )
        changed = False
        for flag in ("date", "time", "type", "location"):
            key = f"spp_attendance.{flag}_unique"
            wanted = "True" if flag in unique_flags else False
            if (ICP.get_param(key) or False) != wanted:
                ICP.set_param(key, wanted)
                changed = True
        unique_seconds = None
        if changed:
            start = time.perf_counter()
            env["spp.attendance.list"]._apply_uniqueness_settings()
            unique_seconds = time.perf_counter() - start
            log(f"uniqueness rule applied in {unique_seconds:.1f}s")
        flags = env["spp.attendance.list"]._get_uniqueness_flags()
        key_sql = None
        if flags:
            key_sql = cr.mogrify(
                *env["spp.attendance.list"]._duplicate_key_sql(flags)
            ).decode()
        client = env["spp.attendance.api.client.credential"].create(
            {
                "name": f"bench client {datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}",
                "scopes": "read write",
                "token_lifetime": 4 * 3600,
            }
        )
        secret = client._spp_oauth_generate_secret()
        api_user = env.ref(
            "spp_attendance.user_attendance_api", raise_if_not_found=False
        ) or env.ref("base.user_admin")
        result = {
            "client_db_id": client.id,
            "api_uid": api_user.id,
            "type_ids": types.ids,
            "locations": [(loc.id, loc.tz) for loc in locations.sorted("id")],
            "client_id": client.client_id,
            "client_secret": secret,
            "company_id": env.company.id,
            "admin_uid": env.ref("base.user_admin").id,
            "flags": flags,
            "key_sql": key_sql,
            "unique_seconds": unique_seconds,
        }
        cr.commit()
    return result


# ---------------------------------------------------------------------------------
# 2. Set-based bulk load
# ---------------------------------------------------------------------------------

LOAD_PERSONS = """
CREATE TEMP TABLE bench_person AS
SELECT g,
       nextval('res_partner_id_seq')::int AS partner_id,
       nextval('spp_attendance_subscriber_id_seq')::int AS subscriber_id,
       (%(families)s::text[])[1 + g %% cardinality(%(families)s::text[])] AS family,
       (%(givens)s::text[])[1 + (g / 7) %% cardinality(%(givens)s::text[])] AS given
  FROM generate_series(%(first)s, %(last)s) AS g;

INSERT INTO res_partner (
    id, name, complete_name, company_id, commercial_partner_id, type, active,
    is_company, partner_share, color, lang, message_bounce,
    create_uid, write_uid, create_date, write_date)
SELECT partner_id, family || ', ' || given, family || ', ' || given, %(company)s,
       partner_id, 'contact', true, false, true, 0, 'en_US', 0,
       %(uid)s, %(uid)s, %(now)s, %(now)s
  FROM bench_person ORDER BY g;

INSERT INTO spp_attendance_subscriber (
    id, partner_id, company_id, person_identifier, family_name, given_name, gender,
    active, create_uid, write_uid, create_date, write_date)
SELECT subscriber_id, partner_id, %(company)s,
       %(prefix)s || lpad(g::text, 7, '0'), family, given,
       (ARRAY['female', 'male'])[1 + g %% 2], true,
       %(uid)s, %(uid)s, %(now)s, %(now)s
  FROM bench_person ORDER BY g;

CREATE UNIQUE INDEX ON bench_person (g);
ANALYZE bench_person;
"""

# Record k (0-based) belongs to person k %% N + 1; its occurrence j = k / N picks
# the date (one week apart, so a person's dates, times and keys are all distinct),
# the type and the local time. A person always attends at the same location, in
# that location's time zone; the UTC moment is derived from the local wall clock.
LOAD_RECORDS = """
INSERT INTO spp_attendance_list (
    subscriber_id, company_id, attendance_type_id, attendance_location_id,
    attendance_category, attendance_tz, attendance_date, attendance_time,
    attendance_datetime, attendance_description, attendance_external_url,
    submitted_by, submitted_datetime, submission_source, uuid, duplicate_key,
    api_client_id, active, create_uid, write_uid, create_date, write_date)
SELECT subscriber_id, %(company)s, attendance_type_id, attendance_location_id,
       attendance_category, attendance_tz, attendance_date, attendance_time,
       utc, NULL, external_url, 'bench-loader', utc + interval '2 hours', 'bench',
       uuid, {duplicate_key}, NULL, true, %(uid)s, %(uid)s, %(now)s, %(now)s
  FROM (
    SELECT subscriber_id, attendance_type_id, attendance_location_id,
           attendance_category, attendance_tz, external_url, uuid,
           local::date AS attendance_date,
           to_char(local, 'HH24:MI:SS') AS attendance_time,
           (local AT TIME ZONE attendance_tz) AT TIME ZONE 'UTC' AS utc
      FROM (
        SELECT p.subscriber_id,
               (%(type_ids)s::int[])[1 + (k / %(n)s) %% %(n_types)s]
                   AS attendance_type_id,
               (%(location_ids)s::int[])[1 + p.g %% %(n_locations)s]
                   AS attendance_location_id,
               (%(location_tzs)s::text[])[1 + p.g %% %(n_locations)s]
                   AS attendance_tz,
               CASE WHEN k %% 10 = 3 THEN 'absent' ELSE 'present' END
                   AS attendance_category,
               CASE WHEN k %% 10 = 0
                    THEN 'https://evidence.example.org/photo/' || k END
                   AS external_url,
               md5(%(seed)s || k::text)::uuid::text AS uuid,
               %(start)s::timestamp
                   + ((k / %(n)s) * 7 + p.g %% 5) * interval '1 day'
                   + interval '7 hours'
                   + ((k / %(n)s) %% 12) * interval '5 minutes'
                   + (p.g %% 600) * interval '1 second' AS local
          FROM generate_series(%(k0)s, %(k1)s) AS k
          JOIN bench_person p ON p.g = k %% %(n)s + 1
      ) AS raw
  ) AS att
"""


def load_data(db, fixtures, subscribers, records, chunk):
    """Bulk-load the subscribers and records; returns timings in seconds."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    timings = {}
    params = {
        "families": FAMILY_NAMES,
        "givens": GIVEN_NAMES,
        "first": 1,
        "last": subscribers,
        "company": fixtures["company_id"],
        "uid": fixtures["admin_uid"],
        "now": now,
        "prefix": PREFIX,
        "n": subscribers,
        "type_ids": fixtures["type_ids"],
        "n_types": len(fixtures["type_ids"]),
        "location_ids": [loc_id for loc_id, _tz in fixtures["locations"]],
        "location_tzs": [tz or "UTC" for _loc_id, tz in fixtures["locations"]],
        "n_locations": len(fixtures["locations"]),
        "seed": f"bench-{now.isoformat()}-",
        "start": datetime(2024, 1, 1),
    }
    key_sql = fixtures["key_sql"] or "NULL"
    query = LOAD_RECORDS.format(duplicate_key=key_sql.replace("%", "%%"))
    with contextlib.closing(db.connect()) as connection:
        with connection.cursor() as cr:
            start = time.perf_counter()
            cr.execute(LOAD_PERSONS, params)
            connection.commit()
            timings["subscribers"] = time.perf_counter() - start
            log(f"{subscribers} subscribers in {timings['subscribers']:.1f}s")
            start = time.perf_counter()
            for k0 in range(0, records, chunk):
                k1 = min(records, k0 + chunk) - 1
                cr.execute(query, {**params, "k0": k0, "k1": k1})
                connection.commit()
                log(
                    f"records {k1 + 1}/{records} "
                    f"({time.perf_counter() - start:.0f}s, load {loadavg()})"
                )
            timings["records"] = time.perf_counter() - start
    start = time.perf_counter()
    with contextlib.closing(db.connect(autocommit=True)) as connection:
        with connection.cursor() as cr:
            for table in (
                "res_partner",
                "spp_attendance_subscriber",
                "spp_attendance_list",
            ):
                cr.execute(f"VACUUM ANALYZE {table}")
            cr.execute("CHECKPOINT")
    timings["vacuum_analyze"] = time.perf_counter() - start
    return timings


def check_loaded(db):
    """Counts of loaded data, and a consistency check of the derived columns."""
    found = db.scalar(
        "SELECT count(*) FROM spp_attendance_subscriber WHERE person_identifier "
        "LIKE %s",
        (PREFIX + "%",),
    )
    loaded = db.scalar(
        "SELECT count(*) FROM spp_attendance_list WHERE submitted_by = 'bench-loader'"
    )
    # Local date and time must be the UTC moment seen in the record's time zone.
    wrong = db.scalar(
        "SELECT count(*) FROM (SELECT * FROM spp_attendance_list "
        "WHERE submitted_by = 'bench-loader' LIMIT 10000) AS a "
        "WHERE to_char((attendance_datetime AT TIME ZONE 'UTC') "
        "AT TIME ZONE attendance_tz, 'YYYY-MM-DD HH24:MI:SS') "
        "<> to_char(attendance_date, 'YYYY-MM-DD') || ' ' || attendance_time"
    )
    if wrong:
        raise RuntimeError(f"{wrong} loaded records have an inconsistent local time")
    return found, loaded


def remove_added_records(db):
    """Delete what earlier runs on a reused database added (every record not
    bulk-loaded), so that each run starts from the same rows and its pages hold
    as many records as the first run's."""
    with contextlib.closing(db.connect(autocommit=True)) as connection:
        with connection.cursor() as cr:
            cr.execute(
                "DELETE FROM spp_attendance_list "
                "WHERE submitted_by IS DISTINCT FROM 'bench-loader'"
            )
            removed = cr.rowcount
            if removed:
                cr.execute("VACUUM ANALYZE spp_attendance_list")
    return removed


# ---------------------------------------------------------------------------------
# 3. Servers and HTTP clients
# ---------------------------------------------------------------------------------


def start_bench_server(args, log_name, extra_args):
    """An Odoo server on the bench database (tests/odoo_process.start_server), with
    limits above the largest bench request."""
    log_file = str(Path(args.run_dir) / log_name)
    Path(log_file).unlink(missing_ok=True)
    return start_server(
        args.odoo_bin,
        args.config,
        args.database,
        log_file,
        extra_args=["--limit-time-real=900", "--limit-time-cpu=600", *extra_args],
    )


def get_token(url, fixtures):
    response = requests.post(
        url + "/auth/token",
        data=json.dumps(
            {
                "client_id": fixtures["client_id"],
                "client_secret": fixtures["client_secret"],
            }
        ),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


class Request:
    """One prepared HTTP request (body serialised beforehand)."""

    def __init__(self, method, path, body=None, cards=0, expect=200):
        self.method = method
        self.path = path
        self.data = json.dumps(body).encode() if body is not None else None
        self.cards = cards
        self.expect = expect


def run_phase(name, url, token, prepared, clients, max_seconds):
    """Send the prepared requests with ``clients`` threads, until done or the
    deadline; returns the latencies and the throughput."""
    local = threading.local()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deadline = time.monotonic() + max_seconds
    errors = []

    def send(req):
        if time.monotonic() > deadline:
            return None
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        start = time.perf_counter()
        response = session.request(
            req.method, url + req.path, data=req.data, headers=headers, timeout=600
        )
        elapsed = time.perf_counter() - start
        body = response.content
        if response.status_code != req.expect:
            errors.append(f"{req.method} {req.path[:60]}: {response.status_code}")
            return None
        return elapsed, len(body), req.cards

    load_before = loadavg()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        done = [r for r in pool.map(send, prepared) if r is not None]
    wall = time.perf_counter() - start
    if errors:
        log(f"{name}: {len(errors)} failed requests, e.g. {errors[:3]}")
    latencies = [r[0] for r in done]
    result = {
        "name": name,
        "requests": len(done),
        "planned": len(prepared),
        "errors": len(errors),
        "clients": clients,
        "wall": wall,
        "median": statistics.median(latencies) if latencies else float("nan"),
        "p95": percentile(latencies, 0.95) if latencies else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
        "rps": len(done) / wall if wall else 0,
        "cards": sum(r[2] for r in done),
        "bytes": statistics.mean(r[1] for r in done) if done else 0,
        "load": f"{load_before} -> {loadavg()}",
    }
    result["cards_per_s"] = result["cards"] / wall if wall else 0
    log(
        f"{name}: {result['requests']}/{len(prepared)} requests in {wall:.1f}s, "
        f"median {result['median'] * 1000:.0f} ms, p95 {result['p95'] * 1000:.0f} ms"
        + (f", {result['cards_per_s']:.0f} cards/s" if result["cards"] else "")
    )
    return result


def submit_body(persons, day, fixtures, rng, tag, spread=False):
    """A POST /attendances body: one card per person, at 06:00:00 + i seconds of
    ``day`` (``spread``: of day + i days, for a person repeated in the body), so
    that no two cards share a date or a time of day."""
    records = []
    for i, number in enumerate(persons):
        moment = datetime.combine(day, datetime.min.time()) + timedelta(
            days=i if spread else 0, hours=6, seconds=i
        )
        card = {
            "date_time": moment.strftime("%Y-%m-%d %H:%M:%S"),
            "attendance_type": rng.choice(fixtures["type_ids"]),
            "attendance_location": rng.choice(fixtures["locations"])[0],
            "attendance_category": "Present" if i % 10 else "Absent",
            "attendance_description": f"{tag} card {i}",
            "uuid": str(uuid.uuid4()),
        }
        records.append({"person_id": person(number), "time_card": [card]})
    return {
        "submitted_by": "bench-app",
        "submitted_datetime": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "submission_source": "bench",
        "records": records,
    }


def post_requests(args, fixtures, rng, first_day):
    """``--post-requests`` bodies of ``--post-size`` cards: distinct persons within a
    request, a fresh day per request (no duplicate under any uniqueness rule)."""
    prepared = []
    for r in range(args.post_requests):
        persons = rng.sample(range(1, args.subscribers + 1), args.post_size)
        day = first_day + timedelta(days=r)
        body = submit_body(persons, day, fixtures, rng, f"post {r}")
        prepared.append(Request("POST", "/attendances", body, cards=args.post_size))
    return prepared


# ---------------------------------------------------------------------------------
# 4. SQL queries per request (single-process server, debug_sql log)
# ---------------------------------------------------------------------------------

LINE_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.M)
ACCESS = re.compile(r'werkzeug: .*"(\w+) (\S+) HTTP/[\d.]+" (\d+) - (\d+) ')
QUERY = re.compile(r"odoo\.sql_db: \[[\d.]+ ms\] query: \s*(\w+)", re.S)


def count_queries(server, token, req, timeout=30):
    """Send one request and count its SQL queries in the server's debug_sql log."""
    log_path = Path(server.log_file)
    offset = log_path.stat().st_size
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = requests.request(
        req.method, server.url + req.path, data=req.data, headers=headers, timeout=600
    )
    if response.status_code != req.expect:
        raise RuntimeError(
            f"{req.method} {req.path[:80]}: {response.status_code} "
            + response.text[:300]
        )
    deadline = time.monotonic() + timeout
    path = req.path.split("?")[0]
    while time.monotonic() < deadline:
        with open(log_path, errors="replace") as handle:
            handle.seek(offset)
            chunk = handle.read()
        entries = LINE_START.split(chunk)
        access = [ACCESS.search(e) for e in entries]
        hits = [
            m for m in access if m and m[1] == req.method and m[2].split("?")[0] == path
        ]
        if hits:
            kinds = {}
            for entry in entries:
                match = QUERY.search(entry)
                if match:
                    kind = match[1].upper()
                    kinds[kind] = kinds.get(kind, 0) + 1
            return int(hits[-1][4]), kinds, response
        time.sleep(0.2)
    raise RuntimeError(f"no access log line for {req.method} {req.path[:80]}")


def query_probes(server, token, args, fixtures, rng, heavy, day):
    """Query counts of each route at several sizes (run twice: the first pass
    warms the server's caches up). Cards are dated from ``day`` on."""
    numbers = rng.sample(range(1, args.subscribers + 1), min(1000, args.subscribers))

    def ids(count):
        return ",".join(person(n) for n in numbers[:count])

    heavy_cards = min(schemas_max_batch(), 1000)
    posts = [
        ("POST 10 cards (10 persons)", numbers[:10], 10),
        ("POST 20 cards (20 persons)", numbers[:20], 20),
        ("POST 100 cards (100 persons)", numbers[:100], 100),
        ("POST 1000 cards (1000 persons)", numbers[:1000], 1000),
        ("POST 1000 cards (1 person)", [heavy] * heavy_cards, heavy_cards),
    ]
    rows = []
    created = []
    for index, (label, persons, size) in enumerate(posts):
        if len(persons) < size:
            continue
        body = submit_body(
            persons,
            day + timedelta(days=index),
            fixtures,
            rng,
            label,
            spread=len(set(persons)) < len(persons),
        )
        count, kinds, response = count_queries(
            server, token, Request("POST", "/attendances", body, cards=size)
        )
        created.append([r["id"] for r in response.json()["results"]])
        if size == 20:
            created.pop()  # PUT and DELETE below use the 1,000-card batch
        rows.append((label, count, kinds))
    gets = [
        (f"GET /attendance/<pid> (~{args.records // args.subscribers} records)", 1),
        ("GET /attendance/<pid>?limit=10 (person with 1000+ records)", 2),
        ("GET /attendance/<pid>?limit=100 (same person)", 3),
        ("GET /attendance/<pid>?limit=500 (same person)", 4),
        ("GET /attendances?person_ids=<10>&limit=10", 5),
        ("GET /attendances?person_ids=<100>&limit=100", 6),
        ("GET /attendances?limit=10 (plain page 3)", 7),
        ("GET /attendances?limit=100 (plain page 3)", 8),
        ("GET /attendances?limit=500 (plain page 3)", 9),
        ("GET /attendances?limit=100&last_id=<id>", 14),
        ("GET /attendances?limit=100&cursor=<id>", 15),
        ("GET /subscribers?limit=10", 10),
        ("GET /subscribers?limit=500", 11),
        ("GET /subscribers?limit=100&cursor=<id>", 16),
        ("GET /subscriber/<pid>", 12),
        ("GET /attendance/types", 13),
    ]
    paths = {
        1: f"/attendance/{person(numbers[-1])}",
        2: f"/attendance/{person(heavy)}?limit=10",
        3: f"/attendance/{person(heavy)}?limit=100",
        4: f"/attendance/{person(heavy)}?limit=500",
        5: f"/attendances?person_ids={ids(10)}&limit=10",
        6: f"/attendances?person_ids={ids(100)}&limit=100",
        7: "/attendances?limit=10&page=3",
        8: "/attendances?limit=100&page=3",
        9: "/attendances?limit=500&page=3",
        10: "/subscribers?limit=10",
        11: "/subscribers?limit=500",
        12: f"/subscriber/{person(numbers[0])}",
        13: "/attendance/types",
        14: f"/attendances?limit=100&last_id={args.subscribers // 2}",
        15: "/attendances?limit=100&cursor="
        + cursor({"s": args.subscribers // 2, "t": args.subscribers}),
        16: "/subscribers?limit=100&cursor="
        + cursor({"s": args.subscribers // 2, "t": args.subscribers}),
    }
    for label, key in gets:
        count, kinds, _response = count_queries(
            server, token, Request("GET", paths[key])
        )
        rows.append((label, count, kinds))
    # updates and removals of records created above (10 and 100 at a time): a
    # description (untracked field), then the moment (tracked, changes the local
    # time: same day, so that the duplicate key stays free under any date rule)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    moved = datetime.combine(day + timedelta(days=2), datetime.min.time())
    for label, change in (
        ("description", lambda i, size: {"attendance_description": f"fix {size}"}),
        (
            "date_time",
            lambda i, size: {
                "date_time": (moved + timedelta(hours=size // 10, seconds=i)).strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
            },
        ),
    ):
        for size in (10, 100):
            if len(created) < 3 or len(created[2]) < size:
                break
            body = {
                "submitted_by": "bench-app",
                "submitted_datetime": stamp,
                "records": [
                    {"id": record_id, "time_card": change(i, size)}
                    for i, record_id in enumerate(created[2][:size])
                ],
            }
            count, kinds, _response = count_queries(
                server, token, Request("PUT", "/attendances", body)
            )
            rows.append((f"PUT {size} records ({label})", count, kinds))
    for size in (10, 100):
        if len(created) < 3 or len(created[2]) < 110:
            break
        chunk = created[2][110 + (0 if size == 10 else 10) :][:size]
        path = "/attendances?ids=" + ",".join(map(str, chunk))
        count, kinds, _response = count_queries(
            server, token, Request("DELETE", path, {})
        )
        rows.append((f"DELETE {size} records (archive)", count, kinds))
    return rows


def schemas_max_batch():
    from odoo.addons.spp_attendance.api import schemas

    return schemas.MAX_BATCH


# ---------------------------------------------------------------------------------
# pg_stat_statements (optional)
# ---------------------------------------------------------------------------------


def pgss_reset(db):
    try:
        with contextlib.closing(db.connect(autocommit=True)) as connection:
            with connection.cursor() as cr:
                cr.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                cr.execute("SELECT pg_stat_statements_reset()")
        return True
    except psycopg2.Error as exc:
        log(f"pg_stat_statements unavailable ({str(exc).strip()[:80]})")
        return False


def pgss_top(db, limit=10):
    with contextlib.closing(db.connect(autocommit=True)) as connection:
        with connection.cursor() as cr:
            cr.execute(
                "SELECT calls, total_exec_time, mean_exec_time, rows, "
                "regexp_replace(query, '\\s+', ' ', 'g') "
                "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                "WHERE d.datname = current_database() "
                "ORDER BY total_exec_time DESC LIMIT %s",
                (limit,),
            )
            return cr.fetchall()


# ---------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------


#: The query probe (label prefix) of each HTTP phase (name prefix).
PHASE_PROBES = (
    ("POST /attendances, 1000 cards", "POST 1000 cards (1000 persons)"),
    ("POST /attendances, 20 cards", "POST 20 cards (20 persons)"),
    ("GET /attendance/<pid>", "GET /attendance/<pid> (~"),
    ("GET /attendances, 100 named persons", "GET /attendances?person_ids=<100>"),
    ("GET /attendances, page of 100 (random", "GET /attendances?limit=100 (plain"),
    ("GET /attendances, page of 100 after", "GET /attendances?limit=100&last_id"),
    ("GET /attendances, page of 100 by cursor", "GET /attendances?limit=100&cursor"),
    ("GET /subscribers, page of 100 by cursor", "GET /subscribers?limit=100&cursor"),
    ("GET /subscribers, page of 100", "GET /subscribers?limit=500"),
)


def floor_table(phases, floors, probes):
    """Each figure beside its floors measured in the same run, with the ratios
    (figure / floor: how many times the API is slower than the floor)."""

    def ratio(api, floor):
        if not floor:
            return "-"
        value = api / floor
        return f"{value:.1f}x" if value >= 1 else f"{value:.2f}x"

    def queries(name):
        for phase_prefix, probe_prefix in PHASE_PROBES:
            if name.startswith(phase_prefix):
                for label, count, _kinds in probes:
                    if label.startswith(probe_prefix):
                        return str(count)
        return ""

    lines = [
        "## Each figure beside its floors (same run, same database and rows)",
        "",
        "Floors: the bare ORM call (create() of the batch's values with flush, or "
        "search_read of the same rows) and one SQL statement (INSERT ... SELECT "
        "FROM unnest, or the SELECT of the same rows), in process, as the API's "
        "technical user, run right after the HTTP phase in as many processes as "
        "it had clients (writes rolled back). Ratio = figure / floor "
        "(for cards/s: floor / figure), i.e. how many times slower than the floor.",
        "",
        "| figure | clients | API | floor ORM | floor SQL | API / ORM | API / SQL "
        "| ORM / SQL | queries (API) | floor calls | load avg after floors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in phases:
        f = floors.get(p["name"])
        if not f:
            continue
        orm, sql = f["orm"], f["sql"]
        calls = f"{orm['calls']} + {sql['calls']}"
        rows = []
        if p["cards"]:
            rows.append(
                (
                    f"{p['name']}: cards/s",
                    p["cards_per_s"],
                    orm["cards_per_s"],
                    sql["cards_per_s"],
                    True,
                )
            )
        rows += [
            (f"{p['name']}: median ms", p["median"], orm["median"], sql["median"], 0),
            (f"{p['name']}: p95 ms", p["p95"], orm["p95"], sql["p95"], 0),
        ]
        for label, api, f_orm, f_sql, per_second in rows:
            if per_second:
                cells = (f"{api:.0f}", f"{f_orm:.0f}", f"{f_sql:.0f}")
                ratios = (ratio(f_orm, api), ratio(f_sql, api), ratio(f_sql, f_orm))
            else:
                cells = (
                    f"{api * 1000:.1f}",
                    f"{f_orm * 1000:.1f}",
                    f"{f_sql * 1000:.2f}",
                )
                ratios = (ratio(api, f_orm), ratio(api, f_sql), ratio(f_orm, f_sql))
            lines.append(
                f"| {label} | {p['clients']} | {' | '.join(cells)} "
                f"| {' | '.join(ratios)} | {queries(p['name'])} | {calls} "
                f"| {f['load']} |"
            )
    return lines


def report(args, info, fixtures, load, phases, probes, top, started, floors=None):
    lines = [
        f"# REST API benchmark, {started:%Y-%m-%d %H:%M}",
        "",
        f"- machine: {info['cpu']}, {info['memory']} RAM, kernel {info['kernel']}, "
        f"Python {info['python']}, {info['postgres']}",
        f"- data: {args.subscribers} subscribers, {args.records} attendance records "
        f"({info['db_records']} in the table), uniqueness rule: "
        f"{', '.join(fixtures['flags']) or 'none'}",
        f"- server: Odoo {info['odoo']}, --workers={args.workers}, "
        "--max-cron-threads=0, 127.0.0.1",
        f"- load average at start: {info['load_start']}; at end: {loadavg()}",
        "",
    ]
    if fixtures["unique_seconds"] is not None:
        lines[-1:-1] = [
            "- uniqueness rule changed at start: every duplicate key recomputed in "
            f"{fixtures['unique_seconds']:.1f} s ({info['db_records']} records)"
        ]
    if load:
        lines += [
            "## Bulk load (set-based SQL)",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| {args.subscribers} partners + subscribers "
            f"| {load['subscribers']:.1f} |",
            f"| {args.records} attendance records | {load['records']:.1f} |",
            f"| VACUUM ANALYZE + CHECKPOINT | {load['vacuum_analyze']:.1f} |",
            "",
        ]
    lines += [
        "## Throughput and latency (real HTTP)",
        "",
        "| phase | clients | requests | wall (s) | req/s | cards/s | median (ms) "
        "| p95 (ms) | max (ms) | response (KiB) | errors | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in phases:
        lines.append(
            f"| {p['name']} | {p['clients']} | {p['requests']}/{p['planned']} "
            f"| {p['wall']:.1f} | {p['rps']:.1f} "
            f"| {p['cards_per_s']:.0f} | {p['median'] * 1000:.0f} "
            f"| {p['p95'] * 1000:.0f} | {p['max'] * 1000:.0f} "
            f"| {p['bytes'] / 1024:.0f} | {p['errors']} | {p['load']} |"
        )
    if floors:
        lines += ["", *floor_table(phases, floors, probes)]
    lines += [
        "",
        "## SQL queries per request (single-process server, after a warm-up pass)",
        "",
        "| request | queries | by kind |",
        "|---|---:|---|",
    ]
    for label, count, kinds in probes:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        lines.append(f"| {label} | {count} | {detail} |")
    if top:
        lines += [
            "",
            "## Top statements during the HTTP phases and their floors "
            "(pg_stat_statements)",
            "",
            "| calls | total ms | mean ms | rows | statement |",
            "|---:|---:|---:|---:|---|",
        ]
        for calls, total, mean, rows, text in top:
            text = text.replace("|", "\\|")
            text = text[:160] + ("..." if len(text) > 160 else "")
            lines.append(f"| {calls} | {total:.0f} | {mean:.2f} | {rows} | `{text}` |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument(
        "--odoo-bin", default=str(Path(sys.executable).with_name("odoo"))
    )
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--load-chunk", type=int, default=250_000)
    parser.add_argument(
        "--unique",
        default="",
        help="uniqueness rule to enable, e.g. 'date' or 'date,type' (default none)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--post-requests", type=int, default=20)
    parser.add_argument("--post-size", type=int, default=1000)
    parser.add_argument("--post-clients", type=int, default=2)
    parser.add_argument(
        "--small-post-requests",
        type=int,
        default=100,
        help="POST /attendances of --small-post-size cards, one client",
    )
    parser.add_argument("--small-post-size", type=int, default=20)
    parser.add_argument("--history-requests", type=int, default=500)
    parser.add_argument("--list-requests", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--phase-seconds",
        type=float,
        default=180,
        help="no new request is sent after this many seconds of a phase",
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--floor-post-repeat",
        type=int,
        default=5,
        help="floor calls of a 1,000-card batch per floor process (0: no floors)",
    )
    parser.add_argument(
        "--floor-repeat",
        type=int,
        default=50,
        help="floor calls of the other phases per floor process",
    )
    parser.add_argument("--results-dir", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--run-dir", default=str(ROOT / ".run" / "bench"))
    args = parser.parse_args()
    if args.subscribers < 1 or args.records < args.subscribers:
        parser.error("--records must be at least --subscribers (>= 1)")
    args.post_size = min(args.post_size, args.subscribers)
    return args


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now()
    rng = random.Random(args.seed)
    info = machine_info()
    info["load_start"] = loadavg()
    db = Database(args.config, args.database)
    import odoo.release

    info["odoo"] = odoo.release.version
    info["postgres"] = "PostgreSQL " + db.scalar("SHOW server_version")
    Path(args.run_dir).mkdir(parents=True, exist_ok=True)
    unique = tuple(f.strip() for f in args.unique.split(",") if f.strip())

    log(f"fixtures (load average {info['load_start']})")
    fixtures = setup_fixtures(args.database, unique)
    found, loaded = check_loaded(db)
    load = None
    if found or loaded:
        if (found, loaded) != (args.subscribers, args.records):
            raise SystemExit(
                f"the database already holds {found} bench subscribers and {loaded} "
                "records: use a fresh database (bench/api_bench.sh drops it)"
            )
        log("data already loaded: reusing it")
        removed = remove_added_records(db)
        if removed:
            log(f"removed {removed} records added by earlier runs")
    else:
        log(f"loading {args.subscribers} subscribers, {args.records} records")
        load = load_data(
            db, fixtures, args.subscribers, args.records, max(1, args.load_chunk)
        )
        check_loaded(db)
    info["db_records"] = db.scalar("SELECT count(*) FROM spp_attendance_list")

    servers = []
    phases, probes, top = [], [], []
    floors = {}
    pool = None
    try:
        if args.floor_post_repeat > 0:
            log("starting the floor processes")
            pool = api_floors.FloorPool(
                args.config,
                args.database,
                {
                    "prefix": PREFIX,
                    "key_sql": fixtures["key_sql"],
                    "type_ids": fixtures["type_ids"],
                    "location_ids": [loc for loc, _tz in fixtures["locations"]],
                    "api_client_id": fixtures["client_db_id"],
                    "uid": fixtures["api_uid"],
                    "history_limit": 30,
                },
                max(args.post_clients, args.clients, 1),
                args.seed,
            )
            pool.wait_ready()

        def floor(name, job, clients, repeat, cards=0):
            """The floors of the phase just run (same run, same rows)."""
            if pool is None:
                return
            log(f"floors of {name} ({clients} processes, load {loadavg()})")
            result = pool.run(job, clients, repeat, cards)
            result["load"] = loadavg()
            floors[name] = result
            log(
                f"floors of {name}: ORM median {result['orm']['median'] * 1000:.1f} ms"
                f", SQL median {result['sql']['median'] * 1000:.1f} ms"
            )

        server = start_bench_server(
            args,
            "api-bench-server.log",
            [f"--workers={args.workers}", "--log-level=warn"],
        )
        servers.append(server)
        token = get_token(server.url, fixtures)
        log(f"server {server.url} ({args.workers} workers) ready")
        # a few requests so that every worker has loaded its registry
        warm = [
            Request("GET", f"/attendance/{person(n)}")
            for n in rng.sample(range(1, args.subscribers + 1), 8)
        ]
        run_phase("warm-up", server.url, token, warm, args.workers, 120)
        pgss = pgss_reset(db)

        # cards are dated after every stored record (a reused database included),
        # so that no card is a duplicate under any date-based uniqueness rule
        last_date = db.scalar("SELECT max(attendance_date) FROM spp_attendance_list")
        first_day = max(date(2030, 1, 1), last_date + timedelta(days=1))
        phases.append(
            run_phase(
                f"POST /attendances, {args.post_size} cards",
                server.url,
                token,
                post_requests(args, fixtures, rng, first_day),
                args.post_clients,
                args.phase_seconds,
            )
        )
        floor(
            phases[-1]["name"],
            f"post:{args.post_size}",
            args.post_clients,
            args.floor_post_repeat,
            args.post_size,
        )
        small_size = min(args.small_post_size, args.subscribers)
        small = [
            Request(
                "POST",
                "/attendances",
                submit_body(
                    rng.sample(range(1, args.subscribers + 1), small_size),
                    first_day + timedelta(days=args.post_requests + 3000 + r),
                    fixtures,
                    rng,
                    f"small post {r}",
                ),
                cards=small_size,
            )
            for r in range(args.small_post_requests)
        ]
        if small:
            phases.append(
                run_phase(
                    f"POST /attendances, {small_size} cards",
                    server.url,
                    token,
                    small,
                    1,
                    args.phase_seconds,
                )
            )
            floor(
                phases[-1]["name"],
                f"post:{small_size}",
                1,
                args.floor_repeat,
                small_size,
            )
        history = [
            Request("GET", f"/attendance/{person(n)}")
            for n in (
                rng.randint(1, args.subscribers) for _ in range(args.history_requests)
            )
        ]
        phases.append(
            run_phase(
                "GET /attendance/<pid>",
                server.url,
                token,
                history,
                args.clients,
                args.phase_seconds,
            )
        )
        floor(phases[-1]["name"], "history", args.clients, args.floor_repeat)
        single = [
            Request("GET", f"/attendance/{person(rng.randint(1, args.subscribers))}")
            for _ in range(max(1, args.history_requests // 5))
        ]
        phases.append(
            run_phase(
                "GET /attendance/<pid>, one client",
                server.url,
                token,
                single,
                1,
                args.phase_seconds,
            )
        )
        floor(phases[-1]["name"], "history", 1, args.floor_repeat)
        many = [
            Request(
                "GET",
                "/attendances?limit=100&person_ids="
                + ",".join(
                    person(n)
                    for n in rng.sample(
                        range(1, args.subscribers + 1), min(100, args.subscribers)
                    )
                ),
            )
            for _ in range(args.list_requests)
        ]
        phases.append(
            run_phase(
                "GET /attendances, 100 named persons",
                server.url,
                token,
                many,
                args.clients,
                args.phase_seconds,
            )
        )
        floor(phases[-1]["name"], "named", args.clients, args.floor_repeat)
        pages = max(1, args.subscribers // 100)
        plain = [
            Request("GET", f"/attendances?limit=100&page={rng.randint(1, pages)}")
            for _ in range(args.list_requests)
        ]
        phases.append(
            run_phase(
                "GET /attendances, page of 100 (random page=)",
                server.url,
                token,
                plain,
                args.clients,
                args.phase_seconds,
            )
        )
        floor(phases[-1]["name"], "offset", args.clients, args.floor_repeat)
        max_id = db.scalar("SELECT max(id) FROM spp_attendance_subscriber")
        keyset = [
            Request("GET", f"/attendances?limit=100&last_id={rng.randint(0, max_id)}")
            for _ in range(args.list_requests)
        ]
        phases.append(
            run_phase(
                "GET /attendances, page of 100 after last_id",
                server.url,
                token,
                keyset,
                args.clients,
                args.phase_seconds,
            )
        )
        floor(phases[-1]["name"], "keyset", args.clients, args.floor_repeat)
        subs = [
            Request("GET", f"/subscribers?limit=100&page={rng.randint(1, pages)}")
            for _ in range(args.list_requests)
        ]
        phases.append(
            run_phase(
                "GET /subscribers, page of 100 (random page=)",
                server.url,
                token,
                subs,
                args.clients,
                args.phase_seconds,
            )
        )
        floor(phases[-1]["name"], "subscribers", args.clients, args.floor_repeat)
        # A cursor walk, as the API documents for large lists: the cursor carries
        # the count of the walk's first page (here the whole registry), so a page
        # reached by cursor does not count again.
        # /attendances also with one client: a page is ~1,000 records of work,
        # so with more clients than workers the p95 is mostly queueing.
        walks = (
            ("/attendances", "keyset", args.clients, ""),
            ("/attendances", "keyset", 1, ", one client"),
            ("/subscribers", "subscribers_keyset", args.clients, ""),
        )
        for path, job, clients, label in walks:
            walk = [
                Request(
                    "GET",
                    f"{path}?limit=100&cursor="
                    + cursor({"s": rng.randint(0, max_id), "t": args.subscribers}),
                )
                for _ in range(args.list_requests)
            ]
            phases.append(
                run_phase(
                    f"GET {path}, page of 100 by cursor{label}",
                    server.url,
                    token,
                    walk,
                    clients,
                    args.phase_seconds,
                )
            )
            floor(phases[-1]["name"], job, clients, args.floor_repeat)
        if pgss:
            top = pgss_top(db)
        server.stop()

        log("counting SQL queries per request (single-process server, debug_sql)")
        server = start_bench_server(
            args, "api-bench-sql.log", ["--workers=0", "--log-level=debug_sql"]
        )
        servers.append(server)
        token = get_token(server.url, fixtures)
        heavy = rng.randint(1, args.subscribers)
        query_probes(
            server,
            token,
            args,
            fixtures,
            random.Random(args.seed),
            heavy,
            first_day + timedelta(days=args.post_requests + 10),
        )
        probes = query_probes(
            server,
            token,
            args,
            fixtures,
            random.Random(args.seed + 1),
            heavy,
            first_day + timedelta(days=args.post_requests + 1200),
        )
        server.stop()
    finally:
        for server in servers:
            server.stop()
        if pool is not None:
            pool.close()

    text = report(args, info, fixtures, load, phases, probes, top, started, floors)
    print(text)
    results = Path(args.results_dir)
    results.mkdir(parents=True, exist_ok=True)
    out = results / f"api-{started:%Y%m%d-%H%M%S}.md"
    out.write_text(text)
    log(f"written to {out}")


if __name__ == "__main__":
    main()
