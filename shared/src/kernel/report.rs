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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// on the stored pixels, but a camera held upright stores them sideways
    /// and records how to turn them in EXIF `Orientation` (1–8). The score
    /// and type do not depend on it; only the angle turns (and mirrors).
    /// Unknown values leave the angle as it is.
    pub fn oriented(mut self, exif_orientation: u16) -> BlurReport {
        self.motion_angle_deg = self
            .motion_angle_deg
            .map(|a| oriented_angle(a, exif_orientation));
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
        assert_eq!(
            (shown.blur_score, shown.blur_type),
            (report.blur_score, report.blur_type)
        );
    }
}
