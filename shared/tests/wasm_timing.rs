//! Rough wasm-vs-native speed of the kernel: times `analyze` on the 2048×1536
//! benchmark image inside a dedicated Web Worker in headless Chromium and prints
//! the median (compare with `cargo bench -p shared --bench kernel`). Meaningful
//! only in a release build:
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --release --locked --target wasm32-unknown-unknown -p shared --test wasm_timing -- --nocapture`
#![cfg(target_arch = "wasm32")]
// clippy does not see #[wasm_bindgen_test] functions as tests.
#![allow(clippy::unwrap_used)]

use shared::kernel::{analyze, samples};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Batches of `PER_BATCH` runs, so `Date.now()`'s 1 ms steps (workers have
/// no finer clock here) cost under 2 % of a batch.
const BATCHES: usize = 9;
const PER_BATCH: usize = 10;

#[wasm_bindgen_test]
fn time_analyze_2048x1536() {
    let img = samples::bench_image().unwrap();
    let mut ms = Vec::new();
    for _ in 0..BATCHES {
        let t0 = js_sys::Date::now();
        for _ in 0..PER_BATCH {
            let report = analyze(&img, None).unwrap();
            assert!(report.blur_score.is_finite());
        }
        ms.push((js_sys::Date::now() - t0) / PER_BATCH as f64);
    }
    ms.sort_by(f64::total_cmp);
    console_log!(
        "WASM_ANALYZE_MS median={:.2} min={:.2} (2048x1536, {BATCHES} batches of {PER_BATCH} runs)",
        ms[ms.len() / 2],
        ms[0]
    );
}
