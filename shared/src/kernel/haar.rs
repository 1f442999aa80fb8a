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
///
/// Layout for speed: each processed row is turned into one `i16` slice per
/// scale and direction (every coefficient is at most 255·`UNIT` = 16 320 in
/// magnitude, and `|dx| + |dy|` at most 32 640, so `i16` is exact), the five
/// channels are max-ed element-wise into per-column running maxima over the
/// eight rows of a block row, and only then reduced across the eight columns
/// of each block. Every step is a plain loop over contiguous integers, which
/// the compiler turns into 8-lane SIMD on x86-64 (SSE2) and wasm32
/// (SIMD128). The result is the same integers as a per-pixel loop would give.
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
    let n = bx * BLOCK; // boundaries per processed row
    let mut row = Row {
        ii: &ii,
        stride: w + 1,
        n,
        strip: vec![0; w + 1],
        vert: vec![0; w + 1],
        dx: vec![vec![0; n]; NS],
        dy: vec![vec![0; n]; NS],
    };
    // Running maxima of the current block row, `[scale][channel][column]`.
    let mut vmax: Vec<[Vec<i16>; NCH]> = vec![std::array::from_fn(|_| vec![0i16; n]); NS];
    let mut on_edge = vec![0i32; n];

    for yb in 0..by {
        vmax.iter_mut().flatten().for_each(|v| v.fill(0));
        for yi in 0..BLOCK {
            let cy = MARGIN + yb * BLOCK + yi;
            row.diffs::<1>(0, cy);
            row.diffs::<2>(1, cy);
            row.diffs::<4>(2, cy);
            row.diffs::<8>(3, cy);
            for ((a, b), m) in row.dx.iter().zip(&row.dy).zip(vmax.iter_mut()) {
                channel_maxima(a, b, m);
            }
            let (cx, cy_) = (&row.dx[NS - 1], &row.dy[NS - 1]);
            for ((e, &a), &b) in on_edge.iter_mut().zip(cx).zip(cy_) {
                *e = i32::from(i32::from(a).abs() + i32::from(b).abs() >= DIR_MIN_COARSE);
            }
            for k in TENSOR_SCALES {
                let t = tensor_sums(&row.dx[k], &row.dy[k], &on_edge);
                for (acc, v) in out.tensors[k].iter_mut().zip(t) {
                    *acc += v;
                }
            }
        }
        let blocks = &mut out.emax[yb * bx..(yb + 1) * bx];
        for (k, per_channel) in vmax.iter().enumerate() {
            for (c, cols) in per_channel.iter().enumerate() {
                for (blk, chunk) in blocks.iter_mut().zip(cols.chunks_exact(BLOCK)) {
                    blk[c][k] = i32::from(chunk.iter().copied().max().unwrap_or(0));
                }
            }
        }
    }
    out
}

/// Scratch for one processed row of boundaries.
struct Row<'a> {
    ii: &'a [i32],
    stride: usize,
    n: usize,
    strip: Vec<i32>,
    vert: Vec<i32>,
    /// `dx[k][i]`, `dy[k][i]`: Haar coefficients at scale index `k` of
    /// boundary `i` (x = `MARGIN + i`), in `UNIT`s.
    dx: Vec<Vec<i16>>,
    dy: Vec<Vec<i16>>,
}

impl Row<'_> {
    /// Fills `dx[k]`, `dy[k]` for box size `S` on row `cy`. `S` is a const
    /// so the rescaling to `UNIT`s (64 / S² = a power of two) is a constant
    /// shift.
    fn diffs<const S: usize>(&mut self, k: usize, cy: usize) {
        let shift = 6 - 2 * S.trailing_zeros();
        let (x0, n) = (MARGIN, self.n);
        let (ii, stride) = (self.ii, self.stride);
        let ii_row = |y: usize| &ii[y * stride..(y + 1) * stride];
        // Horizontal difference: boxes [cx-S,cx) | [cx,cx+S) over rows
        // [cy - S/2, cy - S/2 + S): column sums of that band, cumulative in x.
        let ya = cy - S / 2;
        let strip = &mut self.strip;
        for ((st, &a), &b) in strip.iter_mut().zip(ii_row(ya)).zip(ii_row(ya + S)) {
            *st = b - a;
        }
        let (l, m, r) = (
            &strip[x0 - S..x0 - S + n],
            &strip[x0..x0 + n],
            &strip[x0 + S..x0 + S + n],
        );
        for (((d, &l), &m), &r) in self.dx[k].iter_mut().zip(l).zip(m).zip(r) {
            // |box difference| ≤ 255·S², so after the shift ≤ 255·UNIT.
            *d = ((r - 2 * m + l) << shift) as i16;
        }
        // Vertical difference: boxes [cy-S,cy) over [cy,cy+S) over columns
        // [cx - S/2, cx - S/2 + S).
        let vert = &mut self.vert;
        for (((v, &t), &m), &b) in vert
            .iter_mut()
            .zip(ii_row(cy - S))
            .zip(ii_row(cy))
            .zip(ii_row(cy + S))
        {
            *v = b - 2 * m + t;
        }
        let xa = x0 - S / 2;
        let (lo, hi) = (&vert[xa..xa + n], &vert[xa + S..xa + S + n]);
        for ((d, &lo), &hi) in self.dy[k].iter_mut().zip(lo).zip(hi) {
            *d = ((hi - lo) << shift) as i16;
        }
    }
}

/// Element-wise running maxima of the five channels: `|dx|+|dy|`, `|dx|`,
/// `|dy|`, `|dx+dy|`, `|dx−dy|` (all ≤ 32 640, so no `i16` overflow).
fn channel_maxima(dx: &[i16], dy: &[i16], m: &mut [Vec<i16>; NCH]) {
    let [m0, m1, m2, m3, m4] = m;
    let n = dx.len().min(dy.len());
    let (m0, m1, m2, m3, m4) = (
        &mut m0[..n],
        &mut m1[..n],
        &mut m2[..n],
        &mut m3[..n],
        &mut m4[..n],
    );
    for i in 0..n {
        let (a, b) = (dx[i], dy[i]);
        let (aa, ab) = (a.abs(), b.abs());
        m0[i] = m0[i].max(aa + ab);
        m1[i] = m1[i].max(aa);
        m2[i] = m2[i].max(ab);
        m3[i] = m3[i].max((a + b).abs());
        m4[i] = m4[i].max((a - b).abs());
    }
}

/// `[Σdx², Σdy², Σdx·dy]` over the boundaries of one row with `on_edge` = 1.
/// Each product is ≤ 16 320² < 2^31; the sums are exact `i64`s.
fn tensor_sums(dx: &[i16], dy: &[i16], on_edge: &[i32]) -> [i64; 3] {
    let mut t = [0i64; 3];
    for ((&a, &b), &e) in dx.iter().zip(dy).zip(on_edge) {
        let (x, y) = (i32::from(a) * e, i32::from(b) * e);
        t[0] += i64::from(x * x);
        t[1] += i64::from(y * y);
        t[2] += i64::from(x * y);
    }
    t
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
