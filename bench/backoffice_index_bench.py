"""Back-office list and search benchmark: the indexes of issue #15, item 4.

Run through ``bench/backoffice_index_bench.sh`` (fresh database without demo data).
The script

1. bulk-loads N subscribers (default 100,000) with set-based SQL, the same approach
   as ``api_bench.py``'s loader, but with family names ``Fam00000`` ... (ten persons
   per family name, so that ``name_search("Fam01234")`` matches exactly 10), and M
   attendance records (default 300,000) with ``api_bench.py``'s record loader;
2. with ``--without-indexes``, drops the indexes added for item 4 (the "before"
   numbers; the rest of the schema is unchanged);
3. times, on the server side (in-process, no HTTP), the median of ``--repeat`` runs
   of the ORM calls the web client makes, as the admin user with the web client's
   context, the record cache cleared before each run (the ormcache stays warm, as
   in a running server):

   - ``web_search_read`` of the subscribers list's first page (limit 80, default
     order, the list view's fields, ``count_limit`` 10001);
   - ``name_search("Fam01234")`` (a many2one dropdown, limit 8) on subscribers;
   - ``web_search_read`` of the attendance records list's first page (default
     order), unfiltered and with the "Last 30 Days" / "Today" filters;

   and beside each the plain-SQL floor: the very SQL the ORM builds for the page's
   ids (``_search(...).select()``), executed directly, so the ratio shows the ORM's
   own overhead (reading the fields, the count, the access rules);
4. prints the plan's top nodes (``EXPLAIN ANALYZE``) of each floor query.
"""

import argparse
import contextlib
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench  # the fixtures and the record loader

#: indexes added for item 4, dropped by --without-indexes
ITEM4_INDEXES = (
    "spp_attendance_subscriber_list_order_idx",
    "spp_attendance_subscriber__person_identifier_index",
    "res_partner_name_trigram_idx",
)

LOAD_PERSONS = """
CREATE TEMP TABLE bench_person AS
SELECT g,
       nextval('res_partner_id_seq')::int AS partner_id,
       nextval('spp_attendance_subscriber_id_seq')::int AS subscriber_id,
       'Fam' || lpad(((g - 1) / 10)::text, 5, '0') AS family,
       (%(givens)s::text[])[1 + g %% cardinality(%(givens)s::text[])] AS given
  FROM generate_series(1, %(n)s) AS g;

INSERT INTO res_partner (
    id, name, complete_name, company_id, commercial_partner_id, type, active,
    is_company, partner_share, color, lang, message_bounce,
    create_uid, write_uid, create_date, write_date)
SELECT partner_id, family || ', ' || given, family || ', ' || given, %(company)s,
       partner_id, 'contact', true, false, true, 0, 'en_US', 0,
       %(uid)s, %(uid)s, %(now)s, %(now)s
  FROM bench_person ORDER BY random();

INSERT INTO spp_attendance_subscriber (
    id, partner_id, company_id, person_identifier, family_name, given_name, gender,
    active, create_uid, write_uid, create_date, write_date)
SELECT subscriber_id, partner_id, %(company)s,
       %(prefix)s || lpad(g::text, 7, '0'), family, given,
       (ARRAY['female', 'male'])[1 + g %% 2], true,
       %(uid)s, %(uid)s, %(now)s, %(now)s
  FROM bench_person ORDER BY random();

CREATE UNIQUE INDEX ON bench_person (g);
ANALYZE bench_person;
"""

SUBSCRIBER_SPEC = {
    "person_identifier": {},
    "name": {},
    "gender": {},
    "phone": {},
    "days_present_count": {},
    "last_attendance_date": {},
    "active": {},
}
ATTENDANCE_SPEC = {
    "subscriber_id": {"fields": {"display_name": {}}},
    "person_identifier": {},
    "attendance_datetime": {},
    "attendance_date": {},
    "attendance_time": {},
    "attendance_category": {},
    "attendance_type_id": {"fields": {"display_name": {}}},
    "attendance_location_id": {"fields": {"display_name": {}}},
    "submission_source": {},
    "active": {},
}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load(db, fixtures, subscribers, records):
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    params = {
        "givens": api_bench.GIVEN_NAMES,
        "n": subscribers,
        "company": fixtures["company_id"],
        "uid": fixtures["admin_uid"],
        "now": now,
        "prefix": api_bench.PREFIX,
        "type_ids": fixtures["type_ids"],
        "n_types": len(fixtures["type_ids"]),
        "location_ids": [loc_id for loc_id, _tz in fixtures["locations"]],
        "location_tzs": [tz or "UTC" for _loc_id, tz in fixtures["locations"]],
        "n_locations": len(fixtures["locations"]),
        "seed": f"bench-{now.isoformat()}-",
        # the records reach up to about today, so "Today"/"Last 30 days" match some
        "start": datetime.combine(
            date.today() - timedelta(days=7 * (max(records // subscribers, 1) - 1) + 4),
            datetime.min.time(),
        ),
    }
    query = api_bench.LOAD_RECORDS.format(duplicate_key="NULL")
    with contextlib.closing(db.connect()) as connection, connection.cursor() as cr:
        start = time.perf_counter()
        cr.execute(LOAD_PERSONS, params)
        connection.commit()
        log(f"{subscribers} subscribers in {time.perf_counter() - start:.1f}s")
        start = time.perf_counter()
        chunk = 200_000
        for k0 in range(0, records, chunk):
            k1 = min(records, k0 + chunk) - 1
            cr.execute(query, {**params, "k0": k0, "k1": k1})
            connection.commit()
        log(f"{records} attendance records in {time.perf_counter() - start:.1f}s")
    with contextlib.closing(db.connect(autocommit=True)) as connection:
        with connection.cursor() as cr:
            for table in (
                "res_partner",
                "spp_attendance_subscriber",
                "spp_attendance_list",
            ):
                cr.execute(f"VACUUM ANALYZE {table}")


def drop_indexes(db):
    with contextlib.closing(db.connect(autocommit=True)) as connection:
        with connection.cursor() as cr:
            for name in ITEM4_INDEXES:
                cr.execute(f'DROP INDEX IF EXISTS "{name}"')
            cr.execute("ANALYZE spp_attendance_subscriber")
            cr.execute("ANALYZE res_partner")


def existing_indexes(db):
    with contextlib.closing(db.connect(autocommit=True)) as connection:
        with connection.cursor() as cr:
            cr.execute(
                "SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)",
                (list(ITEM4_INDEXES),),
            )
            return sorted(row[0] for row in cr.fetchall())


def median_ms(func, repeat):
    func()  # warm-up (caches of Python, of PostgreSQL's buffers and plans)
    times = []
    for _i in range(repeat):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_cases(env, cr, cases, repeat):
    """Time each ``(label, orm_call or None, floor_sql)``: the median of ``repeat`` runs
    of the ORM call (record cache cleared first) and of its SQL floor; returns
    ``[(label, orm ms or None, floor ms, floor plan)]``."""
    results = []
    for label, orm_call, floor_sql in cases:

        def orm(orm_call=orm_call):
            env.invalidate_all()
            orm_call()

        sql = floor_sql()

        def floor(sql=sql):
            cr.execute(sql)
            cr.fetchall()

        orm_ms = median_ms(orm, repeat) if orm_call else None
        floor_ms = median_ms(floor, repeat)
        results.append((label, orm_ms, floor_ms, plan_summary(cr, sql)))
        log(f"{label}: ORM {orm_ms or 0:.1f} ms, SQL floor {floor_ms:.1f} ms")
    return results


def plan_summary(cr, sql):
    """The plan's main nodes, e.g. "Limit > Index Scan using x on t"."""
    cr.execute(SQL("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) %s", sql))
    nodes = []
    for (line,) in cr.fetchall():
        text = line.strip().removeprefix("->").strip()
        if ":" in text.split("(")[0] or text.startswith(("Workers", "Buckets")):
            continue  # details (Sort Key, Filter, ...), not nodes
        nodes.append(text.split(" (actual")[0])
    return " > ".join(nodes[:5])


SQL = None


def run(args):
    global SQL
    import odoo
    from odoo import api
    from odoo.tools import SQL as _SQL

    SQL = _SQL
    db = api_bench.Database(args.config, args.database)
    log("fixtures")
    fixtures = api_bench.setup_fixtures(args.database, set())
    load(db, fixtures, args.subscribers, args.records)
    if args.without_indexes:
        drop_indexes(db)
    present = existing_indexes(db)
    log(f"item-4 indexes present: {', '.join(present) or 'none'}")

    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        uid = fixtures["admin_uid"]
        context = {"lang": "en_US", "tz": "Europe/Brussels", "uid": uid}
        env = api.Environment(cr, uid, context)
        Subscriber = env["spp.attendance.subscriber"]
        Attendance = env["spp.attendance.list"]
        today = date.today()
        cases = [
            (
                "subscribers list, page 1 (web_search_read)",
                lambda: Subscriber.web_search_read(
                    [], SUBSCRIBER_SPEC, limit=80, count_limit=10001
                ),
                lambda: Subscriber._search(
                    [], limit=80, order=Subscriber._order
                ).select(),
            ),
            (
                "  of which search_fetch + web_read (the page)",
                lambda: Subscriber.search_fetch(
                    [], SUBSCRIBER_SPEC.keys(), limit=80
                ).web_read(SUBSCRIBER_SPEC),
                lambda: Subscriber._search(
                    [], limit=80, order=Subscriber._order
                ).select(),
            ),
            (
                "  of which search_count(limit=10001) (the pager's total)",
                lambda: Subscriber.search_count([], limit=10001),
                lambda: Subscriber._search([], limit=10001).select(SQL("1")),
            ),
            (
                'subscribers name_search("Fam01234")',
                lambda: Subscriber.name_search("Fam01234", limit=8),
                lambda: Subscriber._name_search(
                    "Fam01234", [], "ilike", limit=8, order=Subscriber._order
                ).select(),
            ),
            (
                "name_search, person_identifier part alone",
                lambda: Subscriber.search(
                    [("person_identifier", "ilike", "0001234")], limit=8
                ),
                lambda: Subscriber._search(
                    [("person_identifier", "ilike", "0001234")],
                    limit=8,
                    order=Subscriber._order,
                ).select(),
            ),
            (
                "name_search, name part alone",
                lambda: Subscriber.search([("name", "ilike", "Fam01234")], limit=8),
                lambda: Subscriber._search(
                    [("name", "ilike", "Fam01234")], limit=8, order=Subscriber._order
                ).select(),
            ),
            (
                'name_search "Fam01234" as a UNION (SQL only: a possible query shape)',
                None,
                lambda: SQL(UNION_NAME_SEARCH, pattern="%Fam01234%"),
            ),
            (
                'subscribers search box "Fam01234" (web_search_read)',
                lambda: Subscriber.web_search_read(
                    search_box(Subscriber, "Fam01234"),
                    SUBSCRIBER_SPEC,
                    limit=80,
                    count_limit=10001,
                ),
                lambda: Subscriber._search(
                    search_box(Subscriber, "Fam01234"),
                    limit=80,
                    order=Subscriber._order,
                ).select(),
            ),
            (
                "attendance list, page 1 (web_search_read)",
                lambda: Attendance.web_search_read(
                    [], ATTENDANCE_SPEC, limit=80, count_limit=10001
                ),
                lambda: Attendance._search(
                    [], limit=80, order=Attendance._order
                ).select(),
            ),
            (
                'attendance list, "Last 30 Days"',
                lambda: Attendance.web_search_read(
                    LAST_30(today), ATTENDANCE_SPEC, limit=80, count_limit=10001
                ),
                lambda: Attendance._search(
                    LAST_30(today), limit=80, order=Attendance._order
                ).select(),
            ),
            (
                'attendance list, "Today"',
                lambda: Attendance.web_search_read(
                    [("attendance_date", "=", today)],
                    ATTENDANCE_SPEC,
                    limit=80,
                    count_limit=10001,
                ),
                lambda: Attendance._search(
                    [("attendance_date", "=", today)], limit=80, order=Attendance._order
                ).select(),
            ),
        ]
        found = Subscriber.name_search("Fam01234", limit=100)
        log(f'name_search("Fam01234") finds {len(found)} subscribers')
        results = time_cases(env, cr, cases, args.repeat)
        cr.rollback()

    mode = "without item-4 indexes" if args.without_indexes else "with item-4 indexes"
    print(
        f"\n{args.subscribers} subscribers, {args.records} attendance records, "
        f"{mode}, median of {args.repeat} (load {api_bench.loadavg()})\n"
    )
    print("| call | ORM ms | SQL floor ms | ratio | floor plan (top nodes) |")
    print("|---|---:|---:|---:|---|")
    for label, orm_ms, floor_ms, plan in results:
        if orm_ms is None:
            print(f"| {label} | - | {floor_ms:.2f} | - | {plan} |")
            continue
        ratio = orm_ms / floor_ms if floor_ms else float("nan")
        print(f"| {label} | {orm_ms:.1f} | {floor_ms:.2f} | {ratio:.1f} | {plan} |")


#: name_search's two criteria as two index-served searches instead of one OR
#: across the subscriber and its contact (which no index can serve)
UNION_NAME_SEARCH = """
SELECT s.id FROM spp_attendance_subscriber s
 WHERE s.active AND s.id IN (
       SELECT s2.id FROM spp_attendance_subscriber s2
         JOIN res_partner p ON p.id = s2.partner_id
        WHERE p.name::text ILIKE %(pattern)s
       UNION
       SELECT s3.id FROM spp_attendance_subscriber s3
        WHERE s3.person_identifier::text ILIKE %(pattern)s)
 ORDER BY s.family_name, s.given_name, s.id LIMIT 8
"""


def search_box(model, value):
    """The domain of the subscribers search view's "Name" field for ``value``, read
    from the view itself (its ``filter_domain``), so the bench follows the view."""
    from lxml import etree

    from odoo.tools.safe_eval import safe_eval

    arch = model.get_views([(False, "search")])["views"]["search"]["arch"]
    node = etree.fromstring(arch).xpath("//field[@name='name']")[0]
    return safe_eval(node.get("filter_domain"), {"self": value})


def LAST_30(today):
    return [("attendance_date", ">=", today - timedelta(days=30))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--without-indexes",
        action="store_true",
        help="drop the indexes of issue #15 item 4 first (the 'before' numbers)",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
