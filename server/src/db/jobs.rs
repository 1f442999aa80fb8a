//! SQL for the `jobs` table, the source of truth for background work.
//!
//! The queue only carries ids; a job's status, attempts and error live here. Every state change
//! is a conditional UPDATE, so a job delivered twice is run once.

use std::sync::LazyLock;

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::photos::{self, PhotoRow, Selection, Verdict, photo_filter_sql};
use super::typed::{Arg, execute_on};
use super::{Backend, Database};
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

/// How many columns [`COLUMNS`] names (where a joined photo's columns start).
const JOB_COLUMN_COUNT: usize = 9;

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
pub async fn insert<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    job: &NewJob<'_>,
) -> Result<i64, sqlx::Error> {
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
    .fetch_one(db)
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

/// A worker's claim on a running job: who holds it (a random token per attempt) and for how
/// long. Every update of a running job names the lease, so a worker that lost its lease (it
/// stalled past `lease_until` and another worker took over) can change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job_id: i64,
    /// The holder's token.
    pub owner: String,
}

/// The condition every update of a running job states: the job ($1) is running under the
/// lease of owner $2.
const LEASE_HELD: &str = "id = $1 AND lease_owner = $2 AND status = 'running'";

/// Takes a job ($1) for lease owner $2 until $3 at time $4: a queued job, or a running one
/// whose lease ran out, while attempts remain.
static START: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $2,
             lease_until = $3, started_at = $4, updated_at = $4
         WHERE id = $1 AND attempts < max_attempts
           AND (status = 'queued' OR (status = 'running' AND lease_until < $4))
         RETURNING {COLUMNS}"
    )
});

/// [`START`] and the job's photo in one statement (PostgreSQL: SQLite has no UPDATE inside
/// WITH). The job's columns are renamed `job_*`, as the photo's take their own names.
static START_WITH_PHOTO: LazyLock<String> = LazyLock::new(|| {
    let job: Vec<String> = COLUMNS
        .split(',')
        .map(|c| format!("s.{c} AS job_{c}", c = c.trim()))
        .collect();
    format!(
        "WITH s AS ({}) SELECT {}, {} FROM s LEFT JOIN photos p ON p.id = s.photo_id",
        *START,
        job.join(", "),
        photos::columns_of_p()
    )
});

/// A started job and, when it names one that exists, its photo as it was at the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// The job.
    pub job: JobRow,
    /// Its photo.
    pub photo: Option<PhotoRow>,
}

/// A row of [`START_WITH_PHOTO`].
#[derive(FromRow)]
struct StartedRow {
    job_id: i64,
    job_kind: String,
    job_payload: String,
    job_status: String,
    job_attempts: i64,
    job_max_attempts: i64,
    job_error: Option<String>,
    job_user_id: Option<i64>,
    job_photo_id: Option<i64>,
    #[sqlx(flatten)]
    photo: JoinedPhoto,
}

/// The photo side of a LEFT JOIN: none when the join found no photo (its id is NULL). Its
/// columns follow the job's.
struct JoinedPhoto(Option<PhotoRow>);

impl<'r, R: sqlx::Row> FromRow<'r, R> for JoinedPhoto
where
    PhotoRow: FromRow<'r, R>,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let first = JOB_COLUMN_COUNT;
        let id: Option<i64> = row.try_get(first)?;
        Ok(Self(match id {
            Some(_) => Some(PhotoRow::from_row_at(row, first)?),
            None => None,
        }))
    }
}

impl From<StartedRow> for Started {
    fn from(r: StartedRow) -> Self {
        Started {
            job: JobRow {
                id: r.job_id,
                kind: r.job_kind,
                payload: r.job_payload,
                status: r.job_status,
                attempts: r.job_attempts,
                max_attempts: r.job_max_attempts,
                error: r.job_error,
                user_id: r.job_user_id,
                photo_id: r.job_photo_id,
            },
            photo: r.photo.0,
        }
    }
}

/// Takes a job for running under `lease`, until `until_ms`: a queued job, or a running one
/// whose lease ran out (its worker died), while attempts remain. Returns `None` when another
/// worker holds it, it is finished, or it has no attempts left, which is how a duplicate
/// delivery becomes a no-op. The job's photo comes along, in the same round trip on
/// PostgreSQL.
pub async fn start(
    db: &Database,
    lease: &Lease,
    until_ms: i64,
) -> Result<Option<Started>, sqlx::Error> {
    let args = [
        Arg::Int(lease.job_id),
        Arg::Text(&lease.owner),
        Arg::Int(until_ms),
        Arg::Int(now_ms()),
    ];
    if db.backend() == Backend::Postgres {
        let row: Option<StartedRow> = db.fetch_optional(&START_WITH_PHOTO, &args).await?;
        return Ok(row.map(Started::from));
    }
    let Some(job) = db.fetch_optional::<JobRow>(&START, &args).await? else {
        return Ok(None);
    };
    let photo = match job.photo_id {
        Some(id) => photos::get_any(db, id).await?,
        None => None,
    };
    Ok(Some(Started { job, photo }))
}

/// Extends a lease to `until_ms`; false when the lease is no longer held (taken over, or the
/// job finished).
pub async fn renew(db: &Database, lease: &Lease, until_ms: i64) -> Result<bool, sqlx::Error> {
    let done = db
        .execute(
            &format!("UPDATE jobs SET lease_until = $3 WHERE {LEASE_HELD}"),
            &[
                Arg::Int(lease.job_id),
                Arg::Text(&lease.owner),
                Arg::Int(until_ms),
            ],
        )
        .await?;
    Ok(done == 1)
}

/// Marks the leased job ($1, $2) done at time `$now`.
fn finish_sql(now: usize) -> String {
    format!(
        "UPDATE jobs SET status = 'done', error = NULL, finished_at = ${now}, updated_at = ${now},
             lease_until = NULL
         WHERE {LEASE_HELD}"
    )
}

/// Marks a leased job done; false when the lease was lost (the outcome is someone else's now).
pub async fn finish(db: &Database, lease: &Lease) -> Result<bool, sqlx::Error> {
    let done = db
        .execute(
            &finish_sql(3),
            &[
                Arg::Int(lease.job_id),
                Arg::Text(&lease.owner),
                Arg::Int(now_ms()),
            ],
        )
        .await?;
    Ok(done == 1)
}

/// The verdict ($3..$8, `photos::verdict_sql`) stored only while the lease ($1, $2) is held,
/// then the job finished, in one statement (PostgreSQL). The photo's row is locked before the
/// job's, the order in which deleting a photo takes them (its jobs go by cascade), so the two
/// never wait on each other.
static FINISH_WITH_VERDICT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH verdict AS ({} AND EXISTS (SELECT 1 FROM jobs WHERE {LEASE_HELD}) RETURNING id)
         {} AND EXISTS (SELECT 1 FROM verdict)",
        photos::verdict_sql(3),
        finish_sql(7)
    )
});

/// Stores a verification's verdict and marks its leased job done: false, and nothing written,
/// when the lease was already lost or the photo is gone. One statement on PostgreSQL; one
/// transaction on SQLite.
pub async fn finish_with_verdict(
    db: &Database,
    lease: &Lease,
    photo_id: i64,
    verdict: &Verdict<'_>,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let held = [Arg::Int(lease.job_id), Arg::Text(&lease.owner)];
    let stored = photos::verdict_args(photo_id, verdict, now);
    if db.backend() == Backend::Postgres {
        let args: Vec<Arg<'_>> = held.iter().chain(&stored).copied().collect();
        return Ok(db.execute(&FINISH_WITH_VERDICT, &args).await? == 1);
    }
    // The job's update first: on SQLite a write takes the database's write lock at once.
    let mut tx = db.pool().begin().await?;
    let finished = execute_on(&mut tx, &finish_sql(3), &[held[0], held[1], Arg::Int(now)]).await?;
    let written =
        finished == 1 && execute_on(&mut tx, &photos::verdict_sql(1), &stored).await? == 1;
    if !written {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Records a failed attempt: back to `queued` while attempts remain, else `failed` for good.
/// Returns the new status, or `None` when the lease was lost.
pub async fn record_failure(
    pool: &AnyPool,
    lease: &Lease,
    error: &str,
) -> Result<Option<JobStatus>, sqlx::Error> {
    let now = now_ms();
    let row: Option<(String,)> = sqlx::query_as(&format!(
        "UPDATE jobs SET
             status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempts >= max_attempts THEN $4 ELSE NULL END,
             error = $3, updated_at = $4, lease_until = NULL
         WHERE {LEASE_HELD}
         RETURNING status"
    ))
    .bind(lease.job_id)
    .bind(&lease.owner)
    .bind(error)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(s,)| JobStatus::parse(&s)))
}

/// Ends a leased job as failed at once, whatever attempts remain (a poison job: retrying cannot
/// help). False when the lease was lost.
pub async fn fail_permanently(
    pool: &AnyPool,
    lease: &Lease,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let done = sqlx::query(&format!(
        "UPDATE jobs SET status = 'failed', error = $3, finished_at = $4, updated_at = $4,
             lease_until = NULL
         WHERE {LEASE_HELD}"
    ))
    .bind(lease.job_id)
    .bind(&lease.owner)
    .bind(error)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Hands a leased job back unfinished (its worker is shutting down): queued again, and the
/// attempt it was on is not counted against it. False when the lease was lost.
pub async fn release(pool: &AnyPool, lease: &Lease) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL,
             lease_until = NULL, updated_at = $3
         WHERE {LEASE_HELD}"
    ))
    .bind(lease.job_id)
    .bind(&lease.owner)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Running jobs whose lease ran out before `now_ms` and that have attempts left: their worker
/// died. The sweeper queues them again.
pub async fn lease_expired(
    pool: &AnyPool,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM jobs WHERE status = 'running' AND lease_until < $1
           AND attempts < max_attempts
         ORDER BY id LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A job that ended as failed because its workers kept dying (see [`fail_exhausted`]).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Exhausted {
    /// The job.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// The photo it concerned.
    pub photo_id: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Ends as `failed` every running job whose lease ran out with no attempts left: whatever
/// killed its worker (a crash, an out-of-memory kill on hostile data) would kill the next one.
pub async fn fail_exhausted(pool: &AnyPool, now_ms: i64) -> Result<Vec<Exhausted>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE jobs SET status = 'failed', finished_at = $1, updated_at = $1, lease_until = NULL,
             error = 'the worker stopped while running this job, ' || CAST(attempts AS TEXT) || ' times'
         WHERE status = 'running' AND lease_until < $1 AND attempts >= max_attempts
         RETURNING id, kind, photo_id, error",
    )
    .bind(now_ms)
    .fetch_all(pool)
    .await
}

/// Queued jobs untouched since `before_ms`: their push may have been lost (the queue was down,
/// or restarted). The sweeper pushes them again; the queue ignores ids it already holds.
pub async fn queued_since(
    pool: &AnyPool,
    before_ms: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM jobs WHERE status = 'queued' AND updated_at < $1 ORDER BY id LIMIT $2",
    )
    .bind(before_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Every unfinished job (queued, or running under any lease): after a restart of the
/// in-process queue, all of them are pushed again.
pub async fn unfinished(pool: &AnyPool) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY id")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// How many jobs are queued.
pub async fn count_queued(pool: &AnyPool) -> Result<u64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE status = 'queued'")
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Marks queued jobs as looked at now, so the next sweep moves on to others.
pub async fn touch(pool: &AnyPool, ids: &[i64]) -> Result<(), sqlx::Error> {
    let now = now_ms();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE jobs SET updated_at = $1 WHERE status = 'queued' AND id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(now);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(pool).await?;
    }
    Ok(())
}

/// Inserts one queued job of `kind` per selected photo of the user, in `batch_id`, skipping
/// photos that already have a pending job of that kind. Returns the new job ids. Runs inside
/// the caller's transaction.
pub async fn insert_for_photos(
    conn: &mut AnyConnection,
    kind: &str,
    max_attempts: i64,
    user_id: i64,
    batch_id: i64,
    selection: &Selection<'_>,
) -> Result<Vec<i64>, sqlx::Error> {
    let now = now_ms();
    let mut job_ids = Vec::new();
    let insert = |condition: String| {
        format!(
            "INSERT INTO jobs (kind, payload, user_id, photo_id, batch_id, max_attempts, status,
                 created_at, updated_at)
             SELECT $4, '{{}}', p.user_id, p.id, $2, $5, 'queued', $3, $3
             FROM photos p
             WHERE p.user_id = $1{condition}
               AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.photo_id = p.id AND j.kind = $4
                               AND j.status IN ('queued', 'running'))
             ORDER BY p.id
             RETURNING id"
        )
    };
    match selection {
        Selection::Filter(filter) => {
            let sql = insert(photo_filter_sql(*filter, "p."));
            let rows: Vec<(i64,)> = sqlx::query_as(&sql)
                .bind(user_id)
                .bind(batch_id)
                .bind(now)
                .bind(kind)
                .bind(max_attempts.max(1))
                .fetch_all(&mut *conn)
                .await?;
            job_ids.extend(rows.into_iter().map(|(id,)| id));
        }
        Selection::Ids(ids) => {
            for chunk in ids.chunks(500) {
                let sql = insert(format!(" AND p.id IN ({})", placeholders(6, chunk.len())));
                let mut query = sqlx::query_as(&sql)
                    .bind(user_id)
                    .bind(batch_id)
                    .bind(now)
                    .bind(kind)
                    .bind(max_attempts.max(1));
                for id in chunk.iter() {
                    query = query.bind(*id);
                }
                let rows: Vec<(i64,)> = query.fetch_all(&mut *conn).await?;
                job_ids.extend(rows.into_iter().map(|(id,)| id));
            }
        }
    }
    Ok(job_ids)
}

/// The batch holding a photo's pending job of `kind`, if one is queued or running.
pub async fn pending_batch(
    pool: &AnyPool,
    photo_id: i64,
    kind: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<(Option<i64>,)> = sqlx::query_as(
        "SELECT batch_id FROM jobs WHERE photo_id = $1 AND kind = $2
           AND status IN ('queued', 'running')
         ORDER BY id DESC LIMIT 1",
    )
    .bind(photo_id)
    .bind(kind)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(b,)| b))
}

/// `$first, $first+1, ...`: `count` numbered placeholders.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
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
