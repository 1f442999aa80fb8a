//! `/api/v1/albums*`: make an album of clear photos (a Google Photos album filled by a job, or
//! a downloadable collection), follow it (JSON, or server-sent events like batches), resume
//! it, and download a collection as a ZIP. The user is always the caller; another user's
//! album is a 404.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use shared::api::{Album, AlbumItemsPage, AlbumList, AlbumProgress, CreateAlbumRequest};

use super::extract::{ApiQuery, IdPath, OptionalApiJson};
use super::state::AppState;
use crate::albums::{self, AlbumError};
use crate::auth::CurrentUser;
use crate::db::albums::{self as db_albums, AlbumRow};
use crate::db::google as db_google;
use crate::error::AppError;
use crate::google::scopes;

impl From<AlbumError> for AppError {
    fn from(e: AlbumError) -> Self {
        match e {
            AlbumError::BadRequest(m) => AppError::BadRequest(m),
            AlbumError::UnknownPhoto => AppError::NotFound("photo"),
            e @ AlbumError::Busy => AppError::Conflict(e.to_string()),
            AlbumError::Database(e) => AppError::Database(e),
        }
    }
}

/// Where the browser goes to grant the Library scope: Google's consent (incremental, state and
/// PKCE as at sign-in), back to the album screen afterwards.
pub const GRANT_ALBUMS_URL: &str = "/api/v1/auth/google/start?grant=albums";

/// Makes an album of the user's clear photos (or the `photo_ids` / `filter` given). Google
/// Photos (the default with Google configured) answers 202 and fills the album in a job; it
/// first needs the Library scope, asked for incrementally: without it, 403
/// `scope_required` with `action_url` to start that consent. A collection (`destination:
/// "download"`, and always in local mode) is complete at once: 201.
#[utoipa::path(post, path = "/albums/unblurred", tag = "albums", request_body = CreateAlbumRequest,
    responses((status = 202, body = Album, description = "The Google Photos album's job is queued"),
        (status = 201, body = Album, description = "A downloadable collection"),
        (status = 400, body = shared::api::ErrorResponse),
        (status = 403, body = shared::api::ErrorResponse, description = "`scope_required`: grant Google Photos access at `action_url` first"),
        (status = 404, body = shared::api::ErrorResponse),
        (status = 409, body = shared::api::ErrorResponse, description = "Another album is being made")))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    OptionalApiJson(request): OptionalApiJson<CreateAlbumRequest>,
) -> Result<(StatusCode, Json<Album>), AppError> {
    // The body is optional: none means every clear photo, under the default title.
    let request = request.unwrap_or_default();
    let google = state.deps.google.is_some();
    let to_google = google && request.destination != Some(shared::api::AlbumDestination::Download);
    if to_google {
        let granted = db_google::tokens(state.deps.db.pool(), user.id())
            .await?
            .map(|t| t.scope)
            .unwrap_or_default();
        if !scopes::has(&granted, scopes::LIBRARY_APPEND) {
            return Err(AppError::ScopeRequired {
                message: "Classify needs your permission to create albums and upload to Google Photos (the album holds copies of your clear photos). Grant it at action_url, then try again.".into(),
                action_url: GRANT_ALBUMS_URL.into(),
            });
        }
    }
    let row = albums::create(&state.deps, user.id(), request, google).await?;
    let status = if row.kind == "google" {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view(&state, &row, 0, 50).await?)))
}

/// The user's albums, newest first.
#[utoipa::path(get, path = "/albums", tag = "albums",
    responses((status = 200, body = AlbumList), (status = 401, body = shared::api::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<AlbumList>, AppError> {
    let rows = db_albums::list(state.deps.db.pool(), user.id()).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut counts = db_albums::counts_of(state.deps.db.pool(), &ids).await?;
    Ok(Json(AlbumList {
        items: rows
            .iter()
            .map(|r| {
                let c = counts.remove(&r.id).unwrap_or_default();
                albums::to_api(r, c, AlbumItemsPage::default())
            })
            .collect(),
    }))
}

/// Paging of an album's photos.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    #[param(minimum = 0)]
    pub cursor: Option<i64>,
    /// Photos per page (1 to 500, default 50).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One album: status, counts, Google's album, and a page of its photos with each one's
/// outcome (`added`, `skipped` with "link expired — re-pick to include", `failed` with the
/// reason).
#[utoipa::path(get, path = "/albums/{id}", tag = "albums", params(("id" = i64, Path, description = "Album id"), ItemsQuery),
    responses((status = 200, body = Album), (status = 400, body = shared::api::ErrorResponse),
        (status = 404, body = shared::api::ErrorResponse)))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
    ApiQuery(query): ApiQuery<ItemsQuery>,
) -> Result<Json<Album>, AppError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) || query.cursor.is_some_and(|c| c < 0) {
        return Err(AppError::BadRequest(
            "limit must be 1 to 500 and cursor at least 0".into(),
        ));
    }
    let row = owned(&state, user.id(), id).await?;
    Ok(Json(
        view(&state, &row, query.cursor.unwrap_or(0), limit).await?,
    ))
}

/// Resumes a paused album (the day's Google quota was spent) or a failed one at once; failed
/// photos are tried again. 202 with the album; 409 when it is not paused or failed, or another
/// album of the user is being made.
#[utoipa::path(post, path = "/albums/{id}/resume", tag = "albums", params(("id" = i64, Path, description = "Album id")),
    responses((status = 202, body = Album), (status = 404, body = shared::api::ErrorResponse),
        (status = 409, body = shared::api::ErrorResponse)))]
pub async fn resume(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<(StatusCode, Json<Album>), AppError> {
    let row = owned(&state, user.id(), id).await?;
    if row.kind != "google" {
        return Err(AppError::Conflict(
            "a collection has nothing to resume".into(),
        ));
    }
    if !crate::jobs::album::resume(&state.deps, row.id, user.id(), &["paused", "failed"]).await? {
        return Err(AppError::Conflict(
            "only a paused or failed album can be resumed, and only while no other album of yours is being made".into(),
        ));
    }
    let row = owned(&state, user.id(), id).await?;
    Ok((StatusCode::ACCEPTED, Json(view(&state, &row, 0, 50).await?)))
}

/// An album's progress as server-sent events: an `album` event (`AlbumProgress`) whenever it
/// changes, ending once the album is done or failed, at shutdown, or after
/// `CLASSIFY_STREAM_MAX_SECS` (the browser's EventSource reconnects). It counts against the
/// user's `CLASSIFY_MAX_STREAMS_PER_USER`, as a batch's stream does.
#[utoipa::path(get, path = "/albums/{id}/events", tag = "albums", params(("id" = i64, Path, description = "Album id")),
    responses((status = 200, description = "text/event-stream of `album` events", content_type = "text/event-stream"),
        (status = 404, body = shared::api::ErrorResponse),
        (status = 429, description = "Too many progress streams open for this user", body = shared::api::ErrorResponse)))]
pub async fn events(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let first = progress(&state, &owned(&state, user.id(), id).await?).await?;
    let slot = state
        .watch
        .slot(user.id())
        .map_err(|e| AppError::TooManyRequests(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + state.stream_max;
    let user_id = user.id();
    let stream = futures_util::stream::unfold(
        (Some(first), None::<AlbumProgress>, slot),
        move |(next, last, slot)| {
            let state = state.clone();
            async move {
                if last.as_ref().is_some_and(|p| p.status.is_final()) {
                    return None;
                }
                let mut current = next;
                while current.is_none() || current == last {
                    tokio::select! {
                        () = slot.closed() => return None,
                        () = tokio::time::sleep_until(deadline) => return None,
                        () = tokio::time::sleep(POLL) => {}
                    }
                    let row = db_albums::get(state.deps.db.pool(), user_id, id)
                        .await
                        .ok()??;
                    current = progress(&state, &row).await.ok();
                }
                let p = current?;
                let event = Event::default()
                    .event("album")
                    .json_data(&p)
                    .unwrap_or_else(|_| Event::default().event("album"));
                Some((Ok(event), (None, Some(p), slot)))
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// How often an open album stream looks for changes.
const POLL: Duration = Duration::from_millis(500);

/// The album's originals as a ZIP (`{title}.zip`: the photos as stored, uncompressed, and
/// `scores.csv` with file, score, type), streamed as it is built. Google photos' originals
/// are not kept here, so a Google album's ZIP holds its uploaded (local) photos only.
#[utoipa::path(get, path = "/albums/{id}/download", tag = "albums", params(("id" = i64, Path, description = "Album id")),
    responses((status = 200, description = "A ZIP archive", content_type = "application/zip"),
        (status = 404, body = shared::api::ErrorResponse)))]
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let row = owned(&state, user.id(), id).await?;
    let name: String = row
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " -_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let body = Body::from_stream(crate::albums::zip::stream(state.deps.clone(), row.id));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.zip\"", name.trim())) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn owned(state: &AppState, user_id: i64, id: i64) -> Result<AlbumRow, AppError> {
    db_albums::get(state.deps.db.pool(), user_id, id)
        .await?
        .ok_or(AppError::NotFound("album"))
}

async fn progress(state: &AppState, row: &AlbumRow) -> Result<AlbumProgress, AppError> {
    let counts = db_albums::counts(state.deps.db.pool(), row.id).await?;
    let album = albums::to_api(row, counts, AlbumItemsPage::default());
    Ok(AlbumProgress {
        album_id: row.id,
        status: album.status,
        counts,
        error: album.error,
    })
}

async fn view(state: &AppState, row: &AlbumRow, from: i64, limit: i64) -> Result<Album, AppError> {
    let pool = state.deps.db.pool();
    let counts = db_albums::counts(pool, row.id).await?;
    let items = db_albums::items_page(pool, row.id, from, limit + 1).await?;
    let next_cursor = items.get(limit as usize).map(|i| i.position);
    let page = AlbumItemsPage {
        items: items
            .iter()
            .take(limit as usize)
            .map(|i| i.to_api())
            .collect(),
        next_cursor,
    };
    Ok(albums::to_api(row, counts, page))
}
