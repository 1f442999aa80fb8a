#!/usr/bin/env python3
"""How much the blur score moves when the same photo comes in another form.

  bench/stability.sh [PHOTO_DIR]   (runs this with the bench venv's OpenCV)

For every photo in PHOTO_DIR (default: the blur-dev images) with a long side of at least
1024 px, writes four variants into target/stability: the photo re-encoded at JPEG q95
(`full`, the reference), at half size (`half`, INTER_AREA), at q60 (`q60`), and with its
brightness scaled by 0.35 (`dark`). Scores them all with `classify scan --json` and prints,
per variant, the median and 90th-percentile change of the score against `full` and how many
verdicts (at 0.5) flip. The same is printed for the Laplacian-variance baseline's decision
(threshold 390.8, the one fitted on the dev set by `classify eval`), computed here with OpenCV
as in bench/opencv_baseline.py.
"""
import glob
import json
import os
import subprocess
import sys

import cv2
import numpy as np

SRC = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/blur-dev/images"
CLASSIFY = sys.argv[2] if len(sys.argv) > 2 else "target/release/classify"
OUT = "target/stability"
LAPLACIAN_THRESHOLD = 390.8


def laplacian_var(img):
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    s = 1024.0 / max(h, w)
    if s < 1.0:
        gray = cv2.resize(gray, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return cv2.Laplacian(gray, cv2.CV_64F).var()


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in glob.glob(os.path.join(OUT, "*.jpg")):
        os.remove(f)
    lap = {}
    for path in sorted(glob.glob(os.path.join(SRC, "*"))):
        img = cv2.imread(path)
        if img is None or max(img.shape[:2]) < 1024:
            continue
        h, w = img.shape[:2]
        name = os.path.splitext(os.path.basename(path))[0]
        variants = {
            "full": (img, 95),
            "half": (cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA), 95),
            "q60": (img, 60),
            "dark": ((img.astype(np.float32) * 0.35).astype(np.uint8), 95),
        }
        for v, (pix, q) in variants.items():
            out = os.path.join(OUT, f"{name}__{v}.jpg")
            cv2.imwrite(out, pix, [cv2.IMWRITE_JPEG_QUALITY, q])
            lap.setdefault(name, {})[v] = laplacian_var(cv2.imread(out))
    # Exit status 1 only means some file was unreadable; those rows carry an "error".
    scan = subprocess.run([CLASSIFY, "scan", "--json", OUT], capture_output=True, text=True)
    if scan.returncode not in (0, 1) or not scan.stdout.strip():
        sys.exit(f"classify scan failed ({scan.returncode}): {scan.stderr.strip()}")
    ours = {}
    for line in scan.stdout.splitlines():
        r = json.loads(line)
        if r.get("error") or r.get("blur_score") is None:
            print(f"skipped {r['file']}: {r.get('error')}", file=sys.stderr)
            continue
        name, v = os.path.splitext(os.path.basename(r["file"]))[0].split("__")
        ours.setdefault(name, {})[v] = r["blur_score"]
    variants = {"full", "half", "q60", "dark"}
    ours = {k: x for k, x in ours.items() if set(x) == variants}
    lap = {k: x for k, x in lap.items() if k in ours}
    n = len(ours)
    if n == 0:
        sys.exit("no photo was scored in all four forms")
    print(f"{n} photos of at least 1024 px from {SRC}")
    print(f"{'variant':8} {'median |d score|':>17} {'p90 |d score|':>14} {'flips ours':>11} {'flips Laplacian':>16}")
    for v in ["half", "q60", "dark"]:
        d = sorted(abs(x[v] - x["full"]) for x in ours.values())
        flips = sum((x[v] >= 0.5) != (x["full"] >= 0.5) for x in ours.values())
        lflips = sum(
            (x[v] <= LAPLACIAN_THRESHOLD) != (x["full"] <= LAPLACIAN_THRESHOLD) for x in lap.values()
        )
        print(f"{v:8} {d[len(d) // 2]:17.3f} {d[int(len(d) * 0.9)]:14.3f} {flips:>6} of {n} {lflips:>11} of {n}")


if __name__ == "__main__":
    main()
