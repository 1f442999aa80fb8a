//! Owns the multi-scale edge maps: undecimated Haar detail coefficients
//! (differences of two adjacent s×s boxes, s = 1, 2, 4, 8) evaluated at every
//! pixel boundary, max-pooled into 8×8 blocks (Tong et al. 2004's `Emax`
//! maps, without decimation so a step edge scores the same at any phase), and
//! the gradient structure tensors that `direction` turns into an angle.
//!
//! Everything here is integer arithmetic on an integral image, so the output
//! is bit-identical on every target.

use super::gray::GrayImage;

/// Box sizes of the Haar scales, finest first.
pub const SCALES: [usize; 4] = [1, 2, 4, 8];
/// Number of scales.
pub const NS: usize = SCALES.len();
/// Side of a pooling block, in working-resolution pixels.
pub const BLOCK: usize = 8;
/// Border left out so the largest pair of boxes stays inside the image.
const MARGIN: usize = 8;
/// Units: every coefficient is rescaled to 1/64 of a grey level
/// (a box difference at scale s is multiplied by 64 / s²).
pub const UNIT: i32 = 64;
/// Only boundaries whose coarse (s = 8) gradient exceeds this feed the
/// direction tensors: flat areas carry only isotropic noise there.
pub const DIR_MIN_COARSE: i32 = 6 * UNIT;
/// Scale indices whose tensors are accumulated.
pub const TENSOR_SCALES: [usize; 2] = [1, NS - 1];

/// Channels of the block maxima: the isotropic magnitude `|dx|+|dy|`, then the
/// gradient projected on four directions, so that a blur that attenuates only
/// one direction (camera shake) cannot hide behind sharp edges of another.
pub const NCH: usize = 5;
/// Channel indices.
pub const CH_ALL: usize = 0;
/// `|dx|`, `|dy|`, `|dx+dy|`, `|dx−dy|`: gradient along 0°, 90° (image y),
/// and the two diagonals.
pub const CH_DIRS: [usize; 4] = [1, 2, 3, 4];

/// Per-block maxima, `emax[block][channel] = [E1, E2, E4, E8]`.
#[derive(Debug, Clone, Default)]
pub struct EdgeMaps {
    pub blocks_x: usize,
    pub blocks_y: usize,
    pub emax: Vec<[[i32; NS]; NCH]>,
    /// Gradient structure tensors `[Σdx², Σdy², Σdx·dy]` per scale (filled for
    /// `TENSOR_SCALES` only), summed over
    /// edge boundaries (coarse gradient ≥ `DIR_MIN_COARSE`), in UNIT².
    pub tensors: [[i64; 3]; NS],
}

/// Builds the maps; images too small for one block yield an empty map.
pub fn edge_maps(img: &GrayImage) -> EdgeMaps {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = EdgeMaps::default();
    if w < 2 * MARGIN + BLOCK || h < 2 * MARGIN + BLOCK {
        return out;
    }
    let bx = (w - 2 * MARGIN) / BLOCK;
    let by = (h - 2 * MARGIN) / BLOCK;
    out.blocks_x = bx;
    out.blocks_y = by;
    out.emax = vec![[[0; NS]; NCH]; bx * by];

    let ii = integral(img);
    let stride = w + 1;
    let row = |y: usize| &ii[y * stride..(y + 1) * stride];
    let n = bx * BLOCK; // boundaries per processed row
    let x0 = MARGIN;

    let mut dx = vec![[0i32; NS]; n];
    let mut dy = vec![[0i32; NS]; n];
    let mut strip = vec![0i32; stride];
    let mut vert = vec![0i32; stride];

    for yb in 0..by {
        for yi in 0..BLOCK {
            let cy = MARGIN + yb * BLOCK + yi;
            for (k, &s) in SCALES.iter().enumerate() {
                let scale = UNIT / (s * s) as i32;
                // Horizontal difference: boxes [cx-s,cx) | [cx,cx+s) over rows
                // [cy - s/2, cy - s/2 + s).
                let ya = cy - s / 2;
                let (ra, rb) = (row(ya), row(ya + s));
                for ((st, &a), &b) in strip.iter_mut().zip(ra).zip(rb) {
                    *st = b - a;
                }
                for (i, d) in dx.iter_mut().enumerate() {
                    let cx = x0 + i;
                    d[k] = (strip[cx + s] - 2 * strip[cx] + strip[cx - s]) * scale;
                }
                // Vertical difference: boxes [cy-s,cy) over [cy,cy+s) over
                // columns [cx - s/2, cx - s/2 + s).
                let (rt, rm, rbm) = (row(cy - s), row(cy), row(cy + s));
                for (((v, &t), &m), &b) in vert.iter_mut().zip(rt).zip(rm).zip(rbm) {
                    *v = b - 2 * m + t;
                }
                for (i, d) in dy.iter_mut().enumerate() {
                    let xa = x0 + i - s / 2;
                    d[k] = (vert[xa + s] - vert[xa]) * scale;
                }
            }
            accumulate_row(
                &dx,
                &dy,
                &mut out.emax[yb * bx..(yb + 1) * bx],
                &mut out.tensors,
            );
        }
    }
    out
}

fn accumulate_row(
    dx: &[[i32; NS]],
    dy: &[[i32; NS]],
    blocks: &mut [[[i32; NS]; NCH]],
    tensors: &mut [[i64; 3]; NS],
) {
    // Per-row tensor sums fit i64 easily; they are exact, hence portable.
    let mut t = [[0i64; 3]; NS];
    for ((bdx, bdy), blk) in dx
        .chunks_exact(BLOCK)
        .zip(dy.chunks_exact(BLOCK))
        .zip(blocks.iter_mut())
    {
        for (a, b) in bdx.iter().zip(bdy) {
            let coarse = a[NS - 1].abs() + b[NS - 1].abs();
            let on_edge = i64::from(coarse >= DIR_MIN_COARSE);
            for k in 0..NS {
                let g = [
                    a[k].abs() + b[k].abs(),
                    a[k].abs(),
                    b[k].abs(),
                    (a[k] + b[k]).abs(),
                    (a[k] - b[k]).abs(),
                ];
                for c in 0..NCH {
                    blk[c][k] = blk[c][k].max(g[c]);
                }
            }
            // Only the scales `direction` reads (s = 2 and s = 8).
            for k in TENSOR_SCALES {
                let (x, y) = (i64::from(a[k]), i64::from(b[k]));
                t[k][0] += on_edge * x * x;
                t[k][1] += on_edge * y * y;
                t[k][2] += on_edge * x * y;
            }
        }
    }
    for k in 0..NS {
        for c in 0..3 {
            tensors[k][c] += t[k][c];
        }
    }
}

/// Summed-area table with a zero first row/column. Analysis images are at
/// most `WORKING_LONG_SIDE`² ≤ 2048², so sums stay below 255·2048² < 2^31.
fn integral(img: &GrayImage) -> Vec<i32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let stride = w + 1;
    let mut ii = vec![0i32; stride * (h + 1)];
    for y in 0..h {
        let src = &img.data()[y * w..(y + 1) * w];
        let mut run = 0i32;
        let (prev, cur) = ii.split_at_mut((y + 1) * stride);
        let prev = &prev[y * stride..];
        let cur = &mut cur[..stride];
        for x in 0..w {
            run += i32::from(src[x]);
            cur[x + 1] = prev[x + 1] + run;
        }
    }
    ii
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_edge_scores_equally_at_all_scales() {
        // Vertical step at x = 20 of height 100: every scale sees 100 grey levels.
        let (w, h) = (48usize, 40usize);
        let data: Vec<u8> = (0..w * h)
            .map(|i| if i % w < 20 { 50 } else { 150 })
            .collect();
        let m = edge_maps(&GrayImage::new(w as u32, h as u32, data).unwrap());
        assert_eq!((m.blocks_x, m.blocks_y), (4, 3));
        let best = m.emax.iter().map(|e| e[CH_ALL][0]).max().unwrap();
        assert_eq!(best, 100 * UNIT);
        for e in m.emax.iter().map(|e| e[CH_ALL]) {
            if e[3] == 100 * UNIT {
                assert_eq!(e[0], 100 * UNIT);
            }
        }
    }

    #[test]
    fn tiny_images_give_empty_maps() {
        let m = edge_maps(&GrayImage::new(1, 1, vec![3]).unwrap());
        assert!(m.emax.is_empty());
    }
}
