//! Kernel-only benchmarks on the 2048×1536 synthetic photo
//! (`shared::kernel::samples::bench_image`): the full `analyze` (resize to the
//! working resolution, Haar edge maps, tiles, model), its two halves, and the classic
//! `laplacian_variance` on the same pixels.
//!
//! `cargo bench -p shared --bench kernel`

#![allow(clippy::expect_used)] // bench setup: a failure should abort the run

use criterion::{Criterion, criterion_group, criterion_main};
use shared::kernel::{WORKING_LONG_SIDE, analyze, laplacian_variance, samples};
use std::hint::black_box;

fn kernel(c: &mut Criterion) {
    let img = samples::bench_image().expect("2048x1536 is within limits");
    let mut group = c.benchmark_group("kernel_2048x1536");
    group.sample_size(30);
    group.bench_function("analyze", |b| {
        b.iter(|| analyze(black_box(&img), None).expect("analyzable"))
    });
    // The two halves of `analyze`: reaching the working resolution, and the
    // analysis proper on the 512-px image.
    group.bench_function("resize_to_working", |b| {
        b.iter(|| black_box(&img).fit_long_side(WORKING_LONG_SIDE))
    });
    let work = img.fit_long_side(WORKING_LONG_SIDE);
    group.bench_function("analyze_working_size", |b| {
        b.iter(|| analyze(black_box(&work), None).expect("analyzable"))
    });
    group.bench_function("laplacian_variance", |b| {
        b.iter(|| laplacian_variance(black_box(&img)))
    });
    group.finish();
}

criterion_group!(benches, kernel);
criterion_main!(benches);
