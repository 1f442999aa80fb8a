//! The parts of the Library API an app may still use: `albums.create`, raw `uploads`,
//! `mediaItems.batchCreate` (≤ 50 items, per-item status) with `appendonly`, and
//! `mediaItems.search` of an app-created album with `readonly.appcreateddata`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::state::{AppState, Caller, Shared};
use crate::wire;

const APPEND_SCOPE: &str = "https://www.googleapis.com/auth/photoslibrary.appendonly";
const EDIT_SCOPE: &str = "https://www.googleapis.com/auth/photoslibrary.edit.appcreateddata";
const READ_APP_SCOPE: &str =
    "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata";
/// Google's per-item message when an upload token is unknown, spent or expired.
const CREATE_FAILED: &str = "Failed: There was an error while trying to create this media item.";
const UPLOAD_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/albums", post(create_album))
        .route(
            "/v1/uploads",
            post(upload).layer(DefaultBodyLimit::max(256 * 1024 * 1024)),
        )
        .route("/v1/mediaItems:batchCreate", post(batch_create))
        .route("/v1/mediaItems:search", post(search))
}

/// An album an app created, as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryAlbum {
    pub id: String,
    pub title: String,
    pub owner_email: String,
    pub media_item_ids: Vec<String>,
}

/// A media item an app created with `batchCreate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryItem {
    pub id: String,
    pub owner_email: String,
    pub filename: String,
    pub description: Option<String>,
    pub album_id: Option<String>,
    pub mime_type: String,
    pub size: usize,
}

#[derive(Debug, Clone)]
struct Upload {
    user: usize,
    mime: String,
    bytes: Arc<Vec<u8>>,
    expires: SystemTime,
}

#[derive(Debug, Default)]
pub(crate) struct LibraryState {
    pub albums: Vec<LibraryAlbum>,
    pub items: Vec<LibraryItem>,
    uploads: HashMap<String, Upload>,
    /// Per-item failures the next `batchCreate` answers: item positions in its request, with
    /// the `google.rpc.Status` code (Google answers 207 with the others created).
    pub fail_items: Vec<(usize, i64)>,
}

fn writer(state: &Shared, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let caller = state.authenticate(wire::bearer(headers))?;
    if caller.scopes.contains(APPEND_SCOPE) || caller.scopes.contains(EDIT_SCOPE) {
        Ok(caller)
    } else {
        Err(ApiError::insufficient_scope())
    }
}

fn email(state: &Shared, user: usize) -> String {
    state
        .user(user)
        .map(|u| u.email.clone())
        .unwrap_or_default()
}

async fn create_album(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match writer(&state, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(title) = value["album"]["title"].as_str().filter(|t| !t.is_empty()) else {
        return ApiError::invalid_argument("Request must have an album title.").into_response();
    };
    if title.chars().count() > 500 {
        return ApiError::invalid_argument("Album title is too long.").into_response();
    }
    let id = format!("AF1Qip{}", wire::random_token(30));
    let album = LibraryAlbum {
        id: id.clone(),
        title: title.into(),
        owner_email: email(&state, caller.user),
        media_item_ids: Vec::new(),
    };
    state.lock().library.albums.push(album);
    Json(json!({
        "id": id,
        "title": title,
        "productUrl": format!("https://photos.google.com/lr/album/{id}"),
        "isWriteable": true,
    }))
    .into_response()
}

async fn upload(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match writer(&state, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if body.is_empty() {
        return ApiError::invalid_argument("The upload is empty.").into_response();
    }
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header_str("x-goog-upload-protocol").is_some_and(|p| p != "raw") {
        return ApiError::invalid_argument("This fake supports X-Goog-Upload-Protocol: raw only.")
            .into_response();
    }
    let mime = header_str("x-goog-upload-content-type")
        .map(str::to_string)
        .or_else(|| {
            image::guess_format(&body)
                .ok()
                .map(|f| f.to_mime_type().to_string())
        })
        .unwrap_or_else(|| "application/octet-stream".into());
    let token = format!("CAIS{}", wire::random_token(48));
    let up = Upload {
        user: caller.user,
        mime,
        bytes: Arc::new(body.to_vec()),
        expires: SystemTime::now() + UPLOAD_TOKEN_TTL,
    };
    state.lock().library.uploads.insert(token.clone(), up);
    ([(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], token).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchCreate {
    album_id: Option<String>,
    #[serde(default)]
    new_media_items: Vec<NewMediaItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewMediaItem {
    description: Option<String>,
    simple_media_item: Option<SimpleMediaItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SimpleMediaItem {
    upload_token: String,
    file_name: Option<String>,
}

async fn batch_create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match writer(&state, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let req: BatchCreate = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::invalid_argument(format!("Invalid JSON payload received. {e}"))
                .into_response();
        }
    };
    if req.new_media_items.is_empty() || req.new_media_items.len() > 50 {
        return ApiError::invalid_argument("Request must contain between 1 and 50 newMediaItems.")
            .into_response();
    }
    let owner = email(&state, caller.user);
    let mut inner = state.lock();
    let lib = &mut inner.library;
    let album = match &req.album_id {
        None => None,
        Some(id) => match lib
            .albums
            .iter()
            .position(|a| &a.id == id && a.owner_email == owner)
        {
            Some(i) => Some(i),
            None => {
                return ApiError::invalid_argument(
                    "No permission to add media items to this album.",
                )
                .into_response();
            }
        },
    };
    let mut results = Vec::new();
    let mut failures = 0;
    let fail_items = std::mem::take(&mut lib.fail_items);
    for (position, item) in req.new_media_items.into_iter().enumerate() {
        if let Some((_, code)) = fail_items.iter().find(|(p, _)| *p == position) {
            failures += 1;
            let token = item.simple_media_item.map(|s| s.upload_token);
            results.push(
                json!({"uploadToken": token, "status": {"code": code, "message": CREATE_FAILED}}),
            );
            continue;
        }
        let Some(simple) = item.simple_media_item else {
            failures += 1;
            results.push(json!({"status": {"code": 3, "message": "simpleMediaItem is required."}}));
            continue;
        };
        let upload = lib
            .uploads
            .remove(&simple.upload_token)
            .filter(|u| u.user == caller.user && u.expires > SystemTime::now());
        let Some(upload) = upload else {
            failures += 1;
            results.push(json!({
                "uploadToken": simple.upload_token,
                "status": {"code": 3, "message": CREATE_FAILED},
            }));
            continue;
        };
        let id = format!("AF1Qip{}", wire::random_token(30));
        let filename = simple.file_name.unwrap_or_else(|| "upload".into());
        let mut metadata = json!({ "creationTime": wire::rfc3339(SystemTime::now()) });
        if let Ok((w, h)) = image::ImageReader::new(std::io::Cursor::new(&upload.bytes[..]))
            .with_guessed_format()
            .map_err(|_| ())
            .and_then(|r| r.into_dimensions().map_err(|_| ()))
        {
            metadata["width"] = json!(w.to_string());
            metadata["height"] = json!(h.to_string());
        }
        let mut media_item = json!({
            "id": id,
            "productUrl": format!("https://photos.google.com/lr/photo/{id}"),
            "mimeType": upload.mime,
            "mediaMetadata": metadata,
            "filename": filename,
        });
        if let Some(d) = &item.description {
            media_item["description"] = json!(d);
        }
        if let Some(a) = album.and_then(|i| lib.albums.get_mut(i)) {
            a.media_item_ids.push(id.clone());
        }
        lib.items.push(LibraryItem {
            id,
            owner_email: owner.clone(),
            filename,
            description: item.description,
            album_id: req.album_id.clone(),
            mime_type: upload.mime.clone(),
            size: upload.bytes.len(),
        });
        results.push(json!({
            "uploadToken": simple.upload_token,
            "status": {"message": "Success"},
            "mediaItem": media_item,
        }));
    }
    let status = if failures == 0 {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    let count = results.len();
    let mut response = (status, Json(json!({ "newMediaItemResults": results }))).into_response();
    // The request log notes each call's size (tests check the chunking).
    response
        .extensions_mut()
        .insert(crate::faults::Detail(format!("items={count}")));
    response
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Search {
    album_id: Option<String>,
    page_size: Option<i64>,
    page_token: Option<String>,
}

/// `mediaItems.search` with `albumId`: the items of an album the app created, in album order,
/// `pageSize` (default 25, at most 100) a page.
async fn search(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match state.authenticate(wire::bearer(&headers)) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !(caller.scopes.contains(READ_APP_SCOPE) || caller.scopes.contains(EDIT_SCOPE)) {
        return ApiError::insufficient_scope().into_response();
    }
    let req: Search = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::invalid_argument(format!("Invalid JSON payload received. {e}"))
                .into_response();
        }
    };
    let Some(album_id) = req.album_id else {
        return ApiError::invalid_argument("This fake searches by albumId only.").into_response();
    };
    let size = match req.page_size {
        None | Some(0) => 25,
        Some(n) if n < 0 => {
            return ApiError::invalid_argument("pageSize must not be negative.").into_response();
        }
        Some(n) => n.min(100) as usize,
    };
    let start: usize = match req.page_token.as_deref().map(str::parse) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return ApiError::invalid_argument("Invalid page token.").into_response(),
    };
    let owner = email(&state, caller.user);
    let inner = state.lock();
    let lib = &inner.library;
    let Some(album) = lib
        .albums
        .iter()
        .find(|a| a.id == album_id && a.owner_email == owner)
    else {
        return ApiError::not_found("Requested entity was not found.").into_response();
    };
    let page: Vec<Value> = album
        .media_item_ids
        .iter()
        .skip(start)
        .take(size)
        .filter_map(|id| lib.items.iter().find(|i| &i.id == id))
        .map(|i| {
            json!({
                "id": i.id,
                "productUrl": format!("https://photos.google.com/lr/photo/{}", i.id),
                "mimeType": i.mime_type,
                "filename": i.filename,
            })
        })
        .collect();
    let mut answer = json!({ "mediaItems": page });
    if start + size < album.media_item_ids.len() {
        answer["nextPageToken"] = json!((start + size).to_string());
    }
    Json(answer).into_response()
}
