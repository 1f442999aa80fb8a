//! `AppState`: what handlers share. Every client is built once at start-up; cloning is cheap.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;

use crate::db::Database;
use crate::queue::SharedQueue;

/// The state behind every handler.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    /// The database pool.
    pub db: Database,
    /// The job queue.
    pub queue: SharedQueue,
    /// When the server started, for uptime.
    pub started: Arc<Instant>,
}
