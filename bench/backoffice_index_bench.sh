#!/usr/bin/env bash
# Back-office list and search benchmark (see backoffice_index_bench.py): a fresh
# database without demo data (bench_lib.sh), subscribers (and attendance records)
# bulk-loaded with SQL, then, on the server side, the ORM calls the web client makes for
# the subscribers and attendance lists, beside the plain-SQL floor. Arguments go to the
# Python script (e.g. --without-indexes for the "before" numbers, --subscribers 10000
# for a quick try). SPP_BENCH_DB names the database (default spp_bench_backoffice).
source "$(dirname "$0")/bench_lib.sh"
bench_database spp_bench_backoffice -c shared_buffers=256MB -c max_wal_size=2GB
"$PY" "$ROOT/bench/backoffice_index_bench.py" -c "$CONF" -d "$DB" "$@"
