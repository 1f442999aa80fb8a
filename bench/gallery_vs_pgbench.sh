#!/usr/bin/env bash
# Gallery pages per second through the API against PostgreSQL's own rate for the same keyset
# query (pgbench, prepared, 32 clients), on the same 100,000-photo database in one run. The API
# is driven twice: by the benchmark's own generator (reqwest, in the server's process) and by wrk
# (a separate C process, Debian's package, installed here when missing). pgbench runs both the
# query the goal was set against and the API's own page statement.
#   bench/gallery_vs_pgbench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
if ! command -v wrk > /dev/null; then
    echo "wrk is missing: installing Debian's package (apt-get install wrk)" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }
    else
        sudo apt-get install -y -qq wrk > /dev/null
    fi
fi
echo "load generators: in-process reqwest, and $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)" >&2
cargo build --quiet --locked --release -p server --example bench_api
"$target/release/examples/bench_api" gallery-vs-pgbench "${1:-100000}"
