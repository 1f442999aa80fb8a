//! `classify eval`: measure the blur judgement on a labelled set, beside the baseline.
//!
//! - The manifest is the blur-dev CSV: `file,label,blur_type,source,license,synthetic,subset`
//!   (only `file` and `label` are required); files are relative to the manifest's folder.
//! - The kernel is judged at the user threshold (default 0.5, its calibrated cut). The baseline,
//!   variance of the Laplacian (low = blurred), is computed in the same run on the same decoded
//!   pixels, with its threshold fitted on this very set (best balanced accuracy), which
//!   flatters it.
//! - Reported: ROC AUC, balanced accuracy and confusion matrix overall; AUC and balanced
//!   accuracy per blur type, per `synthetic` and per `subset` value; motion vs defocus accuracy
//!   on the blurred photos.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;
use shared::kernel::metrics::{Confusion, best_threshold, roc_auc};
use shared::kernel::{BlurType, laplacian_variance};

use super::scan::{FileError, process_all, read_limited};
use crate::config::{EvalArgs, jobs_or_cores};
use crate::media::{MediaLimits, decode_gray};

/// One labelled photo of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Path as written in the manifest.
    pub file: String,
    /// `label == "blurred"`.
    pub blurred: bool,
    /// `blur_type` column (`none`, `motion`, `defocus`), empty if absent.
    pub blur_type: String,
    /// `synthetic` column, empty if absent.
    pub synthetic: String,
    /// `subset` column, empty if absent.
    pub subset: String,
}

/// Parses the manifest text (CSV with a header line); errors name the line.
pub fn parse_manifest(text: &str) -> anyhow::Result<Vec<Sample>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader.headers()?.clone();
    if header.iter().all(str::is_empty) {
        bail!("the manifest is empty");
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(c_file), Some(c_label)) = (col("file"), col("label")) else {
        bail!("the manifest header must have `file` and `label` columns");
    };
    let (c_type, c_syn, c_subset) = (col("blur_type"), col("synthetic"), col("subset"));
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .unwrap_or_default()
                .to_string()
        };
        let file = get(Some(c_file));
        if file.is_empty() {
            bail!("line {line}: no file");
        }
        let blurred = match get(Some(c_label)).as_str() {
            "blurred" => true,
            "sharp" => false,
            other => bail!("line {line}: label `{other}` is neither `blurred` nor `sharp`"),
        };
        out.push(Sample {
            file,
            blurred,
            blur_type: get(c_type),
            synthetic: get(c_syn),
            subset: get(c_subset),
        });
    }
    Ok(out)
}

/// Reads one grouping column of a sample.
type Column = fn(&Sample) -> &str;

/// Kernel and baseline outputs for one photo.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored {
    score: f64,
    kind_at_threshold: BlurType,
    /// Motion or defocus whatever the score (the type the kernel would give if blurred).
    kind_if_blurred: BlurType,
    laplacian: f64,
}

fn score_file(path: &Path, limits: &MediaLimits, threshold: f32) -> Result<Scored, FileError> {
    let bytes = read_limited(path, limits)?;
    let decoded = decode_gray(&bytes, limits)?;
    let report = decoded.judge()?;
    Ok(Scored {
        score: f64::from(report.blur_score),
        kind_at_threshold: report.blur_type_at(threshold),
        kind_if_blurred: report.blur_type_at(0.0),
        laplacian: laplacian_variance(&decoded.gray),
    })
}

/// AUC and balanced accuracy of one method on one group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MethodMetrics {
    /// ROC AUC; `None` unless both classes are present.
    pub auc: Option<f64>,
    /// Balanced accuracy at the method's threshold; with one class, that class's rate.
    pub balanced_accuracy: Option<f64>,
    /// Counts at the method's threshold.
    pub confusion: ConfusionCounts,
}

/// Confusion counts (positive = blurred).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConfusionCounts {
    /// Blurred, called blurred.
    pub blurred_as_blurred: usize,
    /// Blurred, called sharp.
    pub blurred_as_sharp: usize,
    /// Sharp, called blurred.
    pub sharp_as_blurred: usize,
    /// Sharp, called sharp.
    pub sharp_as_sharp: usize,
}

impl From<Confusion> for ConfusionCounts {
    fn from(c: Confusion) -> Self {
        Self {
            blurred_as_blurred: c.tp,
            blurred_as_sharp: c.fn_,
            sharp_as_blurred: c.fp,
            sharp_as_sharp: c.tn,
        }
    }
}

/// Both methods on one group of photos.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// `all`, or `column=value`.
    pub group: String,
    /// Photos in the group.
    pub n: usize,
    /// Blurred photos in the group.
    pub n_blurred: usize,
    /// The kernel at the user threshold.
    pub kernel: MethodMetrics,
    /// The Laplacian variance at the fitted threshold.
    pub baseline: MethodMetrics,
}

/// Motion vs defocus on the blurred photos whose true type is one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TypeReport {
    /// Blurred photos the kernel flags as blurred (at the threshold).
    pub flagged: usize,
    /// Of those, how many get the right type.
    pub flagged_right: usize,
    /// All blurred photos with a known type, typed whatever their score.
    pub all: usize,
    /// Of those, how many get the right type.
    pub all_right: usize,
    /// What always answering the more common type would score on `all`.
    pub majority_rate: Option<f64>,
}

/// Everything `classify eval` measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// The manifest evaluated.
    pub manifest: String,
    /// Photos read and scored.
    pub n: usize,
    /// Photos that could not be read, with the reason.
    pub unreadable: Vec<(String, String)>,
    /// The kernel's threshold (user's choice).
    pub kernel_threshold: f64,
    /// The baseline's threshold: Laplacian variance at or below it means blurred.
    pub baseline_variance_threshold: f64,
    /// Overall, then per blur type, per synthetic and per subset.
    pub groups: Vec<GroupReport>,
    /// Motion vs defocus.
    pub blur_type: TypeReport,
}

fn method(scores: &[f64], truth: &[bool], threshold: f64) -> MethodMetrics {
    let c = Confusion::at(scores, truth, threshold);
    MethodMetrics {
        auc: roc_auc(scores, truth),
        balanced_accuracy: c.balanced_accuracy(),
        confusion: c.into(),
    }
}

fn evaluate(
    samples: &[&Sample],
    scored: &[Scored],
    kernel_threshold: f64,
    manifest: String,
    unreadable: Vec<(String, String)>,
) -> EvalReport {
    let truth: Vec<bool> = samples.iter().map(|s| s.blurred).collect();
    let kernel: Vec<f64> = scored.iter().map(|s| s.score).collect();
    // Low variance means blurred: negate so that higher means "more blurred" for both.
    let baseline: Vec<f64> = scored.iter().map(|s| -s.laplacian).collect();
    let (baseline_t, _) = best_threshold(&baseline, &truth).unwrap_or((0.0, 0.0));

    let group = |name: String, idx: &[usize]| {
        let pick = |v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let t: Vec<bool> = idx.iter().map(|&i| truth[i]).collect();
        GroupReport {
            group: name,
            n: idx.len(),
            n_blurred: t.iter().filter(|&&b| b).count(),
            kernel: method(&pick(&kernel), &t, kernel_threshold),
            baseline: method(&pick(&baseline), &t, baseline_t),
        }
    };
    let all: Vec<usize> = (0..samples.len()).collect();
    let mut groups = vec![group("all".into(), &all)];
    let columns: [(&str, Column); 3] = [
        ("blur_type", |s| &s.blur_type),
        ("synthetic", |s| &s.synthetic),
        ("subset", |s| &s.subset),
    ];
    for (column, value_of) in columns {
        let mut values: Vec<&str> = Vec::new();
        for s in samples {
            let v = value_of(s);
            if !v.is_empty() && !values.contains(&v) {
                values.push(v);
            }
        }
        for v in values {
            let idx: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&i| value_of(samples[i]) == v)
                .collect();
            groups.push(group(format!("{column}={v}"), &idx));
        }
    }

    let want = |s: &Sample| match s.blur_type.as_str() {
        "motion" => Some(BlurType::Motion),
        "defocus" => Some(BlurType::Defocus),
        _ => None,
    };
    let mut types = TypeReport {
        flagged: 0,
        flagged_right: 0,
        all: 0,
        all_right: 0,
        majority_rate: None,
    };
    let mut motion = 0usize;
    for (s, r) in samples.iter().zip(scored) {
        let Some(want) = want(s).filter(|_| s.blurred) else {
            continue;
        };
        motion += usize::from(want == BlurType::Motion);
        types.all += 1;
        types.all_right += usize::from(r.kind_if_blurred == want);
        if r.kind_at_threshold != BlurType::None {
            types.flagged += 1;
            types.flagged_right += usize::from(r.kind_at_threshold == want);
        }
    }
    if types.all > 0 {
        types.majority_rate = Some(motion.max(types.all - motion) as f64 / types.all as f64);
    }

    EvalReport {
        manifest,
        n: samples.len(),
        unreadable,
        kernel_threshold,
        baseline_variance_threshold: -baseline_t,
        groups,
        blur_type: types,
    }
}

/// Runs `classify eval`; the report is also returned for tests.
pub fn run(args: &EvalArgs) -> anyhow::Result<EvalReport> {
    let text = std::fs::read_to_string(&args.manifest)
        .with_context(|| format!("cannot read {}", args.manifest.display()))?;
    let samples =
        parse_manifest(&text).with_context(|| format!("in {}", args.manifest.display()))?;
    let root = args
        .manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let files: Vec<PathBuf> = samples.iter().map(|s| root.join(&s.file)).collect();
    let limits = args.limits.media_limits();
    let threshold = args.threshold;

    let mut kept = Vec::new();
    let mut scored = Vec::new();
    let mut unreadable = Vec::new();
    let work = |path: &Path| score_file(path, &limits, threshold);
    process_all(
        &files,
        jobs_or_cores(args.jobs),
        work,
        |i, result| match result {
            Ok(s) => {
                kept.push(&samples[i]);
                scored.push(s);
            }
            Err(err) => unreadable.push((samples[i].file.clone(), err.to_string())),
        },
    );
    if kept.is_empty() {
        bail!("none of the {} photos could be read", samples.len());
    }
    Ok(evaluate(
        &kept,
        &scored,
        f64::from(threshold),
        args.manifest.display().to_string(),
        unreadable,
    ))
}

fn fmt3(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

/// The human-readable report.
pub fn render(r: &EvalReport) -> String {
    let mut out = String::new();
    let all = &r.groups[0];
    let _ = writeln!(
        out,
        "{}: {} photos ({} blurred, {} sharp), {} unreadable",
        r.manifest,
        r.n,
        all.n_blurred,
        r.n - all.n_blurred,
        r.unreadable.len()
    );
    for (file, err) in &r.unreadable {
        let _ = writeln!(out, "  unreadable: {file}: {err}");
    }
    let _ = writeln!(
        out,
        "kernel: blurred when score >= {:.2}; baseline: blurred when Laplacian variance <= {:.1} \
         (threshold fitted on this set)",
        r.kernel_threshold, r.baseline_variance_threshold
    );
    let _ = writeln!(
        out,
        "bacc = balanced accuracy; in one-class groups it is that class's recall\n"
    );
    let width = r
        .groups
        .iter()
        .map(|g| g.group.len())
        .max()
        .unwrap_or(3)
        .max(5);
    let _ = writeln!(
        out,
        "{:<width$} {:>4} {:>4}   {:>10} {:>11}   {:>12} {:>13}",
        "group", "n", "blur", "kernel AUC", "kernel bacc", "baseline AUC", "baseline bacc"
    );
    for g in &r.groups {
        let _ = writeln!(
            out,
            "{:<width$} {:>4} {:>4}   {:>10} {:>11}   {:>12} {:>13}",
            g.group,
            g.n,
            g.n_blurred,
            fmt3(g.kernel.auc),
            fmt3(g.kernel.balanced_accuracy),
            fmt3(g.baseline.auc),
            fmt3(g.baseline.balanced_accuracy)
        );
    }
    let (k, b) = (&all.kernel.confusion, &all.baseline.confusion);
    let _ = writeln!(
        out,
        "\nconfusion (rows = truth)       kernel@{:.2}         baseline@fitted",
        r.kernel_threshold
    );
    let _ = writeln!(
        out,
        "                           blurred  sharp      blurred  sharp"
    );
    let _ = writeln!(
        out,
        "  truly blurred            {:>7} {:>6}      {:>7} {:>6}",
        k.blurred_as_blurred, k.blurred_as_sharp, b.blurred_as_blurred, b.blurred_as_sharp
    );
    let _ = writeln!(
        out,
        "  truly sharp              {:>7} {:>6}      {:>7} {:>6}",
        k.sharp_as_blurred, k.sharp_as_sharp, b.sharp_as_blurred, b.sharp_as_sharp
    );
    let t = &r.blur_type;
    let rate = |right: usize, n: usize| fmt3((n > 0).then(|| right as f64 / n as f64));
    let _ = writeln!(
        out,
        "\nmotion vs defocus (baseline: no blur type; always answering the commoner type: {})",
        fmt3(t.majority_rate)
    );
    let _ = writeln!(
        out,
        "  blurred photos flagged blurred: {}/{} right = {}",
        t.flagged_right,
        t.flagged,
        rate(t.flagged_right, t.flagged)
    );
    let _ = writeln!(
        out,
        "  all blurred photos:             {}/{} right = {}",
        t.all_right,
        t.all,
        rate(t.all_right, t.all)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parsing_needs_file_and_label_and_tolerates_quotes() {
        let m = parse_manifest(
            "file,label,blur_type,source,license,synthetic,subset\n\
             a.jpg,sharp,none,\"x, y\",cc,no,general\n\
             \n\
             b.png,blurred,motion,s,l,yes,general\n",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].file, "b.png");
        assert!(m[1].blurred && !m[0].blurred);
        assert_eq!(
            (m[0].synthetic.as_str(), m[0].subset.as_str()),
            ("no", "general")
        );

        let minimal = parse_manifest("label,file\nsharp,x.jpg\n").unwrap();
        assert_eq!(minimal[0].blur_type, "");
        assert!(parse_manifest("").is_err());
        assert!(parse_manifest("file\nx.jpg\n").is_err());
        let err = parse_manifest("file,label\nx.jpg,fuzzy\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    fn sample(blurred: bool, kind: &str, subset: &str) -> Sample {
        Sample {
            file: "f".into(),
            blurred,
            blur_type: kind.into(),
            synthetic: "no".into(),
            subset: subset.into(),
        }
    }

    fn scored(score: f64, kind: BlurType, laplacian: f64) -> Scored {
        Scored {
            score,
            kind_at_threshold: if score >= 0.5 { kind } else { BlurType::None },
            kind_if_blurred: kind,
            laplacian,
        }
    }

    #[test]
    fn metrics_groups_and_types_are_computed() {
        let samples = [
            sample(false, "none", "a"),
            sample(false, "none", "b"),
            sample(true, "motion", "a"),
            sample(true, "defocus", "b"),
            sample(true, "motion", "b"),
        ];
        let scores = [
            scored(0.1, BlurType::Defocus, 500.0),
            scored(0.6, BlurType::Motion, 50.0),
            scored(0.9, BlurType::Motion, 100.0),
            scored(0.8, BlurType::Motion, 10.0),
            scored(0.3, BlurType::Motion, 20.0),
        ];
        let refs: Vec<&Sample> = samples.iter().collect();
        let r = evaluate(&refs, &scores, 0.5, "m.csv".into(), vec![]);
        let all = &r.groups[0];
        assert_eq!((all.group.as_str(), all.n, all.n_blurred), ("all", 5, 3));
        // Kernel: blurred 0.9, 0.8, 0.3 vs sharp 0.1, 0.6 → 5 of 6 pairs ordered right.
        assert!((all.kernel.auc.unwrap() - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(all.kernel.confusion.blurred_as_blurred, 2);
        assert_eq!(all.kernel.confusion.sharp_as_blurred, 1);
        // Baseline: variances 100, 10, 20 (blurred) vs 500, 50: 5 of 6 pairs.
        assert!((all.baseline.auc.unwrap() - 5.0 / 6.0).abs() < 1e-12);
        let names: Vec<&str> = r.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(
            names,
            [
                "all",
                "blur_type=none",
                "blur_type=motion",
                "blur_type=defocus",
                "synthetic=no",
                "subset=a",
                "subset=b"
            ]
        );
        // Types: flagged blurred = rows 2 (motion, right) and 3 (defocus, called motion).
        assert_eq!((r.blur_type.flagged, r.blur_type.flagged_right), (2, 1));
        assert_eq!((r.blur_type.all, r.blur_type.all_right), (3, 2));
        assert_eq!(r.blur_type.majority_rate, Some(2.0 / 3.0));
        let text = render(&r);
        assert!(
            text.contains("kernel AUC") && text.contains("subset=b"),
            "{text}"
        );
    }
}
