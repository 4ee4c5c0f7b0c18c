#!/usr/bin/env bash
# Check-in desk round trip (see desk_bench.py): a fresh database without demo data
# (bench_lib.sh), subscribers (and attendance records) bulk-loaded with SQL, an Odoo
# server, then the desk's JSON-RPC calls over HTTP as an Attendance Officer beside a
# bare ORM create. Arguments go to the Python script (--subscribers 100000 by default).
# SPP_BENCH_DB names the database (default spp_bench_desk).
source "$(dirname "$0")/bench_lib.sh"
bench_database spp_bench_desk -c shared_buffers=256MB -c max_wal_size=2GB
"$PY" "$ROOT/bench/desk_bench.py" -c "$CONF" -d "$DB" --odoo-bin "$VENV/bin/odoo" \
    --run-dir "$RUN_DIR" "$@"
