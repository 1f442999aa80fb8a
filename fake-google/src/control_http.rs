//! `/_fake/*`: the [`Control`] API as JSON over HTTP, for demos and non-Rust tests.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::control::{Control, ControlError};
use crate::faults::Endpoint;
use crate::picker::Pick;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/_fake", get(index))
        .route("/_fake/fail_next", post(fail_next))
        .route("/_fake/faults", delete(clear_faults))
        .route("/_fake/expire_base_urls", post(expire_base_urls))
        .route("/_fake/expire_access_tokens", post(expire_access_tokens))
        .route("/_fake/expire_sessions", post(expire_sessions))
        .route("/_fake/revoke_user", post(revoke_user))
        .route("/_fake/sessions", get(sessions))
        .route("/_fake/sessions/{id}/pick", post(pick))
        .route("/_fake/approve", post(approve))
        .route("/_fake/tokens", post(tokens))
        .route("/_fake/empty_pages", post(empty_pages))
        .route("/_fake/requests", get(requests).delete(clear_requests))
        .route("/_fake/revoked_tokens", get(revoked_tokens))
        .route("/_fake/photos", get(photos))
        .route("/_fake/library", get(library))
}

fn control(state: AppState) -> Control {
    Control { shared: state }
}

fn failed(status: StatusCode, error: impl ToString) -> Response {
    (status, Json(json!({ "error": error.to_string() }))).into_response()
}

fn ok() -> Response {
    Json(json!({ "ok": true })).into_response()
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::UnknownUser(_) => StatusCode::NOT_FOUND,
            ControlError::Pick(crate::picker::PickError::NoSession) => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        failed(status, self)
    }
}

async fn index(State(state): State<AppState>) -> Response {
    Json(json!({
        "origin": state.origin,
        "client_id": state.opts.client_id,
        "users": state.opts.users,
        "endpoints": ["authorize", "token", "revoke", "userinfo", "picker_create", "picker_get",
            "picker_delete", "picker_list", "picker_ui", "media", "library_albums",
            "library_upload", "library_batch_create", "library_search"],
    }))
    .into_response()
}

#[derive(Deserialize)]
struct FailNext {
    endpoint: String,
    status: u16,
    #[serde(default = "one")]
    times: u32,
    retry_after_secs: Option<u64>,
}

fn one() -> u32 {
    1
}

async fn fail_next(State(state): State<AppState>, Json(body): Json<FailNext>) -> Response {
    let endpoint: Endpoint = match body.endpoint.parse() {
        Ok(e) => e,
        Err(e) => return failed(StatusCode::BAD_REQUEST, e),
    };
    if !(400..=599).contains(&body.status) {
        return failed(StatusCode::BAD_REQUEST, "status must be 4xx or 5xx");
    }
    control(state).fail_next(endpoint, body.status, body.times, body.retry_after_secs);
    ok()
}

async fn clear_faults(State(state): State<AppState>) -> Response {
    control(state).clear_faults();
    ok()
}

async fn expire_base_urls(State(state): State<AppState>) -> Response {
    control(state).expire_base_urls();
    ok()
}

async fn expire_access_tokens(State(state): State<AppState>) -> Response {
    control(state).expire_access_tokens();
    ok()
}

async fn expire_sessions(State(state): State<AppState>) -> Response {
    control(state).expire_sessions();
    ok()
}

#[derive(Deserialize)]
struct Email {
    email: String,
}

async fn revoke_user(State(state): State<AppState>, Json(body): Json<Email>) -> Response {
    match control(state).revoke_user(&body.email) {
        Ok(()) => ok(),
        Err(e) => e.into_response(),
    }
}

async fn sessions(State(state): State<AppState>) -> Response {
    Json(control(state).live_sessions()).into_response()
}

#[derive(Deserialize)]
struct PickBody {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    items: Vec<usize>,
}

async fn pick(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<PickBody>,
) -> Response {
    let pick = if body.all {
        Pick::All
    } else {
        Pick::Items(body.items)
    };
    match control(state).pick(&id, pick) {
        Ok(n) => Json(json!({ "picked": n })).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct Approve {
    url: String,
    email: String,
    scopes: Option<Vec<String>>,
    #[serde(default)]
    deny: bool,
}

async fn approve(State(state): State<AppState>, Json(body): Json<Approve>) -> Response {
    let c = control(state);
    let scopes: Option<Vec<&str>> = body
        .scopes
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());
    let result = if body.deny {
        c.deny(&body.url)
    } else {
        c.approve(&body.url, &body.email, scopes.as_deref())
    };
    match result {
        Ok(redirect) => Json(json!({ "redirect": redirect })).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct Mint {
    email: String,
    scopes: Vec<String>,
    #[serde(default)]
    offline: bool,
}

async fn tokens(State(state): State<AppState>, Json(body): Json<Mint>) -> Response {
    let scopes: Vec<&str> = body.scopes.iter().map(String::as_str).collect();
    match control(state).mint_tokens(&body.email, &scopes, body.offline) {
        Ok(t) => Json(t).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct On {
    on: bool,
}

async fn empty_pages(State(state): State<AppState>, Json(body): Json<On>) -> Response {
    control(state).set_empty_pages(body.on);
    ok()
}

async fn requests(State(state): State<AppState>) -> Response {
    Json(control(state).requests()).into_response()
}

async fn clear_requests(State(state): State<AppState>) -> Response {
    control(state).clear_requests();
    ok()
}

async fn revoked_tokens(State(state): State<AppState>) -> Response {
    Json(control(state).revoked_tokens()).into_response()
}

async fn photos(State(state): State<AppState>) -> Response {
    Json(control(state).photos()).into_response()
}

async fn library(State(state): State<AppState>) -> Response {
    let c = control(state);
    Json(json!({ "albums": c.albums(), "items": c.library_items() })).into_response()
}
