#!/usr/bin/env bash
# REST API benchmark (see api_bench.py): starts an embedded PostgreSQL in
# $SPP_RUN_DIR (default .run/bench), installs spp_oauth + spp_attendance without demo
# data in a fresh database, bulk-loads subscribers and attendance records with SQL and
# measures the API over real HTTP on 127.0.0.1. Arguments are passed to the Python
# script (e.g. --subscribers 1000 --records 10000 for a quick try).
#
# SPP_BENCH_DB names the database (default spp_bench_api); SPP_BENCH_REUSE=1 keeps an
# existing database with the same data instead of recreating it.
SPP_RUN_DIR="${SPP_RUN_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.run/bench}"
export SPP_RUN_DIR
source "$(dirname "$0")/../scripts/lib.sh"

DB="${SPP_BENCH_DB:-spp_bench_api}"
ensure_python_env "$ROOT/requirements.txt" "$ROOT/requirements-test.txt"
trap pg_stop EXIT
# Room for a 1M-row table; default durability (fsync and synchronous commit on).
PG_OPTIONS=(-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=15min)
if [ -z "${PGHOST:-}" ] && [ -f "$(pg_bindir)/../lib/pg_stat_statements.so" ]; then
    PG_OPTIONS+=(-c shared_preload_libraries=pg_stat_statements)
fi
pg_start bench "${PG_OPTIONS[@]}"
CONF="$RUN_DIR/odoo-bench-api.conf"
write_odoo_conf "$CONF" "$DB" "$RUN_DIR/bench-api-install.log"
if [ "${SPP_BENCH_REUSE:-}" = 1 ] && db_has_module "$DB" spp_attendance; then
    log "reusing the database $DB"
else
    psql -d postgres -Xq -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
    rm -rf "$RUN_DIR/filestore/filestore/$DB"
    log "installing spp_oauth,spp_attendance (no demo data) in $DB"
    START=$(date +%s)
    "$VENV/bin/odoo" -c "$CONF" -d "$DB" -i spp_oauth,spp_attendance --without-demo=all \
        --stop-after-init --logfile "$RUN_DIR/bench-api-install.log" \
        || { tail -n 40 "$RUN_DIR/bench-api-install.log" >&2; die "install failed"; }
    log "installed in $(( $(date +%s) - START ))s"
fi
"$PY" "$ROOT/bench/api_bench.py" -c "$CONF" -d "$DB" --odoo-bin "$VENV/bin/odoo" \
    --run-dir "$RUN_DIR" --results-dir "$ROOT/bench/results" "$@"
