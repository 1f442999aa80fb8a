#!/usr/bin/env bash
# Verification throughput of the server (PostgreSQL + Redis, two `classify worker` processes with
# default settings) against its honest peer, `classify scan -j 2`, on the same 1,000 2048x1536
# JPEGs, in one run. Prints both rates, their ratio (goal: >= 0.85) and the load average.
#   bench/verify_vs_scan.sh [N]
# BENCH_PROCESSES=P runs P worker processes (default 2), BENCH_CONSUMERS=K K consumers in each;
# BENCH_POLL_MS sets the progress poll (the clock stops at the last job's finished_at either way);
# BENCH_PROFILE builds both sides with another cargo profile (default release, as deployed).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
target=${CARGO_TARGET_DIR:-target}
profile=${BENCH_PROFILE:-release}
cargo build --quiet --locked --profile "$profile" -p server --bin classify --example bench_api
dir="$target/bench-photos-$n"
if [ ! -f "$dir/done" ]; then
    "$target/$profile/examples/bench_api" photos "$dir" "$n"
    touch "$dir/done"
fi
load=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
"$target/$profile/classify" scan -j 2 --json "$dir" > /dev/null
end=$(date +%s.%N)
scan=$(echo "$n / ($end - $start)" | bc -l)
line=$("$target/$profile/examples/bench_api" verify "$n" redis "$dir" | tail -1)
echo "$line"
server=$(echo "$line" | sed -E 's/.*photos_per_s=([0-9.]+).*/\1/')
printf 'scan -j 2: %.1f photos/s; server (redis, %s worker processes): %.1f photos/s; ratio %.2f; load %s\n' \
    "$scan" "${BENCH_PROCESSES:-2}" "$server" "$(echo "$server / $scan" | bc -l)" "$load"
