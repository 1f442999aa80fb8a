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
use shared::kernel::{BlurReport, BlurType, analyze};

/// One case: every f32 is stored as its exact bit pattern (`f32::to_bits`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Golden {
    pub name: &'static str,
    pub blur_score: u32,
    pub blur_type: BlurType,
    /// `motion_angle_deg` bits; uses std's atan2, compared to 0.01° only.
    pub motion_angle_deg: Option<u32>,
    /// edge, best_direction, median, coarse, sharp_tile_fraction,
    /// textured_fraction, anisotropy, laplacian_variance.
    pub measures: [u32; 8],
    pub working_long_side: u32,
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
        ],
        working_long_side: m.working_long_side,
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
            "    // score {}, {:?}, angle {:?}, {:?}\n",
            r.blur_score, r.blur_type, r.motion_angle_deg, r.measures
        );
        s += &format!(
            "    Golden {{ name: {:?}, blur_score: 0x{:08x}, blur_type: BlurType::{:?}, \
             motion_angle_deg: {}, measures: [{}], working_long_side: {} }},\n",
            g.name,
            g.blur_score,
            g.blur_type,
            g.motion_angle_deg
                .map_or("None".to_string(), |b| format!("Some(0x{b:08x})")),
            m.join(", "),
            g.working_long_side
        );
    }
    s += "];\n";
    s
}

#[rustfmt::skip]
pub const GOLDEN: &[Golden] = &[
    // score 0.019483, None, angle None, Measures { edge_sharpness: 0.919922, best_direction_sharpness: 0.980469, median_sharpness: 0.630859, coarse_sharpness: 0.979492, sharp_tile_fraction: 0.651367, textured_fraction: 0.958333, anisotropy: 0.036566, laplacian_variance: 667.9864, working_long_side: 480 }
    Golden { name: "texture_480x360", blur_score: 0x3c9f9ad0, blur_type: BlurType::None, motion_angle_deg: None, measures: [0x3f6b8002, 0x3f7b0004, 0x3f217ffa, 0x3f7abffd, 0x3f26bffd, 0x3f755550, 0x3d15c63b, 0x4426ff21], working_long_side: 480 },
    // score 0.999538, Motion, angle Some(0.72), Measures { edge_sharpness: 0.226563, best_direction_sharpness: 0.902344, median_sharpness: 0.394531, coarse_sharpness: 0.90625, sharp_tile_fraction: 0.770508, textured_fraction: 1.0, anisotropy: 0.538076, laplacian_variance: 511.65005, working_long_side: 512 }
    Golden { name: "motion_h15_1200x900", blur_score: 0x3f7fe1b9, blur_type: BlurType::Motion, motion_angle_deg: Some(0x3f3851ec), measures: [0x3e680022, 0x3f670004, 0x3ec9fff8, 0x3f680000, 0x3f454003, 0x3f800000, 0x3f09bf59, 0x43ffd335], working_long_side: 512 },
    // score 0.012778, None, angle None, Measures { edge_sharpness: 0.761719, best_direction_sharpness: 0.87793, median_sharpness: 0.847656, coarse_sharpness: 0.979492, sharp_tile_fraction: 1.0, textured_fraction: 1.0, anisotropy: 0.060385, laplacian_variance: 1071.3372, working_long_side: 512 }
    Golden { name: "texture_1200x900", blur_score: 0x3c515ad1, blur_type: BlurType::None, motion_angle_deg: None, measures: [0x3f430004, 0x3f60c005, 0x3f58fffc, 0x3f7abffd, 0x3f800000, 0x3f800000, 0x3d775643, 0x4485eaca], working_long_side: 512 },
    // score 0.999592, Defocus, angle None, Measures { edge_sharpness: 0.205078, best_direction_sharpness: 0.256836, median_sharpness: 0.375977, coarse_sharpness: 0.786133, sharp_tile_fraction: 0.0625, textured_fraction: 1.0, anisotropy: 0.151507, laplacian_variance: 35.943493, working_long_side: 512 }
    Golden { name: "motion_45_13_1024x768", blur_score: 0x3f7fe543, blur_type: BlurType::Defocus, motion_angle_deg: None, measures: [0x3e51fff8, 0x3e838002, 0x3ec0800f, 0x3f494003, 0x3d800000, 0x3f800000, 0x3e1b24a7, 0x420fc623], working_long_side: 512 },
    // score 0.997754, Defocus, angle None, Measures { edge_sharpness: 0.234375, best_direction_sharpness: 0.235352, median_sharpness: 0.43457, coarse_sharpness: 0.773438, sharp_tile_fraction: 0.0625, textured_fraction: 1.0, anisotropy: 0.086657, laplacian_variance: 17.73587, working_long_side: 512 }
    Golden { name: "defocus_r6_1024x768", blur_score: 0x3f7f6cce, blur_type: BlurType::Defocus, motion_angle_deg: None, measures: [0x3e700000, 0x3e71001d, 0x3ede7ff6, 0x3f460008, 0x3d800000, 0x3f800000, 0x3db1793a, 0x418de310], working_long_side: 512 },
    // score 0.361019, None, angle None, Measures { edge_sharpness: 0.507813, best_direction_sharpness: 0.637695, median_sharpness: 0.660156, coarse_sharpness: 0.892578, sharp_tile_fraction: 0.935547, textured_fraction: 0.979167, anisotropy: 0.028686, laplacian_variance: 60.404083, working_long_side: 512 }
    Golden { name: "dark_800x600", blur_score: 0x3eb8d77b, blur_type: BlurType::None, motion_angle_deg: None, measures: [0x3f020008, 0x3f233ffb, 0x3f28fffc, 0x3f647ffe, 0x3f6f8002, 0x3f7aaab0, 0x3ceafee7, 0x42719dc8], working_long_side: 512 },
    // score 0, None, angle None, Measures { edge_sharpness: 0.0, best_direction_sharpness: 0.0, median_sharpness: 0.0, coarse_sharpness: 0.0, sharp_tile_fraction: 0.0, textured_fraction: 0.0, anisotropy: 0.0, laplacian_variance: 2.222955, working_long_side: 512 }
    Golden { name: "gradient_640x480", blur_score: 0x00000000, blur_type: BlurType::None, motion_angle_deg: None, measures: [0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x400e44e5], working_long_side: 512 },
];
