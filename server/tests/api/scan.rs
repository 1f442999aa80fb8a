//! `classify scan` as a user runs it: a folder of photos in, one verdict per photo out, a broken
//! file reported beside the others and the exit status saying so.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn classify() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_classify"));
    for var in ["CLASSIFY_THRESHOLD", "CLASSIFY_JOBS", "RUST_BACKTRACE"] {
        cmd.env_remove(var);
    }
    cmd
}

const N: u32 = 400;

/// A deterministic mosaic of small rectangles: crisp edges in every direction.
fn mosaic() -> Vec<f32> {
    let mut state = 7u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let n = N as usize;
    let mut img = vec![0.0; n * n];
    for _ in 0..9000 {
        let (x0, y0) = (next() as usize % n, next() as usize % n);
        let (w, h) = (4 + next() as usize % 8, 4 + next() as usize % 8);
        let v = (next() % 256) as f32;
        for y in y0..(y0 + h).min(n) {
            for x in x0..(x0 + w).min(n) {
                img[y * n + x] = v;
            }
        }
    }
    img
}

/// Horizontal camera shake over `len` pixels.
fn shake(img: &[f32], len: i32) -> Vec<f32> {
    let n = N as i32;
    let mut out = vec![0.0; img.len()];
    for y in 0..n {
        for x in 0..n {
            let mut acc = 0.0;
            for d in -len / 2..=len / 2 {
                acc += img[(y * n + (x + d).clamp(0, n - 1)) as usize];
            }
            out[(y * n + x) as usize] = acc / (len / 2 * 2 + 1) as f32;
        }
    }
    out
}

fn save(img: &[f32], path: &Path) {
    let rgb = image::RgbImage::from_fn(N, N, |x, y| {
        let v = img[(y * N + x) as usize].round().clamp(0.0, 255.0) as u8;
        image::Rgb([v, v, v])
    });
    rgb.save(path).unwrap();
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn entry<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|v| v["file"].as_str().is_some_and(|f| f.ends_with(name)))
        .unwrap_or_else(|| panic!("{name} missing from {lines:?}"))
}

#[test]
fn scan_judges_sharp_and_shaken_photos_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let base = mosaic();
    save(&base, &dir.path().join("sharp.png"));
    std::fs::create_dir(dir.path().join("trip")).unwrap();
    save(&shake(&base, 17), &dir.path().join("trip/shaken.jpg"));
    std::fs::write(dir.path().join("notes.txt"), "not a photo").unwrap();

    let out = classify()
        .args(["scan", "--json", "--jobs", "2"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines = json_lines(&out.stdout);
    assert_eq!(
        lines.len(),
        2,
        "notes.txt is skipped in a folder: {lines:?}"
    );

    let sharp = entry(&lines, "sharp.png");
    assert_eq!(sharp["is_blurred"], false, "{sharp}");
    assert_eq!(sharp["blur_type"], "none");
    assert!(sharp["blur_score"].as_f64().unwrap() < 0.5);
    assert!(sharp["error"].is_null());

    let shaken = entry(&lines, "shaken.jpg");
    assert_eq!(shaken["is_blurred"], true, "{shaken}");
    assert_eq!(shaken["blur_type"], "motion", "{shaken}");
    let angle = shaken["motion_angle_deg"].as_f64().unwrap();
    assert!(
        !(15.0..=165.0).contains(&angle),
        "horizontal shake, got {angle}°"
    );

    // A stricter threshold turns the shaken photo's verdict, not its score.
    let out = classify()
        .args(["scan", "--json", "--threshold", "1"])
        .arg(dir.path().join("trip/shaken.jpg"))
        .output()
        .unwrap();
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["is_blurred"], false);
    assert_eq!(lines[0]["blur_score"], shaken["blur_score"]);
}

#[test]
fn a_corrupt_file_is_reported_and_the_others_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let base = mosaic();
    save(&base, &dir.path().join("a_sharp.png"));
    save(&shake(&base, 17), &dir.path().join("c_shaken.png"));
    let good = std::fs::read(dir.path().join("a_sharp.png")).unwrap();
    std::fs::write(dir.path().join("b_broken.png"), &good[..good.len() / 3]).unwrap();
    let text = dir.path().join("readme.txt");
    std::fs::write(&text, "hello").unwrap();

    let out = classify()
        .args(["scan", "--json"])
        .arg(dir.path())
        .arg(&text)
        .arg(dir.path().join("missing.jpg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(entry(&lines, "a_sharp.png")["is_blurred"], false);
    assert_eq!(entry(&lines, "c_shaken.png")["is_blurred"], true);
    for (name, reason) in [
        ("b_broken.png", "corrupt"),
        ("readme.txt", "unsupported"),
        ("missing.jpg", "cannot read"),
    ] {
        let e = entry(&lines, name);
        let error = e["error"].as_str().unwrap_or_else(|| panic!("{e}"));
        assert!(error.contains(reason), "{name}: {error}");
        assert!(e["blur_score"].is_null());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("3 unreadable"), "{stderr}");
}

#[test]
fn table_and_csv_output() {
    let dir = tempfile::tempdir().unwrap();
    save(&mosaic(), &dir.path().join("one, two.png"));

    let out = classify().arg("scan").arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    let mut rows = table.lines();
    let head = rows.next().unwrap();
    for col in ["FILE", "SCORE", "VERDICT", "TYPE"] {
        assert!(head.contains(col), "{table}");
    }
    let row = rows.next().unwrap();
    assert!(
        row.contains("one, two.png") && row.contains("sharp"),
        "{table}"
    );

    let out = classify()
        .args(["scan", "--csv"])
        .arg(dir.path())
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    let mut rows = csv.lines();
    assert_eq!(
        rows.next().unwrap(),
        "file,blur_score,is_blurred,blur_type,motion_angle_deg,error"
    );
    let row = rows.next().unwrap();
    assert!(
        row.starts_with('"') && row.contains("one, two.png\""),
        "{csv}"
    );
    assert!(row.contains(",false,none,"), "{csv}");
}

#[test]
fn eval_reports_kernel_and_baseline_on_a_tiny_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("img")).unwrap();
    let base = mosaic();
    save(&base, &dir.path().join("img/sharp1.png"));
    save(
        &base[..].iter().rev().copied().collect::<Vec<_>>(),
        &dir.path().join("img/sharp2.jpg"),
    );
    save(&shake(&base, 17), &dir.path().join("img/shaken1.png"));
    save(&shake(&base, 25), &dir.path().join("img/shaken2.jpg"));
    let manifest = dir.path().join("manifest.csv");
    std::fs::write(
        &manifest,
        "file,label,blur_type,source,license,synthetic,subset\n\
         img/sharp1.png,sharp,none,\"made, here\",cc0,no,general\n\
         img/sharp2.jpg,sharp,none,here,cc0,no,general\n\
         img/shaken1.png,blurred,motion,here,cc0,yes,general\n\
         img/shaken2.jpg,blurred,motion,here,cc0,yes,general\n",
    )
    .unwrap();

    let out = classify()
        .args(["eval", "--json"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["n"], 4);
    let all = &report["groups"][0];
    assert_eq!(all["group"], "all");
    assert_eq!(all["kernel"]["auc"], 1.0, "{report}");
    assert_eq!(all["kernel"]["balanced_accuracy"], 1.0, "{report}");
    assert!(all["baseline"]["auc"].is_number());
    let groups: Vec<&str> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    for g in [
        "blur_type=motion",
        "synthetic=yes",
        "synthetic=no",
        "subset=general",
    ] {
        assert!(groups.contains(&g), "{groups:?}");
    }
    assert_eq!(report["blur_type"]["all"], 2);
    assert_eq!(report["blur_type"]["all_right"], 2, "{report}");

    // The text report; a missing photo is listed and turns the exit status.
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("img/gone.jpg,sharp,none,here,cc0,no,general\n");
    std::fs::write(&manifest, text).unwrap();
    let out = classify().arg("eval").arg(&manifest).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "4 photos",
        "1 unreadable",
        "img/gone.jpg",
        "kernel AUC",
        "baseline AUC",
        "motion vs defocus",
    ] {
        assert!(stdout.contains(needle), "{needle} missing:\n{stdout}");
    }
}
