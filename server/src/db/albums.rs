//! SQL for `albums` and `album_items`: the album jobs and the per-photo state that makes them
//! resumable (pending → uploaded → creating → added | skipped | failed). Every state change of
//! an item is a conditional UPDATE from the state it must be in, so two runs of one album can
//! never both send the same item.

use std::collections::HashMap;

use shared::api::{AlbumCounts, AlbumItem, AlbumItemStatus};
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

/// One photo of an album, with what the job needs of the photo.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ItemRow {
    /// The photo.
    pub photo_id: i64,
    /// Order in the album.
    pub position: i64,
    /// Its name in the album, unique within it.
    pub file_name: String,
    /// The item's state.
    pub status: String,
    /// The upload's token, once uploaded.
    pub upload_token: Option<String>,
    /// When uploaded (tokens live one day).
    pub uploaded_at: Option<i64>,
    /// When the state last changed.
    pub updated_at: i64,
    /// Why skipped or failed.
    pub error: Option<String>,
    /// `local` or `google`.
    pub source: String,
    /// A local photo's original.
    pub blob_key: Option<String>,
    /// The photo's MIME type.
    pub mime_type: Option<String>,
    /// A Google photo's link.
    pub base_url: Option<String>,
    /// When the link stops working.
    pub base_url_expires_at: Option<i64>,
    /// The verified score (for the ZIP's CSV).
    pub blur_score: Option<f64>,
    /// The blur type (for the ZIP's CSV).
    pub blur_type: Option<String>,
}

const ITEM_COLUMNS: &str = "i.photo_id, i.position, i.file_name, i.status, i.upload_token, \
    i.uploaded_at, i.updated_at, i.error, p.source, p.blob_key, p.mime_type, p.base_url, \
    p.base_url_expires_at, p.blur_score, p.blur_type";

impl ItemRow {
    /// The API view: the in-between states are all "pending".
    pub fn to_api(&self) -> AlbumItem {
        AlbumItem {
            photo_id: self.photo_id,
            file_name: self.file_name.clone(),
            status: item_status(&self.status),
            reason: self.error.clone(),
        }
    }
}

fn item_status(stored: &str) -> AlbumItemStatus {
    match stored {
        "added" => AlbumItemStatus::Added,
        "skipped" => AlbumItemStatus::Skipped,
        "failed" => AlbumItemStatus::Failed,
        _ => AlbumItemStatus::Pending,
    }
}

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

/// Adds the album's photos in order, each with its (unique) file name and initial status.
pub async fn insert_items(
    conn: &mut AnyConnection,
    album_id: i64,
    items: &[(i64, String)],
    status: &str,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    for (chunk_no, chunk) in items.chunks(200).enumerate() {
        // $1 album, $2 status, $3 time; each row's photo, position and name from $4 on.
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 4 + i * 3;
                format!("($1, ${b}, ${}, ${}, $2, $3)", b + 1, b + 2)
            })
            .collect();
        let sql = format!(
            "INSERT INTO album_items (album_id, photo_id, position, file_name, status, updated_at)
             VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .persistent(false)
            .bind(album_id)
            .bind(status)
            .bind(now);
        for (i, (photo_id, file_name)) in chunk.iter().enumerate() {
            let position = (chunk_no * 200 + i) as i64;
            query = query
                .bind(*photo_id)
                .bind(position)
                .bind(file_name.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
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

/// The counts of several albums in one query (absent albums have none).
pub async fn counts_of(
    pool: &AnyPool,
    ids: &[i64],
) -> Result<HashMap<i64, AlbumCounts>, sqlx::Error> {
    let mut all: HashMap<i64, AlbumCounts> = HashMap::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT album_id, status, COUNT(*) FROM album_items WHERE album_id IN ({})
             GROUP BY album_id, status",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64, String, i64)>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for (album_id, status, n) in query.fetch_all(pool).await? {
            let c = all.entry(album_id).or_default();
            c.total += n;
            match item_status(&status) {
                AlbumItemStatus::Added => c.added += n,
                AlbumItemStatus::Skipped => c.skipped += n,
                AlbumItemStatus::Failed => c.failed += n,
                AlbumItemStatus::Pending => {}
            }
        }
    }
    Ok(all)
}

/// One album's counts.
pub async fn counts(pool: &AnyPool, album_id: i64) -> Result<AlbumCounts, sqlx::Error> {
    Ok(counts_of(pool, &[album_id])
        .await?
        .remove(&album_id)
        .unwrap_or_default())
}

/// A page of an album's items in album order, from `position` on.
pub async fn items_page(
    pool: &AnyPool,
    album_id: i64,
    from_position: i64,
    limit: i64,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM album_items i JOIN photos p ON p.id = i.photo_id
         WHERE i.album_id = $1 AND i.position >= $2 ORDER BY i.position LIMIT $3"
    ))
    .bind(album_id)
    .bind(from_position)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Up to `limit` items in state `status`, in album order.
pub async fn items_in(
    pool: &AnyPool,
    album_id: i64,
    status: &str,
    limit: i64,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM album_items i JOIN photos p ON p.id = i.photo_id
         WHERE i.album_id = $1 AND i.status = $2 ORDER BY i.position LIMIT $3"
    ))
    .bind(album_id)
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Moves one item from `from` to `to`, with its new token, media item id or reason. False
/// when it was not in `from` (another run moved it).
pub async fn move_item(
    pool: &AnyPool,
    album_id: i64,
    photo_id: i64,
    from: &str,
    to: &str,
    detail: ItemDetail<'_>,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let (token, media, error) = match detail {
        ItemDetail::None => (None, None, None),
        ItemDetail::Uploaded(t) => (Some(t), None, None),
        ItemDetail::Added(m) => (None, Some(m), None),
        ItemDetail::Reason(r) => (None, None, Some(r)),
    };
    let done = sqlx::query(
        "UPDATE album_items SET status = $4, updated_at = $5,
             upload_token = CASE WHEN $3 = 'pending' AND $4 = 'uploaded' THEN $6
                 WHEN $4 = 'pending' THEN NULL ELSE upload_token END,
             uploaded_at = CASE WHEN $3 = 'pending' AND $4 = 'uploaded' THEN $5
                 WHEN $4 = 'pending' THEN NULL ELSE uploaded_at END,
             media_item_id = $7, error = $8
         WHERE album_id = $1 AND photo_id = $2 AND status = $3",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(album_id)
    .bind(photo_id)
    .bind(from)
    .bind(to)
    .bind(now)
    .bind(token)
    .bind(media)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What an item's move carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemDetail<'a> {
    /// Nothing.
    None,
    /// The upload token (from `pending`; other moves keep the token they have).
    Uploaded(&'a str),
    /// Google's media item id.
    Added(&'a str),
    /// Why it was skipped or failed.
    Reason(&'a str),
}

/// Claims uploaded items for one `batchCreate`: moves those still `uploaded` to `creating`
/// and returns the ids this call moved (only those may be sent).
pub async fn claim_for_create(
    pool: &AnyPool,
    album_id: i64,
    photo_ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    if photo_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..photo_ids.len())
        .map(|i| format!("${}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE album_items SET status = 'creating', updated_at = $2
         WHERE album_id = $1 AND status = 'uploaded' AND photo_id IN ({})
         RETURNING photo_id",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, (i64,)>(&sql)
        .bind(album_id)
        .bind(now_ms());
    for id in photo_ids {
        query = query.bind(*id);
    }
    Ok(query
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect())
}

/// Items whose upload token is older than `before` go back to `pending` (tokens live a day).
pub async fn expire_tokens(pool: &AnyPool, album_id: i64, before: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE album_items SET status = 'pending', upload_token = NULL, uploaded_at = NULL
         WHERE album_id = $1 AND status = 'uploaded' AND uploaded_at < $2",
    )
    .bind(album_id)
    .bind(before)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Failed items go back to `pending` (a resume request tries them again).
pub async fn retry_failed(pool: &AnyPool, album_id: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE album_items SET status = 'pending', upload_token = NULL, uploaded_at = NULL,
             error = NULL
         WHERE album_id = $1 AND status = 'failed'",
    )
    .bind(album_id)
    .execute(pool)
    .await?
    .rows_affected())
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
