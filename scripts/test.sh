#!/usr/bin/env bash
# Run the whole test suite against a real Odoo 17 and a real PostgreSQL; exit non-zero on
# any failure. Output ends with pytest's own summary line.
#
#   scripts/test.sh                 every test (addon tests + end-to-end tests in tests/)
#   scripts/test.sh PATH... [ARGS]  only these paths / pytest arguments
#
# What it does: installs the Python environment (see scripts/lib.sh), makes sure Chromium
# and websocket-client are there for browser tours (installing Chromium with apt when run
# as root), starts a throwaway PostgreSQL cluster (or uses PGHOST/PGPORT/PGUSER), creates
# a fresh database with both addons and demo data, then runs pytest with pytest-odoo and
# the HTTP server enabled. An ERROR or traceback in Odoo's log fails the run, and so does
# a browser test that cannot start its browser (see conftest.py).
source "$(dirname "$0")/lib.sh"

DB="${SPP_TEST_DB:-spp_test}"
MODULES="${SPP_MODULES:-spp_oauth,spp_attendance}"

ensure_python_env "$ROOT/requirements.txt" "$ROOT/requirements-test.txt"

if ! command -v chromium >/dev/null && ! command -v google-chrome >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing Chromium for the browser tests (apt-get install chromium)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >"$RUN_DIR/apt.log" 2>&1 \
            || { tail -n 20 "$RUN_DIR/apt.log" >&2; die "could not install chromium"; }
    else
        die "browser tests need Chromium: install Debian's 'chromium' package (sudo apt-get install chromium)."
    fi
fi
"$PY" -c 'import websocket' 2>/dev/null || die "browser tests need the websocket-client package"

trap pg_stop EXIT
# A test cluster may lose everything on a crash: trade durability for speed.
pg_start test -c fsync=off -c synchronous_commit=off -c full_page_writes=off

LOG_DIR="$RUN_DIR/test-logs"
rm -rf "$LOG_DIR" "$RUN_DIR/filestore/filestore/$DB" "$RUN_DIR/filestore/filestore/${DB}_e2e" \
    "$RUN_DIR/filestore/filestore/${DB}_workers" "$RUN_DIR/filestore/filestore/${DB}_multinode"
mkdir -p "$LOG_DIR"
for db in "$DB" "${DB}_e2e" "${DB}_workers" "${DB}_multinode"; do
    psql -d postgres -Xq -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
done
CONF="$RUN_DIR/odoo-test.conf"
write_odoo_conf "$CONF" "$DB" "$LOG_DIR/odoo-tests.log"

log "installing $MODULES with demo data in a fresh database $DB"
START=$(date +%s)
if ! "$VENV/bin/odoo" -c "$CONF" -d "$DB" -i "$MODULES" --stop-after-init --logfile "$LOG_DIR/install.log"; then
    tail -n 40 "$LOG_DIR/install.log" >&2
    die "installing $MODULES failed (log: $LOG_DIR/install.log)"
fi
log "installed in $(( $(date +%s) - START ))s"
# The end-to-end tests run their own Odoo server on a copy, so they never share state
# with the in-process tests.
# The reliability tests (tests/test_reliability_*.py) serve another copy with a
# multi-process server (odoo_workers_server); tests/test_multinode.py serves a third
# with two such servers ("nodes") at once.
for copy in "${DB}_e2e" "${DB}_workers" "${DB}_multinode"; do
    psql -d postgres -Xq -c "CREATE DATABASE \"$copy\" TEMPLATE \"$DB\"" >/dev/null
    cp -r "$RUN_DIR/filestore/filestore/$DB" "$RUN_DIR/filestore/filestore/$copy" 2>/dev/null || true
done

export SPP_TEST_LOG_DIR="$LOG_DIR" SPP_TEST_ODOO_CONF="$CONF" SPP_E2E_DB="${DB}_e2e" \
    SPP_WORKERS_DB="${DB}_workers" SPP_MULTINODE_DB="${DB}_multinode" SPP_ODOO_BIN="$VENV/bin/odoo"
cd "$ROOT"
set +e
if [ "$#" -eq 0 ]; then set -- spp_oauth spp_attendance tests; fi
# No job runner in the test process (nor in the servers it starts, unless a test
# asks for one): the addon tests run their jobs themselves, deterministically
# (queue_job's trap_jobs), and a runner would run committed jobs behind their back.
ODOO_QUEUE_JOB_CHANNELS=root:0 "$VENV/bin/pytest" --odoo-config="$CONF" --odoo-database="$DB" --odoo-http --odoo-log-level=info "$@"
RC=$?
set -e
pg_stop
exit "$RC"
