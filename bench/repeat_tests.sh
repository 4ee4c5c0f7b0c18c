#!/usr/bin/env bash
# Run the test command several times in a row, idle or with every core kept busy, and
# print one line per run: the proof that the suite does not depend on the machine's
# speed or load (it synchronises on states, never on timings).
#
#   bench/repeat_tests.sh [--runs 5] [--load] [-- TEST ARGS...]
#
#   --runs N   how many runs (default 5)
#   --load     keep every core busy during the runs (one Python busy-loop per core,
#              `nproc` of them), started before the first run and stopped after the last
#   TEST ARGS  passed to scripts/test.sh (default: tests/, the end-to-end and
#              multi-process reliability tests)
#
# Each run's output goes to $SPP_RUN_DIR/repeat-logs/run-N.log (default .run/); the
# command exits non-zero if any run failed.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=5
LOAD=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --load) LOAD=1; shift ;;
        --) shift; break ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
[ "$#" -gt 0 ] || set -- tests/
LOG_DIR="${SPP_RUN_DIR:-$ROOT/.run}/repeat-logs"
mkdir -p "$LOG_DIR"

LOADERS=()
stop_load() { [ "${#LOADERS[@]}" -eq 0 ] || kill "${LOADERS[@]}" 2>/dev/null; LOADERS=(); }
trap stop_load EXIT
if [ "$LOAD" = 1 ]; then
    for _ in $(seq "$(nproc)"); do
        python3 -c 'while True: pass' &
        LOADERS+=("$!")
    done
fi

echo "runs: $RUNS, load: $([ "$LOAD" = 1 ] && echo "$(nproc) busy loops" || echo none), args: $*"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
failed=0
for run in $(seq "$RUNS"); do
    log="$LOG_DIR/run-$run.log"
    start=$(date +%s)
    "$ROOT/scripts/test.sh" "$@" >"$log" 2>&1
    rc=$?
    summary="$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//')"
    printf 'run %s: exit %s, %ss wall, load %s, %s\n' "$run" "$rc" "$(( $(date +%s) - start ))" \
        "$(cut -d' ' -f1 /proc/loadavg)" "${summary:-no pytest summary (see $log)}"
    [ "$rc" = 0 ] || failed=$((failed + 1))
done
echo "$failed of $RUNS runs failed"
[ "$failed" = 0 ]
