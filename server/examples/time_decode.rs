//! Per-photo timing of the server's pipeline, for `bench/compare.sh`: for each
//! image in a folder (sorted, one thread), `reps` runs of `decode_gray` and of
//! `analyze`; prints one line per file and the medians (over files of the
//! per-file medians) of decode, kernel-only and decode+kernel, in ms.
//!
//! `cargo run --release -p server --example time_decode -- DIR [REPS]`

use server::media::{MediaLimits, decode_gray};
use shared::kernel::analyze;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: time_decode DIR [REPS]");
        return ExitCode::from(2);
    };
    let reps: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    files.retain(|p| p.extension().is_some_and(|e| e == "jpg" || e == "jpeg"));
    files.sort();
    let limits = MediaLimits::default();
    let (mut dec, mut ker, mut tot) = (Vec::new(), Vec::new(), Vec::new());
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let (mut d, mut k, mut t) = (Vec::new(), Vec::new(), Vec::new());
        let mut score = f32::NAN;
        for _ in 0..reps {
            let t0 = Instant::now();
            let Ok(img) = decode_gray(&bytes, &limits) else {
                break;
            };
            let d_ms = ms(t0);
            let t1 = Instant::now();
            let Ok(report) = analyze(&img.gray, Some(&img.exposure)) else {
                break;
            };
            k.push(ms(t1));
            t.push(ms(t0));
            d.push(d_ms);
            score = report.blur_score;
        }
        if t.is_empty() {
            eprintln!("skipped {}", path.display());
            continue;
        }
        let (dm, km, tm) = (median(&mut d), median(&mut k), median(&mut t));
        println!(
            "{}\tdecode {dm:.2}\tkernel {km:.2}\ttotal {tm:.2}\tscore {score:.4}",
            path.display()
        );
        dec.push(dm);
        ker.push(km);
        tot.push(tm);
    }
    println!(
        "MEDIAN_MS files={} decode={:.3} kernel={:.3} decode_kernel={:.3}",
        tot.len(),
        median(&mut dec),
        median(&mut ker),
        median(&mut tot)
    );
    ExitCode::SUCCESS
}
