#!/usr/bin/env bash
# Reliability benchmark (see reliability_bench.py): starts the embedded PostgreSQL,
# installs spp_oauth + spp_attendance (no demo data) in a fresh database, and runs the
# load / PostgreSQL-restart / memory / limits phases against a multi-process Odoo
# (5 workers by default) on 127.0.0.1. Arguments are passed to the Python script, e.g.
#   bench/reliability_bench.sh --clients 32 --duration 180
# The server log goes to .run/bench-logs/bench-reliability-server.txt: the restart
# phase makes Odoo log connection errors on purpose.
source "$(dirname "$0")/../scripts/lib.sh"

DB="${SPP_BENCH_DB:-spp_bench_reliability}"
ensure_python_env "$ROOT/requirements.txt" "$ROOT/requirements-test.txt"
trap pg_stop EXIT
pg_start bench
psql -d postgres -Xq -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
LOG_DIR="$RUN_DIR/bench-logs"
mkdir -p "$LOG_DIR"
CONF="$RUN_DIR/odoo-bench-reliability.conf"
write_odoo_conf "$CONF" "$DB" "$LOG_DIR/bench-reliability-install.txt"
log "installing spp_oauth,spp_attendance (no demo data) in $DB"
"$VENV/bin/odoo" -c "$CONF" -d "$DB" -i spp_oauth,spp_attendance --without-demo=all \
    --stop-after-init --logfile "$LOG_DIR/bench-reliability-install.txt" \
    || { tail -n 40 "$LOG_DIR/bench-reliability-install.txt" >&2; die "install failed"; }
PG_RESTART=""
if [ -n "${SPP_EMBEDDED_PG:-}" ]; then
    # Restart the embedded cluster in place (same port, same data).
    PG_RESTART="$(printf '%q ' as_pg_user "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w restart)"
    PG_RESTART="$(declare -f as_pg_user); PG_OS_USER=$PG_OS_USER; $PG_RESTART >/dev/null"
fi
export PG_RESTART
"$PY" "$ROOT/bench/reliability_bench.py" -c "$CONF" -d "$DB" --odoo-bin "$VENV/bin/odoo" \
    --log-dir "$LOG_DIR" "$@"
