#!/usr/bin/env python3
"""OpenCV baseline for Classify's per-photo cost (see docs/benchmarks.md).

  opencv_baseline.py make-jpegs SRC_DIR OUT_DIR [N]  write N JPEGs (q90, 2048-px long side)
  opencv_baseline.py time DIR [REPS]                 time OpenCV per photo, one thread

`time` runs, per file, REPS times each (per-file median, then the median over
files, in ms):
  kernel      resize gray to long side 1024 (INTER_AREA) + Laplacian variance
  color_total cv2.imread(COLOR) + cvtColor(GRAY) + kernel
  gray_total  cv2.imread(GRAYSCALE) + kernel  (luma-only decode, like ours)
and prints a `MEDIAN_MS` line for bench/compare.sh.
"""
import os
import statistics
import sys
import time

import cv2

cv2.setNumThreads(1)


def kernel(gray):
    h, w = gray.shape[:2]
    s = 1024.0 / max(h, w)
    if s < 1.0:
        gray = cv2.resize(gray, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return cv2.Laplacian(gray, cv2.CV_64F).var()


def make_jpegs(src, out, n):
    os.makedirs(out, exist_ok=True)
    names = sorted(f for f in os.listdir(src) if f.startswith("real_") and f.lower().endswith((".jpg", ".jpeg", ".png")))
    written = 0
    for name in names:
        if written >= n:
            break
        img = cv2.imread(os.path.join(src, name), cv2.IMREAD_COLOR)
        if img is None:
            continue
        h, w = img.shape[:2]
        s = 2048.0 / max(h, w)
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
        img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=interp)
        cv2.imwrite(os.path.join(out, os.path.splitext(name)[0] + ".jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        written += 1
    print(f"wrote {written} JPEGs to {out}")


def ms(t0):
    return (time.perf_counter() - t0) * 1e3


def time_dir(d, reps):
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith((".jpg", ".jpeg")))
    ker, col, gry = [], [], []
    for path in files:
        k, c, g = [], [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            t1 = time.perf_counter()
            kernel(gray)
            c.append(ms(t0))
            k.append(ms(t1))
            t0 = time.perf_counter()
            kernel(cv2.imread(path, cv2.IMREAD_GRAYSCALE))
            g.append(ms(t0))
        km, cm, gm = statistics.median(k), statistics.median(c), statistics.median(g)
        print(f"{path}\tkernel {km:.2f}\tcolor_total {cm:.2f}\tgray_total {gm:.2f}")
        ker.append(km)
        col.append(cm)
        gry.append(gm)
    print(
        f"MEDIAN_MS files={len(files)} kernel={statistics.median(ker):.3f} "
        f"color_total={statistics.median(col):.3f} gray_total={statistics.median(gry):.3f} "
        f"opencv={cv2.__version__}"
    )


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "make-jpegs":
        make_jpegs(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 20)
    elif len(sys.argv) >= 3 and sys.argv[1] == "time":
        time_dir(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    else:
        sys.exit(__doc__)
