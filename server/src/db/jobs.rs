//! SQL for the `jobs` table, the source of truth for background work.
//!
//! The queue only carries ids; a job's status, attempts and error live here. Every state change
//! is a conditional UPDATE, so a job delivered twice is run once.

use sqlx::{AnyPool, FromRow};

use crate::time::now_ms;

/// A job's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds it.
    Running,
    /// Finished successfully.
    Done,
    /// Gave up; `error` says why.
    Failed,
}

impl JobStatus {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    /// Parses a stored `status` value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "failed" => Some(JobStatus::Failed),
            _ => None,
        }
    }
}

/// One row of `jobs`.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct JobRow {
    /// The job id (what the queue carries).
    pub id: i64,
    /// Which handler runs it.
    pub kind: String,
    /// Handler-specific JSON.
    pub payload: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// How many times a worker started it.
    pub attempts: i64,
    /// After this many failed attempts it ends as `failed`.
    pub max_attempts: i64,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// The owner, if the job acts for a user.
    pub user_id: Option<i64>,
    /// The photo it concerns, if any.
    pub photo_id: Option<i64>,
}

impl JobRow {
    /// The parsed status (`None` only if the row holds a value the CHECK forbids).
    pub fn status(&self) -> Option<JobStatus> {
        JobStatus::parse(&self.status)
    }
}

const COLUMNS: &str = "id, kind, payload, status, attempts, max_attempts, error, user_id, photo_id";

/// What a new job is.
#[derive(Debug, Clone, Default)]
pub struct NewJob<'a> {
    /// Handler name.
    pub kind: &'a str,
    /// Handler-specific JSON.
    pub payload: &'a str,
    /// Owner.
    pub user_id: Option<i64>,
    /// Photo concerned.
    pub photo_id: Option<i64>,
    /// Batch it belongs to.
    pub batch_id: Option<i64>,
    /// Attempts before giving up (at least 1).
    pub max_attempts: i64,
}

/// Inserts a queued job and returns its id.
pub async fn insert(pool: &AnyPool, job: &NewJob<'_>) -> Result<i64, sqlx::Error> {
    let now = now_ms();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO jobs (kind, payload, user_id, photo_id, batch_id, max_attempts, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $7) RETURNING id",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.user_id)
    .bind(job.photo_id)
    .bind(job.batch_id)
    .bind(job.max_attempts.max(1))
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Loads one job.
pub async fn get(pool: &AnyPool, id: i64) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Takes a job for running: a queued job, or a running one whose worker has been silent since
/// `stale_before_ms` (it died). Returns `None` when another worker has it or it is finished,
/// which is how a duplicate delivery becomes a no-op.
pub async fn start(
    pool: &AnyPool,
    id: i64,
    stale_before_ms: i64,
) -> Result<Option<JobRow>, sqlx::Error> {
    let now = now_ms();
    sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = $2, updated_at = $2
         WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND updated_at < $3))
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(now)
    .bind(stale_before_ms)
    .fetch_optional(pool)
    .await
}

/// Marks a running job done.
pub async fn finish(pool: &AnyPool, id: i64) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "UPDATE jobs SET status = 'done', error = NULL, finished_at = $2, updated_at = $2
         WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a failed attempt: back to `queued` while attempts remain, else `failed` for good.
/// Returns the new status.
pub async fn record_failure(
    pool: &AnyPool,
    id: i64,
    error: &str,
) -> Result<Option<JobStatus>, sqlx::Error> {
    let now = now_ms();
    let row: Option<(String,)> = sqlx::query_as(
        "UPDATE jobs SET
             status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempts >= max_attempts THEN $3 ELSE NULL END,
             error = $2, updated_at = $3
         WHERE id = $1 AND status = 'running'
         RETURNING status",
    )
    .bind(id)
    .bind(error)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(s,)| JobStatus::parse(&s)))
}

/// Ends a job as failed at once, whatever attempts remain (a poison job: retrying cannot help).
pub async fn fail_permanently(pool: &AnyPool, id: i64, error: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "UPDATE jobs SET status = 'failed', error = $2, finished_at = $3, updated_at = $3
         WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(error)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Jobs that should be in the queue but may not be: queued or running, untouched since
/// `before_ms`. The sweeper pushes them again, so a lost push or a dead worker loses nothing.
pub async fn stale(pool: &AnyPool, before_ms: i64, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM jobs WHERE status IN ('queued', 'running') AND updated_at < $1
         ORDER BY id LIMIT $2",
    )
    .bind(before_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Marks jobs as re-pushed now, so the sweeper does not push them again next round.
pub async fn touch(pool: &AnyPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jobs SET updated_at = $2 WHERE id = $1 AND status = 'queued'")
        .bind(id)
        .bind(now_ms())
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::JobStatus;

    #[test]
    fn status_round_trips_through_its_column_value() {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Failed,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobStatus::parse("bogus"), None);
    }
}
