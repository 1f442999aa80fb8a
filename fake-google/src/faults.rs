//! Endpoint groups, injected failures (`fail_next`) and the request log, applied by one
//! middleware around every route except `/_fake/*`.

use std::str::FromStr;

use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, OAuthError};
use crate::state::AppState;

/// A group of requests that faults target and the log names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /o/oauth2/v2/auth` and the consent form.
    Authorize,
    /// `POST /token`.
    Token,
    /// `POST /revoke`.
    Revoke,
    /// `GET /v1/userinfo`.
    Userinfo,
    /// `POST /v1/sessions`.
    PickerCreate,
    /// `GET /v1/sessions/{id}`.
    PickerGet,
    /// `DELETE /v1/sessions/{id}`.
    PickerDelete,
    /// `GET /v1/mediaItems`.
    PickerList,
    /// The fake picker web page and its thumbnails (`/picker/...`).
    PickerUi,
    /// `GET /media/<token>=...` (base URLs).
    Media,
    /// `POST /v1/albums`.
    LibraryAlbums,
    /// `POST /v1/uploads`.
    LibraryUpload,
    /// `POST /v1/mediaItems:batchCreate`.
    LibraryBatchCreate,
    /// `POST /v1/mediaItems:search`.
    LibrarySearch,
}

impl Endpoint {
    /// The group a request belongs to, if it is one of Google's endpoints.
    pub(crate) fn classify(method: &Method, path: &str) -> Option<Endpoint> {
        let m = |x: &Method| method == x;
        Some(match path {
            "/token" => Endpoint::Token,
            "/revoke" => Endpoint::Revoke,
            "/v1/userinfo" => Endpoint::Userinfo,
            "/v1/sessions" if m(&Method::POST) => Endpoint::PickerCreate,
            p if p.starts_with("/v1/sessions/") && m(&Method::DELETE) => Endpoint::PickerDelete,
            p if p.starts_with("/v1/sessions/") => Endpoint::PickerGet,
            "/v1/mediaItems" => Endpoint::PickerList,
            "/v1/mediaItems:batchCreate" => Endpoint::LibraryBatchCreate,
            "/v1/mediaItems:search" => Endpoint::LibrarySearch,
            "/v1/albums" => Endpoint::LibraryAlbums,
            "/v1/uploads" => Endpoint::LibraryUpload,
            p if p.starts_with("/o/oauth2/") => Endpoint::Authorize,
            p if p.starts_with("/picker/") => Endpoint::PickerUi,
            p if p.starts_with("/media/") => Endpoint::Media,
            _ => return None,
        })
    }

    /// Whether the endpoint answers OAuth-style errors rather than Google API errors.
    fn is_oauth(self) -> bool {
        matches!(self, Endpoint::Token | Endpoint::Revoke)
    }
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.into()))
            .map_err(|_| format!("unknown endpoint {s:?}"))
    }
}

/// A pending injected failure: the next `remaining` requests answer `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub status: u16,
    pub remaining: u32,
    pub retry_after: Option<u64>,
    /// Google's message instead of the usual one for the status (e.g. a per-day quota).
    pub message: Option<String>,
}

/// Where a held request waits: before its handler runs (nothing happened yet), or after (it
/// happened; the answer waits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldPoint {
    Before,
    After,
}

/// A pending hold: the next request to the endpoint waits at `point` until released.
#[derive(Debug)]
pub(crate) struct Hold {
    pub point: HoldPoint,
    /// Told when the request is held.
    pub reached: std::sync::Arc<tokio::sync::Notify>,
    /// Waited on by the held request.
    pub release: std::sync::Arc<tokio::sync::Notify>,
}

/// One logged request. `path` keeps the query but blanks secret values (`token=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub endpoint: Option<Endpoint>,
    /// What the handler noted, e.g. `grant_type=refresh_token` on the token endpoint.
    pub detail: Option<String>,
    /// Whether the answer came from an injected fault.
    pub injected: bool,
    /// When the request arrived (Unix ms).
    #[serde(default)]
    pub at_ms: u64,
}

/// A note a handler attaches to its response for the request log.
#[derive(Debug, Clone)]
pub(crate) struct Detail(pub String);

const SECRET_KEYS: [&str; 7] = [
    "token",
    "code",
    "client_secret",
    "code_verifier",
    "refresh_token",
    "access_token",
    "id_token",
];

/// The path and query with secret query values replaced by `…`.
pub(crate) fn redact(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_KEYS.contains(&k) => format!("{k}=…"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

/// The middleware: answers a pending fault instead of the handler, and logs the request.
pub(crate) async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_fake") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let logged_path = redact(req.uri());
    let endpoint = Endpoint::classify(&method, &path);
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let fault = endpoint.and_then(|e| take_fault(&state, e).map(|f| (e, f)));
    let injected = fault.is_some();
    let hold = endpoint.and_then(|e| state.lock().holds.remove(&e));
    if let Some(h) = hold.as_ref().filter(|h| h.point == HoldPoint::Before) {
        // A client that gives up meanwhile drops this future: the handler never runs.
        h.reached.notify_one();
        h.release.notified().await;
    }
    let response = match fault {
        Some((e, f)) if e.is_oauth() => OAuthError {
            retry_after: f.retry_after,
            ..OAuthError::for_fault(f.status)
        }
        .into_response(),
        Some((_, f)) => ApiError {
            retry_after: f.retry_after,
            ..ApiError::new(
                f.status,
                f.message
                    .unwrap_or_else(|| fault_message(f.status).to_string()),
            )
        }
        .into_response(),
        None => next.run(req).await,
    };
    if let Some(h) = hold.as_ref().filter(|h| h.point == HoldPoint::After) {
        // It happened; the client that gives up now never learns it.
        h.reached.notify_one();
        h.release.notified().await;
    }
    let record = RequestRecord {
        method: method.to_string(),
        path: logged_path,
        status: response.status().as_u16(),
        endpoint,
        detail: response.extensions().get::<Detail>().map(|d| d.0.clone()),
        injected,
        at_ms,
    };
    state.lock().log.push(record);
    response
}

fn take_fault(state: &AppState, endpoint: Endpoint) -> Option<Fault> {
    let mut inner = state.lock();
    let fault = inner.faults.get_mut(&endpoint)?;
    fault.remaining = fault.remaining.saturating_sub(1);
    let taken = fault.clone();
    if fault.remaining == 0 {
        inner.faults.remove(&endpoint);
    }
    Some(taken)
}

fn fault_message(status: u16) -> &'static str {
    match status {
        429 => "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.",
        500 => "Internal error encountered.",
        503 => "The service is currently unavailable.",
        _ => "Injected failure.",
    }
}
