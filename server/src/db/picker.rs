//! SQL for Picker sessions (`picker_sessions`) and the photos they bring in: one row per
//! Google photo per user, keyed by Google's persistent media item id, so picking a photo
//! again refreshes it and never duplicates it.

use shared::api::{PickerSession, PickerStatus};
use sqlx::{AnyPool, FromRow};

use crate::time::now_ms;

/// One row of `picker_sessions`.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct SessionRow {
    /// Google's session id.
    pub id: String,
    /// The owner.
    pub user_id: i64,
    /// Google's picker page, until the user is done.
    pub picker_uri: Option<String>,
    /// When Google ends the session (Unix ms).
    pub expire_at: i64,
    /// Google's polling interval.
    pub poll_interval_ms: i64,
    /// Google's polling timeout.
    pub timeout_ms: i64,
    /// 1 once the user pressed Done.
    pub media_items_set: i64,
    /// `picking`, `picked`, `importing`, `imported`, `failed` or `expired`.
    pub status: String,
    /// The import job.
    pub job_id: Option<i64>,
    /// Photos stored.
    pub imported: i64,
    /// Items skipped.
    pub skipped: i64,
    /// Why they were skipped.
    pub skipped_reason: Option<String>,
    /// The verification batch of the imported photos.
    pub verify_batch_id: Option<i64>,
    /// Why the import failed.
    pub error: Option<String>,
}

const COLUMNS: &str = "id, user_id, picker_uri, expire_at, poll_interval_ms, timeout_ms, \
    media_items_set, status, job_id, imported, skipped, skipped_reason, verify_batch_id, error";

impl SessionRow {
    /// The API view.
    pub fn to_api(&self) -> PickerSession {
        let status = match self.status.as_str() {
            "picked" => PickerStatus::Picked,
            "importing" => PickerStatus::Importing,
            "imported" => PickerStatus::Imported,
            "failed" => PickerStatus::Failed,
            "expired" => PickerStatus::Expired,
            _ => PickerStatus::Picking,
        };
        PickerSession {
            id: self.id.clone(),
            picker_uri: if status == PickerStatus::Picking {
                self.picker_uri.clone()
            } else {
                None
            },
            expire_time: self.expire_at,
            poll_interval_ms: self.poll_interval_ms,
            timeout_ms: self.timeout_ms,
            media_items_set: self.media_items_set != 0,
            status,
            imported: self.imported,
            skipped: self.skipped,
            skipped_reason: self.skipped_reason.clone(),
            verify_batch_id: self.verify_batch_id,
            error: self.error.clone(),
        }
    }
}

/// A session Google just created.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// Google's id.
    pub id: &'a str,
    /// Where the user picks (with `/autoclose`).
    pub picker_uri: &'a str,
    /// When it ends (Unix ms).
    pub expire_at: i64,
    /// Poll interval.
    pub poll_interval_ms: i64,
    /// Poll timeout.
    pub timeout_ms: i64,
}

/// Records a new session of `user_id`.
pub async fn insert(
    pool: &AnyPool,
    user_id: i64,
    new: &NewSession<'_>,
) -> Result<SessionRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO picker_sessions (id, user_id, picker_uri, expire_at, poll_interval_ms,
             timeout_ms, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(new.id)
    .bind(user_id)
    .bind(new.picker_uri)
    .bind(new.expire_at)
    .bind(new.poll_interval_ms)
    .bind(new.timeout_ms)
    .bind(now_ms())
    .fetch_one(pool)
    .await
}

/// One of the user's sessions.
pub async fn get(
    pool: &AnyPool,
    user_id: i64,
    id: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM picker_sessions WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// Records what polling Google said: picked (Done pressed), or the new polling settings.
pub async fn record_poll(
    pool: &AnyPool,
    id: &str,
    media_items_set: bool,
    poll_interval_ms: i64,
    timeout_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE picker_sessions SET media_items_set = $2, poll_interval_ms = $3, timeout_ms = $4,
             status = CASE WHEN $2 = 1 AND status = 'picking' THEN 'picked' ELSE status END,
             updated_at = $5
         WHERE id = $1",
    )
    .bind(id)
    .bind(i64::from(media_items_set))
    .bind(poll_interval_ms)
    .bind(timeout_ms)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// Sets the session's status (and error) as the import moves on.
pub async fn set_status(
    pool: &AnyPool,
    id: &str,
    status: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE picker_sessions SET status = $2, error = $3, updated_at = $4 WHERE id = $1",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims the session for an import job: only a picked (or failed, to retry) session moves to
/// `importing`, so two sync requests run one import. True when this call claimed it.
pub async fn claim_for_import(
    pool: &AnyPool,
    user_id: i64,
    id: &str,
    job_id: i64,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE picker_sessions SET status = 'importing', job_id = $3, error = NULL, updated_at = $4
         WHERE id = $1 AND user_id = $2 AND status IN ('picked', 'failed')",
    )
    .bind(id)
    .bind(user_id)
    .bind(job_id)
    .bind(now_ms())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Records the import's result.
pub async fn record_import(
    pool: &AnyPool,
    id: &str,
    imported: i64,
    skipped: i64,
    skipped_reason: Option<&str>,
    verify_batch_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE picker_sessions SET status = 'imported', imported = $2, skipped = $3,
             skipped_reason = $4, verify_batch_id = $5, picker_uri = NULL, updated_at = $6
         WHERE id = $1",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(id)
    .bind(imported)
    .bind(skipped)
    .bind(skipped_reason)
    .bind(verify_batch_id)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// A photo as the Picker describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PickedPhoto {
    /// Google's persistent media item id.
    pub google_id: String,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Width in pixels.
    pub width: Option<i64>,
    /// Height in pixels.
    pub height: Option<i64>,
    /// When it was taken (Unix ms).
    pub taken_at: Option<i64>,
    /// Exposure time, seconds.
    pub exposure_time_s: Option<f64>,
    /// Focal length, mm.
    pub focal_length_mm: Option<f64>,
    /// Aperture, f-number.
    pub aperture_f_number: Option<f64>,
    /// ISO.
    pub iso: Option<i64>,
    /// Camera maker.
    pub camera_make: Option<String>,
    /// Camera model.
    pub camera_model: Option<String>,
    /// The 60-minute link to its bytes.
    pub base_url: String,
    /// When the link stops working (Unix ms).
    pub base_url_expires_at: i64,
}

/// The id of the user's photo with this Google id, if it was picked before.
pub async fn photo_id(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    google_photo_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM photos WHERE user_id = $1 AND google_photo_id = $2")
            .bind(user_id)
            .bind(google_photo_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(id,)| id))
}

/// Stores a picked photo for `user_id`, or refreshes the one already stored under the same
/// Google id (new link, metadata; its scores stay). Returns the photo's id. Takes a
/// connection so that a page of items is stored in one transaction (one commit, not 100).
pub async fn upsert_photo(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    photo: &PickedPhoto,
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO photos (user_id, source, google_photo_id, filename, mime_type, width, height,
             taken_at, exposure_time_s, focal_length_mm, aperture_f_number, iso, camera_make,
             camera_model, base_url, base_url_expires_at, status, created_at, updated_at)
         VALUES ($1, 'google', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
             'unprocessed', $16, $16)
         ON CONFLICT (user_id, google_photo_id) DO UPDATE SET filename = excluded.filename,
             mime_type = excluded.mime_type, width = excluded.width, height = excluded.height,
             taken_at = excluded.taken_at, exposure_time_s = excluded.exposure_time_s,
             focal_length_mm = excluded.focal_length_mm,
             aperture_f_number = excluded.aperture_f_number, iso = excluded.iso,
             camera_make = excluded.camera_make, camera_model = excluded.camera_model,
             base_url = excluded.base_url, base_url_expires_at = excluded.base_url_expires_at,
             updated_at = excluded.updated_at
         RETURNING id",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(user_id)
    .bind(&photo.google_id)
    .bind(&photo.filename)
    .bind(photo.mime_type.as_deref())
    .bind(photo.width)
    .bind(photo.height)
    .bind(photo.taken_at)
    .bind(photo.exposure_time_s)
    .bind(photo.focal_length_mm)
    .bind(photo.aperture_f_number)
    .bind(photo.iso)
    .bind(photo.camera_make.as_deref())
    .bind(photo.camera_model.as_deref())
    .bind(&photo.base_url)
    .bind(photo.base_url_expires_at)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Forgets every Google link that has expired (policy: base URLs are not kept past their
/// life). Returns how many were cleared.
pub async fn clear_expired_links(pool: &AnyPool, now_ms: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE photos SET base_url = NULL WHERE base_url_expires_at <= $1 AND base_url IS NOT NULL",
    )
    .bind(now_ms)
    .execute(pool)
    .await?
    .rows_affected())
}
