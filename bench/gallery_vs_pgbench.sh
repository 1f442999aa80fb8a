#!/usr/bin/env bash
# Gallery pages per second through the API against PostgreSQL's own rate for the same keyset
# query (pgbench, prepared, 32 clients), on the same 100,000-photo database in one run.
#   bench/gallery_vs_pgbench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet --locked --release -p server --example bench_api
"$target/release/examples/bench_api" gallery-vs-pgbench "${1:-100000}"
