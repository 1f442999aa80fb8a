//! The Picker API (`/v1/sessions`, `/v1/mediaItems`) and the fake picker web page.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::errors::ApiError;
use crate::pages;
use crate::picker_wire::{self as w, PickedMediaItem};
use crate::state::{AppState, BaseUrl, PICKER_SCOPE, Session, Shared};
use crate::wire;

const MAX_ITEMS: u64 = 2000;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/sessions", post(create))
        .route("/v1/sessions/{id}", get(get_session).delete(delete_session))
        .route("/v1/mediaItems", get(list))
        .route("/picker/{id}", get(picker_page))
        .route("/picker/{id}/autoclose", get(picker_page_autoclose))
        .route("/picker/{id}/thumb/{n}", get(thumbnail))
        .route("/picker/{id}/done", post(done))
}

/// Which items a programmatic Done picks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// Every item of the library.
    All,
    /// These indices into the photos (see `Control::photos`).
    Items(Vec<usize>),
}

/// Why a pick was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickError {
    #[error("no such session")]
    NoSession,
    #[error("this session is no longer active")]
    NotActive,
    #[error("pick at least one item")]
    Empty,
    #[error("no photo with index {0}")]
    BadIndex(usize),
}

impl Shared {
    /// Presses Done on a session's picker; returns how many items were picked.
    pub(crate) fn pick(&self, session_id: &str, pick: Pick) -> Result<usize, PickError> {
        let count = self.opts.photos.len();
        let mut picked: Vec<usize> = match pick {
            Pick::All => (0..count).collect(),
            Pick::Items(items) => items,
        };
        if let Some(bad) = picked.iter().find(|&&i| i >= count) {
            return Err(PickError::BadIndex(*bad));
        }
        picked.sort_unstable();
        picked.dedup();
        if picked.is_empty() {
            return Err(PickError::Empty);
        }
        let mut inner = self.lock();
        let session = inner
            .sessions
            .get_mut(session_id)
            .ok_or(PickError::NoSession)?;
        if session.picked.is_some() || session.expire_time <= SystemTime::now() {
            return Err(PickError::NotActive);
        }
        picked.truncate(usize::try_from(session.max_items).unwrap_or(usize::MAX));
        let n = picked.len();
        session.picked = Some(picked);
        Ok(n)
    }

    /// The persistent id of a photo in a user's library.
    pub(crate) fn item_id(&self, user: usize, photo: usize) -> String {
        let sub = self.user(user).map(|u| u.sub.as_str()).unwrap_or_default();
        let name = self
            .photo(photo)
            .map(|p| p.filename.as_str())
            .unwrap_or_default();
        let digest = Sha256::digest(format!("{sub}/{photo}/{name}").as_bytes());
        format!("AF1Qip{}", &wire::b64url(&digest)[..36])
    }

    fn session_json(&self, s: &Session) -> w::PickingSession {
        let now = SystemTime::now();
        let remaining = s.expire_time.duration_since(now).unwrap_or_default();
        w::PickingSession {
            id: s.id.clone(),
            picker_uri: format!("{}/picker/{}", self.origin, s.id),
            polling_config: s.picked.is_none().then(|| w::PollingConfig {
                poll_interval: wire::duration(self.opts.poll_interval),
                timeout_in: format!(
                    "{}s",
                    remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0)
                ),
            }),
            expire_time: wire::rfc3339(s.expire_time),
            picking_config: w::PickingConfig {
                max_item_count: s.max_items.to_string(),
            },
            media_items_set: s.picked.is_some(),
        }
    }

    /// The caller's live session, or Google's NOT_FOUND / PERMISSION_DENIED.
    fn owned_session(&self, headers: &HeaderMap, id: &str) -> Result<Session, ApiError> {
        let caller = self.authorize(wire::bearer(headers), PICKER_SCOPE)?;
        let session = self
            .lock()
            .sessions
            .get(id)
            .filter(|s| s.user == caller.user)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Requested entity was not found."))?;
        if session.expire_time <= SystemTime::now() {
            return Err(ApiError::permission_denied(
                "Access to the session has expired.",
            ));
        }
        Ok(session)
    }
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match state.authorize(wire::bearer(&headers), PICKER_SCOPE) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let max_items = match max_item_count(&body) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let mut inner = state.lock();
    inner.session_seq += 1;
    let session = Session {
        id: wire::uuid_like(),
        user: caller.user,
        seq: inner.session_seq,
        expire_time: SystemTime::now() + state.opts.session_ttl,
        max_items,
        picked: None,
        base_urls: Default::default(),
    };
    inner.sessions.insert(session.id.clone(), session.clone());
    drop(inner);
    Json(state.session_json(&session)).into_response()
}

/// `pickingConfig.maxItemCount` (int64, as a string or a number): 0 or absent means 2000,
/// larger values are coerced to 2000, negative ones are invalid.
fn max_item_count(body: &[u8]) -> Result<u64, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(MAX_ITEMS);
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_argument(format!("Invalid JSON payload received. {e}")))?;
    let raw = &value["pickingConfig"]["maxItemCount"];
    let n: i64 = match raw {
        Value::Null => 0,
        Value::String(s) => s.parse().map_err(|_| {
            ApiError::invalid_argument(format!(
                "Invalid value at 'picking_config.max_item_count' (TYPE_INT64), \"{s}\""
            ))
        })?,
        Value::Number(n) => n.as_i64().unwrap_or(-1),
        _ => -1,
    };
    match n {
        n if n < 0 => Err(ApiError::invalid_argument(
            "maxItemCount must not be negative.",
        )),
        0 => Ok(MAX_ITEMS),
        n => Ok((n as u64).min(MAX_ITEMS)),
    }
}

async fn get_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match state.owned_session(&headers, &id) {
        Ok(s) => Json(state.session_json(&s)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn delete_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match state.authorize(wire::bearer(&headers), PICKER_SCOPE) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let mut inner = state.lock();
    match inner.sessions.get(&id) {
        Some(s) if s.user == caller.user => {
            inner.sessions.remove(&id);
            Json(json!({})).into_response()
        }
        _ => ApiError::not_found("Requested entity was not found.").into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    session_id: Option<String>,
    page_size: Option<String>,
    page_token: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    match list_page(&state, &headers, q) {
        Ok(page) => Json(page).into_response(),
        Err(e) => e.into_response(),
    }
}

fn list_page(
    state: &Shared,
    headers: &HeaderMap,
    q: ListQuery,
) -> Result<w::ListResponse, ApiError> {
    let id = q.session_id.filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::invalid_argument("Request is missing required field: session_id.")
    })?;
    let session = state.owned_session(headers, &id)?;
    let size: i64 = match q.page_size.as_deref() {
        None | Some("") => 0,
        Some(s) => s
            .parse()
            .map_err(|_| ApiError::invalid_argument(format!("Invalid value for page_size: {s}")))?,
    };
    let size = match size {
        s if s < 0 => {
            return Err(ApiError::invalid_argument(
                "page_size must not be negative.",
            ));
        }
        0 => 50,
        s => s.min(100) as usize,
    };
    let picked = session.picked.clone().ok_or_else(|| {
        ApiError::failed_precondition("The user has not finished picking media items.")
    })?;
    let (offset, empty_done) = match q.page_token.as_deref().filter(|t| !t.is_empty()) {
        None => (0, false),
        Some(t) => w::decode_page_token(t, &id)
            .ok_or_else(|| ApiError::invalid_argument("Invalid page token."))?,
    };
    let mut inner = state.lock();
    if inner.empty_pages && !empty_done && offset < picked.len() {
        return Ok(w::ListResponse {
            media_items: Vec::new(),
            next_page_token: Some(w::encode_page_token(&id, offset, true)),
        });
    }
    let end = (offset + size).min(picked.len());
    let expires = SystemTime::now() + state.opts.base_url_ttl;
    let mut items = Vec::new();
    for &photo_index in picked.get(offset..end).unwrap_or_default() {
        let Some(photo) = state.photo(photo_index) else {
            continue;
        };
        let token = match inner
            .sessions
            .get(&id)
            .and_then(|s| s.base_urls.get(&photo_index))
        {
            Some(t) => t.clone(),
            None => {
                let t = format!("fk{}", wire::random_token(48));
                inner.base_urls.insert(
                    t.clone(),
                    BaseUrl {
                        user: session.user,
                        photo: photo_index,
                        expires,
                    },
                );
                if let Some(s) = inner.sessions.get_mut(&id) {
                    s.base_urls.insert(photo_index, t.clone());
                }
                t
            }
        };
        let base_url = format!("{}/media/{token}", state.origin);
        items.push(PickedMediaItem::new(
            state.item_id(session.user, photo_index),
            base_url,
            photo,
        ));
    }
    Ok(w::ListResponse {
        media_items: items,
        next_page_token: (end < picked.len()).then(|| w::encode_page_token(&id, end, false)),
    })
}

async fn picker_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    render_picker(&state, &id, false)
}

async fn picker_page_autoclose(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    render_picker(&state, &id, true)
}

fn render_picker(state: &Shared, id: &str, autoclose: bool) -> Response {
    let session = state.lock().sessions.get(id).cloned();
    match session {
        Some(s) if s.picked.is_none() && s.expire_time > SystemTime::now() => Html(pages::picker(
            id,
            &state.opts.photos,
            autoclose,
            s.max_items,
        ))
        .into_response(),
        Some(_) => inactive(StatusCode::GONE),
        None => inactive(StatusCode::NOT_FOUND),
    }
}

fn inactive(status: StatusCode) -> Response {
    pages::message(
        status,
        "This session is no longer active",
        "Go back to the app to pick again.",
    )
}

async fn thumbnail(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, usize)>,
) -> Response {
    let known = state.lock().sessions.contains_key(&id);
    let Some(photo) = state.photo(n).filter(|_| known).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::task::spawn_blocking(move || photo.thumbnail()).await {
        Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn done(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    let form = wire::FormPairs::parse(&body);
    let autoclose = form.get("autoclose") == Some("1");
    let pick = if form.non_empty("all").is_some_and(|v| v != "0") {
        Pick::All
    } else {
        Pick::Items(form.all("item").filter_map(|v| v.parse().ok()).collect())
    };
    match state.pick(&id, pick) {
        Ok(n) => Html(pages::picker_done(autoclose, n)).into_response(),
        Err(PickError::NoSession) => inactive(StatusCode::NOT_FOUND),
        Err(PickError::NotActive) => inactive(StatusCode::GONE),
        Err(e) => pages::message(StatusCode::BAD_REQUEST, "Nothing picked", &e.to_string()),
    }
}
