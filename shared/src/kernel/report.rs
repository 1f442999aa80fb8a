//! Owns the public result types: `BlurReport`, `BlurType`, `Measures`,
//! `SharpnessMap` and the optional `ExposureHints` input.

use serde::{Deserialize, Serialize};

/// What kind of blur spoils the photo, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlurType {
    /// Camera shake or subject motion: smeared along one direction.
    Motion,
    /// Out of focus: smeared equally in all directions.
    Defocus,
    /// Not blurred (score below 0.5).
    None,
}

/// Optional EXIF figures. The kernel turns them into `Measures::handheld_stops`
/// (the hand-held rule), which is reported but does not move the score: on the
/// dev set the rule hurt in grouped cross-validation, because most of its slow
/// exposures are sharp night shots from a tripod (docs/blur-model.md).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ExposureHints {
    /// Exposure time in seconds (EXIF `ExposureTime`).
    pub exposure_time_s: Option<f32>,
    /// Focal length in millimetres (EXIF `FocalLength`).
    pub focal_length_mm: Option<f32>,
}

/// Intermediate figures worth showing a curious user. All are scale-free and
/// rounded to 1e-6 (see `model`), so they are identical on every target.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Measures {
    /// Edge sharpness of the sharpest tiles, in the blurriest direction:
    /// 90th percentile over tiles of E1/E8 (finest to coarsest Haar edge
    /// response), minimum over the four gradient directions. About 1 for
    /// crisp edges, about 1/w for edges w px wide (at working resolution).
    pub edge_sharpness: f32,
    /// The same in the sharpest direction; much larger than `edge_sharpness`
    /// when the photo is shaken.
    pub best_direction_sharpness: f32,
    /// Typical tile sharpness: median over tiles of E2/E8, minimum over
    /// directions. A model input.
    pub median_sharpness: f32,
    /// E4/E8 of the sharpest tiles (all directions): separates blur from
    /// merely smooth content. Shown only (an input of the previous model,
    /// like `edge_sharpness`; `fit_blur_model` refits that model as "before").
    pub coarse_sharpness: f32,
    /// Fraction of textured tiles whose strongest edges are narrower than ~4 px.
    pub sharp_tile_fraction: f32,
    /// Fraction of tiles that carry enough edges to be judged.
    pub textured_fraction: f32,
    /// Directional anisotropy of the fine gradients over the whole frame, 0 =
    /// isotropic, 1 = a single direction; the motion angle comes from the same
    /// analysis. Shown only: `shake_coherence` decides motion vs defocus.
    pub anisotropy: f32,
    /// The classic variance of the Laplacian at working resolution
    /// (contrast-dependent; shown for comparison, not used by the model).
    pub laplacian_variance: f32,
    /// Long side of the analysed image, after the working-resolution resize.
    pub working_long_side: u32,
    /// Edge sharpness of the likely subject: per-tile E1/E8 in the tile's
    /// blurriest direction, averaged with weights for contrast and nearness to
    /// the centre (`tiles::subject_sharpness`). About 1 for a crisp subject.
    pub subject_sharpness: f32,
    /// How consistently the tiles are smeared along one direction, in [0, 1]:
    /// about 0 for sharp and defocused photos, 0.05 and up for camera shake
    /// (`tiles::shake_coherence`).
    pub shake_coherence: f32,
    /// Fraction of textured tiles that keep their mid-scale detail (E4/E8 ≥ 0.7 in
    /// the tile's blurriest direction, `tiles::detailed_tile_fraction`). Beside
    /// `median_sharpness` it tells blur (fine scale lost, mid scale kept) from
    /// soft content (both weak). A model input since kernel v3.
    #[serde(default)]
    pub detailed_tile_fraction: f32,
    /// The hand-held rule from EXIF: how many stops slower than 1/(35-mm
    /// equivalent focal length) the shutter was (positive = slower, shake
    /// likely when hand-held). `None` without exposure time and focal length.
    /// Reported only; not used by the score (see `ExposureHints`).
    pub handheld_stops: Option<f32>,
}

/// Where the photo is sharp: one cell per 64-px tile of the working image
/// (`WORKING_LONG_SIDE`, so at most 8 × 8 cells), row by row from the top
/// left. The grid starts 8 px in from the top-left edge of the working image
/// and each cell spans 64 working pixels (the last row and column may be
/// narrower), so drawing it stretched over the whole photo is off by at most
/// a few per cent. A few hundred bytes as JSON; meant for the photo view, not
/// for lists.
///
/// `analyze` lays it over the stored pixels; `BlurReport::oriented` (and so
/// `DecodedImage::judge`, which the server stores) turns it to the photo as
/// shown, so the 8-px margin and the narrower row and column may then be at
/// any side.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SharpnessMap {
    /// Cells per row.
    pub columns: u16,
    /// Rows of cells.
    pub rows: u16,
    /// `columns × rows` values: 0–100 = edge sharpness of the tile in its
    /// blurriest direction (100 = crisp, ≈ 100/w for edges w working pixels
    /// wide), or `SharpnessMap::FLAT` when the tile has too few edges to judge
    /// (sky, walls).
    pub cells: Vec<u8>,
}

impl SharpnessMap {
    /// Cell value of a tile too flat to judge.
    pub const FLAT: u8 = 255;

    /// Cells at or above this are sharp: edges at most 2.5 working pixels
    /// wide (100/2.5), i.e. below ≈0.5 % of the long side, the smallest blur
    /// that matters to a viewer (see `WORKING_LONG_SIDE`).
    pub const SHARP: u8 = 40;

    /// Cells below this are blurred: edges 5 working pixels wide and more
    /// (≈1 % of the long side). Between `BLURRED` and `SHARP` a tile is soft.
    pub const BLURRED: u8 = 20;

    /// The map as the photo is shown after EXIF orientation `o` (1–8) is
    /// applied to the stored pixels, cell for cell as the image turns: 2 and 4
    /// mirror left–right and top–bottom, 3 turns by 180°, 6 and 8 turn a
    /// quarter clockwise and counter-clockwise, 5 and 7 mirror across the main
    /// and the other diagonal (transpose, transverse); 5–8 swap columns and
    /// rows. Unknown values, and a map whose cells do not fill its grid, are
    /// left as they are (there is no sure way to turn them).
    pub fn oriented(self, o: u16) -> SharpnessMap {
        let (c, r) = (usize::from(self.columns), usize::from(self.rows));
        if !(2..=8).contains(&o) || self.cells.len() != c * r {
            return self;
        }
        let swapped = o >= 5;
        let (columns, rows) = if swapped {
            (self.rows, self.columns)
        } else {
            (self.columns, self.rows)
        };
        let out_columns = usize::from(columns);
        // For each cell (x, y) of the shown grid, the stored cell (sx, sy) it
        // comes from; `c - 1 - …` and `r - 1 - …` cannot underflow because a
        // grid with cells has c, r ≥ 1, and x, y range over the shown grid.
        let cells = (0..self.cells.len())
            .map(|i| {
                let (x, y) = (i % out_columns, i / out_columns);
                let (sx, sy) = match o {
                    2 => (c - 1 - x, y),
                    3 => (c - 1 - x, r - 1 - y),
                    4 => (x, r - 1 - y),
                    5 => (y, x),
                    6 => (y, r - 1 - x),
                    7 => (c - 1 - y, r - 1 - x),
                    _ => (c - 1 - y, x), // 8
                };
                self.cells.get(sy * c + sx).copied().unwrap_or(Self::FLAT)
            })
            .collect();
        SharpnessMap {
            columns,
            rows,
            cells,
        }
    }
}

/// The blur judgement for one photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlurReport {
    /// In [0, 1]; 1 = certainly spoiled. Calibrated so 0.5 is the natural cut.
    pub blur_score: f32,
    /// What kind of blur, `None` when `blur_score < 0.5`.
    pub blur_type: BlurType,
    /// Direction of the smear for `Motion`, degrees in [0, 180),
    /// counter-clockwise on screen, 0 = horizontal streaks.
    pub motion_angle_deg: Option<f32>,
    /// The figures the score was computed from.
    pub measures: Measures,
    /// Where the photo is sharp, tile by tile.
    pub sharpness_map: SharpnessMap,
}

/// A line's angle in [0, 180) after EXIF orientation `o` is applied to the
/// image: rotations by 180° keep it, quarter turns add 90°, mirrors reflect it
/// (θ → −θ), and transpose/transverse (a mirror plus a quarter turn) map it to
/// 90° − θ.
pub fn oriented_angle(deg: f32, o: u16) -> f32 {
    let turned = match o {
        2 | 4 => -deg,
        5 | 7 => 90.0 - deg,
        6 | 8 => deg + 90.0,
        _ => deg,
    };
    turned.rem_euclid(180.0) % 180.0
}

impl BlurReport {
    /// The report as the photo is shown: the kernel measures the motion angle
    /// and maps the tiles on the stored pixels, but a camera held upright
    /// stores them sideways and records how to turn them in EXIF
    /// `Orientation` (1–8). The score and type do not depend on it; only the
    /// angle and the sharpness map turn (and mirror). Unknown values leave
    /// both as they are.
    pub fn oriented(mut self, exif_orientation: u16) -> BlurReport {
        self.motion_angle_deg = self
            .motion_angle_deg
            .map(|a| oriented_angle(a, exif_orientation));
        self.sharpness_map = self.sharpness_map.oriented(exif_orientation);
        self
    }

    /// The verdict under a user threshold: `blur_score >= threshold`.
    pub fn is_blurred(&self, threshold: f32) -> bool {
        self.blur_score >= threshold
    }

    /// The blur type under a user threshold. `BlurType::None` when not blurred; otherwise the
    /// kernel's type, or, for a score between the threshold and 0.5 (where the kernel itself
    /// says `None`), motion vs defocus from the measured shake coherence.
    pub fn blur_type_at(&self, threshold: f32) -> BlurType {
        if !self.is_blurred(threshold) {
            BlurType::None
        } else if self.blur_type != BlurType::None {
            self.blur_type
        } else if super::model::is_motion(f64::from(self.measures.shake_coherence)) {
            BlurType::Motion
        } else {
            BlurType::Defocus
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_turns_and_mirrors_the_angle_only() {
        let cases = [
            (1, 30.0, 30.0),
            (3, 30.0, 30.0),
            (2, 30.0, 150.0),
            (4, 30.0, 150.0),
            (6, 30.0, 120.0),
            (8, 120.0, 30.0),
            (5, 30.0, 60.0),
            (7, 100.0, 170.0),
            (2, 0.0, 0.0),
            (0, 45.0, 45.0),
            (99, 45.0, 45.0),
        ];
        for (o, from, to) in cases {
            let got = oriented_angle(from, o);
            assert!(
                (got - to).abs() < 1e-4,
                "orientation {o}: {from} -> {got}, want {to}"
            );
            assert!((0.0..180.0).contains(&got));
        }
        let report = BlurReport {
            blur_score: 0.9,
            blur_type: BlurType::Motion,
            motion_angle_deg: Some(10.0),
            measures: Measures::default(),
            sharpness_map: SharpnessMap::default(),
        };
        let shown = report.clone().oriented(6);
        assert_eq!(shown.motion_angle_deg, Some(100.0));
        assert_eq!(shown.sharpness_map, report.sharpness_map);
        assert_eq!(
            (shown.blur_score, shown.blur_type),
            (report.blur_score, report.blur_type)
        );
    }

    /// A 3 × 2 grid whose cells are their own stored index:
    ///
    /// ```text
    /// 0 1 2
    /// 3 4 5
    /// ```
    fn three_by_two() -> SharpnessMap {
        SharpnessMap {
            columns: 3,
            rows: 2,
            cells: vec![0, 1, 2, 3, 4, 5],
        }
    }

    #[test]
    fn the_map_turns_with_each_exif_orientation() {
        // Written out by hand from the EXIF definitions (the corner that was stored top-left
        // ends up: 2 top-right, 3 bottom-right, 4 bottom-left, 5 top-left, 6 top-right,
        // 7 bottom-right, 8 bottom-left), so a wrong mapping cannot agree with itself.
        let cases: [(u16, (u16, u16), [u8; 6]); 8] = [
            (1, (3, 2), [0, 1, 2, 3, 4, 5]),
            (2, (3, 2), [2, 1, 0, 5, 4, 3]),
            (3, (3, 2), [5, 4, 3, 2, 1, 0]),
            (4, (3, 2), [3, 4, 5, 0, 1, 2]),
            (5, (2, 3), [0, 3, 1, 4, 2, 5]),
            (6, (2, 3), [3, 0, 4, 1, 5, 2]),
            (7, (2, 3), [5, 2, 4, 1, 3, 0]),
            (8, (2, 3), [2, 5, 1, 4, 0, 3]),
        ];
        for (o, (columns, rows), cells) in cases {
            let shown = three_by_two().oriented(o);
            assert_eq!(
                (shown.columns, shown.rows, shown.cells.as_slice()),
                (columns, rows, cells.as_slice()),
                "orientation {o}"
            );
        }
        // The report turns its map with its angle.
        let report = BlurReport {
            blur_score: 0.2,
            blur_type: BlurType::None,
            motion_angle_deg: None,
            measures: Measures::default(),
            sharpness_map: three_by_two(),
        };
        assert_eq!(report.oriented(6).sharpness_map.cells, [3, 0, 4, 1, 5, 2]);
    }

    #[test]
    fn each_turn_of_the_map_is_undone_by_its_inverse() {
        // Each orientation undone by its inverse gives the stored map back (6 and 8 undo each
        // other; every other one undoes itself), on a grid that is not square. (Which way each
        // one turns is pinned by the hand-written table above.)
        let inverse = |o: u16| match o {
            6 => 8,
            8 => 6,
            o => o,
        };
        let stored = SharpnessMap {
            columns: 5,
            rows: 2,
            cells: (0..10).collect(),
        };
        for o in 1..=8 {
            let shown = stored.clone().oriented(o);
            assert_eq!(shown.cells.len(), 10, "orientation {o}");
            assert_eq!(
                shown.clone().oriented(inverse(o)),
                stored,
                "orientation {o}"
            );
            // The quarter turns and diagonal mirrors swap the sides; the others keep them.
            let sides = if o >= 5 { (2, 5) } else { (5, 2) };
            assert_eq!((shown.columns, shown.rows), sides, "orientation {o}");
        }
        // Four quarter turns clockwise are no turn.
        let turned = (0..4).fold(stored.clone(), |m, _| m.oriented(6));
        assert_eq!(turned, stored);
    }

    #[test]
    fn a_map_that_cannot_be_turned_is_left_as_it_is() {
        for o in [0, 9, 99] {
            assert_eq!(
                three_by_two().oriented(o),
                three_by_two(),
                "orientation {o}"
            );
        }
        let ragged = SharpnessMap {
            columns: 3,
            rows: 2,
            cells: vec![1, 2, 3],
        };
        assert_eq!(ragged.clone().oriented(6), ragged);
        let empty = SharpnessMap {
            columns: 0,
            rows: 4,
            cells: Vec::new(),
        };
        assert_eq!(empty.clone().oriented(6).cells, empty.cells);
    }
}
