//! `/metrics` in Prometheus text format, and the middleware that counts requests.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::telemetry;

pub(super) async fn render() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::metrics().render(),
    )
}

/// Counts requests and their latency per route template (never per raw path, which would
/// give one series per photo id).
pub(super) async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("classify_http_requests_total", &labels).increment(1);
    metrics::histogram!("classify_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}
