#!/usr/bin/env python3
"""Writes N distinct 2048x1536 JPEGs (q90) for bench/scaling.sh: photo-like synthetic scenes
(gradient, rectangles, lines), a third of them blurred. 48 base scenes are drawn once; each
photo is a base scene with its own small marks, so every file is distinct (the server keeps
one photo per distinct content). Usage: scaling_photos.py N OUT_DIR
"""

import random
import sys
from multiprocessing import Pool
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

W, H = 2048, 1536
BASES = 48


def base(seed):
    rng = random.Random(seed)
    img = Image.linear_gradient("L").resize((W, H)).convert("RGB")
    tint = Image.new("RGB", (W, H), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img = Image.blend(img, tint, 0.5)
    d = ImageDraw.Draw(img)
    for _ in range(150):
        x0, y0 = rng.randrange(W), rng.randrange(H)
        x1, y1 = x0 + rng.randrange(8, W // 6), y0 + rng.randrange(8, H // 6)
        d.rectangle([x0, y0, x1, y1], fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(60):
        d.line([rng.randrange(W), rng.randrange(H), rng.randrange(W), rng.randrange(H)],
               fill=(rng.randrange(256),) * 3, width=rng.randrange(1, 6))
    if seed % 3 == 0:
        img = img.filter(ImageFilter.GaussianBlur(5))
    return img


_bases = {}


def photo(job):
    i, out = job
    b = i % BASES
    if b not in _bases:
        _bases[b] = base(b)
    img = _bases[b].copy()
    rng = random.Random(1_000_003 * i + 7)
    d = ImageDraw.Draw(img)
    for _ in range(4):
        x, y = rng.randrange(W - 40), rng.randrange(H - 40)
        d.rectangle([x, y, x + 24, y + 24], fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img.save(Path(out) / f"photo_{i:05d}.jpg", quality=90)


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    Path(out).mkdir(parents=True, exist_ok=True)
    with Pool(2) as pool:
        # Grouped by base scene so that each process draws each base once.
        jobs = sorted(((i, out) for i in range(n)), key=lambda j: j[0] % BASES)
        pool.map(photo, jobs, chunksize=n // (2 * BASES) + 1)


if __name__ == "__main__":
    main()
