#!/usr/bin/env bash
# Score stability under resizing, recompression and darkening (bench/stability.py).
#   bench/stability.sh [PHOTO_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/bench-venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check opencv-python-headless
fi
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --quiet --locked --release -p server --bin classify
"$VENV/bin/python" bench/stability.py "${1:-/work/shared/data/blur-dev/images}" \
    "${CARGO_TARGET_DIR:-target}/release/classify"
