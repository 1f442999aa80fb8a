//! Golden values of `shared::kernel::analyze` on the synthetic cases of
//! `shared::kernel::samples`, shared by the native test (`golden.rs`) and the
//! browser test (`wasm_parity.rs`): both must reproduce every bit.
//!
//! Regenerate after an intended kernel change with
//! `cargo test -p shared --test golden -- --ignored --nocapture print_golden`
//! and paste the output over `GOLDEN` below.

// Test support code: a failure here is a test failure.
#![allow(dead_code, clippy::unwrap_used)]

use shared::kernel::samples::{self, Sample};
use shared::kernel::{BlurReport, BlurType, SharpnessMap, analyze};

/// One case: every f32 is stored as its exact bit pattern (`f32::to_bits`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Golden {
    pub name: &'static str,
    pub blur_score: u32,
    pub blur_type: BlurType,
    /// `motion_angle_deg` bits; uses std's atan2, compared to 0.01° only.
    pub motion_angle_deg: Option<u32>,
    /// edge, best_direction, median, coarse, sharp_tile_fraction,
    /// textured_fraction, anisotropy, laplacian_variance, subject_sharpness,
    /// shake_coherence, detailed_tile_fraction.
    pub measures: [u32; 11],
    pub working_long_side: u32,
    /// FNV-1a of the sharpness map (columns, rows, cells).
    pub map_hash: u32,
}

/// FNV-1a over the map's size and cells: any changed cell changes it.
pub fn map_hash(map: &SharpnessMap) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let bytes = map
        .columns
        .to_le_bytes()
        .into_iter()
        .chain(map.rows.to_le_bytes())
        .chain(map.cells.iter().copied());
    for b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The golden record of one report.
pub fn record(name: &'static str, r: &BlurReport) -> Golden {
    let m = &r.measures;
    Golden {
        name,
        blur_score: r.blur_score.to_bits(),
        blur_type: r.blur_type,
        motion_angle_deg: r.motion_angle_deg.map(f32::to_bits),
        measures: [
            m.edge_sharpness.to_bits(),
            m.best_direction_sharpness.to_bits(),
            m.median_sharpness.to_bits(),
            m.coarse_sharpness.to_bits(),
            m.sharp_tile_fraction.to_bits(),
            m.textured_fraction.to_bits(),
            m.anisotropy.to_bits(),
            m.laplacian_variance.to_bits(),
            m.subject_sharpness.to_bits(),
            m.shake_coherence.to_bits(),
            m.detailed_tile_fraction.to_bits(),
        ],
        working_long_side: m.working_long_side,
        map_hash: map_hash(&r.sharpness_map),
    }
}

/// Runs every case and returns one line per difference from `GOLDEN`
/// (empty = bit-identical).
pub fn mismatches() -> Vec<String> {
    mismatches_against(GOLDEN)
}

pub fn mismatches_against(golden: &[Golden]) -> Vec<String> {
    let cases = samples::cases().unwrap();
    let mut out = Vec::new();
    if cases.len() != golden.len() {
        out.push(format!(
            "{} cases but {} golden records",
            cases.len(),
            golden.len()
        ));
    }
    for (Sample { name, image }, want) in cases.iter().zip(golden) {
        let report = analyze(image, None).unwrap();
        let got = record(name, &report);
        let angle_ok = match (got.motion_angle_deg, want.motion_angle_deg) {
            (None, None) => true,
            (Some(a), Some(b)) => (f32::from_bits(a) - f32::from_bits(b)).abs() <= 0.011,
            _ => false,
        };
        let mut cmp = got;
        cmp.motion_angle_deg = want.motion_angle_deg;
        if cmp != *want || !angle_ok {
            out.push(format!(
                "{name}: got {got:?} (score {}), want {want:?} (score {})",
                report.blur_score,
                f32::from_bits(want.blur_score)
            ));
        }
    }
    out
}

/// Rust source for `GOLDEN`, from the current kernel.
pub fn golden_source() -> String {
    let mut s = String::from("pub const GOLDEN: &[Golden] = &[\n");
    for Sample { name, image } in samples::cases().unwrap() {
        let r = analyze(&image, None).unwrap();
        let g = record(name, &r);
        let m: Vec<String> = g.measures.iter().map(|b| format!("0x{b:08x}")).collect();
        s += &format!(
            "    // score {}, {:?}, angle {:?}, {:?}, map {:?}\n",
            r.blur_score, r.blur_type, r.motion_angle_deg, r.measures, r.sharpness_map
        );
        s += &format!(
            "    Golden {{ name: {:?}, blur_score: 0x{:08x}, blur_type: BlurType::{:?}, \
             motion_angle_deg: {}, measures: [{}], working_long_side: {}, map_hash: 0x{:08x} }},\n",
            g.name,
            g.blur_score,
            g.blur_type,
            g.motion_angle_deg
                .map_or("None".to_string(), |b| format!("Some(0x{b:08x})")),
            m.join(", "),
            g.working_long_side,
            g.map_hash
        );
    }
    s += "];\n";
    s
}

#[rustfmt::skip]
pub const GOLDEN: &[Golden] = &[
    // score 0.245216, None, angle None, Measures { edge_sharpness: 0.919922, best_direction_sharpness: 0.980469, median_sharpness: 0.630859, coarse_sharpness: 0.979492, sharp_tile_fraction: 0.651367, textured_fraction: 0.958333, anisotropy: 0.036566, laplacian_variance: 667.9864, working_long_side: 480, subject_sharpness: 0.324219, shake_coherence: 0.015714, detailed_tile_fraction: 0.5, handheld_stops: None }, map SharpnessMap { columns: 8, rows: 6, cells: [1, 1, 29, 4, 96, 94, 5, 90, 1, 1, 5, 88, 2, 1, 78, 78, 60, 2, 3, 70, 1, 2, 5, 1, 51, 1, 67, 255, 38, 2, 255, 0, 69, 1, 10, 4, 79, 2, 2, 1, 5, 26, 1, 79, 3, 3, 75, 5] }
    Golden { name: "texture_480x360", blur_score: 0x3e7b19e7, blur_type: BlurType::None, motion_angle_deg: None, measures: [0x3f6b8002, 0x3f7b0004, 0x3f217ffa, 0x3f7abffd, 0x3f26bffd, 0x3f755550, 0x3d15c63b, 0x4426ff21, 0x3ea60008, 0x3c80baa6, 0x3f000000], working_long_side: 480, map_hash: 0xb4afcc21 },
    // score 0.999241, Motion, angle Some(0.72), Measures { edge_sharpness: 0.226563, best_direction_sharpness: 0.902344, median_sharpness: 0.394531, coarse_sharpness: 0.90625, sharp_tile_fraction: 0.770508, textured_fraction: 1.0, anisotropy: 0.538076, laplacian_variance: 511.65005, working_long_side: 512, subject_sharpness: 0.239258, shake_coherence: 0.138037, detailed_tile_fraction: 0.770508, handheld_stops: None }, map SharpnessMap { columns: 8, rows: 6, cells: [20, 20, 22, 9, 14, 19, 0, 0, 22, 20, 22, 20, 20, 20, 20, 75, 20, 51, 23, 20, 20, 22, 22, 23, 20, 24, 20, 65, 20, 21, 22, 20, 7, 20, 27, 20, 20, 22, 20, 20, 20, 18, 20, 20, 22, 21, 23, 1] }
    Golden { name: "motion_h15_1200x900", blur_score: 0x3f7fce42, blur_type: BlurType::Motion, motion_angle_deg: Some(0x3f3851ec), measures: [0x3e680022, 0x3f670004, 0x3ec9fff8, 0x3f680000, 0x3f454003, 0x3f800000, 0x3f09bf59, 0x43ffd335, 0x3e75000d, 0x3e0d5992, 0x3f454003], working_long_side: 512, map_hash: 0xc1274690 },
    // score 0.011477, None, angle None, Measures { edge_sharpness: 0.761719, best_direction_sharpness: 0.87793, median_sharpness: 0.847656, coarse_sharpness: 0.979492, sharp_tile_fraction: 1.0, textured_fraction: 1.0, anisotropy: 0.060385, laplacian_variance: 1071.3372, working_long_side: 512, subject_sharpness: 0.570313, shake_coherence: 0.011627, detailed_tile_fraction: 0.9375, handheld_stops: None }, map SharpnessMap { columns: 8, rows: 6, cells: [48, 49, 59, 0, 70, 52, 59, 1, 77, 59, 76, 57, 64, 68, 80, 68, 75, 61, 60, 42, 2, 76, 43, 53, 63, 64, 65, 74, 50, 74, 69, 35, 18, 50, 65, 50, 51, 61, 54, 69, 49, 52, 66, 48, 64, 53, 57, 70] }
    Golden { name: "texture_1200x900", blur_score: 0x3c3c0a07, blur_type: BlurType::None, motion_angle_deg: None, measures: [0x3f430004, 0x3f60c005, 0x3f58fffc, 0x3f7abffd, 0x3f800000, 0x3f800000, 0x3d775643, 0x4485eaca, 0x3f120008, 0x3c3e7f2c, 0x3f700000], working_long_side: 512, map_hash: 0xa8b5a5bb },
    // score 0.982735, Motion, angle Some(30.88), Measures { edge_sharpness: 0.205078, best_direction_sharpness: 0.256836, median_sharpness: 0.375977, coarse_sharpness: 0.786133, sharp_tile_fraction: 0.0625, textured_fraction: 1.0, anisotropy: 0.151507, laplacian_variance: 35.943493, working_long_side: 512, subject_sharpness: 0.185547, shake_coherence: 0.050919, detailed_tile_fraction: 0.270508, handheld_stops: None }, map SharpnessMap { columns: 8, rows: 6, cells: [16, 19, 18, 21, 20, 20, 20, 1, 18, 20, 20, 20, 20, 18, 19, 18, 23, 20, 19, 19, 19, 20, 20, 19, 19, 19, 19, 20, 18, 12, 18, 17, 18, 17, 20, 19, 20, 19, 20, 18, 0, 19, 21, 20, 18, 18, 16, 17] }
    Golden { name: "motion_45_13_1024x768", blur_score: 0x3f7b9485, blur_type: BlurType::Motion, motion_angle_deg: Some(0x41f70a3d), measures: [0x3e51fff8, 0x3e838002, 0x3ec0800f, 0x3f494003, 0x3d800000, 0x3f800000, 0x3e1b24a7, 0x420fc623, 0x3e3e0008, 0x3d509071, 0x3e8a8006], working_long_side: 512, map_hash: 0x9d128ee0 },
    // score 0.965737, Defocus, angle None, Measures { edge_sharpness: 0.234375, best_direction_sharpness: 0.235352, median_sharpness: 0.43457, coarse_sharpness: 0.773438, sharp_tile_fraction: 0.0625, textured_fraction: 1.0, anisotropy: 0.086657, laplacian_variance: 17.73587, working_long_side: 512, subject_sharpness: 0.203125, shake_coherence: 0.011194, detailed_tile_fraction: 0.645508, handheld_stops: None }, map SharpnessMap { columns: 8, rows: 6, cells: [19, 21, 22, 21, 20, 11, 20, 1, 23, 20, 20, 22, 18, 11, 22, 20, 25, 22, 23, 23, 22, 22, 20, 19, 21, 19, 21, 22, 21, 17, 21, 21, 19, 19, 22, 21, 23, 21, 22, 12, 0, 20, 23, 23, 21, 21, 19, 22] }
    Golden { name: "defocus_r6_1024x768", blur_score: 0x3f773a8a, blur_type: BlurType::Defocus, motion_angle_deg: None, measures: [0x3e700000, 0x3e71001d, 0x3ede7ff6, 0x3f460008, 0x3d800000, 0x3f800000, 0x3db1793a, 0x418de310, 0x3e500000, 0x3c37670a, 0x3f254003], working_long_side: 512, map_hash: 0x478b903b },
    // score 0.489497, None, angle None, Measures { edge_sharpness: 0.507813, best_direction_sharpness: 0.637695, median_sharpness: 0.660156, coarse_sharpness: 0.892578, sharp_tile_fraction: 0.935547, textured_fraction: 0.979167, anisotropy: 0.028686, laplacian_variance: 60.404083, working_long_side: 512, subject_sharpness: 0.282227, shake_coherence: 0.002712, detailed_tile_fraction: 0.787109, handheld_stops: None }, map SharpnessMap { columns: 8, rows: 6, cells: [255, 25, 46, 29, 28, 8, 52, 10, 21, 28, 36, 55, 19, 35, 40, 23, 23, 19, 22, 27, 22, 9, 33, 34, 31, 14, 38, 18, 15, 41, 32, 13, 29, 31, 5, 39, 32, 30, 44, 22, 22, 6, 35, 32, 36, 31, 8, 20] }
    Golden { name: "dark_800x600", blur_score: 0x3efa9f5a, blur_type: BlurType::None, motion_angle_deg: None, measures: [0x3f020008, 0x3f233ffb, 0x3f28fffc, 0x3f647ffe, 0x3f6f8002, 0x3f7aaab0, 0x3ceafee7, 0x42719dc8, 0x3e90800f, 0x3b31bbcf, 0x3f497ffa], working_long_side: 512, map_hash: 0x932cb14c },
    // score 0, None, angle None, Measures { edge_sharpness: 0.0, best_direction_sharpness: 0.0, median_sharpness: 0.0, coarse_sharpness: 0.0, sharp_tile_fraction: 0.0, textured_fraction: 0.0, anisotropy: 0.0, laplacian_variance: 2.222955, working_long_side: 512, subject_sharpness: 0.0, shake_coherence: 0.0, detailed_tile_fraction: 0.0, handheld_stops: None }, map SharpnessMap { columns: 8, rows: 6, cells: [255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255] }
    Golden { name: "gradient_640x480", blur_score: 0x00000000, blur_type: BlurType::None, motion_angle_deg: None, measures: [0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x400e44e5, 0x00000000, 0x00000000, 0x00000000], working_long_side: 512, map_hash: 0x42efa9db },
];
