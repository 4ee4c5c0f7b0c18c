#!/usr/bin/env bash
# Back-office reporting benchmark (see backoffice_bench.py): a fresh database without
# demo data (bench_lib.sh), subscribers and attendance records bulk-loaded with SQL
# (backoffice_index_bench.py's loader), then, on the server side, the lists, pivots,
# graph, calendar and participation report the web client reads, beside the plain-SQL
# floor. Arguments go to the Python script (--subscribers 100000 --records 1000000 by
# default; --repeat 7). SPP_BENCH_DB names the database (default spp_bench_reporting).
source "$(dirname "$0")/bench_lib.sh"
bench_database spp_bench_reporting -c shared_buffers=256MB -c max_wal_size=2GB
"$PY" "$ROOT/bench/backoffice_bench.py" -c "$CONF" -d "$DB" "$@"
