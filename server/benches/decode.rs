//! Decode + analyze of one 2048-px JPEG, the server's per-photo cost.
//!
//! The JPEG is made here at quality 90 with the image crate's encoder: from the
//! first real photo in `/work/shared/data/blur-dev/images` (or
//! `$CLASSIFY_BENCH_PHOTO`) resized to a 2048-px long side, else from a
//! photo-like synthetic texture (`shared::kernel::samples`).
//!
//! `cargo bench -p server --bench decode`
#![allow(clippy::expect_used)] // bench setup: a failure should abort the run

use criterion::{Criterion, criterion_group, criterion_main};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{ImageReader, RgbImage};
use server::media::{MediaLimits, decode_gray};
use shared::kernel::{analyze, samples};
use std::hint::black_box;
use std::path::PathBuf;

const DEV_PHOTOS: &str = "/work/shared/data/blur-dev/images";

/// A real photo if one is around, resized to a 2048-px long side.
fn real_photo() -> Option<(String, RgbImage)> {
    let path = match std::env::var_os("CLASSIFY_BENCH_PHOTO") {
        Some(p) => PathBuf::from(p),
        None => {
            let mut names: Vec<PathBuf> = std::fs::read_dir(DEV_PHOTOS)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("real_div2k_") && n.ends_with(".jpg"))
                })
                .collect();
            names.sort();
            names.into_iter().next()?
        }
    };
    let rgb = ImageReader::open(&path).ok()?.decode().ok()?.to_rgb8();
    let (w, h) = rgb.dimensions();
    let scale = 2048.0 / f64::from(w.max(h));
    let (nw, nh) = (
        (f64::from(w) * scale).round() as u32,
        (f64::from(h) * scale).round() as u32,
    );
    let resized = image::imageops::resize(&rgb, nw, nh, FilterType::Triangle);
    Some((path.display().to_string(), resized))
}

/// Photo-like fallback: the synthetic texture, lightly tinted.
fn synthetic() -> RgbImage {
    let gray = samples::bench_image().expect("2048x1536 is within limits");
    RgbImage::from_fn(gray.width(), gray.height(), |x, y| {
        let v = gray.data()[(y * gray.width() + x) as usize];
        image::Rgb([v, v.saturating_sub(8), v / 2 + 60])
    })
}

fn jpeg_2048() -> Vec<u8> {
    let (source, rgb) = real_photo().unwrap_or_else(|| ("synthetic".into(), synthetic()));
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(&rgb)
        .expect("JPEG encoding");
    eprintln!(
        "bench JPEG: {}x{} from {source}, {} bytes",
        rgb.width(),
        rgb.height(),
        bytes.len()
    );
    bytes
}

fn decode(c: &mut Criterion) {
    let bytes = jpeg_2048();
    let limits = MediaLimits::default();
    let mut group = c.benchmark_group("jpeg_2048");
    group.sample_size(30);
    group.bench_function("decode_gray", |b| {
        b.iter(|| decode_gray(black_box(&bytes), &limits).expect("decodes"))
    });
    group.bench_function("decode_gray+analyze", |b| {
        b.iter(|| {
            let d = decode_gray(black_box(&bytes), &limits).expect("decodes");
            analyze(&d.gray, Some(&d.exposure)).expect("analyzable")
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
