//! The router: health, metrics, the REST API under `/api/v1`, and the built web client.

mod account;
mod blur;
mod client;
pub mod docs;
mod extract;
mod health;
mod metrics;
mod photos;

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::SESSION_COOKIE;
use crate::auth::sessions::DbSessionStore;
use crate::error::AppError;
use crate::state::AppState;

/// Files one upload request may carry, at the per-file size limit.
const FILES_PER_UPLOAD: u64 = 16;

/// The whole app. `client_dir` is Trunk's output folder (may be missing: a page says so).
pub fn router(state: AppState, client_dir: PathBuf, secure_cookies: bool) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_secure(secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(30)));
    let upload_limit = usize::try_from(state.limits.max_bytes.saturating_mul(FILES_PER_UPLOAD))
        .unwrap_or(usize::MAX);
    let api = Router::new()
        .route(
            "/photos",
            get(photos::list)
                .post(photos::upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/photos/{id}", get(photos::show).delete(photos::remove))
        .route("/photos/{id}/image", get(photos::image))
        .route("/photos/{id}/result", get(photos::result))
        .route("/photos/{id}/preview", put(photos::set_preview))
        .route("/photos/{id}/analyze", post(blur::analyze_one))
        .route("/blur/analyze-batch", post(blur::analyze_batch))
        .route("/blur/jobs/{id}", get(blur::job))
        .route("/blur/jobs/{id}/events", get(blur::job_events))
        .route("/auth/me", get(account::me))
        .route("/auth/token", post(account::token))
        .route("/auth/refresh", post(account::refresh))
        .route("/auth/logout", post(account::logout))
        .route(
            "/settings",
            get(account::get_settings).put(account::put_settings),
        )
        .route("/stats", get(account::stats))
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(sessions);

    Router::new()
        .merge(health::router())
        .route("/metrics", get(metrics::render))
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", docs::ApiDoc::openapi()))
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
