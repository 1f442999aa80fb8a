//! Owns the tile statistics: per 64×64-px tile, how sharp its strongest edges
//! are (scale ratios of the block maxima), which tiles carry edges at all, and
//! the image-level summaries that follow the sharpest tiles, so a sharp
//! subject on a defocused background counts as sharp.
//!
//! All ratios are integer fixed point (`RATIO_ONE` = 1.0) and all ranking is
//! integer sorting, so the summaries are exact on every target.

use super::haar::{EdgeMaps, NS, UNIT};

type Emax = [i32; NS];

/// Tile side in blocks (8 blocks × 8 px = 64 px at working resolution).
pub const TILE_BLOCKS: usize = 8;
/// A block is an edge block when its coarse (s = 8) gradient reaches this many
/// grey levels. Low on purpose: dark photos have low-contrast edges, and at
/// s = 8 sensor noise is averaged over 64 pixels, so it rarely gets here.
pub const EDGE_MIN: i32 = 5 * UNIT;
/// A tile needs this many edge blocks to be judged; flatter tiles (sky,
/// walls) say nothing about focus and are ignored.
pub const MIN_EDGE_BLOCKS: usize = 3;
/// Fixed-point 1.0 for ratios.
pub const RATIO_ONE: i32 = 1024;
/// Ratios are capped here: noise and thin lines push fine/coarse above 1,
/// and beyond this it carries no more information about focus.
const RATIO_CAP: i32 = 3 * RATIO_ONE;

/// Per-tile summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileStat {
    /// Median over the tile's strong edge blocks of E_s / E_8, s = 1, 2, 4.
    pub ratio: [i32; NS - 1],
    pub edge_blocks: u32,
}

/// Image-level summaries.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TileSummary {
    pub tiles_total: u32,
    pub tiles_textured: u32,
    /// 90th percentile over textured tiles of the tile ratio, per fine scale.
    pub p90: [i32; NS - 1],
    /// Median over textured tiles, per fine scale.
    pub p50: [i32; NS - 1],
    /// Fraction (fixed point) of textured tiles whose E2/E8 ratio ≥ 0.5,
    /// i.e. whose strongest edges are narrower than about 4 px.
    pub sharp_fraction: i32,
    /// Over all edge blocks of the image: fraction with E1 ≥ E2 ≥ E4
    /// (Tong's Dirac/A-step: sharpest at the finest scale).
    pub step_fraction: i32,
}

/// Per-scale noise floor: among the flattest tenth of blocks (lowest E8),
/// the median excess of the fine response over the coarse one, (E_s − E8)₊.
/// Sensor noise and JPEG ringing inflate the fine-scale maxima of every block
/// by about this much, blurred or not, so it is subtracted before forming
/// ratios; otherwise a noisy blurred photo looks sharp. Only the excess over
/// E8 counts as noise: in a photo textured everywhere the flattest blocks
/// still hold real edges (E_s ≈ E8 when sharp), which must not be mistaken
/// for noise.
pub fn noise_floor(maps: &EdgeMaps, ch: usize) -> [i32; NS - 1] {
    let emax: Vec<Emax> = maps.emax.iter().map(|e| e[ch]).collect();
    let mut order: Vec<(i32, usize)> = emax
        .iter()
        .enumerate()
        .map(|(i, e)| (e[NS - 1], i))
        .collect();
    let mut out = [0; NS - 1];
    if order.is_empty() {
        return out;
    }
    order.sort_unstable();
    let n = order.len().div_ceil(10);
    let mut buf: Vec<i32> = Vec::with_capacity(n);
    for (k, o) in out.iter_mut().enumerate() {
        buf.clear();
        buf.extend(order[..n].iter().map(|&(e8, i)| (emax[i][k] - e8).max(0)));
        *o = median(&mut buf);
    }
    out
}

pub fn tile_stats(maps: &EdgeMaps, ch: usize, floor: &[i32; NS - 1]) -> Vec<TileStat> {
    let (bx, by) = (maps.blocks_x, maps.blocks_y);
    let tx = bx.div_ceil(TILE_BLOCKS);
    let ty = by.div_ceil(TILE_BLOCKS);
    let mut out = Vec::with_capacity(tx * ty);
    let mut strong: Vec<Emax> = Vec::with_capacity(TILE_BLOCKS * TILE_BLOCKS);
    let mut buf: Vec<i32> = Vec::with_capacity(TILE_BLOCKS * TILE_BLOCKS);
    for ty_i in 0..ty {
        for tx_i in 0..tx {
            strong.clear();
            let ys = ty_i * TILE_BLOCKS..((ty_i + 1) * TILE_BLOCKS).min(by);
            let xs = tx_i * TILE_BLOCKS..((tx_i + 1) * TILE_BLOCKS).min(bx);
            for y in ys {
                for x in xs.clone() {
                    let e = maps.emax[y * bx + x][ch];
                    if e[NS - 1] >= EDGE_MIN {
                        strong.push(e);
                    }
                }
            }
            let edge_blocks = strong.len() as u32;
            let mut ratio = [0; NS - 1];
            if strong.len() >= MIN_EDGE_BLOCKS {
                // Judge a tile by its strongest edges: weak ones are where
                // noise and JPEG ringing dominate.
                let top = strong.iter().map(|e| e[NS - 1]).max().unwrap_or(0);
                let cut = (top / 2).max(EDGE_MIN);
                for (k, r) in ratio.iter_mut().enumerate() {
                    buf.clear();
                    buf.extend(
                        strong
                            .iter()
                            .filter(|e| e[NS - 1] >= cut)
                            .map(|e| ratio_fp((e[k] - floor[k]).max(0), e[NS - 1])),
                    );
                    *r = median(&mut buf);
                }
            }
            out.push(TileStat { ratio, edge_blocks });
        }
    }
    out
}

pub fn summarize(maps: &EdgeMaps, ch: usize, tiles: &[TileStat]) -> TileSummary {
    let textured: Vec<&TileStat> = tiles
        .iter()
        .filter(|t| t.edge_blocks as usize >= MIN_EDGE_BLOCKS)
        .collect();
    let mut s = TileSummary {
        tiles_total: tiles.len() as u32,
        tiles_textured: textured.len() as u32,
        ..Default::default()
    };
    if textured.is_empty() {
        return s;
    }
    let mut buf: Vec<i32> = Vec::with_capacity(textured.len());
    for k in 0..NS - 1 {
        buf.clear();
        buf.extend(textured.iter().map(|t| t.ratio[k]));
        buf.sort_unstable();
        s.p90[k] = buf[(buf.len() - 1) * 9 / 10];
        s.p50[k] = buf[(buf.len() - 1) / 2];
    }
    let sharp = textured
        .iter()
        .filter(|t| t.ratio[1] >= RATIO_ONE / 2)
        .count();
    s.sharp_fraction = frac_fp(sharp, textured.len());
    let (mut edges, mut steps) = (0usize, 0usize);
    for e in maps.emax.iter().map(|e| e[ch]) {
        if e[NS - 1] >= EDGE_MIN {
            edges += 1;
            if e[0] >= e[1] && e[1] >= e[2] {
                steps += 1;
            }
        }
    }
    s.step_fraction = frac_fp(steps, edges);
    s
}

fn ratio_fp(num: i32, den: i32) -> i32 {
    if den <= 0 {
        return 0;
    }
    // num, den ≤ 255·64·2, so num·1024 fits i32... only barely; use i64.
    ((i64::from(num) * i64::from(RATIO_ONE) / i64::from(den)) as i32).min(RATIO_CAP)
}

fn frac_fp(part: usize, whole: usize) -> i32 {
    if whole == 0 {
        0
    } else {
        (part as u64 * RATIO_ONE as u64 / whole as u64) as i32
    }
}

/// Lower median; 0 for an empty slice.
fn median(v: &mut [i32]) -> i32 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[(v.len() - 1) / 2]
}
