#!/usr/bin/env bash
# Recovery after SIGKILL with default settings, on both backends: runs the two process-level
# tests (server/tests/api/resilience.rs) RUNS times (default 3) and prints each figure and the
# median. Needs the local PostgreSQL and Redis, like the test suite.
#   bench/recovery.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$runs"); do
    cargo nextest run --locked -p server --no-capture \
        -E 'test(within_30_s)' 2>&1 | grep 'recovery after SIGKILL' | tee -a "$out"
done
for backend in "postgres+redis" "embedded"; do
    grep -F "($backend" "$out" | sed -E 's/.*: ([0-9.]+) s.*/\1/' | sort -n |
        awk -v b="$backend" '{ v[NR] = $1 } END {
            if (NR == 0) { print b ": no figures"; exit 1 }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%s: median %.1f s over %d runs\n", b, m, NR }'
done
