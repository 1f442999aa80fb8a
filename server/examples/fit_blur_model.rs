//! Refits the blur model in `shared::kernel::model` and measures it honestly.
//!
//! `cargo run --release -p server --example fit_blur_model -- ../shared/data/blur-dev/manifest.csv --wrong`
//!
//! Every photo is decoded exactly as the server decodes it and analysed by the kernel; the
//! models below are then fitted on the kernel's measures. Prints, in this order:
//!
//! 1. The grouped 5-fold cross-validation table (the headline): for each model, AUC and
//!    balanced accuracy at 0.5 overall, on real photos, on synthetic ones and per subset of
//!    the real photos, sharp bokeh photos wrongly flagged, low-light sharp photos kept, and
//!    motion-vs-defocus accuracy on the blurred photos. The models are kernel v1's three
//!    ratios, kernel v2 ("before"), kernel v3 (shipped), ablations of v3, v3 with the EXIF
//!    hand-held prior, and the Laplacian-variance baseline (its threshold, too, is fitted on
//!    the training folds only).
//! 2. The EXIF hand-held rule as a fixed (not fitted) prior on the shipped model's
//!    out-of-fold log-odds, for the blur type and for the score, optionally only where the
//!    image evidence is ambivalent; photos with EXIF and without, and the photos that flip.
//! 3. Fold by fold, v2 against v3, so a gain can be seen to hold across folds.
//! 4. The photos the shipped model still gets wrong in cross-validation (`--wrong`).
//! 5. The constants to paste into `shared/src/kernel/model.rs`, fitted on all photos, and
//!    the in-sample figures (for reference only: never the headline).
//!
//! Grouping: every photo whose pixels come from one source folder stays in one fold. For a
//! real photo the group is the repository plus the folder of the file in it (one dataset
//! folder, one focal stack, one burst, one deblurring paper's test images); a synthetic
//! variant joins the group of its base photo (so the Kwentar triplets and their 24 synthetic
//! variants are one group). Groups are dealt to folds largest first, each to the fold with
//! the fewest photos so far, so the folds are of similar size and the split is fixed.
//!
//! Models are logistic regressions fitted by IRLS (Newton) on standardised features with
//! class-balanced sample weights, so that 0.5 is the cut that balances the two error rates,
//! and an L2 penalty of 1 on the standardised slopes.
// A developer tool: fail loudly; the index loops mirror the matrix algebra.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::needless_range_loop)]

use std::collections::HashMap;
use std::path::Path;

use server::media::{MediaLimits, decode_gray};
use shared::kernel::metrics::{self, Confusion, split_csv_line};
use shared::kernel::{Measures, ModelInputs, analyze, laplacian_variance};

/// L2 penalty on the standardised slopes.
const L2: f64 = 1.0;
/// The previous kernel's motion cut on `anisotropy` (for the "before" type accuracy).
const OLD_MOTION_ANISOTROPY: f64 = 0.167;
const FOLDS: usize = 5;

struct Sample {
    file: String,
    blurred: bool,
    motion: bool,
    synthetic: bool,
    subset: String,
    group: String,
    m: Measures,
    laplacian: f64,
}

/// The cross-validation group of a photo; see the module doc.
fn group_of(file: &str, source: &str, synthetic: bool) -> String {
    let origin = if synthetic {
        source
            .find("base:")
            .map_or(file, |i| source[i + 5..].trim())
    } else {
        source
    };
    if let Some(i) = origin.find("github:") {
        let rest = &origin[i + 7..];
        let repo = rest.split('@').next().unwrap_or("");
        let path = rest
            .split(':')
            .nth(1)
            .and_then(|p| p.split_whitespace().next())
            .unwrap_or("");
        let folder = path.rfind('/').map_or("", |j| &path[..j]);
        return format!("{repo}:{folder}");
    }
    // A non-GitHub base ("scikit-image 0.26.0 skimage.data.astronaut() ..."): its first words.
    origin
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_samples(path: &Path) -> Vec<Sample> {
    let root = path.parent().expect("the manifest's folder").to_path_buf();
    let text = std::fs::read_to_string(path).expect("read the manifest");
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split_csv_line(lines.next().expect("a header line"));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (cf, cl, ct, cs, cy, cb) = (
        col("file"),
        col("label"),
        col("blur_type"),
        col("source"),
        col("synthetic"),
        col("subset"),
    );
    let rows: Vec<Vec<String>> = lines.map(split_csv_line).collect();
    let limits = MediaLimits::default();
    let analyse = |f: &[String]| {
        let bytes = std::fs::read(root.join(&f[cf])).expect("read a photo");
        let d = decode_gray(&bytes, &limits).unwrap_or_else(|e| panic!("{}: {e}", f[cf]));
        let m = analyze(&d.gray, Some(&d.exposure))
            .expect("analyze")
            .measures;
        let synthetic = f[cy] == "yes";
        Sample {
            file: f[cf].clone(),
            blurred: f[cl] == "blurred",
            motion: f[ct] == "motion",
            synthetic,
            subset: f[cb].clone(),
            group: group_of(&f[cf], &f[cs], synthetic),
            m,
            laplacian: laplacian_variance(&d.gray),
        }
    };
    // Two threads: decoding the large photos dominates.
    let (even, odd): (Vec<Sample>, Vec<Sample>) = std::thread::scope(|s| {
        let a = s.spawn(|| rows.iter().step_by(2).map(|f| analyse(f)).collect());
        let b = s.spawn(|| rows.iter().skip(1).step_by(2).map(|f| analyse(f)).collect());
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut out = Vec::with_capacity(rows.len());
    let mut o = odd.into_iter();
    for x in even {
        out.push(x);
        out.extend(o.next());
    }
    out
}

/// Fold of every sample: groups largest first, each to the currently smallest fold.
fn folds(s: &[Sample]) -> Vec<usize> {
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for x in s {
        *sizes.entry(&x.group).or_default() += 1;
    }
    let mut groups: Vec<(&str, usize)> = sizes.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut load = [0usize; FOLDS];
    let mut fold_of: HashMap<&str, usize> = HashMap::new();
    for (name, n) in groups {
        let k = (0..FOLDS).min_by_key(|&k| (load[k], k)).unwrap();
        load[k] += n;
        fold_of.insert(name, k);
    }
    s.iter().map(|x| fold_of[x.group.as_str()]).collect()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z.clamp(-35.0, 35.0)).exp())
}

/// Weighted logistic regression; returns `[intercept, slopes...]` in the features' own
/// units (the standardisation is undone).
fn fit(x: &[Vec<f64>], y: &[bool]) -> Vec<f64> {
    let d = x[0].len();
    let n = x.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let sd: Vec<f64> = (0..d)
        .map(|j| {
            (x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n)
                .sqrt()
                .max(1e-9)
        })
        .collect();
    let z: Vec<Vec<f64>> = x
        .iter()
        .map(|r| {
            std::iter::once(1.0)
                .chain((0..d).map(|j| (r[j] - mean[j]) / sd[j]))
                .collect()
        })
        .collect();
    let npos = y.iter().filter(|&&p| p).count().max(1) as f64;
    let nneg = (n - npos).max(1.0);
    let (wpos, wneg) = (n / (2.0 * npos), n / (2.0 * nneg));
    let m = d + 1;
    let mut w = vec![0.0; m];
    for _ in 0..100 {
        let mut g = vec![0.0; m];
        let mut h = vec![vec![0.0; m]; m];
        for (v, &yi) in z.iter().zip(y) {
            let p = sigmoid((0..m).map(|k| w[k] * v[k]).sum());
            let cw = if yi { wpos } else { wneg };
            let t = if yi { 1.0 } else { 0.0 };
            for a in 0..m {
                g[a] += cw * (p - t) * v[a];
                for b in 0..m {
                    h[a][b] += cw * p * (1.0 - p) * v[a] * v[b];
                }
            }
        }
        for a in 1..m {
            g[a] += L2 * w[a];
            h[a][a] += L2;
        }
        let step = solve(h, g);
        for a in 0..m {
            w[a] -= step[a];
        }
        if step.iter().map(|s| s.abs()).sum::<f64>() < 1e-12 {
            break;
        }
    }
    let mut out = vec![w[0]];
    for j in 0..d {
        out.push(w[j + 1] / sd[j]);
        out[0] -= w[j + 1] * mean[j] / sd[j];
    }
    out
}

/// Gauss-Jordan with partial pivoting on the Newton system.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for i in 0..n {
        let p = (i..n)
            .max_by(|&r, &s| a[r][i].abs().total_cmp(&a[s][i].abs()))
            .unwrap();
        a.swap(i, p);
        b.swap(i, p);
        for r in 0..n {
            if r != i && a[i][i] != 0.0 {
                let f = a[r][i] / a[i][i];
                for c in 0..n {
                    a[r][c] -= f * a[i][c];
                }
                b[r] -= f * b[i];
            }
        }
    }
    (0..n)
        .map(|i| if a[i][i] != 0.0 { b[i] / a[i][i] } else { 0.0 })
        .collect()
}

fn predict(w: &[f64], x: &[f64]) -> f64 {
    sigmoid(w[0] + x.iter().zip(&w[1..]).map(|(a, b)| a * b).sum::<f64>())
}

/// Out-of-fold predictions: each fold is scored by a model fitted on the other four.
/// `train` says which samples a model may be fitted on (all, or only the blurred ones).
fn cross_validate(
    x: &[Vec<f64>],
    y: &[bool],
    fold: &[usize],
    train: &dyn Fn(usize) -> bool,
) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for k in 0..FOLDS {
        let (xt, yt): (Vec<_>, Vec<_>) = (0..x.len())
            .filter(|&i| fold[i] != k && train(i))
            .map(|i| (x[i].clone(), y[i]))
            .unzip();
        let w = fit(&xt, &yt);
        for i in (0..x.len()).filter(|&i| fold[i] == k) {
            out[i] = predict(&w, &x[i]);
        }
    }
    out
}

fn lnr(v: f32) -> f64 {
    (f64::from(v) + 0.05).ln()
}

/// The shipped model's features, exactly as the kernel forms them.
fn new_features(m: &Measures) -> Vec<f64> {
    ModelInputs {
        subject_sharpness: f64::from(m.subject_sharpness),
        shake_coherence: f64::from(m.shake_coherence),
        median_sharpness: f64::from(m.median_sharpness),
        detailed_tile_fraction: f64::from(m.detailed_tile_fraction),
    }
    .features()
    .to_vec()
}

/// Kernel v2's features (the shipped ones without the detailed-tile fraction).
fn v2_features(m: &Measures) -> Vec<f64> {
    new_features(m)[..3].to_vec()
}

/// The hand-held rule as a feature: stops slower than 1/f, 0 to 3; 0 without EXIF.
fn handheld(m: &Measures) -> f64 {
    m.handheld_stops
        .map_or(0.0, |s| f64::from(s).clamp(0.0, 3.0))
}

struct Model {
    name: &'static str,
    /// The model in `shared::kernel::model`: its out-of-fold scores feed `--wrong`.
    shipped: bool,
    features: fn(&Sample) -> Vec<f64>,
    /// Motion-vs-defocus feature(s), fitted on the blurred photos of the training folds;
    /// `None` = the previous kernel's fixed anisotropy cut.
    type_features: Option<fn(&Sample) -> Vec<f64>>,
}

fn models() -> Vec<Model> {
    let coherence: fn(&Sample) -> Vec<f64> = |s| vec![f64::from(s.m.shake_coherence)];
    vec![
        Model {
            name: "v1: 3 tile ratios (p90 E1/E8, p50 E2/E8, p90 E4/E8)",
            shipped: false,
            features: |s| {
                vec![
                    lnr(s.m.edge_sharpness),
                    lnr(s.m.median_sharpness),
                    lnr(s.m.coarse_sharpness),
                ]
            },
            type_features: None,
        },
        Model {
            name: "before (v2): subject + shake coherence + median",
            shipped: false,
            features: |s| v2_features(&s.m),
            type_features: Some(coherence),
        },
        Model {
            name: "after (v3, shipped): v2 + detailed-tile fraction",
            shipped: true,
            features: |s| new_features(&s.m),
            type_features: Some(coherence),
        },
        Model {
            name: "detailed-tile fraction alone",
            shipped: false,
            features: |s| vec![f64::from(s.m.detailed_tile_fraction)],
            type_features: Some(coherence),
        },
        Model {
            name: "v3 without shake coherence",
            shipped: false,
            features: |s| {
                let v = new_features(&s.m);
                vec![v[0], v[2], v[3]]
            },
            type_features: Some(coherence),
        },
        Model {
            name: "v3 without median",
            shipped: false,
            features: |s| {
                let v = new_features(&s.m);
                vec![v[0], v[1], v[3]]
            },
            type_features: Some(coherence),
        },
        Model {
            name: "v3 + EXIF hand-held prior (not shipped)",
            shipped: false,
            features: |s| {
                let mut v = new_features(&s.m);
                v.push(handheld(&s.m));
                v
            },
            type_features: Some(|s| vec![f64::from(s.m.shake_coherence), handheld(&s.m)]),
        },
        Model {
            name: "Laplacian variance at 1024 px (baseline)",
            shipped: false,
            features: |s| vec![(s.laplacian + 1.0).ln()],
            type_features: None,
        },
    ]
}

/// "0.952" or "-" when a group has one class only.
fn f3(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

fn row(label: &str, s: &[Sample], p: &[f64], keep: &dyn Fn(&Sample) -> bool) -> String {
    let (sc, y): (Vec<f64>, Vec<bool>) = s
        .iter()
        .zip(p)
        .filter(|(x, _)| keep(x))
        .map(|(x, &v)| (v, x.blurred))
        .unzip();
    let c = Confusion::at(&sc, &y, 0.5);
    format!(
        "| {label} | {} | {} | {} | {}/{} | {}/{} |",
        sc.len(),
        f3(metrics::roc_auc(&sc, &y)),
        f3(c.balanced_accuracy()),
        c.tp,
        c.tp + c.fn_,
        c.tn,
        c.tn + c.fp
    )
}

/// The hand-held rule as a fixed prior on the out-of-fold log-odds of the shipped model, not
/// fitted (only 27 dev photos carry EXIF exposure and focal length, 7 of them blurred): z + k ·
/// clamp(stops, lo, 3) on photos that carry EXIF, optionally only where the image evidence is
/// ambivalent (|z| < m). Photos without EXIF keep their score and type by construction, so the
/// question is only whether it helps those that have it. Printed for the blur type (motion vs
/// defocus) and for the score, each with EXIF and without.
fn exif_prior(s: &[Sample], score: &[f64], motion: &[f64]) {
    let bound = |m: f64| {
        if m.is_finite() {
            format!("{m}")
        } else {
            "–".into()
        }
    };
    let logit = |p: f64| {
        let p = p.clamp(1e-9, 1.0 - 1e-9);
        (p / (1.0 - p)).ln()
    };
    let stops = |x: &Sample| x.m.handheld_stops.map(f64::from);
    let with = |x: &Sample| stops(x).is_some();
    let prior = |x: &Sample, p: f64, k: f64, lo: f64, m: f64| {
        let z = logit(p);
        match stops(x) {
            Some(st) if z.abs() < m => z + k * st.clamp(lo, 3.0),
            _ => z,
        }
    };
    println!("## The EXIF hand-held rule as a prior (fixed k, not fitted)\n");
    println!(
        "{} photos carry EXIF exposure time and focal length ({} blurred); the rest are unchanged by construction.\n",
        s.iter().filter(|x| with(x)).count(),
        s.iter().filter(|x| with(x) && x.blurred).count()
    );
    println!(
        "| blur type prior | k | stops clamped to | only where \\|z\\| < | type right, blurred with EXIF | without EXIF | real blurred | photos that flip |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---|");
    for (k, lo, m) in [
        (0.0, 0.0, f64::INFINITY),
        (0.5, 0.0, f64::INFINITY),
        (1.0, 0.0, f64::INFINITY),
        (2.0, 0.0, f64::INFINITY),
        (1.0, -2.0, f64::INFINITY),
        (1.0, 0.0, 1.0),
        (2.0, 0.0, 1.0),
    ] {
        let right = |keep: &dyn Fn(&Sample) -> bool| {
            let v: Vec<bool> = s
                .iter()
                .zip(motion)
                .filter(|(x, _)| x.blurred && keep(x))
                .map(|(x, &p)| (prior(x, p, k, lo, m) >= 0.0) == x.motion)
                .collect();
            format!("{}/{}", v.iter().filter(|&&r| r).count(), v.len())
        };
        let flips: Vec<String> = s
            .iter()
            .zip(motion)
            .filter(|&(x, &p)| x.blurred && (p >= 0.5) != (prior(x, p, k, lo, m) >= 0.0))
            .map(|(x, _)| {
                format!(
                    "{} ({}, {:.2} stops)",
                    x.file.trim_start_matches("images/"),
                    if x.motion { "motion" } else { "defocus" },
                    stops(x).unwrap_or(0.0)
                )
            })
            .collect();
        println!(
            "| {} | {k} | [{lo}, 3] | {} | {} | {} | {} | {} |",
            if k == 0.0 {
                "none (shipped)"
            } else {
                "motion + k·stops"
            },
            bound(m),
            right(&|x| with(x)),
            right(&|x| !with(x)),
            right(&|x| !x.synthetic),
            if flips.is_empty() {
                "none".into()
            } else {
                flips.join("; ")
            }
        );
    }
    println!();
    println!(
        "| score prior | k | only where \\|z\\| < | with EXIF: caught, kept | without EXIF: caught, kept | all: AUC, bal. acc. | photos that flip |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (k, m) in [
        (0.0, f64::INFINITY),
        (0.5, f64::INFINITY),
        (1.0, f64::INFINITY),
        (0.5, 1.0),
        (1.0, 1.0),
        (2.0, 1.0),
        (1.0, 0.5),
    ] {
        let q: Vec<f64> = s
            .iter()
            .zip(score)
            .map(|(x, &p)| sigmoid(prior(x, p, k, 0.0, m)))
            .collect();
        let cell = |keep: &dyn Fn(&Sample) -> bool| {
            let (sc, y): (Vec<f64>, Vec<bool>) = s
                .iter()
                .zip(&q)
                .filter(|(x, _)| keep(x))
                .map(|(x, &v)| (v, x.blurred))
                .unzip();
            let c = Confusion::at(&sc, &y, 0.5);
            (
                format!("{}/{}, {}/{}", c.tp, c.tp + c.fn_, c.tn, c.tn + c.fp),
                format!(
                    "{}, {}",
                    f3(metrics::roc_auc(&sc, &y)),
                    f3(c.balanced_accuracy())
                ),
            )
        };
        let flips: Vec<String> = s
            .iter()
            .zip(score.iter().zip(&q))
            .filter(|(_, (a, b))| (**a >= 0.5) != (**b >= 0.5))
            .map(|(x, (a, b))| {
                format!(
                    "{} ({}, {:.2} stops) {a:.2} → {b:.2}",
                    x.file.trim_start_matches("images/"),
                    if x.blurred { "blurred" } else { "sharp" },
                    stops(x).unwrap_or(0.0)
                )
            })
            .collect();
        println!(
            "| {} | {k} | {} | {} | {} | {} | {} |",
            if k == 0.0 {
                "none (shipped)"
            } else {
                "z + k·stops"
            },
            bound(m),
            cell(&|x| with(x)).0,
            cell(&|x| !with(x)).0,
            cell(&|_| true).1,
            if flips.is_empty() {
                "none".into()
            } else {
                flips.join("; ")
            }
        );
    }
    println!();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .expect("usage: fit_blur_model MANIFEST.csv [--wrong]");
    let show_wrong = args.iter().any(|a| a == "--wrong");
    let s = read_samples(Path::new(path));
    let fold = folds(&s);
    let y: Vec<bool> = s.iter().map(|x| x.blurred).collect();
    let ngroups = {
        let mut g: Vec<&str> = s.iter().map(|x| x.group.as_str()).collect();
        g.sort_unstable();
        g.dedup();
        g.len()
    };
    println!(
        "{} photos ({} blurred; {} real), {ngroups} groups in {FOLDS} folds of {:?} photos\n",
        s.len(),
        y.iter().filter(|&&b| b).count(),
        s.iter().filter(|x| !x.synthetic).count(),
        (0..FOLDS)
            .map(|k| fold.iter().filter(|&&f| f == k).count())
            .collect::<Vec<_>>()
    );

    let mut before_cv = Vec::new();
    let mut shipped_cv = Vec::new();
    let mut shipped_type = Vec::new();
    for model in models() {
        let x: Vec<Vec<f64>> = s.iter().map(|x| (model.features)(x)).collect();
        let p = cross_validate(&x, &y, &fold, &|_| true);
        let motion_p: Vec<f64> = match model.type_features {
            Some(tf) => {
                let tx: Vec<Vec<f64>> = s.iter().map(tf).collect();
                let ty: Vec<bool> = s.iter().map(|x| x.motion).collect();
                cross_validate(&tx, &ty, &fold, &|i| s[i].blurred)
            }
            None => s
                .iter()
                .map(|x| {
                    if f64::from(x.m.anisotropy) >= OLD_MOTION_ANISOTROPY {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect(),
        };
        println!("## {}\n", model.name);
        println!("| photos | n | AUC | balanced acc. @0.5 | blurred caught | sharp kept |");
        println!("|---|---:|---:|---:|---:|---:|");
        println!("{}", row("all", &s, &p, &|_| true));
        println!("{}", row("real", &s, &p, &|x| !x.synthetic));
        println!("{}", row("synthetic", &s, &p, &|x| x.synthetic));
        for sub in ["general", "bokeh", "lowlight", "partial", "large"] {
            println!(
                "{}",
                row(&format!("real, {sub}"), &s, &p, &|x| !x.synthetic
                    && x.subset == sub)
            );
        }
        let typed = |keep: &dyn Fn(&Sample) -> bool| {
            let v: Vec<(&Sample, f64)> = s
                .iter()
                .zip(&motion_p)
                .filter(|(x, _)| x.blurred && keep(x))
                .map(|(x, &m)| (x, m))
                .collect();
            let right = v.iter().filter(|(x, m)| (*m >= 0.5) == x.motion).count();
            format!("{right}/{} = {:.3}", v.len(), right as f64 / v.len() as f64)
        };
        if model.name.starts_with("Laplacian") {
            println!("\nblur type: none (the baseline has no blur type)\n");
        } else {
            println!(
                "\nblur type right, of all blurred photos: all {}; real {} (motion {}, defocus {})\n",
                typed(&|_| true),
                typed(&|x| !x.synthetic),
                typed(&|x| !x.synthetic && x.motion),
                typed(&|x| !x.synthetic && !x.motion),
            );
        }
        // Photos that carry EXIF exposure and focal length: does the prior help there?
        let exif_rows = row("photos with EXIF exposure", &s, &p, &|x| {
            x.m.handheld_stops.is_some()
        });
        println!("EXIF subset: {exif_rows}\n");
        if model.name.starts_with("before (v2)") {
            before_cv = p.clone();
        }
        if model.shipped {
            shipped_cv = p;
            shipped_type = motion_p;
        }
    }

    exif_prior(&s, &shipped_cv, &shipped_type);

    println!("## Fold by fold: before (v2) vs after (v3)\n");
    println!(
        "| fold | photos | real | v2 AUC | v3 AUC | v2 bal. acc. | v3 bal. acc. | v2 real bal. acc. | v3 real bal. acc. |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for k in 0..FOLDS {
        let fig = |p: &[f64], real_only: bool| {
            let (sc, yy): (Vec<f64>, Vec<bool>) = s
                .iter()
                .zip(p)
                .zip(&fold)
                .filter(|((x, _), f)| **f == k && (!real_only || !x.synthetic))
                .map(|((x, &v), _)| (v, x.blurred))
                .unzip();
            let c = Confusion::at(&sc, &yy, 0.5);
            (metrics::roc_auc(&sc, &yy), c.balanced_accuracy(), sc.len())
        };
        let (b, a) = (fig(&before_cv, false), fig(&shipped_cv, false));
        let (br, ar) = (fig(&before_cv, true), fig(&shipped_cv, true));
        println!(
            "| {k} | {} | {} | {} | {} | {} | {} | {} | {} |",
            b.2,
            br.2,
            f3(b.0),
            f3(a.0),
            f3(b.1),
            f3(a.1),
            f3(br.1),
            f3(ar.1)
        );
    }
    println!();

    if show_wrong {
        println!("## Still wrong in cross-validation (shipped model)\n");
        for (i, x) in s.iter().enumerate() {
            let verdict_wrong = (shipped_cv[i] >= 0.5) != x.blurred;
            let type_wrong = x.blurred && (shipped_type[i] >= 0.5) != x.motion;
            if verdict_wrong || type_wrong {
                println!(
                    "- {} ({}, {}{}): score {:.3}{}{}; subject {:.3}, coherence {:.3}, median {:.3}, detailed {:.3}",
                    x.file,
                    if x.blurred {
                        if x.motion { "motion" } else { "defocus" }
                    } else {
                        "sharp"
                    },
                    if x.synthetic { "synthetic " } else { "" },
                    x.subset,
                    shipped_cv[i],
                    if verdict_wrong { ", verdict wrong" } else { "" },
                    if type_wrong { ", type wrong" } else { "" },
                    x.m.subject_sharpness,
                    x.m.shake_coherence,
                    x.m.median_sharpness,
                    x.m.detailed_tile_fraction,
                );
            }
        }
        println!();
    }

    // The shipped constants: fitted on every photo.
    let x: Vec<Vec<f64>> = s.iter().map(|x| new_features(&x.m)).collect();
    let w = fit(&x, &y);
    let (tx, ty): (Vec<Vec<f64>>, Vec<bool>) = s
        .iter()
        .filter(|x| x.blurred)
        .map(|x| (vec![f64::from(x.m.shake_coherence)], x.motion))
        .unzip();
    let tw = fit(&tx, &ty);
    println!(
        "## Constants for shared/src/kernel/model.rs (fitted on all {} photos)\n",
        s.len()
    );
    println!(
        "pub const INTERCEPT: f64 = {:.4};\npub const W_SUBJECT: f64 = {:.4};\npub const W_COHERENCE: f64 = {:.4};\npub const W_MEDIAN: f64 = {:.4};\npub const W_DETAILED: f64 = {:.4};",
        w[0], w[1], w[2], w[3], w[4]
    );
    println!(
        "pub const TYPE_INTERCEPT: f64 = {:.4};\npub const TYPE_W_COHERENCE: f64 = {:.4};  // motion when coherence >= {:.4}",
        tw[0],
        tw[1],
        -tw[0] / tw[1]
    );
    let in_sample: Vec<f64> = x.iter().map(|v| predict(&w, v)).collect();
    println!("\nin-sample (reference only):");
    println!("{}", row("all", &s, &in_sample, &|_| true));
    println!("{}", row("real", &s, &in_sample, &|x| !x.synthetic));
}
