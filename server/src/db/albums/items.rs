//! SQL for `album_items`: each photo of an album and how far it got (pending → uploaded →
//! creating → added | skipped | failed). Every state change is a conditional UPDATE from the
//! state it must be in, so two runs of one album can never both send the same item.

use std::collections::HashMap;

use shared::api::{AlbumCounts, AlbumItem, AlbumItemStatus};
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::time::now_ms;

/// One photo of an album, with what the job needs of the photo.
#[derive(Debug, Clone, PartialEq, FromRow)]
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
    /// The kernel's blur kind (for the ZIP's CSV).
    pub blur_type: Option<String>,
    /// 1 blurred, 0 clear under the owner's threshold (for the ZIP's CSV).
    pub is_blurred: Option<i64>,
}

const ITEM_COLUMNS: &str = "i.photo_id, i.position, i.file_name, i.status, i.upload_token, \
    i.uploaded_at, i.updated_at, i.error, p.source, p.blob_key, p.mime_type, p.base_url, \
    p.base_url_expires_at, p.blur_score, p.blur_type, p.is_blurred";

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
