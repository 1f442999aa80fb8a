//! Classify's server as a library: `main.rs` only parses the command line and calls in here,
//! so integration tests build the very same app in-process.
//!
//! Dependencies point one way: `cli` and `http` → `auth`, `health`, `jobs` → `photos` →
//! `google` → `media`, `db`, `queue`, `blobs` → `shared`. `app::Deps` is the one set of connected services
//! that the web state and the workers both hold.

pub mod albums; // albums of clear photos: what goes in, file names, the ZIP of a collection
pub mod app; // Deps: database, queue, blob store, limits and Google, built once
pub mod auth; // CurrentUser: bearer token, session or local user; tokens, sessions, CSRF
pub mod blobs; // the blob store for uploaded photos and derived images
pub mod cli; // the subcommands: serve, worker, migrate, scan, eval
pub mod config; // command line and environment, parsed once; secrets wrapped
pub mod db; // the database pool (PostgreSQL or embedded SQLite), migrations, SQL per table
pub mod error; // AppError: the one place errors become HTTP responses
pub mod google; // Google sign-in, tokens at rest, the Photos Picker and media at base URLs
pub mod health; // dependency checks behind /health/*
pub mod http; // the router: API, health, metrics and the static client; AppState
pub mod jobs; // job kinds and their policies, the one enqueue path, the leased worker
pub mod keyed_lock; // one holder per key: a photo's derived image is rendered once at a time
pub mod media; // untrusted bytes: probe, decode, EXIF, thumbnails, with one set of limits
pub mod net; // what counts as this machine, by name (loopback names and addresses)
pub mod photos; // the photos service: the upload path within the quotas, blob keys, deletion
pub mod private_file; // files only the server's user may read (data folder, database, keys)
pub mod queue; // the job queue: Redis or in-process, behind one trait
pub mod tagging; // AI tags: the vision model's client, typed failures, the shared token budget
pub mod telemetry; // tracing and Prometheus metrics
pub mod time; // Unix-millisecond clock used for stored timestamps

/// mimalloc for every binary built on the server (classify, the benches, the tests): glibc's
/// allocator took a sixth of the server's time per gallery page, whose rows and JSON are many
/// short-lived small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
