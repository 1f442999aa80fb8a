//! SQL for `media_cache`: which Google media is held in the blob store and since when, so the
//! purge can delete every entry before Google's 60-minute limit.

use sqlx::AnyPool;

use crate::time::now_ms;

/// When the entry `key` was stored (Unix ms), if it is recorded.
pub async fn stored_at(pool: &AnyPool, key: &str) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT created_at FROM media_cache WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(t,)| t))
}

/// Records that `key` was just stored for this photo (replacing an older record).
pub async fn record(
    pool: &AnyPool,
    key: &str,
    user_id: i64,
    photo_id: i64,
) -> Result<i64, sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO media_cache (key, user_id, photo_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET created_at = excluded.created_at",
    )
    .bind(key)
    .bind(user_id)
    .bind(photo_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(now)
}

/// Keys stored before `before_ms`, oldest first, at most `limit`.
pub async fn older_than(
    pool: &AnyPool,
    before_ms: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT key FROM media_cache WHERE created_at < $1 ORDER BY created_at LIMIT $2",
    )
    .bind(before_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(k,)| k).collect())
}

/// Forgets one entry (after its blob was deleted).
pub async fn forget(pool: &AnyPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM media_cache WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
