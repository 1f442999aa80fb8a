//! SQL for `batches`: a group of verification jobs queued by one request, and its progress.

use sqlx::AnyPool;

use crate::time::now_ms;

/// Job counts of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchCounts {
    /// Jobs in the batch.
    pub total: i64,
    /// Jobs finished successfully.
    pub done: i64,
    /// Jobs that failed for good.
    pub failed: i64,
    /// Jobs a worker is running.
    pub running: i64,
}

/// Creates an empty batch of `kind` for a user.
pub async fn create(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    kind: &str,
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO batches (user_id, kind, total, created_at) VALUES ($1, $2, 0, $3) RETURNING id",
    )
    .bind(user_id)
    .bind(kind)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Records how many jobs a batch holds.
pub async fn set_total(
    conn: &mut sqlx::AnyConnection,
    id: i64,
    total: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE batches SET total = $2 WHERE id = $1")
        .bind(id)
        .bind(total)
        .execute(conn)
        .await?;
    Ok(())
}

/// The counts of a batch owned by `user_id`; `None` for a batch that does not exist or is
/// another user's (the caller answers 404 either way).
pub async fn counts(
    pool: &AnyPool,
    user_id: i64,
    id: i64,
) -> Result<Option<BatchCounts>, sqlx::Error> {
    let owned: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM batches WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    if owned.is_none() {
        return Ok(None);
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM jobs WHERE batch_id = $1 GROUP BY status")
            .bind(id)
            .fetch_all(pool)
            .await?;
    // The total counts the jobs that still exist: deleting a photo deletes its job, and the
    // batch must still finish.
    let mut counts = BatchCounts::default();
    for (status, n) in rows {
        counts.total += n;
        match status.as_str() {
            "done" => counts.done = n,
            "failed" => counts.failed = n,
            "running" => counts.running = n,
            _ => {}
        }
    }
    Ok(Some(counts))
}
