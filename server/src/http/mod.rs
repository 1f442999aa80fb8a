//! The router: health, metrics, the REST API under `/api/v1`, and the built web client.

mod client;
mod health;
mod metrics;

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::state::AppState;

/// The whole app. `client_dir` is Trunk's output folder (may be missing: a page says so).
pub fn router(state: AppState, client_dir: PathBuf) -> Router {
    let api = Router::new()
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed);

    Router::new()
        .merge(health::router())
        .route("/metrics", get(metrics::render))
        .nest("/api/v1", api)
        .route("/api", get(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback_service(client::service(client_dir))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(state)
}

async fn api_not_found() -> AppError {
    AppError::NotFound("endpoint")
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
