#!/usr/bin/env bash
# Run the product: virtualenv + Odoo 17 + dependencies, an embedded PostgreSQL (unless
# PGHOST/PGPORT/PGUSER name a server), a database with both addons and demo data, and the
# Odoo back office on http://localhost:8069 (or a free port, announced, if 8069 is taken).
#
#   scripts/run.sh            set up and serve until Ctrl-C
#   scripts/run.sh --check    set up, serve, check that the login page answers, then stop
# Environment: ODOO_SOURCE (where to install Odoo from), SPP_DB (database, default
# spp_attendance), SPP_HTTP_PORT (default 8069), PGHOST/PGPORT/PGUSER/PGPASSWORD.
source "$(dirname "$0")/lib.sh"

CHECK=""
[ "${1:-}" = "--check" ] && CHECK=1
DB="${SPP_DB:-spp_attendance}"
MODULES="spp_oauth,spp_attendance"

ensure_python_env "$ROOT/requirements.txt"
trap pg_stop EXIT
pg_start run
CONF="$RUN_DIR/odoo-run.conf"
LOG_DIR="$RUN_DIR/logs"
mkdir -p "$LOG_DIR"
write_odoo_conf "$CONF" "$DB" ""

if db_exists "$DB" && db_has_module "$DB" spp_attendance; then
    log "updating the addons in the database $DB"
    "$VENV/bin/odoo" -c "$CONF" -d "$DB" -u "$MODULES" --stop-after-init --logfile "$LOG_DIR/update.log" \
        || die "updating the addons failed, see $LOG_DIR/update.log"
else
    log "creating the database $DB with $MODULES and demo data (about a minute)"
    "$VENV/bin/odoo" -c "$CONF" -d "$DB" -i "$MODULES" --stop-after-init --logfile "$LOG_DIR/install.log" \
        || die "installing the addons failed, see $LOG_DIR/install.log"
    db_has_module "$DB" spp_attendance || die "the addons are not installed, see $LOG_DIR/install.log"
fi

PORT="${SPP_HTTP_PORT:-8069}"
if port_in_use "$PORT"; then
    NEW="$(free_port)"
    log "port $PORT is taken: Odoo serves on port $NEW instead"
    PORT="$NEW"
fi
GEVENT_PORT="$(free_port)"
# stderr to the log too: what Odoo prints outside its logger (a failed import at
# start, its cron threads' tracebacks when stopped) belongs with the server's log.
"$VENV/bin/odoo" -c "$CONF" -d "$DB" --http-interface=127.0.0.1 --http-port="$PORT" \
    --gevent-port="$GEVENT_PORT" --logfile "$LOG_DIR/server.log" 2>>"$LOG_DIR/server.log" &
ODOO_PID=$!
trap 'kill $ODOO_PID 2>/dev/null; wait $ODOO_PID 2>/dev/null; pg_stop' EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 120); do
    if curl -fs -o /dev/null "http://127.0.0.1:$PORT/web/login"; then break; fi
    kill -0 "$ODOO_PID" 2>/dev/null || die "Odoo stopped, see $LOG_DIR/server.log"
    sleep 1
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/web/login" || die "Odoo does not answer, see $LOG_DIR/server.log"
cat <<MSG

  Odoo back office:  http://localhost:$PORT/web   (login: admin, password: admin)
  Attendance API:    http://localhost:$PORT/       (see README, "Using the API")
  Database:          $DB on $PGHOST:$PGPORT
  Server log:        $LOG_DIR/server.log

MSG
if [ -n "$CHECK" ]; then
    log "check passed: the back office answers; stopping"
    exit 0
fi
log "serving; press Ctrl-C to stop"
wait "$ODOO_PID"
