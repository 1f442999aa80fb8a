//! Arbitrary bytes → `server::decode::decode_gray` (small limits, so the fuzzer
//! explores headers rather than huge allocations) → `shared::kernel::analyze`.
//! Neither may panic, hang or exceed the limits; the report must be sane.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::decode::{DecodeLimits, decode_gray};
use shared::kernel::analyze;

const LIMITS: DecodeLimits = DecodeLimits {
    max_bytes: 1 << 20,
    max_pixels: 4_000_000,
};

fuzz_target!(|data: &[u8]| {
    let Ok(img) = decode_gray(data, &LIMITS) else {
        return;
    };
    assert!(u64::from(img.width) * u64::from(img.height) <= LIMITS.max_pixels);
    if let Ok(report) = analyze(&img.gray, Some(&img.exposure)) {
        assert!((0.0..=1.0).contains(&report.blur_score), "{report:?}");
    }
});
