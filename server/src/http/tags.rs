//! `/api/v1/tags/*`, `/api/v1/photos/{id}/tag` and `/api/v1/photos/{id}/tags/{tag}`: AI tags.
//! Queuing answers 503 `tagging_disabled` when tagging is off; reading and removing tags works
//! either way. Progress follows `GET /api/v1/blur/jobs/{batch_id}` like any batch.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use shared::api::{AnalyzeBatchRequest, TagAccepted, TagEstimate, TagList, TaggingInfo};

use super::blur::Chosen;
use super::extract::{ApiJson, IdPath};
use super::state::AppState;
use crate::auth::CurrentUser;
use crate::db::jobs as db_jobs;
use crate::db::photos::{self, Selection};
use crate::db::tags;
use crate::error::AppError;
use crate::jobs::{self, JobKind};

/// Whether tagging is available, with what model, where photos go and what a photo costs.
/// Always 200: `enabled` is false when tagging is off.
#[utoipa::path(get, path = "/tags/status", tag = "tags",
    responses((status = 200, body = TaggingInfo)))]
pub async fn status(State(state): State<AppState>, _user: CurrentUser) -> Json<TaggingInfo> {
    Json(state.deps.tagging.info())
}

/// Queues tagging of one photo (sent to the configured vision model). If it is already
/// queued, answers with that batch.
#[utoipa::path(post, path = "/photos/{id}/tag", tag = "tags",
    params(("id" = i64, Path, description = "Photo id")),
    responses((status = 202, body = TagAccepted),
        (status = 404, body = shared::api::ErrorResponse),
        (status = 503, description = "Tagging is off (`tagging_disabled`), or the database or queue is down", body = shared::api::ErrorResponse)))]
pub async fn tag_one(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<(StatusCode, Json<TagAccepted>), AppError> {
    photos::get(state.deps.db.pool(), user.id(), id)
        .await?
        .ok_or(AppError::NotFound("photo"))?;
    enabled(&state)?;
    let pending =
        db_jobs::pending_batch(state.deps.db.pool(), id, JobKind::TagPhoto.as_str()).await?;
    if let Some(batch_id) = pending {
        return Ok(accepted(&state, batch_id, 1));
    }
    queue(&state, user.id(), Selection::Ids(&[id])).await
}

/// Queues tagging of many photos: `{"photo_ids": [...]}` or `{"filter": "..."}` (as
/// analyze-batch). Photos already queued for tagging are not queued twice. Every photo is sent
/// to the configured vision model; `POST /tags/estimate` says first what it costs.
#[utoipa::path(post, path = "/tags/batch", tag = "tags", request_body = AnalyzeBatchRequest,
    responses((status = 202, body = TagAccepted),
        (status = 400, body = shared::api::ErrorResponse),
        (status = 404, body = shared::api::ErrorResponse),
        (status = 503, description = "Tagging is off (`tagging_disabled`), or the database or queue is down", body = shared::api::ErrorResponse)))]
pub async fn tag_batch(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<AnalyzeBatchRequest>,
) -> Result<(StatusCode, Json<TagAccepted>), AppError> {
    enabled(&state)?;
    let chosen = Chosen::from_request(&state, user.id(), body).await?;
    queue(&state, user.id(), chosen.selection()).await
}

/// What tagging a selection would cost (the same body as `/tags/batch`); nothing is queued.
/// Answers even when tagging is off (the figures of the configured model).
#[utoipa::path(post, path = "/tags/estimate", tag = "tags", request_body = AnalyzeBatchRequest,
    responses((status = 200, body = TagEstimate),
        (status = 400, body = shared::api::ErrorResponse),
        (status = 404, body = shared::api::ErrorResponse)))]
pub async fn estimate(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<AnalyzeBatchRequest>,
) -> Result<Json<TagEstimate>, AppError> {
    let chosen = Chosen::from_request(&state, user.id(), body).await?;
    let count =
        photos::count_selection(state.deps.db.pool(), user.id(), &chosen.selection()).await?;
    let (estimated_tokens, estimated_usd) = cost(&state, count);
    Ok(Json(TagEstimate {
        photos: count,
        estimated_tokens,
        estimated_usd,
    }))
}

/// The user's tags with their counts, most used first.
#[utoipa::path(get, path = "/tags", tag = "tags",
    responses((status = 200, body = TagList)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<TagList>, AppError> {
    Ok(Json(TagList {
        tags: tags::counts(state.deps.db.pool(), user.id()).await?,
    }))
}

/// A photo id and a tag from the path.
#[derive(Debug, Clone)]
pub struct TagPath {
    id: i64,
    tag: String,
}

impl<S: Send + Sync> FromRequestParts<S> for TagPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path((id, tag)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound("tag"))?;
        let id = id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or(AppError::NotFound("photo"))?;
        // Stored tags are normalised; the path is read the same way, so `Beach` names `beach`.
        let tag = shared::api::normalize_tag(&tag).ok_or(AppError::NotFound("tag"))?;
        Ok(TagPath { id, tag })
    }
}

/// Removes a wrong tag from one of the user's photos.
#[utoipa::path(delete, path = "/photos/{id}/tags/{tag}", tag = "tags",
    params(("id" = i64, Path, description = "Photo id"), ("tag" = String, Path, description = "The tag (URL-encoded)")),
    responses((status = 204), (status = 404, description = "Not the user's photo, or the photo has no such tag", body = shared::api::ErrorResponse)))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    path: TagPath,
) -> Result<StatusCode, AppError> {
    if tags::remove(state.deps.db.pool(), user.id(), path.id, &path.tag).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("tag"))
    }
}

fn enabled(state: &AppState) -> Result<(), AppError> {
    if state.deps.tagging.enabled() {
        Ok(())
    } else {
        Err(AppError::TaggingDisabled)
    }
}

async fn queue(
    state: &AppState,
    user_id: i64,
    selection: Selection<'_>,
) -> Result<(StatusCode, Json<TagAccepted>), AppError> {
    let queued =
        jobs::enqueue_for_photos(&state.deps, user_id, JobKind::TagPhoto, &selection).await?;
    Ok(accepted(state, queued.batch_id, queued.total))
}

fn accepted(state: &AppState, batch_id: i64, total: i64) -> (StatusCode, Json<TagAccepted>) {
    let (estimated_tokens, estimated_usd) = cost(state, total);
    (
        StatusCode::ACCEPTED,
        Json(TagAccepted {
            batch_id,
            total,
            estimated_tokens,
            estimated_usd,
        }),
    )
}

/// Tokens and dollars of `photos` photos at the configured model and detail.
fn cost(state: &AppState, photos: i64) -> (i64, f64) {
    let per_photo = state.deps.tagging.photo_cost();
    let tokens = i64::try_from(per_photo.tokens)
        .unwrap_or(i64::MAX)
        .saturating_mul(photos);
    (tokens, per_photo.usd * photos as f64)
}
