//! Owns the calibration: the logistic model that turns the scale-free
//! measures into `blur_score`, the shake-coherence cut for motion vs defocus,
//! and the portable `ln`/`exp` it needs.
//!
//! Determinism: std's `ln`/`exp` come from the system libm natively and from
//! Rust's libm port on wasm32, and may differ in the last bit. So (1) every
//! measure is rounded to 1e-6 before it gets here, and (2) `ln` and `exp` are
//! implemented below with IEEE basic operations only (+, −, ×, ÷ are
//! correctly rounded on every target, and no `mul_add` is used), evaluated in
//! a fixed order. The score is therefore bit-identical natively and in wasm.

/// Logistic weights, fitted by `server/examples/fit_blur_model.rs` (IRLS on
/// standardised features, class-balanced sample weights so 0.5 is the
/// balanced cut, L2 = 1 on the standardised slopes) on all 226 photos of
/// `blur-dev` at `WORKING_LONG_SIDE` = 512. Inputs (`Inputs::features`):
/// `ln(subject_sharpness + LN_OFFSET)`, `shake_coherence`,
/// `median_sharpness` and `detailed_tile_fraction`; z > 0 means blurred.
pub const INTERCEPT: f64 = -2.8316;
pub const W_SUBJECT: f64 = -5.5126;
pub const W_COHERENCE: f64 = 29.3322;
pub const W_MEDIAN: f64 = -9.6205;
/// Positive, although on its own more detailed tiles mean sharper: beside the
/// median E2/E8 it reads the scale profile. For a given median, many tiles
/// whose 4-px structure survives mean the 2-px scale was lost to blur
/// (edges 2–4 px wide); few mean the photo's content is soft at both scales
/// (skin, fur, bokeh, dark noise), which is not blur. See `tiles::detailed_tile_fraction`.
pub const W_DETAILED: f64 = 3.7943;
/// Keeps `ln` finite at 0 and compresses the noisy low end.
pub const LN_OFFSET: f64 = 0.05;

/// Motion vs defocus: a blurred photo is `Motion` when
/// `TYPE_INTERCEPT + TYPE_W_COHERENCE · shake_coherence ≥ 0`, i.e. when its
/// shake coherence reaches `-TYPE_INTERCEPT / TYPE_W_COHERENCE`. Logistic fit
/// (class-balanced) on the 108 blurred dev photos by the same example.
pub const TYPE_INTERCEPT: f64 = -2.4152;
pub const TYPE_W_COHERENCE: f64 = 66.6234;

/// Whether a blurred photo with this shake coherence is camera shake.
pub fn is_motion(shake_coherence: f64) -> bool {
    TYPE_INTERCEPT + TYPE_W_COHERENCE * shake_coherence >= 0.0
}

/// The model inputs, already rounded measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// See `Measures::subject_sharpness`.
    pub subject_sharpness: f64,
    /// See `Measures::shake_coherence`.
    pub shake_coherence: f64,
    /// See `Measures::median_sharpness`.
    pub median_sharpness: f64,
    /// See `Measures::detailed_tile_fraction`.
    pub detailed_tile_fraction: f64,
}

impl Inputs {
    /// Feature vector of the logistic model (shared with the fit example).
    pub fn features(&self) -> [f64; 4] {
        [
            round6(ln(self.subject_sharpness + LN_OFFSET)),
            self.shake_coherence,
            self.median_sharpness,
            self.detailed_tile_fraction,
        ]
    }
}

/// Calibrated probability-like score in [0, 1], rounded to 1e-6.
pub fn blur_score(inp: &Inputs) -> f64 {
    let [a, b, c, d] = inp.features();
    let z = INTERCEPT + W_SUBJECT * a + W_COHERENCE * b + W_MEDIAN * c + W_DETAILED * d;
    logistic(z)
}

/// Rounds to 1e-6 so platform last-bit differences are absorbed; non-finite
/// values become 0.
pub fn round6(v: f64) -> f64 {
    if v.is_finite() {
        (v * 1e6).round() / 1e6
    } else {
        0.0
    }
}

/// Logistic function, rounded to 1e-6.
pub fn logistic(z: f64) -> f64 {
    let z = if z.is_finite() {
        z.clamp(-40.0, 40.0)
    } else {
        0.0
    };
    round6(1.0 / (1.0 + exp(-z))).clamp(0.0, 1.0)
}

const LN2: f64 = core::f64::consts::LN_2;

/// Natural log from basic operations: x = m·2^k with m in [1, 2), then
/// ln m = 2·atanh((m−1)/(m+1)) by its series. Returns −∞-like −700 for x ≤ 0.
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 || x.is_infinite() {
        return -700.0;
    }
    let (mut m, mut k) = (x, 0i32);
    // Exact: scaling by 2 changes only the exponent.
    while m >= 2.0 {
        m *= 0.5;
        k += 1;
    }
    while m < 1.0 {
        m *= 2.0;
        k -= 1;
    }
    let t = (m - 1.0) / (m + 1.0); // |t| <= 1/3
    let t2 = t * t;
    let mut term = t;
    let mut sum = 0.0;
    // 1/3^(2n+1) < 1e-17 by n = 17.
    for n in 0..18 {
        sum += term / f64::from(2 * n + 1);
        term *= t2;
    }
    2.0 * sum + f64::from(k) * LN2
}

/// e^z from basic operations: z = k·ln2 + r, |r| <= ln2/2, Taylor series of
/// e^r, then exact scaling by 2^k. Inputs are clamped to ±40.
pub fn exp(z: f64) -> f64 {
    let z = if z.is_finite() {
        z.clamp(-40.0, 40.0)
    } else {
        0.0
    };
    let k = (z / LN2).round();
    let r = z - k * LN2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..20 {
        term *= r / f64::from(n);
        sum += term;
    }
    let mut k = k as i32;
    while k > 0 {
        sum *= 2.0;
        k -= 1;
    }
    while k < 0 {
        sum *= 0.5;
        k += 1;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_math_matches_std() {
        for &x in &[0.05, 0.3, 1.0, 1.7, 2.0, 3.05, 123.4] {
            assert!((ln(x) - x.ln()).abs() < 1e-13, "ln {x}");
        }
        for &z in &[-40.0, -7.3, -0.5, 0.0, 0.2, 3.0, 39.0] {
            assert!(((exp(z) - z.exp()) / z.exp()).abs() < 1e-13, "exp {z}");
        }
        assert_eq!(logistic(0.0), 0.5);
        assert_eq!(logistic(f64::NAN), 0.5);
        assert!(logistic(100.0) <= 1.0 && logistic(-100.0) >= 0.0);
    }
}
