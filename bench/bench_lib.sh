# shellcheck shell=bash
# Shared set-up of the bench/*.sh scripts. Sourced, not run: the embedded PostgreSQL in
# $SPP_RUN_DIR (default .run/bench), the Python environment, and a fresh database with
# both addons without demo data.
SPP_RUN_DIR="${SPP_RUN_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.run/bench}"
export SPP_RUN_DIR
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# bench_database NAME [pg options...]: start PostgreSQL with the options, (re)create the
# database $SPP_BENCH_DB (default NAME) with both addons unless SPP_BENCH_REUSE=1 finds
# it installed, and set DB and CONF (the Odoo configuration) for the caller.
bench_database() {
    local name="$1"; shift
    DB="${SPP_BENCH_DB:-$name}"
    ensure_python_env "$ROOT/requirements.txt" "$ROOT/requirements-test.txt"
    trap pg_stop EXIT
    pg_start bench "$@"
    CONF="$RUN_DIR/odoo-$DB.conf"
    local install_log="$RUN_DIR/$DB-install.log"
    write_odoo_conf "$CONF" "$DB" "$install_log"
    if [ "${SPP_BENCH_REUSE:-}" = 1 ] && db_has_module "$DB" spp_attendance; then
        log "reusing the database $DB"
        return 0
    fi
    psql -d postgres -Xq -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
    rm -rf "$RUN_DIR/filestore/filestore/$DB"
    log "installing spp_oauth,spp_attendance (no demo data) in $DB"
    local start; start=$(date +%s)
    "$VENV/bin/odoo" -c "$CONF" -d "$DB" -i spp_oauth,spp_attendance --without-demo=all \
        --stop-after-init --logfile "$install_log" \
        || { tail -n 40 "$install_log" >&2; die "install failed"; }
    log "installed in $(( $(date +%s) - start ))s"
}
