//! Background jobs: the kinds that exist and how each may fail ([`JobKind`]), the one path that
//! queues them ([`enqueue_for_photos`]), the worker that runs them under leases (`worker`), and
//! one handler per kind (`verify`, `import`, `tag`). Adding a kind is adding a variant, its policy
//! and a handler.

pub mod album;
pub mod import;
pub mod tag;
pub mod verify;
pub mod watch;
pub mod worker;

use crate::app::Deps;
use crate::db::photos::Selection;
use crate::db::{batches, jobs, photos};

pub use self::worker::{Outcome, Worker, WorkerConfig, WorkerError};

/// What a job does. Stored as [`JobKind::as_str`] in `jobs.kind` and `batches.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Decode a stored photo, run the kernel, store the verified verdict.
    VerifyPhoto,
    /// Store the photos a user picked in a Google Photos Picker session, then queue their
    /// verification.
    PickerImport,
    /// Ask the vision model for a photo's tags, caption and blur opinion (AI tags).
    TagPhoto,
    /// Fill a Google Photos album with copies of the chosen photos.
    Album,
}

/// How a kind of job fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts before the job ends as failed (a worker that dies mid-job uses one up too).
    pub max_attempts: i64,
    /// The photo's `status` follows this job (queued, then done or failed with the reason), so
    /// the gallery shows a photo's verification without looking at jobs.
    pub tracks_photo_status: bool,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 4] = [
        JobKind::VerifyPhoto,
        JobKind::PickerImport,
        JobKind::TagPhoto,
        JobKind::Album,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::VerifyPhoto => "verify_photo",
            JobKind::PickerImport => "picker_import",
            JobKind::TagPhoto => "tag_photo",
            JobKind::Album => "album",
        }
    }

    /// The kind a stored name names; `None` for a kind this build does not know (a newer
    /// server queued it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// How this kind fails.
    pub fn policy(self) -> Policy {
        match self {
            JobKind::VerifyPhoto => Policy {
                max_attempts: 3,
                tracks_photo_status: true,
            },
            // Listing is idempotent and Google's hiccups pass: more attempts, but the links
            // live 60 minutes, so not many more.
            JobKind::PickerImport => Policy {
                max_attempts: 5,
                tracks_photo_status: false,
            },
            // Rate limits and 5xx are already retried inside one run (Tagging::tag), after
            // Retry-After or with backoff; another run or two covers a longer outage. Every
            // attempt may cost money, so not many. The photo's status is its verification's.
            JobKind::TagPhoto => Policy {
                max_attempts: 3,
                tracks_photo_status: false,
            },
            // Every step is stored as it happens, so a retry costs little; a worker that dies
            // mid-album uses an attempt, and throttling is waited out inside a run first.
            JobKind::Album => Policy {
                max_attempts: 6,
                tracks_photo_status: false,
            },
        }
    }
}

/// Why one job failed; the handler says whether another attempt can help.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (a dependency hiccup).
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help (bad input, unknown kind).
    #[error("{0}")]
    Permanent(String),
}

/// What a handler that succeeded leaves for the worker to store with the job's end, in the same
/// write as the job's status, so a worker that lost its lease writes neither.
#[derive(Debug, Clone)]
pub enum Finished {
    /// Nothing beyond the job's status (the handler stored what it had to).
    Plain,
    /// A verified photo's verdict.
    Verdict {
        /// The photo.
        photo_id: i64,
        /// Its verdict.
        verdict: photos::Verdict<'static>,
    },
}

/// A batch accepted for running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// The batch that groups the jobs.
    pub batch_id: i64,
    /// Jobs created (photos that already had one pending are not queued twice).
    pub total: i64,
}

/// Queues one job of `kind` per selected photo of the user, as one batch, and pushes them.
/// The rows are committed before the push: if the push fails the sweeper finds them later, so
/// nothing is lost, it is only slower.
pub async fn enqueue_for_photos(
    deps: &Deps,
    user_id: i64,
    kind: JobKind,
    selection: &Selection<'_>,
) -> Result<Queued, sqlx::Error> {
    let policy = kind.policy();
    let mut tx = deps.db.pool().begin().await?;
    let batch_id = batches::create(&mut tx, user_id, kind.as_str()).await?;
    let job_ids = jobs::insert_for_photos(
        &mut tx,
        kind.as_str(),
        policy.max_attempts,
        user_id,
        batch_id,
        selection,
    )
    .await?;
    batches::set_total(&mut tx, batch_id, job_ids.len() as i64).await?;
    if policy.tracks_photo_status {
        photos::mark_queued(&mut tx, batch_id).await?;
    }
    tx.commit().await?;
    if let Err(e) = deps.queue.push_many(&job_ids).await {
        tracing::warn!(error = %e, batch_id, "queue push failed; the sweep will pick the jobs up");
    }
    Ok(Queued {
        batch_id,
        total: job_ids.len() as i64,
    })
}

/// Records one job of `kind` for the user, outside any batch, with a JSON payload, and
/// returns its id; [`push`] then hands it to the workers. Two steps so the caller can record
/// who owns the job in between (a worker may start it the moment it is pushed). A job never
/// pushed is found by the sweep, so nothing is lost, only slower. `db` is the pool, or the
/// caller's transaction when the job is recorded with what it works on.
pub async fn create_one<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    user_id: i64,
    kind: JobKind,
    payload: &str,
) -> Result<i64, sqlx::Error> {
    jobs::insert(
        db,
        &jobs::NewJob {
            kind: kind.as_str(),
            payload,
            user_id: Some(user_id),
            photo_id: None,
            batch_id: None,
            max_attempts: kind.policy().max_attempts,
        },
    )
    .await
}

/// Hands a recorded job to the workers (see [`create_one`]).
pub async fn push(deps: &Deps, job_id: i64) {
    if let Err(e) = deps.queue.push(job_id).await {
        tracing::warn!(error = %e, job_id, "queue push failed; the sweep will pick the job up");
    }
}

/// A job error from a Google failure: transient ones are retried, the rest end the job with
/// a reason that starts with the error's code (`link_expired: ...`).
pub fn google_job_error(e: &crate::google::GoogleError) -> JobError {
    if e.is_transient() {
        JobError::Retryable(e.to_string())
    } else {
        JobError::Permanent(format!("{}: {e}", e.code()))
    }
}

/// After a restart the in-process queue is empty: push every unfinished job again at once
/// rather than waiting for the sweeper. (Redis keeps its queue, so nothing is needed there.)
pub async fn recover_memory_queue(deps: &Deps) -> anyhow::Result<u64> {
    if deps.queue.kind() != "memory" {
        return Ok(0);
    }
    let ids = jobs::unfinished(deps.db.pool()).await?;
    deps.queue.push_many(&ids).await?;
    Ok(ids.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_stored_name() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
            assert!(kind.policy().max_attempts >= 1);
        }
        assert_eq!(JobKind::parse("bogus"), None);
    }
}
