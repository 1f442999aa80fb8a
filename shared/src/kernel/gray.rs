//! Owns the 8-bit luma image type, RGB(A) → luma conversion and the exact
//! integer area-average downscaler used to reach the working resolution.

use super::error::KernelError;

/// Largest accepted side: keeps the resampler's row sums (255·side) far
/// inside `u32` and is far beyond any camera.
pub const MAX_SIDE: u32 = 32_768;
/// Largest accepted pixel count (≈ 268 MP): bounds memory, and keeps the
/// resampler's total sums (255·pixels) exact in an f64.
pub const MAX_PIXELS: u64 = 1 << 28;

/// An 8-bit single-channel image, row-major, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

fn check_dims(width: u32, height: u32) -> Result<usize, KernelError> {
    if width == 0 || height == 0 {
        return Err(KernelError::EmptyImage { width, height });
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(KernelError::TooLarge {
            width,
            height,
            max_side: MAX_SIDE,
            max_pixels: MAX_PIXELS,
        });
    }
    // Cannot truncate: pixels <= 2^28.
    Ok(pixels as usize)
}

fn check_len(expected: usize, actual: usize) -> Result<(), KernelError> {
    if expected == actual {
        Ok(())
    } else {
        Err(KernelError::BufferSizeMismatch { expected, actual })
    }
}

/// Integer BT.601 luma (weights 77/150/29 out of 256, rounded), identical on
/// every platform.
#[inline]
fn luma601(r: u8, g: u8, b: u8) -> u8 {
    let y = 77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b) + 128;
    // Max is (256*255+128)>>8 = 255.
    (y >> 8) as u8
}

impl GrayImage {
    /// Wraps a luma buffer of exactly `width * height` bytes.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self, KernelError> {
        let n = check_dims(width, height)?;
        check_len(n, data.len())?;
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Converts an RGBA8 buffer (alpha ignored) with integer BT.601 luma.
    pub fn from_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<Self, KernelError> {
        Self::from_interleaved::<4>(width, height, rgba)
    }

    /// Converts an RGB8 buffer with integer BT.601 luma.
    pub fn from_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Self, KernelError> {
        Self::from_interleaved::<3>(width, height, rgb)
    }

    fn from_interleaved<const C: usize>(
        width: u32,
        height: u32,
        px: &[u8],
    ) -> Result<Self, KernelError> {
        let n = check_dims(width, height)?;
        check_len(n.saturating_mul(C), px.len())?;
        let data = px
            .chunks_exact(C)
            .map(|p| luma601(p[0], p[1], p[2]))
            .collect();
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Row-major luma bytes, `width * height` long.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Area-averaged copy whose long side is at most `long_side`; images that
    /// already fit are returned unchanged, because upscaling would invent blur.
    pub fn fit_long_side(&self, long_side: u32) -> GrayImage {
        let long = self.width.max(self.height);
        if long <= long_side || long_side == 0 {
            return self.clone();
        }
        // Round to nearest so the aspect ratio is kept; never below 1 px.
        let scale = |side: u32| -> u32 {
            let s =
                (u64::from(side) * u64::from(long_side) + u64::from(long) / 2) / u64::from(long);
            (s as u32).max(1)
        };
        let (dw, dh) = if self.width >= self.height {
            (long_side, scale(self.height))
        } else {
            (scale(self.width), long_side)
        };
        self.area_resize(dw, dh)
    }

    /// Exact area averaging: source pixel `j` spans `[j*dst, (j+1)*dst)` and
    /// destination pixel `i` spans `[i*src, (i+1)*src)` on a common integer
    /// axis, so every overlap weight is an integer and the result is
    /// bit-identical on all targets.
    ///
    /// Vertical pass first, one output row at a time: it streams whole source
    /// rows through a `u16 × u16 → u32` multiply-add that vectorises, and
    /// leaves the scalar horizontal pass only `dh` rows (not `sh`) to do.
    fn area_resize(&self, dw: u32, dh: u32) -> GrayImage {
        let (sw, sh) = (self.width as usize, self.height as usize);
        let (dwu, dhu) = (dw as usize, dh as usize);
        let xs = spans(sw, dwu);
        let ys = spans(sh, dhu);
        // Column sums of one output row: ≤ 255·sh < 2^23.
        let mut col = vec![0u32; sw];
        let mut out = vec![0u8; dwu * dhu];
        // The full sum is ≤ 255·sw·sh ≤ 255·2^28 < 2^53, so it is exact as an
        // f64 and one correctly rounded multiply + round gives the same byte
        // on every target (cheaper than a u64 division per pixel).
        let inv = 1.0 / ((sw as f64) * (sh as f64));
        for (span, out_row) in ys.iter().zip(out.chunks_exact_mut(dwu)) {
            col.fill(0);
            for (j, w) in span.taps(dhu) {
                let src = &self.data[j * sw..(j + 1) * sw];
                for (c, &v) in col.iter_mut().zip(src) {
                    *c += u32::from(u16::from(v)) * u32::from(w);
                }
            }
            for (o, span) in out_row.iter_mut().zip(xs.iter()) {
                *o = round_to_u8(span.weighted_sum(&col, dwu) as f64 * inv);
            }
        }
        GrayImage {
            width: dw,
            height: dh,
            data: out,
        }
    }
}

/// `x.round().clamp(0.0, 255.0) as u8` for `x ≥ 0`, bit for bit, without
/// the libm call that `f64::round` becomes on baseline x86-64 and wasm32:
/// `x − trunc(x)` is exact (Sterbenz), so comparing it with 0.5 rounds
/// halves away from zero exactly as `round` does.
#[inline]
fn round_to_u8(x: f64) -> u8 {
    let t = x as u32; // saturating, truncates towards zero
    let r = t + u32::from(x - f64::from(t) >= 0.5);
    r.min(255) as u8
}

/// The source pixels one destination pixel covers, on the common axis of
/// [`GrayImage::area_resize`]: `first..first + len`, where the end pixels
/// overlap it by `w_first` and `w_last` units and every pixel between them
/// lies wholly inside (`dst` units, which is why the weights fit a `u16`:
/// `dst ≤ MAX_SIDE`).
#[derive(Debug, Clone, Copy)]
struct Span {
    first: usize,
    len: usize,
    w_first: u16,
    w_last: u16,
}

impl Span {
    /// `(source index, weight)` pairs; `dst` is the interior weight.
    fn taps(self, dst: usize) -> impl Iterator<Item = (usize, u16)> {
        let interior = dst as u16;
        (0..self.len).map(move |k| {
            let w = if k == 0 {
                self.w_first
            } else if k + 1 == self.len {
                self.w_last
            } else {
                interior
            };
            (self.first + k, w)
        })
    }

    /// `Σ weight · values[j]` over the span, with one multiply per end
    /// instead of one per tap.
    fn weighted_sum(self, values: &[u32], dst: usize) -> u64 {
        let Some(v) = values.get(self.first..self.first + self.len) else {
            return 0; // cannot happen: spans() stays inside the source
        };
        match v {
            [] => 0,
            [only] => u64::from(*only) * u64::from(self.w_first),
            [a, mid @ .., b] => {
                let inner: u64 = mid.iter().map(|&x| u64::from(x)).sum();
                u64::from(*a) * u64::from(self.w_first)
                    + inner * dst as u64
                    + u64::from(*b) * u64::from(self.w_last)
            }
        }
    }
}

/// One `Span` per destination index, for a `src → dst` downscale
/// (`0 < dst ≤ src ≤ MAX_SIDE`).
fn spans(src: usize, dst: usize) -> Vec<Span> {
    (0..dst)
        .map(|i| {
            let lo = i * src;
            let hi = lo + src;
            let first = lo / dst;
            let last = ((hi - 1) / dst).min(src - 1);
            let overlap = |j: usize| ((j + 1) * dst).min(hi) - (j * dst).max(lo);
            Span {
                first,
                len: last - first + 1,
                // ≤ dst ≤ MAX_SIDE < 2^16.
                w_first: overlap(first) as u16,
                w_last: overlap(last) as u16,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_buffers() {
        assert!(matches!(
            GrayImage::new(0, 5, vec![]),
            Err(KernelError::EmptyImage { .. })
        ));
        assert!(matches!(
            GrayImage::new(2, 2, vec![0; 3]),
            Err(KernelError::BufferSizeMismatch {
                expected: 4,
                actual: 3
            })
        ));
        assert!(matches!(
            GrayImage::from_rgb(2, 2, &[0; 11]),
            Err(KernelError::BufferSizeMismatch {
                expected: 12,
                actual: 11
            })
        ));
        assert!(matches!(
            GrayImage::new(40_000, 1, vec![0; 40_000]),
            Err(KernelError::TooLarge { .. })
        ));
    }

    #[test]
    fn luma_matches_bt601() {
        let g =
            GrayImage::from_rgba(3, 1, &[255, 0, 0, 9, 0, 255, 0, 9, 255, 255, 255, 0]).unwrap();
        assert_eq!(g.data(), &[77, 149, 255]);
    }

    /// The textbook form of the same exact area average: a full
    /// double sum over every (source, destination) overlap.
    fn reference_resize(g: &GrayImage, dw: usize, dh: usize) -> Vec<u8> {
        let (sw, sh) = (g.width() as usize, g.height() as usize);
        let overlap = |j: usize, i: usize, src: usize, dst: usize| -> u64 {
            let (a, b) = ((j * dst).max(i * src), ((j + 1) * dst).min((i + 1) * src));
            b.saturating_sub(a) as u64
        };
        let inv = 1.0 / ((sw as f64) * (sh as f64));
        let mut out = Vec::with_capacity(dw * dh);
        for i in 0..dh {
            for k in 0..dw {
                let mut acc = 0u64;
                for y in 0..sh {
                    let wy = overlap(y, i, sh, dh);
                    if wy == 0 {
                        continue;
                    }
                    for x in 0..sw {
                        acc += wy * overlap(x, k, sw, dw) * u64::from(g.data()[y * sw + x]);
                    }
                }
                out.push((acc as f64 * inv).round().clamp(0.0, 255.0) as u8);
            }
        }
        out
    }

    #[test]
    fn fast_rounding_matches_round() {
        let mut x = 0.0f64;
        while x < 257.0 {
            for v in [
                x,
                x.next_up(),
                x.next_down().max(0.0),
                x + 0.5,
                (x + 0.5).next_down(),
            ] {
                assert_eq!(round_to_u8(v), v.round().clamp(0.0, 255.0) as u8, "{v:e}");
            }
            x += 0.125;
        }
        assert_eq!(round_to_u8(0.5f64.next_down()), 0);
    }

    #[test]
    fn area_resize_matches_the_exact_double_sum() {
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for (sw, sh) in [(17, 5), (64, 48), (97, 61), (128, 128), (300, 7), (33, 200)] {
            let data: Vec<u8> = (0..sw * sh).map(|_| next() as u8).collect();
            let g = GrayImage::new(sw as u32, sh as u32, data).unwrap();
            for (dw, dh) in [
                (1, 1),
                (sw / 2, sh / 2),
                (sw / 3, sh),
                (sw, sh / 4),
                (sw - 1, sh),
            ] {
                let (dw, dh) = (dw.max(1), dh.max(1));
                let got = g.area_resize(dw as u32, dh as u32);
                assert_eq!(
                    got.data(),
                    reference_resize(&g, dw, dh).as_slice(),
                    "{sw}x{sh} -> {dw}x{dh}"
                );
            }
        }
    }

    #[test]
    fn area_resize_preserves_mean_and_size() {
        let data: Vec<u8> = (0..(300 * 200)).map(|i| (i % 251) as u8).collect();
        let g = GrayImage::new(300, 200, data).unwrap();
        let s = g.fit_long_side(128);
        assert_eq!((s.width(), s.height()), (128, 85));
        let m0: f64 = g.data().iter().map(|&v| f64::from(v)).sum::<f64>() / 60_000.0;
        let m1: f64 = s.data().iter().map(|&v| f64::from(v)).sum::<f64>() / (128.0 * 85.0);
        assert!((m0 - m1).abs() < 1.0);
        let flat = GrayImage::new(7, 5, vec![200; 35])
            .unwrap()
            .fit_long_side(3);
        assert!(flat.data().iter().all(|&v| v == 200));
        // Smaller images are not upscaled.
        assert_eq!(g.fit_long_side(4096), g);
    }
}
