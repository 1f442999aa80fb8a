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
    let mut counts = BatchCounts::default();
    for (status, n) in rows {
        counts.add(&status, n);
    }
    Ok(Some(counts))
}

/// Most batch ids one [`counts_of`] query binds; more are read in several queries.
const COUNTS_CHUNK: usize = 500;

/// The counts of many batches at once (the progress streams' poller); a batch with no jobs left
/// is absent. Ownership is the caller's to have checked.
pub async fn counts_of(
    pool: &AnyPool,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, BatchCounts>, sqlx::Error> {
    let mut all = std::collections::HashMap::new();
    for chunk in ids.chunks(COUNTS_CHUNK) {
        let placeholders = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT batch_id, status, COUNT(*) FROM jobs WHERE batch_id IN ({placeholders})
             GROUP BY batch_id, status"
        );
        // The text varies with the chunk's length: not worth a cached statement per length.
        let mut query = sqlx::query_as::<_, (i64, String, i64)>(&sql).persistent(false);
        for id in chunk {
            query = query.bind(*id);
        }
        for (id, status, n) in query.fetch_all(pool).await? {
            all.entry(id)
                .or_insert_with(BatchCounts::default)
                .add(&status, n);
        }
    }
    Ok(all)
}

impl BatchCounts {
    /// Adds `n` jobs of `status`. The total counts the jobs that still exist: deleting a photo
    /// deletes its job, and the batch must still finish.
    fn add(&mut self, status: &str, n: i64) {
        self.total += n;
        match status {
            "done" => self.done += n,
            "failed" => self.failed += n,
            "running" => self.running += n,
            _ => {}
        }
    }
}
