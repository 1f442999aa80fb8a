//! Browser half of the native/wasm parity check: the kernel compiled to wasm32
//! (with +simd128) runs inside a dedicated Web Worker in headless Chromium and
//! must reproduce exactly the golden bits the native build records
//! (`common/mod.rs`, checked natively by `golden.rs`).
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked --target wasm32-unknown-unknown -p shared --test wasm_parity`
#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn analyze_matches_native_golden_bits() {
    let diffs = common::mismatches();
    assert!(
        diffs.is_empty(),
        "wasm/native mismatch:\n{}",
        diffs.join("\n")
    );
}
