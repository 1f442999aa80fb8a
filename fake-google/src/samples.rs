//! The built-in sample library: deterministic scenes with sharp edges (checkerboard, text-like
//! glyphs, bricks, rings, disks, grain) and blurred versions of them (Gaussian, motion).

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

#[derive(Clone, Copy)]
pub(crate) enum Scene {
    Checker,
    Text,
    Bricks,
    Rings,
    Disks,
    Grain,
}

#[derive(Clone, Copy)]
pub(crate) enum Blur {
    None,
    Gaussian(f32),
    Horizontal(u32),
    Vertical(u32),
}

pub(crate) struct Builtin {
    pub scene: Scene,
    pub blur: Blur,
    pub size: (u32, u32),
    pub video: bool,
}

const fn b(scene: Scene, blur: Blur) -> Builtin {
    Builtin {
        scene,
        blur,
        size: (1600, 1200),
        video: false,
    }
}

pub(crate) const BUILTINS: [Builtin; 12] = [
    b(Scene::Checker, Blur::None),
    b(Scene::Checker, Blur::Gaussian(6.0)),
    b(Scene::Text, Blur::None),
    b(Scene::Text, Blur::Horizontal(31)),
    b(Scene::Bricks, Blur::None),
    b(Scene::Bricks, Blur::Gaussian(4.0)),
    b(Scene::Rings, Blur::None),
    b(Scene::Rings, Blur::Vertical(25)),
    b(Scene::Disks, Blur::None),
    b(Scene::Disks, Blur::Gaussian(8.0)),
    Builtin {
        size: (1200, 1600),
        ..b(Scene::Grain, Blur::None)
    },
    Builtin {
        size: (1280, 720),
        video: true,
        ..b(Scene::Disks, Blur::Gaussian(1.5))
    },
];

/// A tiny deterministic PRNG (SplitMix64), so samples are identical on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
}

pub(crate) fn render(spec: &Builtin) -> Vec<u8> {
    let (w, h) = spec.size;
    let img = scene(spec.scene, w, h);
    let img = match spec.blur {
        Blur::None => img,
        Blur::Gaussian(sigma) => image::imageops::fast_blur(&img, sigma),
        Blur::Horizontal(len) => motion_blur(&img, len, true),
        Blur::Vertical(len) => motion_blur(&img, len, false),
    };
    let mut out = Vec::new();
    // Encoding an in-memory RGB buffer cannot fail; an empty result would show up in tests.
    let _ = JpegEncoder::new_with_quality(&mut out, 92).encode_image(&img);
    out
}

fn scene(scene: Scene, w: u32, h: u32) -> RgbImage {
    let mut rng = Rng(0x5EED ^ u64::from(w * 31 + h));
    match scene {
        Scene::Checker => RgbImage::from_fn(w, h, |x, y| {
            let on = ((x / 40) + (y / 40)) % 2 == 0;
            let tint = ((x * 255) / w) as u8;
            if on {
                Rgb([tint, 40, 255 - tint])
            } else {
                Rgb([245, 240, 230])
            }
        }),
        Scene::Grain => RgbImage::from_fn(w, h, |x, y| {
            let mut r = Rng(u64::from(x / 2) << 32 | u64::from(y / 2));
            let v = (r.next() & 0xFF) as u8;
            Rgb([v, v / 2 + 60, 255 - v / 3])
        }),
        Scene::Rings => {
            let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
            RgbImage::from_fn(w, h, |x, y| {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let v = ((dx * dx + dy * dy) / 4000.0).sin();
                let g = if v > 0.0 { 230 } else { 25 };
                Rgb([g, g, (g / 2) + 60])
            })
        }
        Scene::Bricks => RgbImage::from_fn(w, h, |x, y| {
            let row = y / 50;
            let shift = if row % 2 == 0 { 0 } else { 60 };
            let mortar = y % 50 < 6 || (x + shift) % 120 < 6;
            if mortar {
                Rgb([210, 205, 195])
            } else {
                let k = ((x + shift) / 120 + row * 7) % 5;
                Rgb([150 + (k * 15) as u8, 60 + (k * 6) as u8, 40])
            }
        }),
        Scene::Text => {
            let mut img = RgbImage::from_pixel(w, h, Rgb([250, 248, 240]));
            for line in 0..(h / 40) {
                let top = line * 40 + 10;
                let mut x = 30 + rng.below(40);
                while x + 30 < w {
                    let glyph_w = 6 + rng.below(16);
                    let glyph_h = 14 + rng.below(10);
                    fill(
                        &mut img,
                        x,
                        top + 24 - glyph_h,
                        glyph_w,
                        glyph_h,
                        [20, 20, 30],
                    );
                    x += glyph_w + 4 + if rng.below(6) == 0 { 18 } else { 0 };
                }
            }
            img
        }
        Scene::Disks => {
            let mut img = RgbImage::from_pixel(w, h, Rgb([30, 90, 40]));
            for _ in 0..160 {
                let (cx, cy, r) = (rng.below(w), rng.below(h), 10 + rng.below(90));
                let color = [
                    rng.below(256) as u8,
                    rng.below(256) as u8,
                    rng.below(256) as u8,
                ];
                disk(&mut img, cx, cy, r, color);
            }
            img
        }
    }
}

fn fill(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, color: [u8; 3]) {
    for y in y0..(y0 + h).min(img.height()) {
        for x in x0..(x0 + w).min(img.width()) {
            img.put_pixel(x, y, Rgb(color));
        }
    }
}

fn disk(img: &mut RgbImage, cx: u32, cy: u32, r: u32, color: [u8; 3]) {
    let r2 = i64::from(r * r);
    for y in cy.saturating_sub(r)..(cy + r).min(img.height()) {
        for x in cx.saturating_sub(r)..(cx + r).min(img.width()) {
            let (dx, dy) = (i64::from(x) - i64::from(cx), i64::from(y) - i64::from(cy));
            if dx * dx + dy * dy <= r2 {
                img.put_pixel(x, y, Rgb(color));
            }
        }
    }
}

/// A linear motion blur of `len` pixels along rows or columns (a running box average).
fn motion_blur(src: &RgbImage, len: u32, horizontal: bool) -> RgbImage {
    let (w, h) = src.dimensions();
    let (lines, span) = if horizontal { (h, w) } else { (w, h) };
    let at = |line: u32, i: u32| if horizontal { (i, line) } else { (line, i) };
    let half = len / 2;
    let mut out = RgbImage::new(w, h);
    for line in 0..lines {
        let mut sum = [0u32; 3];
        let mut count = 0u32;
        for i in 0..half.min(span) {
            let (x, y) = at(line, i);
            let p = src.get_pixel(x, y).0;
            (0..3).for_each(|c| sum[c] += u32::from(p[c]));
            count += 1;
        }
        for i in 0..span {
            let add = i + half;
            if add < span {
                let (x, y) = at(line, add);
                let p = src.get_pixel(x, y).0;
                (0..3).for_each(|c| sum[c] += u32::from(p[c]));
                count += 1;
            }
            if i > half {
                let (x, y) = at(line, i - half - 1);
                let p = src.get_pixel(x, y).0;
                (0..3).for_each(|c| sum[c] -= u32::from(p[c]));
                count -= 1;
            }
            let (x, y) = at(line, i);
            let n = count.max(1);
            out.put_pixel(
                x,
                y,
                Rgb([(sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8]),
            );
        }
    }
    out
}
