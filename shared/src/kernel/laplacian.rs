//! Owns the baseline being replaced: variance of the 3x3 Laplacian
//! (Pech-Pacheco 2000) after an area-average resize to a 1024-px long side.
//! Kept so every evaluation can print the old method beside the new one.

use super::gray::GrayImage;

/// Long side the baseline resizes to (the app's historical setting).
pub const LAPLACIAN_LONG_SIDE: u32 = 1024;

/// Variance of the `[0,1,0;1,-4,1;0,1,0]` response over interior pixels.
///
/// Integer sums make it exact and platform-independent; images smaller than
/// 3x3 have no interior and return 0.
pub fn laplacian_variance(img: &GrayImage) -> f64 {
    variance_at_native_size(&img.fit_long_side(LAPLACIAN_LONG_SIDE))
}

/// The same statistic without the resize (used on the working image).
pub(crate) fn variance_at_native_size(g: &GrayImage) -> f64 {
    let (w, h) = (g.width() as usize, g.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let d = g.data();
    let mut sum: i64 = 0;
    let mut sum2: i64 = 0;
    for y in 1..h - 1 {
        let up = &d[(y - 1) * w..y * w];
        let mid = &d[y * w..(y + 1) * w];
        let dn = &d[(y + 1) * w..(y + 2) * w];
        // Per-row i32 sums: |lap| <= 1020, so 1024 * 1020^2 fits i32.
        let mut rs: i32 = 0;
        let mut rs2: i32 = 0;
        for x in 1..w - 1 {
            let l =
                i32::from(up[x]) + i32::from(dn[x]) + i32::from(mid[x - 1]) + i32::from(mid[x + 1])
                    - 4 * i32::from(mid[x]);
            rs += l;
            rs2 += l * l;
        }
        sum += i64::from(rs);
        sum2 += i64::from(rs2);
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum as f64 / n;
    (sum2 as f64 / n - mean * mean).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_is_zero_and_checker_is_large() {
        let flat = GrayImage::new(10, 10, vec![77; 100]).unwrap();
        assert_eq!(laplacian_variance(&flat), 0.0);
        let tiny = GrayImage::new(1, 1, vec![0]).unwrap();
        assert_eq!(laplacian_variance(&tiny), 0.0);
        let data: Vec<u8> = (0..64 * 64)
            .map(|i| {
                if ((i % 64) / 4 + (i / 64) / 4) % 2 == 0 {
                    0
                } else {
                    255
                }
            })
            .collect();
        let chk = GrayImage::new(64, 64, data).unwrap();
        assert!(laplacian_variance(&chk) > 1000.0);
    }
}
