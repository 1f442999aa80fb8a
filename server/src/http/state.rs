//! `AppState`: what handlers share: the services every part of the server uses ([`Deps`]) plus
//! what only the web side needs. Built once at start-up; cloning is cheap.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;

use crate::app::Deps;
use crate::auth::Auth;
use crate::jobs::watch::BatchWatch;

/// The state behind every handler.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    /// The database, queue, blob store and limits, shared with the workers.
    pub deps: Deps,
    /// Who may call, and how tokens are checked.
    pub auth: Arc<Auth>,
    /// Per-user quotas on uploads.
    pub quota: crate::photos::Quota,
    /// When the server started, for uptime.
    pub started: Arc<Instant>,
    /// Batch progress for the open event streams.
    pub watch: BatchWatch,
    /// How long one event stream may stay open.
    pub stream_max: std::time::Duration,
}
