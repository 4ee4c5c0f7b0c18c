# shellcheck shell=bash
# Shared helpers for scripts/run.sh, scripts/test.sh and scripts/lint.sh. Sourced, not run.
#
# Layout of what the scripts create (all ignored by git):
#   .venv/                 the virtualenv (SPP_VENV overrides)
#   .run/                  runtime state (SPP_RUN_DIR overrides): PostgreSQL clusters,
#                          Odoo configuration files, filestores and logs

set -euo pipefail
# Quiet psql: no NOTICEs for "DROP ... IF EXISTS".
export PGOPTIONS="${PGOPTIONS:--c client_min_messages=warning}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPP_VENV:-$ROOT/.venv}"
RUN_DIR="${SPP_RUN_DIR:-$ROOT/.run}"
PY="$VENV/bin/python"
PG_VERSION_DIR="${SPP_PG_BINDIR:-}"
# The official Odoo 17.0 nightly source archive: the last place we look for Odoo.
ODOO_NIGHTLY_URL="https://nightly.odoo.com/17.0/nightly/src/odoo_17.0.latest.tar.gz"

log() { printf '\033[1m[spp]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[spp] error:\033[0m %s\n' "$*" >&2; exit 1; }

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

port_in_use() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
finally:
    s.close()
sys.exit(1)
EOF
}

# ---------------------------------------------------------------------------------------
# Python environment and Odoo
# ---------------------------------------------------------------------------------------

pip_install() {
    # The machine's pip configuration may name local indexes that lack a package; pip warns
    # about each one. Those warnings are noise; pip's errors still show.
    # (A pipe, not a process substitution, so pip's messages come out before ours.)
    { "$PY" -m pip install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" "$@" \
        2>&1 1>&3 | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2; } 3>&1
}

odoo_installed() {
    [ -x "$PY" ] && "$PY" - <<'EOF' 2>/dev/null
import odoo.release
assert odoo.release.version_info[:2] == (17, 0), odoo.release.version_info
EOF
}

# Install Odoo 17.0 from the first source that works:
#   1. ODOO_SOURCE: a source folder, an archive or a URL;
#   2. whatever index or find-links the machine's pip configuration offers (odoo>=17.0,<17.1);
#   3. the official 17.0 nightly source archive.
install_odoo() {
    local tried=()
    if [ -n "${ODOO_SOURCE:-}" ]; then
        log "installing Odoo 17.0 from ODOO_SOURCE=$ODOO_SOURCE"
        if pip_install "$ODOO_SOURCE" && odoo_installed; then return 0; fi
        die "ODOO_SOURCE=$ODOO_SOURCE could not be installed as Odoo 17.0 (see pip's message above).
Point ODOO_SOURCE at an Odoo 17.0 source folder, its .tar.gz/.zip archive, a wheel or a URL."
    fi
    log "installing Odoo 17.0 from the pip configuration of this machine (odoo>=17.0,<17.1)"
    if pip_install 'odoo>=17.0,<17.1' 2>"$RUN_DIR/pip-odoo.err" && odoo_installed; then return 0; fi
    tried+=("pip index/find-links of this machine: $(tail -n 1 "$RUN_DIR/pip-odoo.err")")
    log "trying the official nightly archive $ODOO_NIGHTLY_URL"
    if pip_install --timeout 30 --retries 0 "$ODOO_NIGHTLY_URL" 2>"$RUN_DIR/pip-odoo.err" && odoo_installed; then
        return 0
    fi
    tried+=("$ODOO_NIGHTLY_URL: $(tail -n 1 "$RUN_DIR/pip-odoo.err")")
    {
        echo
        echo "Odoo 17.0 could not be installed: no source worked."
        for t in "${tried[@]}"; do echo "  - $t"; done
        echo
        echo "Odoo 17 is not on PyPI. Set ODOO_SOURCE to an Odoo 17.0 source folder, its"
        echo "source archive (odoo_17.0.latest.tar.gz from nightly.odoo.com) or a wheel, e.g."
        echo "  ODOO_SOURCE=/opt/odoo17-src $0"
        echo "or make it available to pip (find-links or an index in pip.conf)."
    } >&2
    exit 2
}

# Create the virtualenv and install Odoo plus the requirement files given as arguments.
# Idempotent: a stamp of the requirement files skips pip when nothing changed.
ensure_python_env() {
    mkdir -p "$RUN_DIR"
    command -v python3 >/dev/null || die "python3 is required (3.10 or 3.11)."
    if [ ! -x "$PY" ]; then
        log "creating the virtualenv $VENV"
        python3 -m venv "$VENV"
        pip_install --upgrade pip 'setuptools<81' wheel
    fi
    odoo_installed || install_odoo
    local stamp_file stamp
    # One stamp per set of requirement files, so run.sh and test.sh don't undo each
    # other's stamp.
    stamp_file="$VENV/.spp-requirements-$(echo "$@" | sha256sum | cut -c1-12)"
    stamp="$(cat "$ROOT/constraints.txt" "$@" | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
        log "installing Python dependencies ($*)"
        local args=()
        for f in "$@"; do args+=(-r "$f"); done
        pip_install "${args[@]}"
        echo "$stamp" >"$stamp_file"
    fi
}

# ---------------------------------------------------------------------------------------
# PostgreSQL: an external server (PGHOST/PGPORT/PGUSER) or an embedded throwaway cluster
# ---------------------------------------------------------------------------------------

pg_bindir() {
    if [ -n "$PG_VERSION_DIR" ]; then echo "$PG_VERSION_DIR"; return; fi
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && PG_VERSION_DIR="$d"
    done
    [ -n "$PG_VERSION_DIR" ] || PG_VERSION_DIR="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
    [ -x "$PG_VERSION_DIR/initdb" ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found.
Install them (Debian/Ubuntu: apt-get install postgresql) or point PGHOST/PGPORT/PGUSER at a server."
    echo "$PG_VERSION_DIR"
}

# initdb/postgres refuse to run as root: as root, the cluster runs as an unprivileged user.
pg_os_user() {
    if [ "$(id -u)" != 0 ]; then id -un; return; fi
    if id postgres >/dev/null 2>&1; then echo postgres; return; fi
    id spp-postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin spp-postgres
    echo spp-postgres
}

as_pg_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

# pg_start NAME [tuning...]: start (or reuse) the embedded cluster RUN_DIR/pg-NAME and export
# PGHOST/PGPORT/PGUSER for it. With PGHOST already set, the external server is used instead.
pg_start() {
    local name="$1"; shift
    if [ -n "${PGHOST:-}" ] && [ -z "${SPP_EMBEDDED_PG:-}" ]; then
        export PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-$(id -un)}"
        [ "$PGUSER" != postgres ] || die "Odoo refuses the 'postgres' database role: set PGUSER to another role (with CREATEDB)."
        log "using the PostgreSQL server at $PGHOST:$PGPORT as $PGUSER"
        SPP_PG_EXTERNAL=1
        return 0
    fi
    SPP_EMBEDDED_PG=1
    local bindir; bindir="$(pg_bindir)"
    PG_OS_USER="$(pg_os_user)"
    PG_DATA="$RUN_DIR/pg-$name"
    mkdir -p "$PG_DATA"
    # The unprivileged user must reach the data folder; a checkout under /root is not
    # reachable, so the cluster then lives in /var/tmp and .run/ holds a link to it.
    if [ "$(id -u)" = 0 ] && ! runuser -u "$PG_OS_USER" -- test -x "$RUN_DIR"; then
        local real="/var/tmp/spp-pg-$(echo "$PG_DATA" | sha256sum | cut -c1-12)"
        rm -rf "$PG_DATA"; mkdir -p "$real"; ln -sfn "$real" "$PG_DATA"
        PG_DATA="$real"
    fi
    [ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$PG_DATA" && chmod 700 "$PG_DATA"
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        log "creating an embedded PostgreSQL cluster in $PG_DATA"
        as_pg_user "$bindir/initdb" -D "$PG_DATA" -U odoo --auth=trust -E UTF8 --locale=C.UTF-8 >"$RUN_DIR/initdb-$name.log" 2>&1 \
            || { cat "$RUN_DIR/initdb-$name.log" >&2; die "initdb failed"; }
    fi
    export PGHOST=127.0.0.1 PGUSER=odoo
    if as_pg_user "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        PGPORT="$(sed -n 4p "$PG_DATA/postmaster.pid")"
        export PGPORT
        log "embedded PostgreSQL already running on 127.0.0.1:$PGPORT"
        return 0
    fi
    local port="${SPP_PG_PORT:-54329}"
    if port_in_use "$port"; then
        local new; new="$(free_port)"
        log "port $port is taken: the embedded PostgreSQL uses port $new instead"
        port="$new"
    fi
    export PGPORT="$port"
    as_pg_user "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start \
        -o "-p $port -k $PG_DATA -c listen_addresses=127.0.0.1 -c max_connections=200 $*" >/dev/null \
        || { tail -n 20 "$PG_DATA/server.log" >&2; die "the embedded PostgreSQL did not start"; }
    log "embedded PostgreSQL started on 127.0.0.1:$PGPORT (data: $PG_DATA)"
}

pg_stop() {
    [ -n "${SPP_EMBEDDED_PG:-}" ] && [ -n "${PG_DATA:-}" ] || return 0
    as_pg_user "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    SPP_EMBEDDED_PG=""
}

# write_odoo_conf FILE DB LOGFILE: an Odoo configuration for the current PG* settings.
write_odoo_conf() {
    local file="$1" db="$2" logfile="${3:-}"
    mkdir -p "$(dirname "$file")"
    cat >"$file" <<EOF
[options]
addons_path = $ROOT
data_dir = $RUN_DIR/filestore
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_password = ${PGPASSWORD:-False}
; db_name without dbfilter: Odoo serves this database without listing the
; databases (one query per request) to filter them.
db_name = $db
list_db = False
admin_passwd = ${SPP_MASTER_PASSWORD:-$(head -c 18 /dev/urandom | base64)}
logfile = $logfile
log_level = info
without_demo = False
; queue_job (OCA) is loaded at start-up: its job runner starts with the server.
server_wide_modules = base,web,queue_job

[queue_job]
; Channel capacities: at most this many jobs of a channel run at once. The registry
; import asks the registry one page at a time (SPP_IMPORT_CAPACITY, default 1, to be
; kind to the registry); a uniqueness recompute runs alone.
channels = root:${SPP_JOB_CAPACITY:-2},root.spp_registry_import:${SPP_IMPORT_CAPACITY:-1},root.spp_uniqueness:1
EOF
}

# db_has_module DB MODULE: true when MODULE is installed in DB.
db_has_module() {
    psql -d "$1" -XtAc "SELECT 1 FROM ir_module_module WHERE name='$2' AND state='installed'" 2>/dev/null | grep -q 1
}

db_exists() {
    psql -d postgres -XtAc "SELECT 1 FROM pg_database WHERE datname='$1'" 2>/dev/null | grep -q 1
}
