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
    fn area_resize(&self, dw: u32, dh: u32) -> GrayImage {
        let (sw, sh) = (self.width as usize, self.height as usize);
        let (dwu, dhu) = (dw as usize, dh as usize);
        let xw = overlap_table(sw, dwu);
        let yw = overlap_table(sh, dhu);

        // Horizontal pass keeps exact integer sums (≤ 255·sw < 2^24), so no
        // division is needed until the very end.
        let mut tmp = vec![0u32; dwu * sh];
        for (src_row, tmp_row) in self.data.chunks_exact(sw).zip(tmp.chunks_exact_mut(dwu)) {
            for (out, taps) in tmp_row.iter_mut().zip(xw.iter()) {
                let mut acc: u32 = 0;
                for &(j, w) in taps {
                    acc += u32::from(src_row[j]) * w;
                }
                *out = acc;
            }
        }
        // Vertical pass: acc ≤ 255·sw·sh ≤ 255·2^28 < 2^53, so it is exact as
        // an f64 and one correctly rounded multiply + round gives the same
        // byte on every target (cheaper than a u64 division per pixel).
        let mut out = vec![0u8; dwu * dhu];
        let mut acc = vec![0u64; dwu];
        let inv = 1.0 / ((sw as f64) * (sh as f64));
        for (i, taps) in yw.iter().enumerate() {
            acc.iter_mut().for_each(|a| *a = 0);
            for &(j, w) in taps {
                let row = &tmp[j * dwu..(j + 1) * dwu];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += u64::from(v) * u64::from(w);
                }
            }
            for (o, &a) in out[i * dwu..(i + 1) * dwu].iter_mut().zip(acc.iter()) {
                *o = (a as f64 * inv).round().clamp(0.0, 255.0) as u8;
            }
        }
        GrayImage {
            width: dw,
            height: dh,
            data: out,
        }
    }
}

/// For each destination index, the source indices it overlaps and the
/// integer overlap lengths (which sum to `src`).
fn overlap_table(src: usize, dst: usize) -> Vec<Vec<(usize, u32)>> {
    (0..dst)
        .map(|i| {
            let lo = i * src;
            let hi = lo + src;
            let first = lo / dst;
            let last = (hi - 1) / dst;
            (first..=last.min(src - 1))
                .filter_map(|j| {
                    let a = (j * dst).max(lo);
                    let b = ((j + 1) * dst).min(hi);
                    (b > a).then(|| (j, (b - a) as u32))
                })
                .collect()
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
