"""Floors of the REST API benchmark: the same work as a request, without HTTP.

``api_bench.py`` measures each API figure next to two floors measured in the same
run, on the same database and the same kind of rows:

- **ORM floor**: the bare ORM call, in process (``odoo.modules.registry.Registry``
  and ``odoo.api.Environment``, as the API's technical user, the record cache
  cleared before each call): ``create(vals_list)`` of the values an API batch
  stores, or the ``search_read`` of the rows a GET returns;
- **SQL floor**: one SQL statement doing the same: an ``INSERT ... SELECT ... FROM
  unnest(...)`` computing the stored columns (company, time zone, local date and
  time, duplicate key) in SQL, or the ``SELECT`` returning the same rows.

Writes are rolled back (``cr.rollback()`` after each call, not timed; the API
commits, which costs one WAL flush more). The floors run in worker processes
(``multiprocessing`` *spawn*, each with its own registry and cursor) started before
the HTTP phases and idle during them; after each HTTP phase, as many workers as
the phase had clients run the floors of that phase at the same time, the ORM
floor first in every worker, then the SQL floor (so that throughputs compare:
cards/s is the cards of all workers over the wall time of the stage).

Same data as the API requests: random bench persons, random types and locations
of the fixtures, cards dated in the future (no duplicate), fresh uuids.
"""

import contextlib
import multiprocessing
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from odoo_process import percentile

#: The columns of an API batch's INSERT (``services/submit.py``), besides
#: ``active`` and the audit columns.
POST_SQL = """
INSERT INTO spp_attendance_list (
    subscriber_id, company_id, attendance_category, attendance_type_id,
    attendance_location_id, attendance_description, attendance_external_url,
    attendance_datetime, attendance_tz, attendance_date, attendance_time,
    submitted_by, submitted_datetime, submission_source, uuid, api_client_id,
    duplicate_key, active, create_uid, write_uid, create_date, write_date)
SELECT subscriber_id, company_id, attendance_category, attendance_type_id,
       attendance_location_id, attendance_description, NULL, attendance_datetime,
       attendance_tz, attendance_date, attendance_time, %(submitted_by)s,
       %(submitted_datetime)s, %(source)s, uuid, %(client)s, {duplicate_key}, true,
       %(uid)s, %(uid)s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
  FROM (
    SELECT c.subscriber_id, s.company_id, c.attendance_category,
           c.attendance_type_id, c.attendance_location_id, c.attendance_description,
           c.attendance_datetime, z.tz AS attendance_tz, w.local::date AS
           attendance_date, to_char(w.local, 'HH24:MI:SS') AS attendance_time,
           c.uuid, c.n
      FROM unnest(%(subscriber_ids)s::int[], %(moments)s::timestamp[],
                  %(categories)s::varchar[], %(type_ids)s::int[],
                  %(location_ids)s::int[], %(descriptions)s::text[],
                  %(uuids)s::varchar[])
           WITH ORDINALITY AS c(subscriber_id, attendance_datetime,
                attendance_category, attendance_type_id, attendance_location_id,
                attendance_description, uuid, n)
      JOIN spp_attendance_subscriber s ON s.id = c.subscriber_id
      LEFT JOIN spp_attendance_location l ON l.id = c.attendance_location_id
     CROSS JOIN LATERAL (SELECT COALESCE(l.tz, 'UTC') AS tz) z
     CROSS JOIN LATERAL (
        SELECT (c.attendance_datetime AT TIME ZONE 'UTC') AT TIME ZONE z.tz AS local
     ) w
  ) AS att
 ORDER BY n
RETURNING id
"""

RECORD_COLUMNS = """
       a.id, a.subscriber_id, a.uuid, a.attendance_date, a.attendance_time,
       a.attendance_datetime, a.attendance_category, a.attendance_type_id, t.name,
       t.description, a.attendance_location_id, l.name, l.description,
       a.attendance_description, a.attendance_external_url, a.submitted_by,
       a.submitted_datetime, a.submission_source
  FROM spp_attendance_list a
  LEFT JOIN spp_attendance_type t ON t.id = a.attendance_type_id
  LEFT JOIN spp_attendance_location l ON l.id = a.attendance_location_id
"""
HISTORY_SQL = (
    "SELECT"
    + RECORD_COLUMNS
    + """
  JOIN spp_attendance_subscriber s ON s.id = a.subscriber_id
 WHERE s.person_identifier = %(pid)s AND s.active AND a.active
   AND a.company_id = ANY(%(companies)s)
 ORDER BY a.attendance_datetime DESC, a.id DESC
 LIMIT %(limit)s
"""
)
PERSONS_SQL = (
    "SELECT"
    + RECORD_COLUMNS
    + """
 WHERE a.active AND a.company_id = ANY(%(companies)s) AND a.subscriber_id IN (
       SELECT id FROM spp_attendance_subscriber
        WHERE active AND company_id = ANY(%(companies)s) {where}
        ORDER BY id {limit})
 ORDER BY a.subscriber_id, a.attendance_datetime DESC, a.id DESC
"""
)
SUBSCRIBER_FIELDS = (
    "person_identifier",
    "name",
    "family_name",
    "given_name",
    "email",
    "phone",
    "mobile",
)
SUBSCRIBERS_SQL = """
SELECT s.id, s.person_identifier, p.name, s.family_name, s.given_name, p.email,
       p.phone, p.mobile
  FROM spp_attendance_subscriber s JOIN res_partner p ON p.id = s.partner_id
 WHERE s.active AND s.company_id = ANY(%(companies)s) AND s.id > %(after)s
 ORDER BY s.id LIMIT %(limit)s OFFSET %(offset)s
"""


# ---------------------------------------------------------------------------------
# In the worker process
# ---------------------------------------------------------------------------------


class Floors:
    """The floor calls, on one cursor of the worker's registry."""

    def __init__(self, env, params, rng):
        self.env = env
        self.cr = env.cr
        self.params = params
        self.rng = rng
        self.companies = env.companies.ids
        # what the API's history reads of a record, from the service itself
        from odoo.addons.spp_attendance.services.history import RECORD_FIELDS

        self.record_fields = list(RECORD_FIELDS)
        self.cr.execute(
            "SELECT id, person_identifier FROM spp_attendance_subscriber "
            "WHERE person_identifier LIKE %s AND active ORDER BY id",
            [params["prefix"] + "%"],
        )
        self.persons = self.cr.fetchall()
        self.cr.execute("SELECT max(id) FROM spp_attendance_subscriber")
        self.max_id = self.cr.fetchone()[0]
        self.key_sql = (params["key_sql"] or "NULL").replace("%", "%%")
        self.day = datetime(2045, 1, 1)

    # -- POST ------------------------------------------------------------------------

    def cards(self, size):
        """``size`` cards as an API batch stores them: distinct random persons."""
        self.day += timedelta(days=1)
        persons = self.rng.sample(self.persons, size)
        stamp = datetime.utcnow().replace(microsecond=0)
        cards = []
        for i, (subscriber_id, _pid) in enumerate(persons):
            cards.append(
                {
                    "subscriber_id": subscriber_id,
                    "attendance_datetime": self.day + timedelta(hours=6, seconds=i),
                    "attendance_category": "present" if i % 10 else "absent",
                    "attendance_type_id": self.rng.choice(self.params["type_ids"]),
                    "attendance_location_id": self.rng.choice(
                        self.params["location_ids"]
                    ),
                    "attendance_description": f"floor card {i}",
                    "uuid": str(uuid.uuid4()),
                    "submitted_by": "bench-app",
                    "submitted_datetime": stamp,
                    "submission_source": "bench",
                    "api_client_id": self.params["api_client_id"],
                }
            )
        return cards

    def post_orm(self, cards):
        Attendance = self.env["spp.attendance.list"]
        return lambda: (Attendance.create(cards), self.env.flush_all())

    def post_sql(self, cards):
        params = {
            "subscriber_ids": [c["subscriber_id"] for c in cards],
            "moments": [c["attendance_datetime"] for c in cards],
            "categories": [c["attendance_category"] for c in cards],
            "type_ids": [c["attendance_type_id"] for c in cards],
            "location_ids": [c["attendance_location_id"] for c in cards],
            "descriptions": [c["attendance_description"] for c in cards],
            "uuids": [c["uuid"] for c in cards],
            "submitted_by": cards[0]["submitted_by"],
            "submitted_datetime": cards[0]["submitted_datetime"],
            "source": cards[0]["submission_source"],
            "client": cards[0]["api_client_id"],
            "uid": self.env.uid,
        }
        query = POST_SQL.format(duplicate_key=self.key_sql)

        def run():
            self.cr.execute(query, params)
            if len(self.cr.fetchall()) != len(cards):
                raise RuntimeError("the SQL floor inserted a wrong number of rows")

        return run

    # -- GET -------------------------------------------------------------------------

    def pid(self):
        return self.rng.choice(self.persons)[1]

    def history(self):
        pid = self.pid()
        Attendance = self.env["spp.attendance.list"]
        limit = self.params["history_limit"] + 1  # the API reads one more
        orm = lambda: Attendance.search_read(  # noqa: E731
            [("subscriber_id.person_identifier", "=", pid)],
            self.record_fields,
            limit=limit,
        )
        sql = (HISTORY_SQL, {"pid": pid, "companies": self.companies, "limit": limit})
        return orm, sql

    def named(self, count=100):
        pids = [pid for _id, pid in self.rng.sample(self.persons, count)]
        Attendance = self.env["spp.attendance.list"]
        Subscriber = self.env["spp.attendance.subscriber"]

        def orm():
            subscribers = Subscriber.search_fetch(
                [("person_identifier", "in", pids)],
                ["person_identifier"],
                order="id",
                limit=count,
            )
            return Attendance.search_read(
                [("subscriber_id", "in", subscribers.ids)],
                [*self.record_fields, "subscriber_id"],
            )

        sql = (
            PERSONS_SQL.format(
                where="AND person_identifier = ANY(%(pids)s)", limit="LIMIT %(limit)s"
            ),
            {"pids": pids, "companies": self.companies, "limit": count},
        )
        return orm, sql

    def page(self, by, count=100):
        Attendance = self.env["spp.attendance.list"]
        Subscriber = self.env["spp.attendance.subscriber"]
        if by == "offset":
            offset = (
                self.rng.randint(1, max(1, len(self.persons) // count)) - 1
            ) * count
            domain, where = [], "LIMIT %(limit)s OFFSET %(offset)s"
            where_ids = ""
        else:
            offset, after = 0, self.rng.randint(0, self.max_id)
            domain, where = [("id", ">", after)], "LIMIT %(limit)s"
            where_ids = "AND id > %(after)s"

        def orm():
            subscribers = Subscriber.search_fetch(
                domain, ["person_identifier"], order="id", offset=offset, limit=count
            )
            return Attendance.search_read(
                [("subscriber_id", "in", subscribers.ids)],
                [*self.record_fields, "subscriber_id"],
            )

        params = {"companies": self.companies, "limit": count, "offset": offset}
        if by != "offset":
            params["after"] = after
        return orm, (PERSONS_SQL.format(where=where_ids, limit=where), params)

    def subscribers(self, by="offset", count=100):
        if by == "offset":
            offset = (
                self.rng.randint(1, max(1, len(self.persons) // count)) - 1
            ) * count
            after = 0
        else:
            offset, after = 0, self.rng.randint(0, self.max_id)
        Subscriber = self.env["spp.attendance.subscriber"]
        orm = lambda: Subscriber.search_read(  # noqa: E731
            [("id", ">", after)],
            list(SUBSCRIBER_FIELDS),
            order="id",
            offset=offset,
            limit=count,
        )
        params = {
            "companies": self.companies,
            "limit": count,
            "offset": offset,
            "after": after,
        }
        return orm, (SUBSCRIBERS_SQL, params)


def _timed(env, func):
    env.invalidate_all(flush=False)
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _stage(floors, job, stage, repeat):
    """Run ``repeat`` calls of one stage (``orm`` or ``sql``) of ``job``; returns
    the durations and the stage's start and end (monotonic clock)."""
    env, cr = floors.env, floors.cr
    kind, _sep, arg = job.partition(":")
    durations = []
    begin = time.monotonic()
    for _i in range(repeat):
        if kind == "post":
            cards = floors.cards(int(arg))
            call = floors.post_orm(cards) if stage == "orm" else floors.post_sql(cards)
        else:
            orm, (query, params) = {
                "history": floors.history,
                "named": floors.named,
                "offset": lambda: floors.page("offset"),
                "keyset": lambda: floors.page("keyset"),
                "subscribers": lambda: floors.subscribers("offset"),
                "subscribers_keyset": lambda: floors.subscribers("keyset"),
            }[kind]()

            def sql(query=query, params=params):
                cr.execute(query, params)
                return cr.fetchall()

            call = orm if stage == "orm" else sql
        durations.append(_timed(env, call))
        cr.rollback()
    return durations, begin, time.monotonic()


def worker(config, dbname, params, seed, tasks, results, go):
    """Worker process: load the registry, then run the stages it is sent."""
    import odoo
    from odoo import api

    odoo.tools.config.parse_config(
        ["-c", config, "-d", dbname, "--log-level=warn", "--logfile="]
    )
    registry = odoo.modules.registry.Registry(dbname)
    rng = random.Random(seed)
    with registry.cursor() as cr:
        env = api.Environment(cr, params["uid"], {"lang": "en_US"})
        floors = Floors(env, params, rng)
        cr.rollback()
        results.put(("ready", None))
        while True:
            task = tasks.get()
            if task is None:
                break
            job, stage, repeat = task
            try:
                # one call beforehand (caches of Python, PostgreSQL's buffers)
                _stage(floors, job, stage, 1)
                results.put(("ready", None))
                go.wait()
                go.clear()
                results.put(("done", _stage(floors, job, stage, repeat)))
            except Exception as exc:  # reported to the parent, which stops
                cr.rollback()
                results.put(("error", f"{type(exc).__name__}: {exc}"))


# ---------------------------------------------------------------------------------
# In the benchmark process
# ---------------------------------------------------------------------------------


class FloorPool:
    """``size`` floor workers, started at once and idle until asked."""

    def __init__(self, config, dbname, params, size, seed, timeout=600):
        ctx = multiprocessing.get_context("spawn")
        self.timeout = timeout
        self.workers = []
        for index in range(size):
            tasks, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
            process = ctx.Process(
                target=worker,
                args=(config, dbname, params, seed + index, tasks, results, go),
                daemon=True,
            )
            process.start()
            self.workers.append((process, tasks, results, go))

    def wait_ready(self):
        for _process, _tasks, results, _go in self.workers:
            self._expect(results, "ready")

    def _expect(self, results, what):
        kind, value = results.get(timeout=self.timeout)
        if kind == "error":
            raise RuntimeError(f"floor worker: {value}")
        if kind != what:
            raise RuntimeError(f"floor worker: expected {what}, got {kind}")
        return value

    def run(self, job, clients, repeat, cards=0):
        """The ORM then the SQL floor of ``job`` in ``clients`` workers at once;
        returns ``{"orm": stats, "sql": stats}``."""
        active = self.workers[:clients]
        out = {}
        for stage in ("orm", "sql"):
            for _process, tasks, _results, _go in active:
                tasks.put((job, stage, repeat))
            for _process, _tasks, results, _go in active:
                self._expect(results, "ready")
            for _process, _tasks, _results, go in active:
                go.set()
            done = [self._expect(results, "done") for _p, _t, results, _g in active]
            durations = [d for durs, _b, _e in done for d in durs]
            wall = max(e for _d, _b, e in done) - min(b for _d, b, _e in done)
            out[stage] = {
                "median": statistics.median(durations),
                "p95": percentile(durations, 0.95),
                "calls": len(durations),
                "wall": wall,
                "cards_per_s": cards * len(durations) / wall if wall else 0,
            }
        return out

    def close(self):
        for _process, tasks, _results, _go in self.workers:
            with contextlib.suppress(Exception):
                tasks.put(None)
        for process, _tasks, _results, _go in self.workers:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
