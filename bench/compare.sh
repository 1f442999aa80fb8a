#!/usr/bin/env bash
# Classify vs OpenCV, per photo, one thread each, in the same run (docs/benchmarks.md).
#
#   bench/compare.sh [PHOTO_DIR] [N] [REPS]
#
# Makes N (default 20) q90 JPEGs at a 2048-px long side from the real_* photos in PHOTO_DIR
# (default /work/shared/data/blur-dev/images) into target/bench-jpegs, then times
#   - OpenCV (opencv-python-headless in target/bench-venv, cv2.setNumThreads(1)), and
#   - our decode_gray + analyze (server/examples/time_decode.rs, release build),
# and prints the medians and the ratios ours / OpenCV.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-/work/shared/data/blur-dev/images}
N=${2:-20}
REPS=${3:-5}
VENV=target/bench-venv
JPEGS=target/bench-jpegs
BIN=${CARGO_TARGET_DIR:-target}/release/examples/time_decode

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check opencv-python-headless
fi
rm -rf "$JPEGS"
"$VENV/bin/python" bench/opencv_baseline.py make-jpegs "$SRC" "$JPEGS" "$N"

CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --quiet --locked --release -p server --example time_decode

echo "== OpenCV"
cv=$("$VENV/bin/python" bench/opencv_baseline.py time "$JPEGS" "$REPS" | tee /dev/stderr | grep '^MEDIAN_MS')
echo "== Classify"
rs=$("$BIN" "$JPEGS" "$REPS" | tee /dev/stderr | grep '^MEDIAN_MS')

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
python3 - "$(field "$rs" kernel)" "$(field "$rs" decode_kernel)" "$(field "$rs" decode)" \
    "$(field "$cv" kernel)" "$(field "$cv" color_total)" "$(field "$cv" gray_total)" "$(field "$cv" opencv)" <<'PY'
import sys
rk, rt, rd, ck, cc, cg, ver = sys.argv[1:]
rk, rt, rd, ck, cc, cg = map(float, (rk, rt, rd, ck, cc, cg))
print(f"\nmedian ms per photo (one thread; OpenCV {ver})")
print(f"  kernel only      Classify analyze {rk:8.2f}   OpenCV resize+Laplacian var {ck:8.2f}   ratio {rk/ck:5.2f}x")
print(f"  decode+kernel    Classify         {rt:8.2f}   OpenCV imread COLOR+cvtColor {cc:8.2f}   ratio {rt/cc:5.2f}x")
print(f"                                             OpenCV imread GRAYSCALE      {cg:8.2f}   ratio {rt/cg:5.2f}x")
print(f"  kernel only vs OpenCV's whole imread COLOR pipeline: ratio {rk/cc:5.2f}x ({cc/rk:.1f} times faster)")
print(f"  (Classify decode_gray alone {rd:.2f})")
PY
