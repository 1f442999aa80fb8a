//! `/_fake/*`: the [`Control`] API as JSON over HTTP, for demos and non-Rust tests.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::control::{Control, Fault};

pub(crate) fn router() -> Router<Control> {
    Router::new()
        .route("/_fake", get(index))
        .route("/_fake/fail_next", post(fail_next))
        .route("/_fake/faults", delete(clear_faults))
        .route("/_fake/requests", get(requests).delete(clear_requests))
}

async fn index() -> Response {
    Json(json!({
        "models": crate::vision::MODELS.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        "faults": ["rate_limited", "slow_down", "insufficient_quota", "overloaded",
            "server_error", "refusal", "truncated", "malformed_json", "empty_tags"],
        "control": ["POST /_fake/fail_next", "DELETE /_fake/faults", "GET /_fake/requests",
            "DELETE /_fake/requests"],
    }))
    .into_response()
}

/// `{"fault": "rate_limited", "retry_after_ms": 1000, "times": 2}`.
#[derive(Deserialize)]
struct FailNext {
    #[serde(flatten)]
    fault: Fault,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

async fn fail_next(
    State(control): State<Control>,
    body: Result<Json<FailNext>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(body)) => {
            control.fail_next(body.fault, body.times);
            Json(json!({"ok": true})).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e.body_text()})),
        )
            .into_response(),
    }
}

async fn clear_faults(State(control): State<Control>) -> Response {
    control.clear_faults();
    Json(json!({"ok": true})).into_response()
}

async fn requests(State(control): State<Control>) -> Response {
    Json(control.requests()).into_response()
}

async fn clear_requests(State(control): State<Control>) -> Response {
    control.clear_requests();
    Json(json!({"ok": true})).into_response()
}
