//! Classify's server as a library: `main.rs` only parses the command line and calls in here,
//! so integration tests build the very same app in-process.

pub mod auth; // CurrentUser: bearer token, session or local user; tokens, sessions, CSRF
pub mod blobs; // the blob store for uploaded photos and derived images
pub mod config; // command line and environment, parsed once
pub mod db; // the database pool (PostgreSQL or embedded SQLite) and its migrations
pub mod decode; // untrusted bytes to luma pixels, with size and pixel limits
pub mod error; // AppError: the one place errors become HTTP responses
pub mod eval; // `classify eval`: kernel vs Laplacian baseline on a labelled set
pub mod health; // dependency checks behind /health/*
pub mod http; // the router: API, health, metrics and the static client
pub mod images; // upload header checks, thumbnails and analysis images
pub mod queue; // the job queue: Redis or in-process, behind one trait
pub mod scan; // `classify scan`: judge local photos, one line each
pub mod startup; // wiring: connect, migrate, bind, serve, shut down
pub mod state; // AppState shared by handlers
pub mod telemetry; // tracing and Prometheus metrics
pub mod time; // Unix-millisecond clock used for stored timestamps
pub mod worker; // the queue consumer that runs jobs
