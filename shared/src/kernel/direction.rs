//! Owns blur-direction analysis: how much more the fine-scale gradients are
//! attenuated in one direction than in the perpendicular one, relative to the
//! coarse-scale gradients of the same edges.
//!
//! Camera shake along direction θ smears the fine gradient component along θ
//! while leaving the perpendicular component sharp; defocus attenuates all
//! directions alike. Dividing by the coarse tensor cancels the anisotropy of
//! the scene itself (a building façade has mostly vertical edges whether
//! shaken or not). We solve the 2×2 generalised eigenproblem
//! `T_fine v = λ T_coarse v`: `v` for the smallest λ is the smear direction,
//! `1 − λ_min/λ_max` the anisotropy.
//!
//! Angle convention: degrees in [0, 180), measured counter-clockwise as seen
//! on screen (the image y axis points down, so we negate it first);
//! 0° = horizontal streaks, 90° = vertical streaks, 45° = streaks running from
//! bottom-left to top-right.

use super::haar::{EdgeMaps, NS};

/// Index into `EdgeMaps::tensors` of the fine scale (s = 2: finer than the
/// shortest shake we care about, coarse enough to average sensor noise).
const FINE: usize = 1;
const COARSE: usize = NS - 1;

/// Result of the direction analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Direction {
    /// `1 − λ_min/λ_max` in [0, 1]; 0 = isotropic attenuation.
    pub anisotropy: f64,
    /// Smear direction in degrees, see the module doc; `None` if undefined.
    pub angle_deg: Option<f64>,
}

pub fn direction(maps: &EdgeMaps) -> Direction {
    direction_at(maps, FINE)
}

/// Direction analysis with an explicit fine scale index (dev exploration).
pub fn direction_at(maps: &EdgeMaps, fine: usize) -> Direction {
    let none = Direction {
        anisotropy: 0.0,
        angle_deg: None,
    };
    let tf = maps.tensors[fine.min(COARSE)];
    let tc = maps.tensors[COARSE];
    // Normalise by the coarse trace: exact integers → well-scaled f64.
    let norm = (tc[0] + tc[1]) as f64;
    if norm <= 0.0 {
        return none;
    }
    let [a1, b1, c1] = tf.map(|v| v as f64 / norm);
    let [a2, b2, c2] = tc.map(|v| v as f64 / norm);
    // det(Tf − λ Tc) = qa λ² − qb λ + qc
    let qa = a2 * b2 - c2 * c2;
    let qb = a1 * b2 + a2 * b1 - 2.0 * c1 * c2;
    let qc = a1 * b1 - c1 * c1;
    if qa <= 1e-12 || !qa.is_finite() || !qb.is_finite() || !qc.is_finite() {
        return none;
    }
    let disc = (qb * qb - 4.0 * qa * qc).max(0.0);
    // Only IEEE basic ops and sqrt (correctly rounded everywhere) so far.
    let root = disc.sqrt();
    let lmax = (qb + root) / (2.0 * qa);
    let lmin = (qb - root) / (2.0 * qa);
    if lmax <= 0.0 {
        return none;
    }
    let anisotropy = (1.0 - lmin.max(0.0) / lmax).clamp(0.0, 1.0);
    // Null vector of (Tf − λmin Tc): take the better conditioned of its two rows.
    let (p, q, r) = (a1 - lmin * a2, b1 - lmin * b2, c1 - lmin * c2);
    let (vx, vy) = if p.abs() >= q.abs() { (-r, p) } else { (q, -r) };
    if vx == 0.0 && vy == 0.0 {
        return Direction {
            anisotropy,
            angle_deg: None,
        };
    }
    // Screen convention: y up, hence −vy.
    let mut deg = (-vy).atan2(vx).to_degrees();
    if deg < 0.0 {
        deg += 180.0;
    }
    if deg >= 180.0 {
        deg -= 180.0;
    }
    Direction {
        anisotropy,
        angle_deg: Some(deg),
    }
}
