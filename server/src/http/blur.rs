//! `/api/v1/blur/*` and `/api/v1/photos/{id}/analyze`: queue verification, follow a batch.

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use shared::api::{AnalyzeBatchRequest, BatchStatus, JobAccepted, JobProgress, MAX_BATCH_IDS};

use super::extract::{ApiJson, IdPath};
use super::state::AppState;
use crate::auth::CurrentUser;
use crate::db::batches::{self, BatchCounts};
use crate::db::jobs as db_jobs;
use crate::db::photos::{self, Selection};
use crate::error::AppError;
use crate::jobs::{self, JobKind};

/// Queues verification of one photo. If it is already queued, answers with that batch.
#[utoipa::path(post, path = "/photos/{id}/analyze", tag = "blur",
    params(("id" = i64, Path, description = "Photo id")),
    responses((status = 202, body = JobAccepted), (status = 404, body = shared::api::ErrorResponse)))]
pub async fn analyze_one(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<(StatusCode, Json<JobAccepted>), AppError> {
    photos::get(state.deps.db.pool(), user.id(), id)
        .await?
        .ok_or(AppError::NotFound("photo"))?;
    let pending =
        db_jobs::pending_batch(state.deps.db.pool(), id, JobKind::VerifyPhoto.as_str()).await?;
    if let Some(batch) = pending {
        return Ok(accepted(batch, 1));
    }
    queue(&state, user.id(), Selection::Ids(&[id])).await
}

/// Queues verification of many photos: `{"photo_ids": [...]}` or `{"filter": "unprocessed"}`.
/// Photos already queued are not queued twice.
#[utoipa::path(post, path = "/blur/analyze-batch", tag = "blur", request_body = AnalyzeBatchRequest,
    responses((status = 202, body = JobAccepted),
        (status = 400, body = shared::api::ErrorResponse),
        (status = 404, body = shared::api::ErrorResponse)))]
pub async fn analyze_batch(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<AnalyzeBatchRequest>,
) -> Result<(StatusCode, Json<JobAccepted>), AppError> {
    let chosen = Chosen::from_request(&state, user.id(), body).await?;
    queue(&state, user.id(), chosen.selection()).await
}

/// The photos a batch request chose, checked: ids the user owns, or a filter.
#[derive(Debug, Clone)]
pub(super) enum Chosen {
    /// These ids (sorted, distinct, all the user's).
    Ids(Vec<i64>),
    /// Every photo of a filter.
    Filter(shared::api::PhotoFilter),
}

impl Chosen {
    /// Checks `{"photo_ids": [...]}` or `{"filter": ...}`.
    pub(super) async fn from_request(
        state: &AppState,
        user_id: i64,
        body: AnalyzeBatchRequest,
    ) -> Result<Self, AppError> {
        match (body.photo_ids, body.filter) {
            (Some(mut ids), None) => {
                // Counted as sent, as the document's `maxItems` counts them.
                if ids.is_empty() || ids.len() > MAX_BATCH_IDS {
                    return Err(AppError::BadRequest(format!(
                        "photo_ids must list 1 to {MAX_BATCH_IDS} ids"
                    )));
                }
                ids.sort_unstable();
                ids.dedup();
                // Any id the user does not own makes the whole request a 404, as a single
                // photo's would: the batch never reveals which ids exist.
                if photos::count_owned(state.deps.db.pool(), user_id, &ids).await?
                    != ids.len() as i64
                {
                    return Err(AppError::NotFound("photo"));
                }
                Ok(Chosen::Ids(ids))
            }
            (None, Some(filter)) => Ok(Chosen::Filter(filter)),
            _ => Err(AppError::BadRequest(
                "send either photo_ids or filter".into(),
            )),
        }
    }

    /// As the queries take it.
    pub(super) fn selection(&self) -> Selection<'_> {
        match self {
            Chosen::Ids(ids) => Selection::Ids(ids),
            Chosen::Filter(filter) => Selection::Filter(*filter),
        }
    }
}

async fn queue(
    state: &AppState,
    user_id: i64,
    selection: Selection<'_>,
) -> Result<(StatusCode, Json<JobAccepted>), AppError> {
    let queued =
        jobs::enqueue_for_photos(&state.deps, user_id, JobKind::VerifyPhoto, &selection).await?;
    Ok(accepted(queued.batch_id, queued.total))
}

fn accepted(batch_id: i64, total: i64) -> (StatusCode, Json<JobAccepted>) {
    (
        StatusCode::ACCEPTED,
        Json(JobAccepted {
            batch_id,
            job_id: batch_id,
            total,
        }),
    )
}

fn progress(batch_id: i64, c: BatchCounts) -> JobProgress {
    let finished = c.done + c.failed;
    let status = if finished == c.total {
        if c.total > 0 && c.failed == c.total {
            BatchStatus::Failed
        } else {
            BatchStatus::Done
        }
    } else if finished > 0 || c.running > 0 {
        BatchStatus::Running
    } else {
        BatchStatus::Queued
    };
    JobProgress {
        batch_id,
        job_id: batch_id,
        status,
        done: c.done,
        failed: c.failed,
        total: c.total,
    }
}

/// The progress of a batch.
#[utoipa::path(get, path = "/blur/jobs/{batch_id}", tag = "blur",
    params(("batch_id" = i64, Path, description = "The `batch_id` of a 202 answer")),
    responses((status = 200, body = JobProgress), (status = 404, body = shared::api::ErrorResponse)))]
pub async fn job(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<Json<JobProgress>, AppError> {
    let counts = batches::counts(state.deps.db.pool(), user.id(), id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    Ok(Json(progress(id, counts)))
}

/// The progress of a batch as server-sent events: a `progress` event (a `JobProgress`) when
/// anything changes, ending after the batch finishes, at shutdown, or after
/// `CLASSIFY_STREAM_MAX_SECS` (the browser's EventSource reconnects). A user may hold
/// `CLASSIFY_MAX_STREAMS_PER_USER` streams at once.
#[utoipa::path(get, path = "/blur/jobs/{batch_id}/events", tag = "blur",
    params(("batch_id" = i64, Path, description = "The `batch_id` of a 202 answer")),
    responses((status = 200, description = "text/event-stream of `progress` events", content_type = "text/event-stream"),
        (status = 404, body = shared::api::ErrorResponse),
        (status = 429, description = "Too many progress streams open for this user", body = shared::api::ErrorResponse)))]
pub async fn job_events(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    // Checked once up front so another user's id is a 404, not an empty stream.
    let first = batches::counts(state.deps.db.pool(), user.id(), id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    let subscription = state
        .watch
        .subscribe(user.id(), id, first)
        .map_err(|e| AppError::TooManyRequests(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + state.stream_max;
    let stream = futures_util::stream::unfold(
        (Some(first), subscription, false),
        move |(next, mut subscription, finished)| async move {
            if finished {
                return None;
            }
            let counts = match next {
                Some(counts) => counts,
                None => tokio::select! {
                    () = tokio::time::sleep_until(deadline) => return None,
                    counts = subscription.changed() => counts?,
                },
            };
            let p = progress(subscription.batch_id(), counts);
            let done = matches!(p.status, BatchStatus::Done | BatchStatus::Failed);
            let event = Event::default()
                .event("progress")
                .json_data(&p)
                .unwrap_or_else(|_| Event::default().event("progress"));
            Some((Ok(event), (None, subscription, done)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(total: i64, done: i64, failed: i64, running: i64) -> BatchCounts {
        BatchCounts {
            total,
            done,
            failed,
            running,
        }
    }

    #[test]
    fn batch_status_follows_the_counts() {
        assert_eq!(progress(1, c(3, 0, 0, 0)).status, BatchStatus::Queued);
        assert_eq!(progress(1, c(3, 0, 0, 1)).status, BatchStatus::Running);
        assert_eq!(progress(1, c(3, 1, 0, 0)).status, BatchStatus::Running);
        assert_eq!(progress(1, c(3, 2, 1, 0)).status, BatchStatus::Done);
        assert_eq!(progress(1, c(3, 0, 3, 0)).status, BatchStatus::Failed);
        assert_eq!(progress(1, c(0, 0, 0, 0)).status, BatchStatus::Done);
    }
}
