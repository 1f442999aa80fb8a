//! Does judging a Google photo from a smaller copy keep its verdict? For every photo of a
//! labelled manifest: the score of the file itself (what an upload gets) beside the score of a
//! copy scaled to fit within S×S and re-encoded as JPEG, as Google serves `=wS-hS` (its
//! resampling filter is not documented: Lanczos3 and quality 90 stand in for it).
//!
//! ```sh
//! cargo run --release -p server --example google_size -- ../shared/data/blur-dev/manifest.csv
//! ```
//!
//! Prints, per S, the median and largest score change, the verdicts flipped at 0.5, and the
//! balanced accuracy of both against the labels.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::PathBuf;

use image::imageops::FilterType;
use server::media::{MediaLimits, decode_gray};

fn score(bytes: &[u8]) -> Option<f64> {
    let decoded = decode_gray(bytes, &MediaLimits::default()).ok()?;
    decoded.judge().ok().map(|r| f64::from(r.blur_score))
}

fn scaled(bytes: &[u8], side: u32) -> Option<Vec<u8>> {
    let img = image::load_from_memory(bytes).ok()?;
    let img = if img.width().max(img.height()) > side {
        img.resize(side, side, FilterType::Lanczos3)
    } else {
        img
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 90);
    img.to_rgb8().write_with_encoder(encoder).ok()?;
    Some(out)
}

fn balanced(rows: &[(bool, f64)]) -> f64 {
    let (mut tp, mut p, mut tn, mut n) = (0.0, 0.0, 0.0, 0.0);
    for (blurred, s) in rows {
        if *blurred {
            p += 1.0;
            if *s >= 0.5 {
                tp += 1.0;
            }
        } else {
            n += 1.0;
            if *s < 0.5 {
                tn += 1.0;
            }
        }
    }
    (tp / p + tn / n) / 2.0
}

fn main() {
    let manifest = PathBuf::from(std::env::args().nth(1).expect("manifest.csv"));
    let root = manifest.parent().unwrap().to_path_buf();
    let mut reader = csv::Reader::from_path(&manifest).unwrap();
    let rows: Vec<(PathBuf, bool)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (root.join(&r[0]), &r[1] == "blurred"))
        .collect();
    let mut full = Vec::new();
    let mut files = Vec::new();
    for (path, blurred) in &rows {
        let bytes = std::fs::read(path).unwrap();
        if let Some(s) = score(&bytes) {
            full.push((*blurred, s));
            files.push(bytes);
        }
    }
    println!(
        "{} photos; full size: balanced accuracy {:.3}",
        full.len(),
        balanced(&full)
    );
    println!("side  median|d|  max|d|  flips@0.5  balanced_acc");
    for side in [512_u32, 768, 1024, 2048] {
        let mut deltas = Vec::new();
        let mut flips = 0;
        let mut judged = Vec::new();
        for ((blurred, s_full), bytes) in full.iter().zip(&files) {
            let s = scaled(bytes, side)
                .and_then(|b| score(&b))
                .unwrap_or(f64::NAN);
            deltas.push((s - s_full).abs());
            if (s >= 0.5) != (*s_full >= 0.5) {
                flips += 1;
            }
            judged.push((*blurred, s));
        }
        deltas.sort_by(f64::total_cmp);
        println!(
            "{side:>4}  {:>9.4}  {:>6.3}  {flips:>9}  {:>12.3}",
            deltas[deltas.len() / 2],
            deltas[deltas.len() - 1],
            balanced(&judged)
        );
    }
}
