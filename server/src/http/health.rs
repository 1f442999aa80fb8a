//! `/health` (liveness), `/health/ready` (readiness) and `/health/services` (every dependency).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use shared::api::{ErrorBody, ErrorCode, Readiness, ServicesReport};

use super::state::AppState;
use crate::health::check_all;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(live))
        .route("/health/ready", get(ready))
        .route("/health/services", get(services))
}

/// The process is up and serving; says nothing about dependencies (restart only if this fails).
async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when the database and the queue answer, else 503 naming what is down.
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let report = check_all(&state.deps, *state.started).await;
    let down = report.down();
    if down.is_empty() {
        return (
            StatusCode::OK,
            Json(Readiness {
                ready: true,
                down,
                error: None,
            }),
        );
    }
    let message = format!("not ready: {} down", down.join(" and "));
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Readiness {
            ready: false,
            down,
            error: Some(ErrorBody::new(ErrorCode::Unavailable, message)),
        }),
    )
}

/// Each dependency with its status and latency; always 200 so dashboards can read it.
async fn services(State(state): State<AppState>) -> Json<ServicesReport> {
    Json(check_all(&state.deps, *state.started).await)
}
