//! The contract between Classify's client and server: the JSON types of the REST API.
//!
//! Pure and portable: no I/O, no async runtime, so it compiles for wasm32 (the browser's
//! preview workers) and natively (the server's verdict) alike.
#![warn(missing_docs)]

pub mod api;
