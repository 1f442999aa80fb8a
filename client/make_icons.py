"""Draws the app's icons into client/icons (run once; the PNGs are committed):
`python3 client/make_icons.py`.

A lens ring whose left half is sharp and right half blurred, on the theme colour. The maskable
icon keeps the drawing inside the central 60 % that every launcher mask leaves visible.
Needs Pillow (`pip install pillow`).
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

THEME = (31, 78, 121, 255)
WHITE = (255, 255, 255, 255)


def lens(size, scale):
    """The drawing alone, on a transparent square of `size`, filling `scale` of it."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = size / 2
    r = size * scale / 2
    w = max(2, int(r * 0.16))
    d.ellipse((c - r, c - r, c + r, c + r), outline=WHITE, width=w)
    inner = r * 0.46
    d.ellipse((c - inner, c - inner, c + inner, c + inner), fill=WHITE)
    # The right half, blurred: what the app finds.
    right = img.crop((int(c), 0, size, size)).filter(ImageFilter.GaussianBlur(size / 64))
    img.paste(right, (int(c), 0))
    return img


def icon(size, scale, rounded):
    base = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(base)
    if rounded:
        d.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=THEME)
    else:
        d.rectangle((0, 0, size, size), fill=THEME)
    base.alpha_composite(lens(size, scale))
    return base


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "icons"
    out.mkdir(exist_ok=True)
    for size in (192, 512):
        icon(size, 0.72, True).save(out / f"icon-{size}.png", optimize=True)
    icon(512, 0.56, False).save(out / "maskable-512.png", optimize=True)
    icon(180, 0.62, False).convert("RGB").save(out / "apple-touch-icon.png", optimize=True)
    icon(32, 0.8, True).save(out / "favicon-32.png", optimize=True)
