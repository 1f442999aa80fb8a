//! The router: health, metrics, the REST API under `/api/v1`, and the built web client.

mod account;
mod albums;
mod blur;
mod client;
pub mod docs;
mod extract;
mod google;
mod headers;
mod health;
mod linger;
pub mod listener;
mod metrics;
mod parse_errors;
mod photos;
mod picker;
pub mod state;
mod tags;

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::api::{ErrorBody, ErrorCode, ErrorResponse};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use self::state::AppState;
use crate::auth::SESSION_COOKIE;
use crate::auth::sessions::DbSessionStore;
use crate::error::AppError;

/// The whole app. `client_dir` is Trunk's output folder (may be missing: a page says so).
pub fn router(state: AppState, client_dir: PathBuf, secure_cookies: bool) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.deps.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_secure(secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(30)));
    let upload_limit = photos::upload_body_limit(&state.deps.limits);
    // Each route is written once, in its handler's `#[utoipa::path]`: the router and the
    // OpenAPI document both come from it.
    let (api, api_doc) = OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(photos::list, photos::upload))
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .routes(routes!(photos::show, photos::remove))
        .routes(routes!(photos::image))
        .routes(routes!(photos::result))
        .routes(routes!(photos::set_preview))
        .routes(routes!(blur::analyze_one))
        .routes(routes!(blur::analyze_batch))
        .routes(routes!(blur::job))
        .routes(routes!(blur::job_events))
        .routes(routes!(account::me))
        .routes(routes!(account::token))
        .routes(routes!(account::refresh))
        .routes(routes!(account::logout))
        .routes(routes!(account::get_settings, account::put_settings))
        .routes(routes!(account::stats))
        .routes(routes!(google::start))
        .routes(routes!(google::callback))
        .routes(routes!(google::disconnect))
        .routes(routes!(google::delete_account))
        .routes(routes!(picker::create))
        .routes(routes!(picker::show))
        .routes(routes!(picker::sync))
        .routes(routes!(tags::status))
        .routes(routes!(tags::list))
        .routes(routes!(tags::tag_one))
        .routes(routes!(tags::tag_batch))
        .routes(routes!(tags::estimate))
        .routes(routes!(tags::remove))
        .routes(routes!(albums::create))
        .routes(routes!(albums::list))
        .routes(routes!(albums::show))
        .routes(routes!(albums::resume))
        .routes(routes!(albums::events))
        .routes(routes!(albums::download))
        .split_for_parts();
    let api = api
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(sessions);
    let doc = docs::document(api_doc, state.auth.mode);

    Router::new()
        .merge(health::router())
        .route("/metrics", get(metrics::render))
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .nest("/api/v1", api)
        .route("/api", get(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback_service(client::service(client_dir))
        // Every route and the fallback, before any handler: local mode's host rule (DNS
        // rebinding) and the same-origin rule (crate::auth::Auth::admit).
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            crate::auth::guard,
        ))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(json_errors))
        // An answer given before the body was read still reaches a client that is sending it.
        .layer(axum::middleware::from_fn(linger::linger))
        // Outermost, so every answer carries them: the guard's refusals, timeouts, 404s.
        .layer(axum::middleware::from_fn(headers::security_headers))
        .with_state(state)
}

/// Errors made outside our handlers (the timeout layer, a body-limit rejection) carry no JSON
/// body; under `/api/` every error must have the documented shape, so one is written here.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    // JSON errors are already in shape; the sign-in callback's pages are meant for people.
    let has_body = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !api || has_body || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let code = match status {
        StatusCode::REQUEST_TIMEOUT => ErrorCode::Timeout,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let body = ErrorResponse {
        error: ErrorBody::new(
            code,
            status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_lowercase(),
        ),
    };
    (status, axum::Json(body)).into_response()
}

async fn api_not_found() -> AppError {
    AppError::NotFound("endpoint")
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
