//! `/api/v1/picker/sessions`: choosing photos in Google Photos. Create a Picker session (the
//! page opens its `picker_uri` in a new tab), poll it as Google advises, then sync it: an
//! import job stores the picked photos and queues their verification.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::api::{PickerSession, SyncAccepted};

use super::state::AppState;
use crate::auth::CurrentUser;
use crate::db::jobs as job_rows;
use crate::db::picker::{self, NewSession, SessionRow};
use crate::error::AppError;
use crate::google::picker::{PickingSession, parse_duration, parse_time_ms};
use crate::google::{Google, GoogleError, account, scopes};
use crate::jobs::{self, JobKind, import::ImportPayload};
use crate::time::now_ms;

/// Polling advice when Google gives none.
const DEFAULT_POLL_MS: i64 = 5_000;
const DEFAULT_TIMEOUT_MS: i64 = 30 * 60 * 1000;

fn google(state: &AppState) -> Result<&Google, AppError> {
    state
        .deps
        .google
        .as_deref()
        .ok_or(AppError::Google(GoogleError::NotConnected))
}

fn millis(text: Option<&str>, default: i64) -> i64 {
    text.and_then(parse_duration)
        .map_or(default, |d| i64::try_from(d.as_millis()).unwrap_or(default))
}

/// Starts a Picker session: open `picker_uri` in a new tab (Google's picker cannot be framed),
/// then poll the session until `media_items_set`.
#[utoipa::path(post, path = "/picker/sessions", tag = "picker",
    responses((status = 201, body = PickerSession),
        (status = 401, body = shared::api::ErrorResponse, description = "Not signed in, or Google needs a new sign-in (`reauth_required`)"),
        (status = 409, body = shared::api::ErrorResponse, description = "No Google connection or no Photos scope (`google_not_connected`)"),
        (status = 503, body = shared::api::ErrorResponse, description = "Google is rate limiting or unavailable")))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<(StatusCode, Json<PickerSession>), AppError> {
    let google = google(&state)?;
    let token = account::access_token(google, &state.deps.db, user.id(), scopes::PICKER).await?;
    let session = google.create_session(&token).await?;
    let uri = session
        .picker_uri
        .as_deref()
        .ok_or_else(|| GoogleError::Protocol("a Picker session without pickerUri".into()))?;
    // Google's advice for the web: the picker closes its tab itself when the user is done.
    let picker_uri = if uri.ends_with("/autoclose") {
        uri.to_string()
    } else {
        format!("{}/autoclose", uri.trim_end_matches('/'))
    };
    let polling = session.polling_config.as_ref();
    let row = picker::insert(
        state.deps.db.pool(),
        user.id(),
        &NewSession {
            id: &session.id,
            picker_uri: &picker_uri,
            expire_at: session
                .expire_time
                .as_deref()
                .and_then(parse_time_ms)
                .unwrap_or_else(|| now_ms() + DEFAULT_TIMEOUT_MS),
            poll_interval_ms: millis(
                polling.and_then(|p| p.poll_interval.as_deref()),
                DEFAULT_POLL_MS,
            ),
            timeout_ms: millis(
                polling.and_then(|p| p.timeout_in.as_deref()),
                DEFAULT_TIMEOUT_MS,
            ),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(row.to_api())))
}

/// Where a session stands. While the user is picking, Google is asked (poll no more often
/// than `poll_interval_ms`); during and after the import, its progress.
#[utoipa::path(get, path = "/picker/sessions/{id}", tag = "picker",
    params(("id" = String, Path, description = "The Picker session id")),
    responses((status = 200, body = PickerSession),
        (status = 404, body = shared::api::ErrorResponse)))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<PickerSession>, AppError> {
    let row = refreshed(&state, user.id(), &id).await?;
    Ok(Json(row.to_api()))
}

/// The session row, brought up to date: a picking session is polled at Google; an import
/// whose job failed for good says so.
async fn refreshed(state: &AppState, user_id: i64, id: &str) -> Result<SessionRow, AppError> {
    let pool = state.deps.db.pool();
    let row = picker::get(pool, user_id, id)
        .await?
        .ok_or(AppError::NotFound("Picker session"))?;
    match row.status.as_str() {
        "picking" if row.expire_at <= now_ms() => {
            picker::set_status(pool, id, "expired", None).await?;
        }
        "picking" => {
            let google = google(state)?;
            let token =
                account::access_token(google, &state.deps.db, user_id, scopes::PICKER).await?;
            match google.get_session(&token, id).await {
                Ok(session) => record(state, &session).await?,
                // Gone at Google (deleted, expired, or never this user's).
                Err(GoogleError::Api {
                    status: 403 | 404, ..
                }) => picker::set_status(pool, id, "expired", None).await?,
                Err(e) => return Err(e.into()),
            }
        }
        "importing" => {
            if let Some(job_id) = row.job_id
                && let Some(job) = job_rows::get(pool, job_id).await?
                && job.status == "failed"
            {
                picker::set_status(pool, id, "failed", job.error.as_deref()).await?;
            }
        }
        _ => return Ok(row),
    }
    picker::get(pool, user_id, id)
        .await?
        .ok_or(AppError::NotFound("Picker session"))
}

async fn record(state: &AppState, session: &PickingSession) -> Result<(), AppError> {
    let polling = session.polling_config.as_ref();
    picker::record_poll(
        state.deps.db.pool(),
        &session.id,
        session.media_items_set,
        millis(
            polling.and_then(|p| p.poll_interval.as_deref()),
            DEFAULT_POLL_MS,
        ),
        millis(
            polling.and_then(|p| p.timeout_in.as_deref()),
            DEFAULT_TIMEOUT_MS,
        ),
    )
    .await?;
    Ok(())
}

/// Imports the picked photos: queues an import job (202) that stores them and queues their
/// verification at once, since Google's links to them live only 60 minutes. Follow it by
/// polling the session. Syncing again while an import runs answers the same job.
#[utoipa::path(post, path = "/picker/sessions/{id}/sync", tag = "picker",
    params(("id" = String, Path, description = "The Picker session id")),
    responses((status = 202, body = SyncAccepted),
        (status = 404, body = shared::api::ErrorResponse),
        (status = 409, body = shared::api::ErrorResponse, description = "The user has not pressed Done yet, or the session expired")))]
pub async fn sync(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SyncAccepted>), AppError> {
    let row = refreshed(&state, user.id(), &id).await?;
    let accepted = |job_id| {
        (
            StatusCode::ACCEPTED,
            Json(SyncAccepted {
                session_id: id.clone(),
                job_id,
            }),
        )
    };
    match row.status.as_str() {
        "picking" => Err(AppError::Conflict(
            "the photos are not picked yet: press Done in Google Photos first".into(),
        )),
        "expired" => Err(AppError::Conflict(
            "this Picker session expired: pick the photos again".into(),
        )),
        "importing" | "imported" => Ok(accepted(row.job_id.unwrap_or_default())),
        _ => {
            let payload = serde_json::to_string(&ImportPayload {
                session_id: id.clone(),
                max_photos: state.quota.max_photos,
            })
            .map_err(|e| AppError::Internal(e.into()))?;
            let job_id = jobs::create_one(
                state.deps.db.pool(),
                user.id(),
                JobKind::PickerImport,
                &payload,
            )
            .await?;
            // The session names its import job before any worker can start it; of two syncs
            // at once, one claims the session, and the other's job finds another id there and
            // does nothing.
            let claimed =
                picker::claim_for_import(state.deps.db.pool(), user.id(), &id, job_id).await?;
            jobs::push(&state.deps, job_id).await;
            if !claimed {
                let row = picker::get(state.deps.db.pool(), user.id(), &id)
                    .await?
                    .ok_or(AppError::NotFound("Picker session"))?;
                return Ok(accepted(row.job_id.unwrap_or(job_id)));
            }
            Ok(accepted(job_id))
        }
    }
}
