"""Check-in desk round trip at 100,000 subscribers (issue #13, item 8).

Run through ``bench/desk_bench.sh`` (fresh database without demo data). The script

1. creates the fixtures (``api_bench.setup_fixtures``: types, locations; the
   uniqueness rule date + type + location, so that every check-in computes and
   checks its duplicate key) and bulk-loads N subscribers and M attendance records
   with ``backoffice_index_bench``'s SQL loader (family names ``Fam00000`` ..., ten
   persons per family name);
2. creates an Attendance Officer and starts an Odoo server (threaded, as
   ``scripts/run.sh`` serves it) on 127.0.0.1;
3. logs the officer in (``/web/session/authenticate``), opens a desk session and
   times, over HTTP JSON-RPC exactly as the OWL client calls them
   (``/web/dataset/call_kw``), ``--checkins`` check-in round trips: **a name search**
   (``search_people`` with the person's family name and the first letters of the
   given name) **then the check-in** of the person found (``check_in``, one card
   with its uuid, answer with the session's counters and last check-ins);
4. interleaved with them, the floor: the same number of round trips of a bare ORM
   create of an attendance record (``call_kw`` ``spp.attendance.list.create``, one
   record, same user, same server), the cheapest way to store one record through
   Odoo's RPC;
5. prints p50/p95/max of each, in milliseconds.
"""

import argparse
import contextlib
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench  # fixtures, Database, start_bench_server
import backoffice_index_bench  # the subscriber and record loader
from odoo_process import percentile  # on the path set up by api_bench

LOGIN = "bench_desk_officer"
PASSWORD = "bench-desk-officer-1"  # a throwaway user of a throwaway database
UNIQUE = {"date", "type", "location"}


def log(message):
    api_bench.log(message)


def create_officer(dbname):
    import odoo
    from odoo import api

    registry = odoo.modules.registry.Registry(dbname)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        user = env["res.users"].search([("login", "=", LOGIN)])
        if user:
            # a database reused from an earlier run: its check-ins would now be
            # refused as duplicates
            cr.execute(
                "DELETE FROM spp_attendance_list WHERE create_uid = %s", [user.id]
            )
        else:
            env["res.users"].create(
                {
                    "name": "Bench Desk Officer",
                    "login": LOGIN,
                    "password": PASSWORD,
                    "tz": "UTC",
                    "groups_id": [
                        (6, 0, [env.ref("spp_attendance.group_attendance_officer").id])
                    ],
                }
            )


def family_of(number):
    """The loader's family name of person ``number`` (1-based)."""
    return "Fam%05d" % ((number - 1) // 10)


def run(args):
    db = api_bench.Database(args.config, args.database)
    log("fixtures")
    fixtures = api_bench.setup_fixtures(args.database, UNIQUE)
    if args.reuse_data:
        log("reusing the loaded data")
    else:
        backoffice_index_bench.load(db, fixtures, args.subscribers, args.records)
    create_officer(args.database)
    server = api_bench.start_bench_server(args, "desk_bench_server.log", [])
    try:
        officer = server.session(LOGIN, PASSWORD)

        def call(model, method, *call_args):
            return server.rpc(model, method, *call_args, session=officer)

        type_id = fixtures["type_ids"][0]
        location_id = fixtures["locations"][0][0]
        session = call("spp.attendance.desk", "open_session", type_id, location_id)
        session = {
            key: session[key]
            for key in ("type_id", "type_name", "location_id", "location_name")
        } | {"date": session["date"], "company_id": session["company_id"]}
        floor_session = call(
            "spp.attendance.desk", "open_session", fixtures["type_ids"][1], location_id
        )
        desk_ms, floor_ms = [], []
        step = max(args.subscribers // (args.checkins + args.warmup), 1)
        for index in range(args.warmup + args.checkins):
            number = 1 + index * step
            text = family_of(number)
            start = time.perf_counter()
            found = call("spp.attendance.desk", "search_people", session, text)
            person_id = next(pid for pid, _name in found)
            answer = call(
                "spp.attendance.desk",
                "check_in",
                session,
                [
                    {
                        "uuid": str(uuid.uuid4()),
                        "person_id": person_id,
                        "category": "present",
                        "scanned_at": datetime.now(timezone.utc).isoformat(),
                    }
                ],
            )
            elapsed = (time.perf_counter() - start) * 1000
            if answer["answers"][0]["status"] != "recorded":
                raise RuntimeError(f"{person_id}: {answer['answers'][0]}")
            # the floor: one bare create of a record of another person, same user
            floor_id = api_bench.person(number + 1)
            subscriber_id = db.scalar(
                "SELECT id FROM spp_attendance_subscriber WHERE person_identifier = %s",
                (floor_id,),
            )
            start = time.perf_counter()
            call(
                "spp.attendance.list",
                "create",
                {
                    "subscriber_id": subscriber_id,
                    "attendance_type_id": floor_session["type_id"],
                    "attendance_location_id": location_id,
                },
            )
            floor = (time.perf_counter() - start) * 1000
            if index >= args.warmup:
                desk_ms.append(elapsed)
                floor_ms.append(floor)
    finally:
        server.stop()
    print(
        f"\n{args.subscribers} subscribers, {args.records} attendance records, "
        f"uniqueness rule {'+'.join(sorted(UNIQUE))}, {args.checkins} round trips "
        f"each (after {args.warmup} warm-up), threaded server, "
        f"load {api_bench.loadavg()}\n"
    )
    print("| round trip | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|")
    for label, times in (
        ("check-in desk: name search + check-in", desk_ms),
        ("floor: bare ORM create (call_kw create)", floor_ms),
    ):
        print(
            f"| {label} | {percentile(times, 0.5):.1f} | {percentile(times, 0.95):.1f} "
            f"| {max(times):.1f} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument(
        "--odoo-bin", default=str(Path(sys.executable).with_name("odoo"))
    )
    parser.add_argument("--run-dir", default=".run/bench")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--checkins", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="the database already holds the bulk-loaded data (SPP_BENCH_REUSE=1)",
    )
    with contextlib.suppress(KeyboardInterrupt):
        run(parser.parse_args())


if __name__ == "__main__":
    main()
