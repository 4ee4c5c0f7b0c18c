"""Back-office reporting benchmark (issue #15, item 5): lists, pivots, graph,
calendar and the participation report at scale.

Run through ``bench/backoffice_bench.sh`` (fresh database without demo data). It
reuses ``backoffice_index_bench.py``'s loader (N subscribers, default 100,000, and
M attendance records, default 1,000,000: one record per subscriber and week, so
the records span M/N weeks up to today) and times **on the server side** (in
process, no HTTP), as the admin user with the web client's context and the
record cache cleared before each run, the median of ``--repeat`` runs of:

- ``web_search_read`` of each list's first page: subscribers, attendance
  records, the daily summary, the participation report's lines (limit 80,
  ``count_limit`` 10001, the list view's fields);
- ``read_group`` of the daily summary's pivot (week x type, summing present and
  absent) and ``web_read_group`` of its graph (week, type), for the densest month
  and for all time;
- the calendar's range read: ``search_read`` of the summary for the densest
  month with the calendar's fields;
- ``name_search`` on subscribers;
- the participation report for the densest month (the wizard's
  ``action_show``: one ``INSERT ... SELECT``), also with "not seen for 30 days";
  program reach pivot (month x location) over all time;
- ``get_participation`` for 1,000 subscribers over a year.

The summaries are folded before timing (the loader's INSERTs marked their keys
dirty; the fold's time is reported). Then, with the keys of one day marked dirty
(as during a day of capture, before the scheduled fold), the summary list, pivot
and calendar and the reach pivot again; the fold of that day; and the triggers'
cost on ingest: a 1,000-row INSERT and UPDATE of records with and without them
(rolled back).

Beside each call, the **SQL floor**: the same query run directly (the ids the
ORM searches with ``_search(...).select()``, or the equivalent aggregate), and
the main nodes of its plan.
"""

import argparse
import contextlib
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench
import backoffice_index_bench as index_bench

SUMMARY_SPEC = {
    "attendance_date": {},
    "attendance_type_id": {"fields": {"display_name": {}}},
    "attendance_location_id": {"fields": {"display_name": {}}},
    "present_count": {},
    "absent_count": {},
    "participant_count": {},
    "record_count": {},
}
CALENDAR_FIELDS = [
    "attendance_date",
    "all_day",
    "attendance_type_id",
    "attendance_location_id",
    "present_count",
    "absent_count",
    "participant_count",
    "record_count",
    "display_name",
]
PARTICIPATION_SPEC = {
    "subscriber_id": {"fields": {"display_name": {}}},
    "person_identifier": {},
    "days_present": {},
    "days_absent": {},
    "attendance_rate": {},
    "last_seen": {},
    "days_since_seen": {},
}

PIVOT_FLOOR = """
SELECT date_trunc('week', attendance_date), attendance_type_id,
       SUM(present_count), SUM(absent_count)
  FROM spp_attendance_daily_summary
 WHERE company_id = ANY(%(companies)s) {where}
 GROUP BY 1, 2 ORDER BY 1, 2
"""
CALENDAR_FLOOR = """
SELECT id, attendance_date, attendance_type_id, attendance_location_id,
       present_count, absent_count, participant_count, record_count
  FROM spp_attendance_daily_summary
 WHERE company_id = ANY(%(companies)s)
   AND attendance_date >= %(start)s AND attendance_date <= %(end)s
 ORDER BY attendance_date DESC, id DESC
"""
DIRTY_DAY = """
INSERT INTO spp_attendance_summary_dirty
       (attendance_date, type_key, location_key, company_key)
SELECT DISTINCT attendance_date, COALESCE(attendance_type_id, 0),
       COALESCE(attendance_location_id, 0), company_id
  FROM spp_attendance_list WHERE active AND attendance_date = %s
"""
INSERT_1000 = """
INSERT INTO spp_attendance_list (
    subscriber_id, company_id, attendance_type_id, attendance_location_id,
    attendance_category, attendance_tz, attendance_date, attendance_time,
    attendance_datetime, submitted_by, submitted_datetime, submission_source,
    active, create_uid, write_uid, create_date, write_date)
SELECT subscriber_id, company_id, attendance_type_id, attendance_location_id,
       attendance_category, attendance_tz, attendance_date, '23:59:59',
       attendance_datetime, 'bench', submitted_datetime, 'bench', true,
       create_uid, write_uid, create_date, write_date
  FROM spp_attendance_list WHERE attendance_date = %s LIMIT 1000
"""
UPDATE_1000 = """
UPDATE spp_attendance_list SET attendance_category = 'absent'
 WHERE id IN (SELECT id FROM spp_attendance_list
               WHERE attendance_date = %s AND attendance_category = 'present'
               LIMIT 1000)
"""
SYNTHETIC_KEYS = """
INSERT INTO spp_attendance_daily_summary_folded
SELECT 1000000000 + row_number() OVER (), day::date, TRUE, %(type)s,
       1000000 + session, %(company)s, 9, 1, 10, 10
  FROM generate_series(%(first)s::date - 1095, %(first)s::date - 1,
                       interval '1 day') AS day,
       generate_series(1, 100) AS session
"""
TRIGGERS = (
    "spp_attendance_list_summary_insert",
    "spp_attendance_list_summary_update",
    "spp_attendance_list_summary_delete",
)
REACH_FLOOR = """
SELECT month, attendance_location_id, SUM(participant_count)
  FROM spp_attendance_reach
 WHERE company_id = ANY(%(companies)s)
 GROUP BY 1, 2
"""


def densest_month(cr):
    cr.execute(
        "SELECT date_trunc('month', attendance_date)::date, COUNT(*) "
        "FROM spp_attendance_list WHERE active GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    )
    start, count = cr.fetchone()
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return start, end, count


def run(args):
    import odoo
    from odoo import api
    from odoo.tools import SQL

    index_bench.SQL = SQL
    db = api_bench.Database(args.config, args.database)
    index_bench.log("fixtures")
    fixtures = api_bench.setup_fixtures(args.database, set())
    load_start = time.perf_counter()
    index_bench.load(db, fixtures, args.subscribers, args.records)
    load_s = time.perf_counter() - load_start

    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        cr.execute(
            "SELECT COUNT(*), COUNT(DISTINCT (attendance_date, type_key, "
            "location_key, company_key)) FROM spp_attendance_summary_dirty"
        )
        dirty_rows, dirty_keys = cr.fetchone()
        fold_start = time.perf_counter()
        api.Environment(cr, odoo.SUPERUSER_ID, {})[
            "spp.attendance.summary.fold"
        ]._fold()
        fold_load_s = time.perf_counter() - fold_start
        cr.commit()
    with contextlib.closing(db.connect(autocommit=True)) as connection:
        with connection.cursor() as vacuum_cr:
            for table in ("daily_summary_folded", "reach_folded", "summary_dirty"):
                vacuum_cr.execute(f"VACUUM ANALYZE spp_attendance_{table}")
        index_bench.log(
            f"folded {dirty_keys} keys ({dirty_rows} dirty rows) in {fold_load_s:.1f}s"
        )
    with registry.cursor() as cr:
        uid = fixtures["admin_uid"]
        context = {"lang": "en_US", "tz": "Europe/Brussels", "uid": uid}
        env = api.Environment(cr, uid, context)
        Subscriber = env["spp.attendance.subscriber"]
        Attendance = env["spp.attendance.list"]
        Summary = env["spp.attendance.daily.summary"]
        Lines = env["spp.attendance.participation"]
        Reach = env["spp.attendance.reach"]
        Wizard = env["spp.attendance.participation.wizard"]
        companies = env.companies.ids
        start, end, month_records = densest_month(cr)
        month = [("attendance_date", ">=", start), ("attendance_date", "<=", end)]
        index_bench.log(f"densest month {start}..{end}: {month_records} records")

        wizard = Wizard.create({"date_from": start, "date_to": end})
        wizard.action_show()
        wizard_30 = Wizard.create(
            {"date_from": start, "date_to": end, "not_seen_days": 30}
        )
        lines_domain = [("wizard_id", "=", wizard.id)]
        index_bench.log(f"participation lines for the month: {len(wizard.line_ids)}")
        year_from = date.today() - timedelta(days=365)
        cr.execute(
            "SELECT id FROM spp_attendance_subscriber WHERE active "
            "ORDER BY id LIMIT 1000 OFFSET %s",
            [args.subscribers // 2],
        )
        thousand = Subscriber.browse([row[0] for row in cr.fetchall()])
        participation_sql = Subscriber._participation_query(
            year_from, date.today(), subscriber_ids=thousand.ids
        )
        month_sql = Subscriber._participation_query(start, end)
        not_seen_sql = Subscriber._participation_query(
            start, end, not_seen_days=30, reference_date=min(end, date.today())
        )

        def wsr(model, domain, spec):
            return lambda: model.web_search_read(
                domain, spec, limit=80, count_limit=10001
            )

        def ids_floor(model, domain):
            return lambda: model._search(domain, limit=80, order=model._order).select()

        def pivot(domain):
            return lambda: Summary.read_group(
                domain,
                ["present_count:sum", "absent_count:sum"],
                ["attendance_date:week", "attendance_type_id"],
                lazy=False,
            )

        def graph(domain):
            return lambda: Summary.web_read_group(
                domain,
                ["present_count:sum"],
                ["attendance_date:week", "attendance_type_id"],
                lazy=False,
            )

        def pivot_floor(where, **params):
            return lambda: SQL(
                PIVOT_FLOOR.format(where=where), companies=companies, **params
            )

        month_where = "AND attendance_date >= %(start)s AND attendance_date <= %(end)s"
        cases = [
            (
                "subscribers list, page 1 (web_search_read)",
                wsr(Subscriber, [], index_bench.SUBSCRIBER_SPEC),
                ids_floor(Subscriber, []),
            ),
            (
                "attendance records list, page 1 (web_search_read)",
                wsr(Attendance, [], index_bench.ATTENDANCE_SPEC),
                ids_floor(Attendance, []),
            ),
            (
                "daily summary list, page 1, all time (web_search_read)",
                wsr(Summary, [], SUMMARY_SPEC),
                ids_floor(Summary, []),
            ),
            (
                "daily summary list, page 1, one month (web_search_read)",
                wsr(Summary, month, SUMMARY_SPEC),
                ids_floor(Summary, month),
            ),
            (
                "participation lines list, page 1 (web_search_read)",
                wsr(Lines, lines_domain, PARTICIPATION_SPEC),
                ids_floor(Lines, lines_domain),
            ),
            (
                "summary pivot week x type, one month (read_group)",
                pivot(month),
                pivot_floor(month_where, start=start, end=end),
            ),
            (
                "summary pivot week x type, all time (read_group)",
                pivot([]),
                pivot_floor(""),
            ),
            (
                "summary graph week x type, one month (web_read_group)",
                graph(month),
                pivot_floor(month_where, start=start, end=end),
            ),
            (
                "summary graph week x type, all time (web_read_group)",
                graph([]),
                pivot_floor(""),
            ),
            (
                "calendar, dense month (search_read of the summary)",
                lambda: Summary.search_read(month, CALENDAR_FIELDS),
                lambda: SQL(CALENDAR_FLOOR, companies=companies, start=start, end=end),
            ),
            (
                'subscribers name_search("Fam01234")',
                lambda: Subscriber.name_search("Fam01234", limit=8),
                lambda: Subscriber._name_search(
                    "Fam01234", [], "ilike", limit=8, order=Subscriber._order
                ).select(),
            ),
            (
                "participation report, one month (wizard action_show)",
                wizard.action_show,
                lambda: month_sql,
            ),
            (
                "participation report, one month, not seen for 30 days",
                wizard_30.action_show,
                lambda: not_seen_sql,
            ),
            (
                "program reach pivot month x location, all time (read_group)",
                lambda: Reach.read_group(
                    [],
                    ["participant_count:sum"],
                    ["month:month", "attendance_location_id"],
                    lazy=False,
                ),
                lambda: SQL(REACH_FLOOR, companies=companies),
            ),
            (
                "get_participation, 1,000 subscribers, one year",
                lambda: Subscriber.get_participation(year_from, date.today(), thousand),
                lambda: participation_sql,
            ),
        ]
        results = index_bench.time_cases(env, cr, cases, args.repeat)
        results += dirty_day_cases(env, cr, cases, companies, args.repeat)
        lines_month = len(wizard.line_ids)
        lines_30 = len(wizard_30.line_ids)
        cr.rollback()

    print(
        f"\nfold after the load: {dirty_keys} keys ({dirty_rows} dirty rows) "
        f"in {fold_load_s * 1000:.0f} ms"
    )
    print(
        f"\n{args.subscribers} subscribers, {args.records} attendance records "
        f"(loaded in {load_s:.0f} s); densest month {start}..{end} with "
        f"{month_records} records, {lines_month} participation lines "
        f"({lines_30} not seen for 30 days); median of {args.repeat} "
        f"(load {api_bench.loadavg()})\n"
    )
    print("| call | ORM ms | SQL floor ms | ratio | floor plan (top nodes) |")
    print("|---|---:|---:|---:|---|")
    for label, orm_ms, floor_ms, plan in results:
        if orm_ms is None:
            print(f"| {label} | | {floor_ms:.2f} | | {plan} |")
            continue
        ratio = orm_ms / floor_ms if floor_ms else float("nan")
        print(f"| {label} | {orm_ms:.1f} | {floor_ms:.2f} | {ratio:.1f} | {plan} |")


def dirty_day_cases(env, cr, cases, companies, repeat):
    """The summaries with one day's keys dirty, the fold of that day, and the
    triggers' cost on ingest (everything rolled back)."""
    fold = env["spp.attendance.summary.fold"].sudo()
    cr.execute(
        "SELECT attendance_date, COUNT(*) FROM spp_attendance_list WHERE active "
        "GROUP BY 1 ORDER BY 2 DESC, 1 DESC LIMIT 1"
    )
    day, day_records = cr.fetchone()
    index_bench.log(f"densest day {day}: {day_records} records")
    picked = {
        "daily summary list, page 1, all time (web_search_read)",
        "summary pivot week x type, all time (read_group)",
        "calendar, dense month (search_read of the summary)",
        "program reach pivot month x location, all time (read_group)",
    }
    cr.execute("SAVEPOINT dirty_day")
    cr.execute(DIRTY_DAY, [day])
    keys = cr.rowcount
    cr.execute("ANALYZE spp_attendance_summary_dirty")
    label = f"one day dirty ({day}: {day_records} records, {keys} keys)"
    results = index_bench.time_cases(
        env,
        cr,
        [
            (f"{name}, {label}", orm, floor)
            for name, orm, floor in cases
            if name in picked
        ],
        repeat,
    )
    cr.execute("ROLLBACK TO SAVEPOINT dirty_day")

    def fold_day():
        cr.execute(DIRTY_DAY, [day])
        start = time.perf_counter()
        fold._fold()
        return (time.perf_counter() - start) * 1000

    fold_day()  # warm-up
    fold_ms = sorted(fold_day() for _i in range(repeat))[repeat // 2]
    results.append(
        (f"fold of one day ({keys} keys, {day_records} records)", None, fold_ms, "")
    )

    def timed(sql, disabled):
        cr.execute("SAVEPOINT ingest")
        for name in TRIGGERS if disabled else ():
            cr.execute(f"ALTER TABLE spp_attendance_list DISABLE TRIGGER {name}")
        start = time.perf_counter()
        cr.execute(sql, [day])
        elapsed = (time.perf_counter() - start) * 1000
        cr.execute("ROLLBACK TO SAVEPOINT ingest")
        return elapsed

    runs = 3 * repeat
    for name, sql in (("INSERT", INSERT_1000), ("UPDATE (category)", UPDATE_1000)):
        timed(sql, False)  # warm-up
        # interleaved, so that drift (caches, dead rows, load) hits both alike
        pairs = [(timed(sql, False), timed(sql, True)) for _i in range(runs)]
        with_ms = sorted(pair[0] for pair in pairs)[runs // 2]
        without_ms = sorted(pair[1] for pair in pairs)[runs // 2]
        results.append(
            (
                f"1,000-row {name} of records, with the triggers "
                f"(floor: without them)",
                with_ms,
                without_ms,
                "",
            )
        )
    results += synthetic_keys_cases(env, cr, cases, companies, repeat)
    return results


def synthetic_keys_cases(env, cr, cases, companies, repeat):
    """The all-time pivot over a program's worth of folded rows: 3 years x 100
    sessions a day (109,500 rows, before the loaded records' dates) added to the
    folded table, then rolled back. The bench's own loader gives few sessions."""
    cr.execute(
        "SELECT MIN(attendance_date), MIN(attendance_type_id) FROM spp_attendance_list"
    )
    first_day, type_id = cr.fetchone()
    cr.execute("SAVEPOINT synthetic_keys")
    cr.execute(
        SYNTHETIC_KEYS, {"first": first_day, "type": type_id, "company": companies[0]}
    )
    rows = cr.rowcount
    cr.execute("ANALYZE spp_attendance_daily_summary_folded")
    results = index_bench.time_cases(
        env,
        cr,
        [
            (f"{name}, {rows} more folded rows (3 years x 100 sessions)", orm, floor)
            for name, orm, floor in cases
            if name == "summary pivot week x type, all time (read_group)"
        ],
        repeat,
    )
    cr.execute("ROLLBACK TO SAVEPOINT synthetic_keys")
    cr.execute("ANALYZE spp_attendance_daily_summary_folded")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
