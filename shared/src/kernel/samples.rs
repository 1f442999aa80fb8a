//! Deterministic synthetic test images for golden-value, parity and benchmark
//! runs: a photo-like texture (random rectangles over a mid-grey field plus
//! fine noise), the same smeared by horizontal and 45° motion kernels and by a
//! disc defocus kernel, a dark texture and a smooth gradient.
//!
//! Integer-only, driven by a fixed-seed xorshift generator, so every target
//! (native, wasm32) builds exactly the same pixels. Not part of the stable API:
//! it exists for tests, benchmarks and fuzz seeds.

use super::error::KernelError;
use super::gray::GrayImage;

/// A small xorshift32 generator: fixed seed in, same sequence everywhere.
#[derive(Debug, Clone)]
pub struct XorShift32(u32);

impl XorShift32 {
    /// A generator from `seed` (a zero seed is replaced, xorshift must not start at 0).
    pub fn new(seed: u32) -> Self {
        Self(if seed == 0 { 0x9E37_79B9 } else { seed })
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A value in `0..n` (`n > 0`; slight modulo bias is irrelevant here).
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n.max(1)
    }
}

type Result<T> = std::result::Result<T, KernelError>;

/// Photo-like texture: a mid-grey field with `width*height/4000` random
/// rectangles (hard edges at every orientation of the axes, many scales),
/// plus ±6 levels of per-pixel noise. Values stay within `lo..=hi`.
pub fn texture(width: u32, height: u32, seed: u32, lo: u8, hi: u8) -> Result<GrayImage> {
    let (w, h) = (width as usize, height as usize);
    let mut rng = XorShift32::new(seed);
    let span = u32::from(hi.saturating_sub(lo)).max(1);
    let mut data = vec![lo.saturating_add((span / 2) as u8); w * h];
    let rects = (w * h / 4000).max(8);
    for _ in 0..rects {
        let rw = 4 + rng.below(width / 6 + 1) as usize;
        let rh = 4 + rng.below(height / 6 + 1) as usize;
        let x0 = rng.below(width) as usize;
        let y0 = rng.below(height) as usize;
        let v = lo.saturating_add(rng.below(span + 1) as u8);
        for row in data.chunks_exact_mut(w).skip(y0).take(rh) {
            for p in row.iter_mut().skip(x0).take(rw) {
                *p = v;
            }
        }
    }
    for p in &mut data {
        let n = rng.below(13) as i32 - 6;
        let v = (i32::from(*p) + n).clamp(i32::from(lo), i32::from(hi));
        *p = v as u8;
    }
    GrayImage::new(width, height, data)
}

/// Motion blur: mean of `len` samples along the direction `(dx, dy)` (one of
/// `(1, 0)`, `(0, 1)`, `(1, 1)`, `(1, -1)`), centred, clamped at the borders,
/// rounded to nearest.
pub fn motion_blur(img: &GrayImage, len: u32, dx: i32, dy: i32) -> Result<GrayImage> {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let src = img.data();
    let len = len.max(1) as i32;
    let half = len / 2;
    let mut out = vec![0u8; src.len()];
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0i32;
            for k in 0..len {
                let t = k - half;
                let sx = (x + t * dx).clamp(0, w - 1);
                let sy = (y + t * dy).clamp(0, h - 1);
                sum += i32::from(src[(sy * w + sx) as usize]);
            }
            out[(y * w + x) as usize] = ((sum + len / 2) / len) as u8;
        }
    }
    GrayImage::new(img.width(), img.height(), out)
}

/// Defocus blur: mean over a disc of `radius` px (integer disc test
/// `dx² + dy² <= r² + r`), borders clamped, computed with per-row prefix sums.
pub fn disc_blur(img: &GrayImage, radius: u32) -> Result<GrayImage> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.data();
    let r = radius as i64;
    // Half-width of the disc on each row offset.
    let spans: Vec<(i64, i64)> = (-r..=r)
        .map(|dy| {
            let mut half = 0;
            while (half + 1) * (half + 1) + dy * dy <= r * r + r {
                half += 1;
            }
            (dy, half)
        })
        .collect();
    let count: i64 = spans.iter().map(|&(_, half)| 2 * half + 1).sum();
    // Row prefix sums over a row padded by r clamped pixels on each side.
    let pw = w + 2 * radius as usize;
    let mut prefix = vec![0u32; h * (pw + 1)];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        let base = y * (pw + 1);
        for i in 0..pw {
            let sx = (i as i64 - r).clamp(0, w as i64 - 1) as usize;
            prefix[base + i + 1] = prefix[base + i] + u32::from(row[sx]);
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0i64;
            for &(dy, half) in &spans {
                let sy = (y as i64 + dy).clamp(0, h as i64 - 1) as usize;
                let base = sy * (pw + 1);
                // Padded index of x is x + r; the window is [x+r-half, x+r+half].
                let a = (x as i64 + r - half) as usize;
                let b = (x as i64 + r + half) as usize + 1;
                sum += i64::from(prefix[base + b]) - i64::from(prefix[base + a]);
            }
            out[y * w + x] = ((sum + count / 2) / count) as u8;
        }
    }
    GrayImage::new(img.width(), img.height(), out)
}

/// A smooth diagonal gradient with no edges at all.
pub fn gradient(width: u32, height: u32) -> Result<GrayImage> {
    let (w, h) = (width as usize, height as usize);
    let denom = (w + h).max(2) - 2;
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            data.push(((x + y) * 255 / denom.max(1)) as u8);
        }
    }
    GrayImage::new(width, height, data)
}

/// One named synthetic case.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Stable name, used as the golden-table key.
    pub name: &'static str,
    /// The pixels.
    pub image: GrayImage,
}

/// The golden-value cases, in a fixed order. Sizes go up to 1200×900 so the
/// working-resolution downscale is exercised as well as the native-size path.
pub fn cases() -> Result<Vec<Sample>> {
    let tex_big = texture(1200, 900, 0xC1A5_5117, 0, 255)?;
    let tex_mid = texture(1024, 768, 0x0BAD_F00D, 0, 255)?;
    Ok(vec![
        Sample {
            name: "texture_480x360",
            image: texture(480, 360, 0x1234_5678, 0, 255)?,
        },
        Sample {
            name: "motion_h15_1200x900",
            image: motion_blur(&tex_big, 15, 1, 0)?,
        },
        Sample {
            name: "texture_1200x900",
            image: tex_big,
        },
        Sample {
            name: "motion_45_13_1024x768",
            image: motion_blur(&tex_mid, 13, 1, -1)?,
        },
        Sample {
            name: "defocus_r6_1024x768",
            image: disc_blur(&tex_mid, 6)?,
        },
        Sample {
            name: "dark_800x600",
            image: texture(800, 600, 0xDA4C_0001, 0, 32)?,
        },
        Sample {
            name: "gradient_640x480",
            image: gradient(640, 480)?,
        },
    ])
}

/// The benchmark image: a 2048×1536 texture (3.1 MP, a typical phone photo
/// after a 2× downscale).
pub fn bench_image() -> Result<GrayImage> {
    texture(2048, 1536, 0xBE4C_4001, 0, 255)
}
