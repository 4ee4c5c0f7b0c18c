#!/usr/bin/env bash
# Back-office reporting benchmark (see backoffice_bench.py): starts an
# embedded PostgreSQL in $SPP_RUN_DIR (default .run/bench), installs spp_oauth +
# spp_attendance without demo data in a fresh database, bulk-loads subscribers and
# attendance records with SQL (backoffice_index_bench.py's loader) and times, on the
# server side, the lists, pivots, graph, calendar and participation report the web
# client reads, beside the plain-SQL floor. Arguments are passed to the Python script
# (--subscribers 100000 --records 1000000 by default; --repeat 7).
#
# SPP_BENCH_DB names the database (default spp_bench_reporting).
SPP_RUN_DIR="${SPP_RUN_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.run/bench}"
export SPP_RUN_DIR
source "$(dirname "$0")/../scripts/lib.sh"

DB="${SPP_BENCH_DB:-spp_bench_reporting}"
ensure_python_env "$ROOT/requirements.txt" "$ROOT/requirements-test.txt"
trap pg_stop EXIT
pg_start bench -c shared_buffers=256MB -c max_wal_size=2GB
CONF="$RUN_DIR/odoo-bench-reporting.conf"
write_odoo_conf "$CONF" "$DB" "$RUN_DIR/bench-reporting-install.log"
psql -d postgres -Xq -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
rm -rf "$RUN_DIR/filestore/filestore/$DB"
log "installing spp_oauth,spp_attendance (no demo data) in $DB"
START=$(date +%s)
"$VENV/bin/odoo" -c "$CONF" -d "$DB" -i spp_oauth,spp_attendance --without-demo=all \
    --stop-after-init --logfile "$RUN_DIR/bench-reporting-install.log" \
    || { tail -n 40 "$RUN_DIR/bench-reporting-install.log" >&2; die "install failed"; }
log "installed in $(( $(date +%s) - START ))s"
"$PY" "$ROOT/bench/backoffice_bench.py" -c "$CONF" -d "$DB" "$@"
