//! The contract between Classify's client and server: the JSON types of the REST API and the
//! blur kernel that both run (the browser for previews, the server for the verdict).
//!
//! Pure and portable: no I/O, no async runtime, so it compiles for wasm32 (the browser's
//! preview workers) and natively (the server's verdict) alike.
#![warn(missing_docs)]

pub mod api; // the JSON types of the REST API
pub mod kernel; // the blur judgement: pixels in, BlurReport out, plus evaluation metrics
