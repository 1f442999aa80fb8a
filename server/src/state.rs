//! `AppState`: what handlers share. Every client is built once at start-up; cloning is cheap.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;

use crate::auth::Auth;
use crate::blobs::SharedBlobStore;
use crate::db::Database;
use crate::decode::DecodeLimits;
use crate::queue::SharedQueue;

/// The state behind every handler.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    /// The database pool.
    pub db: Database,
    /// The job queue.
    pub queue: SharedQueue,
    /// Uploaded originals and derived images.
    pub blobs: SharedBlobStore,
    /// Size limits for uploads and decoding.
    pub limits: DecodeLimits,
    /// Who may call, and how tokens are checked.
    pub auth: Arc<Auth>,
    /// When the server started, for uptime.
    pub started: Arc<Instant>,
}
