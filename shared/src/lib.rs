//! The contract between Classify's client and server: the JSON types of the REST API and the
//! blur kernel that both run (the browser for previews, the server for the verdict).
//!
//! Pure and portable: no I/O, no async runtime, so it compiles for wasm32 (the browser's
//! preview workers) and natively (the server's verdict) alike. With the `decode` feature it also
//! reads photo files (`media`), so a file dropped in the browser is read as the server reads it.
#![warn(missing_docs)]

pub mod api; // the JSON types of the REST API
pub mod kernel; // the blur judgement: pixels in, BlurReport out, plus evaluation metrics
#[cfg(feature = "decode")]
pub mod media; // photo files in (limits, sniffing, decoding, EXIF), the kernel's pixels out
