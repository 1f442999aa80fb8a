//! SQL for `albums`: the albums, the job that owns each, its status and Google's album; and
//! which of the user's photos an album takes. The per-photo state that makes the job
//! resumable is in `items`.

mod items;

pub use items::{
    ItemDetail, ItemRow, claim_for_create, counts, counts_of, expire_tokens, insert_items,
    items_in, items_page, move_item, retry_failed,
};
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::time::now_ms;

/// One row of `albums`.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AlbumRow {
    /// The id.
    pub id: i64,
    /// The owner.
    pub user_id: i64,
    /// `google` or `collection`.
    pub kind: String,
    /// The title.
    pub title: String,
    /// `queued`, `running`, `paused`, `done` or `failed`.
    pub status: String,
    /// Google's album id, once created.
    pub google_album_id: Option<String>,
    /// The album's page in Google Photos.
    pub product_url: Option<String>,
    /// The job that owns the album now.
    pub job_id: Option<i64>,
    /// Why it is paused or failed.
    pub error: Option<String>,
    /// When a paused album resumes by itself.
    pub resume_at: Option<i64>,
    /// When created.
    pub created_at: i64,
}

const COLUMNS: &str = "id, user_id, kind, title, status, google_album_id, product_url, job_id, \
    error, resume_at, created_at";

/// Whether an insert failed on the one-active-album-per-user index.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Records a new album (in the caller's transaction).
pub async fn insert(
    conn: &mut AnyConnection,
    user_id: i64,
    kind: &str,
    title: &str,
    status: &str,
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO albums (user_id, kind, title, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(kind)
    .bind(title)
    .bind(status)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// One of the user's albums.
pub async fn get(pool: &AnyPool, user_id: i64, id: i64) -> Result<Option<AlbumRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM albums WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// An album by id alone, for its job.
pub async fn get_any(pool: &AnyPool, id: i64) -> Result<Option<AlbumRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM albums WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The user's albums, newest first (the latest 100).
pub async fn list(pool: &AnyPool, user_id: i64) -> Result<Vec<AlbumRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM albums WHERE user_id = $1 ORDER BY id DESC LIMIT 100"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// Sets an album's status, reason and resume time.
pub async fn set_status(
    pool: &AnyPool,
    id: i64,
    status: &str,
    error: Option<&str>,
    resume_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE albums SET status = $2, error = $3, resume_at = $4, updated_at = $5 WHERE id = $1",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(resume_at)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// The album owned by job `job_id`, if still being made, becomes `failed` with `reason`.
pub async fn fail_for_job(pool: &AnyPool, job_id: i64, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE albums SET status = 'failed', error = $2, updated_at = $3
         WHERE job_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(job_id)
    .bind(reason)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores Google's album the moment it exists (before anything is added to it).
pub async fn set_google_album(
    pool: &AnyPool,
    id: i64,
    google_album_id: &str,
    product_url: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE albums SET google_album_id = $2, product_url = $3, updated_at = $4 WHERE id = $1",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(id)
    .bind(google_album_id)
    .bind(product_url)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// Hands an album to a (new) job, if it is in one of `from` (a resume): `queued`, no reason.
/// False when it was not (another resume won, or the user has another album running: the
/// one-active-album index refuses it).
pub async fn requeue(
    conn: &mut AnyConnection,
    id: i64,
    from: &[&str],
    job_id: i64,
) -> Result<bool, sqlx::Error> {
    let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = format!(
        "UPDATE albums SET status = 'queued', job_id = $2, error = NULL, resume_at = NULL,
             updated_at = $3
         WHERE id = $1 AND status IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(id).bind(job_id).bind(now_ms());
    for s in from {
        query = query.bind(*s);
    }
    match query.execute(conn).await {
        Ok(done) => Ok(done.rows_affected() == 1),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records the job that owns an album.
pub async fn set_job(conn: &mut AnyConnection, id: i64, job_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE albums SET job_id = $2 WHERE id = $1")
        .bind(id)
        .bind(job_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Paused albums whose day has turned.
pub async fn due_for_resume(pool: &AnyPool, now: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id FROM albums WHERE status = 'paused' AND resume_at <= $1 LIMIT 100",
    )
    .bind(now)
    .fetch_all(pool)
    .await
}

/// The user's photos among `ids` (sorted), as (id, filename), in id order.
pub async fn photos_by_ids(
    pool: &AnyPool,
    user_id: i64,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT id, filename FROM photos WHERE user_id = $1 AND id IN ({}) ORDER BY id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64, String)>(&sql).bind(user_id);
        for id in chunk {
            query = query.bind(*id);
        }
        found.extend(query.fetch_all(pool).await?);
    }
    Ok(found)
}

/// Up to `limit` of the user's photos of a filter, as (id, filename), oldest first.
pub async fn photos_by_filter(
    pool: &AnyPool,
    user_id: i64,
    filter: shared::api::PhotoFilter,
    limit: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT id, filename FROM photos WHERE user_id = $1{} ORDER BY id LIMIT $2",
        super::photos::photo_filter_sql(filter, "")
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
