//! Native half of the native/wasm parity check: `analyze` on the synthetic
//! cases must give exactly the recorded bits (see `common/mod.rs`; the browser
//! half is `wasm_parity.rs`).

mod common;

#[test]
fn analyze_matches_golden_bits() {
    let diffs = common::mismatches();
    assert!(diffs.is_empty(), "golden mismatch:\n{}", diffs.join("\n"));
}

#[test]
fn a_perturbed_golden_value_is_caught() {
    let mut golden = common::GOLDEN.to_vec();
    golden[0].blur_score ^= 1;
    assert_eq!(common::mismatches_against(&golden).len(), 1);
}

/// Prints the `GOLDEN` table for the current kernel.
#[test]
#[ignore = "generator: run with --ignored --nocapture to print the golden table"]
fn print_golden() {
    println!("{}", common::golden_source());
}
