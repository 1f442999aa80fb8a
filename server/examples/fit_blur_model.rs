//! Refits the logistic calibration in `shared::kernel::model` and cross-validates it.
//!
//! `cargo run --release -p server --example fit_blur_model -- ../shared/data/blur-dev/manifest.csv`
//!
//! Model: z = b + Σ wᵢ·xᵢ with x = `ModelInputs::features()` (log ratios of edge energies),
//! fitted by IRLS (Newton) in f64 with class-balanced sample weights, so that 0.5 is the cut
//! that balances the two error rates, and a small L2 penalty on the slopes. Prints the
//! constants to paste into model.rs, then in-sample, leave-one-out and grouped 5-fold
//! figures: the cross-validated ones are the honest estimate for unseen photos. Photos are
//! decoded exactly as the server decodes them.
// A developer tool: fail loudly; the index loops mirror the matrix algebra.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::needless_range_loop)]

use std::path::Path;

use server::media::{MediaLimits, decode_gray};
use shared::kernel::metrics::{self, Confusion, split_csv_line};
use shared::kernel::{MOTION_ANISOTROPY, ModelInputs, analyze};

const L2: f64 = 1e-3;

struct Sample {
    file: String,
    blurred: bool,
    blur_type: String,
    source: String,
    synthetic: bool,
}

impl Sample {
    /// Photos that share pixels (synthetic variants of one base photo, the Kwentar
    /// sharp/focus/motion triplets, focal-stack frames) form one group, so grouped
    /// cross-validation never tests on a scene it trained on.
    fn group(&self) -> String {
        let f = self.file.to_lowercase();
        if let Some(i) = f.find("kwentar") {
            let digits: String = f[i..]
                .chars()
                .filter(char::is_ascii_digit)
                .take(3)
                .collect();
            return format!("kwentar{digits}");
        }
        for stack in ["fstack_balls", "fstack_keyboard"] {
            if f.contains(stack) {
                return stack.into();
            }
        }
        if self.synthetic
            && let Some(i) = self.source.find("base:")
        {
            return self.source[i..].to_string();
        }
        self.file.clone()
    }
}

fn read_manifest(path: &Path) -> Vec<Sample> {
    let text = std::fs::read_to_string(path).expect("read the manifest");
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split_csv_line(lines.next().expect("a header line"));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (cf, cl, ct, cs, cy) = (
        col("file"),
        col("label"),
        col("blur_type"),
        col("source"),
        col("synthetic"),
    );
    lines
        .map(|l| {
            let f = split_csv_line(l);
            Sample {
                file: f[cf].clone(),
                blurred: f[cl] == "blurred",
                blur_type: f[ct].clone(),
                source: f[cs].clone(),
                synthetic: f[cy] == "yes",
            }
        })
        .collect()
}

fn fit(x: &[[f64; 3]], y: &[bool]) -> [f64; 4] {
    let npos = y.iter().filter(|&&p| p).count().max(1) as f64;
    let nneg = (y.len() as f64 - npos).max(1.0);
    let n = y.len() as f64;
    let (wpos, wneg) = (n / (2.0 * npos), n / (2.0 * nneg));
    let mut w = [0.0f64; 4];
    for _ in 0..50 {
        let mut g = [0.0f64; 4];
        let mut h = [[0.0f64; 4]; 4];
        for (xi, &yi) in x.iter().zip(y) {
            let v = [1.0, xi[0], xi[1], xi[2]];
            let p = sigmoid((0..4).map(|k| w[k] * v[k]).sum());
            let cw = if yi { wpos } else { wneg };
            let t = if yi { 1.0 } else { 0.0 };
            for a in 0..4 {
                g[a] += cw * (p - t) * v[a];
                for b in 0..4 {
                    h[a][b] += cw * p * (1.0 - p) * v[a] * v[b];
                }
            }
        }
        for a in 1..4 {
            g[a] += L2 * w[a];
            h[a][a] += L2;
        }
        let step = solve4(h, g);
        for a in 0..4 {
            w[a] -= step[a];
        }
        if step.iter().map(|s| s.abs()).sum::<f64>() < 1e-10 {
            break;
        }
    }
    w
}

/// Gauss-Jordan with partial pivoting on the 4x4 Newton system.
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> [f64; 4] {
    for i in 0..4 {
        let p = (i..4)
            .max_by(|&r, &s| a[r][i].abs().total_cmp(&a[s][i].abs()))
            .unwrap();
        a.swap(i, p);
        b.swap(i, p);
        for r in 0..4 {
            if r != i && a[i][i] != 0.0 {
                let f = a[r][i] / a[i][i];
                for c in 0..4 {
                    a[r][c] -= f * a[i][c];
                }
                b[r] -= f * b[i];
            }
        }
    }
    std::array::from_fn(|i| if a[i][i] != 0.0 { b[i] / a[i][i] } else { 0.0 })
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z.clamp(-35.0, 35.0)).exp())
}

fn predict(w: &[f64; 4], x: &[f64; 3]) -> f64 {
    sigmoid(w[0] + w[1] * x[0] + w[2] * x[1] + w[3] * x[2])
}

fn report(name: &str, s: &[f64], y: &[bool]) {
    let c = Confusion::at(s, y, 0.5);
    println!(
        "{name:<28} AUC {:.3}  balanced acc@0.5 {:.3}  (TP {} FN {} TN {} FP {})",
        metrics::roc_auc(s, y).unwrap_or(f64::NAN),
        c.balanced_accuracy().unwrap_or(f64::NAN),
        c.tp,
        c.fn_,
        c.tn,
        c.fp
    );
}

fn main() {
    let path = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: fit_blur_model MANIFEST.csv"),
    );
    let root = path.parent().expect("the manifest's folder").to_path_buf();
    let samples = read_manifest(&path);
    let limits = MediaLimits::default();
    let mut x = Vec::new();
    let mut aniso = Vec::new();
    for s in &samples {
        let bytes = std::fs::read(root.join(&s.file)).expect("read a photo");
        let decoded = decode_gray(&bytes, &limits).unwrap_or_else(|e| panic!("{}: {e}", s.file));
        let m = analyze(&decoded.gray, None).expect("analyze").measures;
        let inputs = ModelInputs {
            edge_sharpness: f64::from(m.edge_sharpness),
            median_sharpness: f64::from(m.median_sharpness),
            coarse_sharpness: f64::from(m.coarse_sharpness),
        };
        x.push(inputs.features());
        aniso.push(f64::from(m.anisotropy));
    }
    let y: Vec<bool> = samples.iter().map(|s| s.blurred).collect();

    let w = fit(&x, &y);
    println!(
        "fitted on {} photos ({} blurred):",
        y.len(),
        y.iter().filter(|&&b| b).count()
    );
    println!(
        "pub const INTERCEPT: f64 = {:.2};\npub const W_EDGE: f64 = {:.2};\npub const W_MEDIAN: f64 = {:.2};\npub const W_COARSE: f64 = {:.2};",
        w[0], w[1], w[2], w[3]
    );
    let in_sample: Vec<f64> = x.iter().map(|xi| predict(&w, xi)).collect();
    report("in-sample", &in_sample, &y);

    let loo: Vec<f64> = (0..x.len())
        .map(|i| {
            let (xt, yt): (Vec<_>, Vec<_>) = (0..x.len())
                .filter(|&j| j != i)
                .map(|j| (x[j], y[j]))
                .unzip();
            predict(&fit(&xt, &yt), &x[i])
        })
        .collect();
    report("leave-one-out", &loo, &y);

    // Grouped 5-fold: groups in order of first appearance, dealt round-robin.
    let mut groups: Vec<String> = Vec::new();
    let gid: Vec<usize> = samples
        .iter()
        .map(|s| {
            let g = s.group();
            groups.iter().position(|h| *h == g).unwrap_or_else(|| {
                groups.push(g);
                groups.len() - 1
            })
        })
        .collect();
    let mut cv = vec![0.0; x.len()];
    for fold in 0..5 {
        let held_out = |i: usize| gid[i] % 5 == fold;
        let (xt, yt): (Vec<_>, Vec<_>) = (0..x.len())
            .filter(|&i| !held_out(i))
            .map(|i| (x[i], y[i]))
            .unzip();
        let wf = fit(&xt, &yt);
        for i in (0..x.len()).filter(|&i| held_out(i)) {
            cv[i] = predict(&wf, &x[i]);
        }
    }
    report(
        &format!("5-fold grouped ({} groups)", groups.len()),
        &cv,
        &y,
    );

    // Motion vs defocus: the anisotropy cut, on the blurred photos only.
    let (av, mv): (Vec<f64>, Vec<bool>) = samples
        .iter()
        .zip(&aniso)
        .filter(|(s, _)| s.blurred)
        .map(|(s, &a)| (a, s.blur_type == "motion"))
        .unzip();
    if let Some((t, b)) = metrics::best_threshold(&av, &mv) {
        println!(
            "motion vs defocus by anisotropy: AUC {:.3}; best cut {t:.3} (bacc {b:.3}); accuracy at the shipped cut {:.3}: {:.3}",
            metrics::roc_auc(&av, &mv).unwrap_or(f64::NAN),
            MOTION_ANISOTROPY,
            Confusion::at(&av, &mv, MOTION_ANISOTROPY)
                .accuracy()
                .unwrap_or(f64::NAN)
        );
    }
}
