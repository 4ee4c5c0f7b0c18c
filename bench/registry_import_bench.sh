#!/usr/bin/env bash
# Registry import benchmark (see registry_import_bench.py): starts the embedded
# PostgreSQL, installs spp_oauth + spp_attendance without demo data in a fresh database
# and runs the benchmark. Arguments are passed to the Python script.
source "$(dirname "$0")/../scripts/lib.sh"

DB="${SPP_BENCH_DB:-spp_bench_import}"
ensure_python_env "$ROOT/requirements.txt" "$ROOT/requirements-test.txt"
trap pg_stop EXIT
pg_start bench
psql -d postgres -Xq -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
CONF="$RUN_DIR/odoo-bench.conf"
write_odoo_conf "$CONF" "$DB" "$RUN_DIR/bench-install.log"
log "installing spp_oauth,spp_attendance (no demo data) in $DB"
"$VENV/bin/odoo" -c "$CONF" -d "$DB" -i spp_oauth,spp_attendance --without-demo=all \
    --stop-after-init --logfile "$RUN_DIR/bench-install.log" \
    || { tail -n 40 "$RUN_DIR/bench-install.log" >&2; die "install failed"; }
"$PY" "$ROOT/bench/registry_import_bench.py" -c "$CONF" -d "$DB" "$@"
