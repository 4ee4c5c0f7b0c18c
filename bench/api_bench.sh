#!/usr/bin/env bash
# REST API benchmark (see api_bench.py): starts an embedded PostgreSQL in
# $SPP_RUN_DIR (default .run/bench), installs spp_oauth + spp_attendance without demo
# data in a fresh database, bulk-loads subscribers and attendance records with SQL and
# measures the API over real HTTP on 127.0.0.1. Arguments are passed to the Python
# script (e.g. --subscribers 1000 --records 10000 for a quick try).
#
# SPP_BENCH_DB names the database (default spp_bench_api); SPP_BENCH_REUSE=1 keeps an
# existing database with the same data instead of recreating it.
source "$(dirname "$0")/bench_lib.sh"
# Room for a 1M-row table; default durability (fsync and synchronous commit on).
PG_OPTIONS=(-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=15min)
if [ -z "${PGHOST:-}" ] && [ -f "$(pg_bindir)/../lib/pg_stat_statements.so" ]; then
    PG_OPTIONS+=(-c shared_preload_libraries=pg_stat_statements)
fi
bench_database spp_bench_api "${PG_OPTIONS[@]}"
"$PY" "$ROOT/bench/api_bench.py" -c "$CONF" -d "$DB" --odoo-bin "$VENV/bin/odoo" \
    --run-dir "$RUN_DIR" --results-dir "$ROOT/bench/results" "$@"
