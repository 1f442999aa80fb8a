//! The `album` job (`JobKind::Album`): fills a Google Photos album with copies of the chosen
//! photos. The Library API only adds items the app uploaded to albums the app created, so:
//! create the album once (its id stored before anything uses it), then rounds of up to 50
//! photos: fetch each original (a Google photo's `=d`, a local photo's blob) and upload it
//! (raw protocol, a few at a time), then one `batchCreate` of the round's tokens, serially (one
//! album job per user at a time). Every item's state is stored as it moves (pending → uploaded
//! → creating → added | skipped | failed), so a killed worker's successor continues where it
//! stopped.
//!
//! **Exactly once.** An item is claimed `creating` (a conditional UPDATE) before it is sent,
//! so two runs never send the same item. A run that finds `creating` items (its predecessor
//! died between sending `batchCreate` and storing the answer, or the answer was a 5xx or a
//! timeout) does not send them again blindly: it waits until that request must have ended
//! (the Google request timeout since the claim), reads the album back (`mediaItems:search`,
//! app-created album) and matches items by their file name, unique within the album: found
//! ones are `added`, the rest are sent again. Without the read scope they end `failed` with
//! the reason, never twice in the album.
//!
//! Throttling: 429 and 5xx are retried inside each call (`Retry-After` honoured); a longer
//! storm makes the job wait and go on (bounded), then retry as a job. The deployment's daily
//! Library quota stops the job as `paused` until Google's day turns (or a resume request).

mod rounds;

use serde::{Deserialize, Serialize};

use super::{JobError, google_job_error};
use crate::app::Deps;
use crate::db::albums;
use crate::db::jobs::JobRow;
use crate::google::GoogleError;
use crate::time::now_ms;

/// What an album job names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbumPayload {
    /// The album.
    pub album_id: i64,
}

/// Why an item is left out when its Google link has run out.
pub const LINK_EXPIRED: &str = "link expired — re-pick to include";

/// How a run ended, short of finishing.
#[derive(Debug)]
enum Stop {
    /// The day's quota is spent: pause until it turns.
    Paused { reason: String, resume_at: i64 },
    /// Retrying cannot help.
    Failed(String),
    /// Try again later (the job system retries).
    Retry(String),
}

impl From<GoogleError> for Stop {
    fn from(e: GoogleError) -> Self {
        match e {
            GoogleError::QuotaExhausted { resets_at_ms, .. } => Stop::Paused {
                reason: format!("{}: {e}", e.code()),
                resume_at: resets_at_ms,
            },
            e => match google_job_error(&e) {
                JobError::Retryable(r) => Stop::Retry(r),
                JobError::Permanent(r) => Stop::Failed(r),
            },
        }
    }
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Retry(format!("database: {e}"))
    }
}

/// Runs one album job.
pub async fn run(deps: &Deps, job: &JobRow) -> Result<(), JobError> {
    let payload: AlbumPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Permanent(format!("bad album payload: {e}")))?;
    let pool = deps.db.pool();
    let retry = |e: sqlx::Error| JobError::Retryable(e.to_string());
    let Some(album) = albums::get_any(pool, payload.album_id)
        .await
        .map_err(retry)?
    else {
        return Ok(()); // deleted with its user
    };
    if album.job_id != Some(job.id) || !matches!(album.status.as_str(), "queued" | "running") {
        return Ok(()); // a resume handed the album to another job, or it is settled
    }
    let last_attempt = job.attempts >= job.max_attempts;
    let outcome = async {
        let google = deps
            .google
            .as_deref()
            .ok_or_else(|| Stop::Failed("Google is not configured on this server".into()))?;
        albums::set_status(pool, album.id, "running", None, None).await?;
        rounds::fill(deps, google, &album).await
    }
    .await;
    let settle = |status: &'static str, reason: Option<String>, resume_at: Option<i64>| async move {
        albums::set_status(pool, album.id, status, reason.as_deref(), resume_at).await
    };
    match outcome {
        Ok(()) => settle("done", None, None).await.map_err(retry),
        Err(Stop::Paused { reason, resume_at }) => {
            tracing::info!(album_id = album.id, %reason, "album paused");
            settle("paused", Some(reason), Some(resume_at))
                .await
                .map_err(retry)
        }
        Err(Stop::Failed(reason)) => {
            settle("failed", Some(reason.clone()), None)
                .await
                .map_err(retry)?;
            Err(JobError::Permanent(reason))
        }
        Err(Stop::Retry(reason)) => {
            if last_attempt {
                settle("failed", Some(reason.clone()), None)
                    .await
                    .map_err(retry)?;
            }
            Err(JobError::Retryable(reason))
        }
    }
}

/// A job whose workers kept dying until it ran out of attempts (the sweeper found it): its
/// album, if the job still owns it, is stored `failed` with the reason, so the user sees it
/// and may make another album (one is made at a time).
pub async fn job_exhausted(deps: &Deps, job_id: i64, reason: &str) -> Result<(), sqlx::Error> {
    albums::fail_for_job(deps.db.pool(), job_id, reason).await
}

/// Hands a paused or failed album to a new job (a resume request, or its day has turned);
/// false when it was not resumable (another resume won, or the user has another album being
/// made). Failed items are tried again.
pub async fn resume(
    deps: &Deps,
    album_id: i64,
    user_id: i64,
    from: &[&str],
) -> Result<bool, sqlx::Error> {
    let payload = serde_json::json!({ "album_id": album_id }).to_string();
    let job_id =
        super::create_one(deps.db.pool(), user_id, super::JobKind::Album, &payload).await?;
    let mut conn = deps.db.pool().acquire().await?;
    let resumed = albums::requeue(&mut conn, album_id, from, job_id).await?;
    drop(conn);
    if resumed {
        albums::retry_failed(deps.db.pool(), album_id).await?;
    }
    // Pushed either way: a job that does not own its album ends at once, doing nothing.
    super::push(deps, job_id).await;
    Ok(resumed)
}

/// Resumes the paused albums whose Google day has turned (the sweeper calls this).
pub async fn resume_due(deps: &Deps) -> Result<u64, sqlx::Error> {
    let mut resumed = 0;
    for (album_id, user_id) in albums::due_for_resume(deps.db.pool(), now_ms()).await? {
        if resume(deps, album_id, user_id, &["paused"]).await? {
            resumed += 1;
        }
    }
    Ok(resumed)
}
