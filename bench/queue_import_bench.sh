#!/usr/bin/env bash
# Registry imports on queue_job, import channel capacity 1 and 2 (see
# queue_import_bench.py): a fresh database with both addons (no demo data), then the
# benchmark. Arguments are passed to the Python script.
source "$(dirname "$0")/bench_lib.sh"

bench_database spp_bench_queue
"$PY" "$ROOT/bench/queue_import_bench.py" -c "$CONF" -d "$DB" --odoo-bin "$VENV/bin/odoo" "$@"
