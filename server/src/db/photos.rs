//! SQL for `photos`: storing uploads (one row per distinct file per user), the gallery's keyset
//! pages, verified results, and the statistics.
//!
//! Every query that a request makes takes the current user's id and filters on it, so a photo of
//! another user is indistinguishable from a missing one.

use shared::api::{HistogramBin, PhotoFilter, Stats, TypeCounts};
use sqlx::{AnyConnection, AnyPool, FromRow};

use super::Database;
use super::photo_row::COLUMNS;
pub use super::photo_row::{PageRow, PhotoRow, Source, api_blur_type};
pub(crate) use super::photo_row::{columns_of_p, tags_of_p};
use super::typed::Arg;
use crate::time::now_ms;

/// A new photo, whatever its source.
#[derive(Debug, Clone)]
pub struct NewPhoto<'a> {
    /// The owner.
    pub user_id: i64,
    /// Where it came from.
    pub source: Source,
    /// SHA-256 of the bytes, hex.
    pub sha256: &'a str,
    /// Where the bytes are stored.
    pub blob_key: &'a str,
    /// Upload name.
    pub filename: &'a str,
    /// Sniffed MIME type.
    pub mime_type: &'a str,
    /// Bytes.
    pub size_bytes: i64,
    /// Width from the header.
    pub width: i64,
    /// Height from the header.
    pub height: i64,
    /// EXIF exposure time, seconds.
    pub exposure_time_s: Option<f64>,
    /// EXIF focal length, mm.
    pub focal_length_mm: Option<f64>,
    /// EXIF capture time, Unix ms.
    pub taken_at: Option<i64>,
    /// EXIF camera maker.
    pub camera_make: Option<&'a str>,
    /// EXIF camera model.
    pub camera_model: Option<&'a str>,
    /// EXIF f-number.
    pub aperture_f_number: Option<f64>,
    /// EXIF ISO.
    pub iso: Option<i64>,
}

/// What a user's library takes: its photos (any source) and the bytes of its stored originals
/// (uploads; a Google photo stores none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Photos.
    pub photos: i64,
    /// Bytes of uploaded originals.
    pub bytes: i64,
}

/// The user's usage, read after taking their row's lock for the rest of the transaction (a
/// no-op update: a row lock on PostgreSQL, the write lock on SQLite), so that uploads of one
/// user that check a quota run one after another.
pub async fn lock_usage(conn: &mut AnyConnection, user_id: i64) -> Result<Usage, sqlx::Error> {
    sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let (photos, bytes): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM photos
         WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Usage { photos, bytes })
}

/// The user's photo with these bytes, if they have it.
pub async fn find_by_sha(
    conn: &mut AnyConnection,
    user_id: i64,
    sha256: &str,
) -> Result<Option<PhotoRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM photos WHERE user_id = $1 AND content_sha256 = $2"
    ))
    .bind(user_id)
    .bind(sha256)
    .fetch_optional(&mut *conn)
    .await
}

/// Stores a photo; the same bytes stored again for the same user return the existing photo.
/// The boolean is true when the row is new.
pub async fn insert(
    conn: &mut AnyConnection,
    photo: &NewPhoto<'_>,
) -> Result<(PhotoRow, bool), sqlx::Error> {
    let now = now_ms();
    let inserted: Option<PhotoRow> = sqlx::query_as(&format!(
        "INSERT INTO photos (user_id, source, content_sha256, blob_key, filename, mime_type,
             size_bytes, width, height, exposure_time_s, focal_length_mm, status, created_at,
             updated_at, taken_at, camera_make, camera_model, aperture_f_number, iso)
         VALUES ($1, $12, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'unprocessed', $11, $11,
             $13, $14, $15, $16, $17)
         ON CONFLICT (user_id, content_sha256) DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(photo.user_id)
    .bind(photo.sha256)
    .bind(photo.blob_key)
    .bind(photo.filename)
    .bind(photo.mime_type)
    .bind(photo.size_bytes)
    .bind(photo.width)
    .bind(photo.height)
    .bind(photo.exposure_time_s)
    .bind(photo.focal_length_mm)
    .bind(now)
    .bind(photo.source.as_str())
    .bind(photo.taken_at)
    .bind(photo.camera_make)
    .bind(photo.camera_model)
    .bind(photo.aperture_f_number)
    .bind(photo.iso)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing = find_by_sha(conn, photo.user_id, photo.sha256)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok((existing, false))
}

/// One of the user's photos.
pub async fn get(pool: &AnyPool, user_id: i64, id: i64) -> Result<Option<PhotoRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM photos WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// One photo with what only its own view reads: the row and its stored sharpness map.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct DetailRow {
    /// The photo.
    #[sqlx(flatten)]
    pub photo: PhotoRow,
    /// The map in its stored form (`db::sharpness_map`); NULL until verified.
    pub sharpness_map: Option<Vec<u8>>,
}

/// One of the user's photos with its sharpness map: the only query that reads the map, so no
/// list carries it.
pub async fn get_detail(
    pool: &AnyPool,
    user_id: i64,
    id: i64,
) -> Result<Option<DetailRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}, sharpness_map FROM photos WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// A photo by id alone, for the worker (which acts for whoever owns it).
pub async fn get_any(db: &Database, id: i64) -> Result<Option<PhotoRow>, sqlx::Error> {
    db.fetch_optional(
        &format!("SELECT {COLUMNS} FROM photos WHERE id = $1"),
        &[Arg::Int(id)],
    )
    .await
}

/// The SQL condition of a filter on the stored verdict (1 blurred, 0 clear, NULL unverified):
/// each is an equality or IS NULL on the second column of `photos_user_blurred_idx`, so a page
/// is one index range scan however many photos the user has.
pub(crate) fn photo_filter_sql(filter: PhotoFilter, table: &str) -> String {
    match filter {
        PhotoFilter::All => String::new(),
        PhotoFilter::Blurred => format!(" AND {table}is_blurred = 1"),
        PhotoFilter::NotBlurred => format!(" AND {table}is_blurred = 0"),
        PhotoFilter::Unprocessed => {
            format!(" AND {table}is_blurred IS NULL AND {table}status <> 'failed'")
        }
        PhotoFilter::Failed => {
            format!(" AND {table}is_blurred IS NULL AND {table}status = 'failed'")
        }
    }
}

/// The statement of a gallery page, newest first (`page`): $1 the user, $2 the id the page
/// starts below, $3 how many rows. Public so the benchmark can hand PostgreSQL's own client
/// the very statement the API runs.
pub fn page_sql(filter: PhotoFilter) -> String {
    format!(
        "SELECT {}, {} FROM photos p WHERE p.user_id = $1 AND p.id < $2{} ORDER BY p.id DESC LIMIT $3",
        columns_of_p(),
        tags_of_p(),
        photo_filter_sql(filter, "p.")
    )
}

/// One gallery page, newest first: photos with an id below `before` (keyset pagination).
pub async fn page(
    db: &Database,
    user_id: i64,
    filter: PhotoFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<PageRow>, sqlx::Error> {
    let sql = page_sql(filter);
    db.fetch_all(
        &sql,
        &[
            Arg::Int(user_id),
            Arg::Int(before.unwrap_or(i64::MAX)),
            Arg::Int(limit),
        ],
        usize::try_from(limit).unwrap_or(0),
    )
    .await
}

/// One gallery page of the photos carrying `tag`, newest first, below `before`: one range of
/// `photo_tags_user_tag_photo_idx` joined to the photos (combinable with the verdict filter).
pub async fn page_with_tag(
    db: &Database,
    user_id: i64,
    tag: &str,
    filter: PhotoFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<PageRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {}, {} FROM photo_tags t JOIN photos p ON p.id = t.photo_id
         WHERE t.user_id = $1 AND t.tag = $2 AND t.photo_id < $3{}
         ORDER BY t.photo_id DESC LIMIT $4",
        columns_of_p(),
        tags_of_p(),
        photo_filter_sql(filter, "p.")
    );
    db.fetch_all(
        &sql,
        &[
            Arg::Int(user_id),
            Arg::Text(tag),
            Arg::Int(before.unwrap_or(i64::MAX)),
            Arg::Int(limit),
        ],
        usize::try_from(limit).unwrap_or(0),
    )
    .await
}

/// How many photos a selection holds for the user (ids the user does not own are not counted).
pub async fn count_selection(
    pool: &AnyPool,
    user_id: i64,
    selection: &Selection<'_>,
) -> Result<i64, sqlx::Error> {
    match selection {
        Selection::Ids(ids) => count_owned(pool, user_id, ids).await,
        Selection::Filter(filter) => {
            let (n,): (i64,) = sqlx::query_as(&format!(
                "SELECT COUNT(*) FROM photos WHERE user_id = $1{}",
                photo_filter_sql(*filter, "")
            ))
            .bind(user_id)
            .fetch_one(pool)
            .await?;
            Ok(n)
        }
    }
}

/// Deletes one of the user's photos (its jobs and tags go with it); returns the row it was.
pub async fn delete(
    pool: &AnyPool,
    user_id: i64,
    id: i64,
) -> Result<Option<PhotoRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "DELETE FROM photos WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// Stores the browser's preview score (never counts as verified).
pub async fn set_preview(
    pool: &AnyPool,
    user_id: i64,
    id: i64,
    score: f64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE photos SET preview_score = $3, updated_at = $4 WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .bind(score)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The worker's verdict. Idempotent: running it twice stores the same values.
#[derive(Debug, Clone)]
pub struct Verdict<'a> {
    /// Score in [0, 1].
    pub blur_score: f64,
    /// `motion` or `defocus`: what the blur is if the user calls it blurred.
    pub blur_kind: &'a str,
    /// Direction of a motion blur.
    pub motion_angle_deg: Option<f64>,
    /// The sharpness map as the photo is shown, in its stored form (`db::sharpness_map`).
    /// Written with the score, so a photo's map is always the one of its current score; `None`
    /// stores none (a stale map never outlives the verdict it came with).
    pub sharpness_map: Option<Vec<u8>>,
}

/// The UPDATE that stores a verdict, with `is_blurred` under the owner's current threshold. Its
/// parameters are numbered from `$first`, in the order of [`verdict_args`], so a statement
/// that does more (`jobs::finish_with_verdict`) can hold it after parameters of its own.
pub(crate) fn verdict_sql(first: usize) -> String {
    let [id, score, kind, angle, now, map] = std::array::from_fn(|i| format!("${}", first + i));
    format!(
        "UPDATE photos SET blur_score = {score}, blur_type = {kind}, motion_angle_deg = {angle},
             is_blurred = CASE WHEN {score} >= (SELECT blur_threshold FROM users u WHERE u.id = photos.user_id)
                          THEN 1 ELSE 0 END,
             sharpness_map = {map},
             status = 'done', error = NULL, processed_at = {now}, updated_at = {now}
         WHERE id = {id}"
    )
}

/// How many parameters [`verdict_sql`] takes.
pub(crate) const VERDICT_ARGS: usize = 6;

/// The values of [`verdict_sql`]'s parameters.
pub(crate) fn verdict_args<'a>(id: i64, v: &'a Verdict<'_>, now: i64) -> [Arg<'a>; VERDICT_ARGS] {
    [
        Arg::Int(id),
        Arg::Float(v.blur_score),
        Arg::Text(v.blur_kind),
        Arg::NullableFloat(v.motion_angle_deg),
        Arg::Int(now),
        Arg::NullableBytes(v.sharpness_map.as_deref()),
    ]
}

/// Stores a verdict, with `is_blurred` under the owner's current threshold.
pub async fn store_verdict(db: &Database, id: i64, v: &Verdict<'_>) -> Result<(), sqlx::Error> {
    db.execute(&verdict_sql(1), &verdict_args(id, v, now_ms()))
        .await?;
    Ok(())
}

/// Records why a photo could not be verified. A score from an earlier verification stays.
pub async fn store_failure(pool: &AnyPool, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE photos SET status = 'failed', error = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(error)
        .bind(now_ms())
        .execute(pool)
        .await?;
    Ok(())
}

/// Marks the photos that jobs of `batch_id` concern as queued (their verification is pending).
pub async fn mark_queued(conn: &mut AnyConnection, batch_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE photos SET status = 'queued', updated_at = $2
         WHERE id IN (SELECT photo_id FROM jobs WHERE batch_id = $1)",
    )
    .bind(batch_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Which photos a batch covers.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Every photo of a filter.
    Filter(PhotoFilter),
    /// These ids (those the user does not own are ignored by the SQL).
    Ids(&'a [i64]),
}

/// How many of `ids` the user owns.
pub async fn count_owned(pool: &AnyPool, user_id: i64, ids: &[i64]) -> Result<i64, sqlx::Error> {
    let mut owned = 0;
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT COUNT(*) FROM photos WHERE user_id = $1 AND id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as(&sql).bind(user_id);
        for id in chunk {
            query = query.bind(*id);
        }
        let (n,): (i64,) = query.fetch_one(pool).await?;
        owned += n;
    }
    Ok(owned)
}

/// Counts per category, per type and a ten-bin histogram of verified scores.
pub async fn stats(pool: &AnyPool, user_id: i64, threshold: f64) -> Result<Stats, sqlx::Error> {
    let (total, blurred, not_blurred, failed, motion): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN is_blurred = 1 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN is_blurred = 0 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN is_blurred IS NULL AND status = 'failed' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN is_blurred = 1 AND blur_type = 'motion' THEN 1 ELSE 0 END), 0)
             FROM photos WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    // Bin i holds scores in [i/10, (i+1)/10); a score of exactly 1.0 joins the last bin. Written
    // as comparisons because the engines disagree on casting a float to an integer (PostgreSQL
    // rounds, SQLite truncates).
    let cases: String = (1..10)
        .map(|i| format!(" WHEN blur_score < {} THEN {}", f64::from(i) / 10.0, i - 1))
        .collect();
    let bins: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT CASE{cases} ELSE 9 END AS bin, COUNT(*)
         FROM photos WHERE user_id = $1 AND blur_score IS NOT NULL
         GROUP BY 1"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let mut histogram: Vec<HistogramBin> = (0..10)
        .map(|i| HistogramBin {
            from: f64::from(i) / 10.0,
            to: f64::from(i + 1) / 10.0,
            count: 0,
        })
        .collect();
    for (bin, count) in bins {
        if let Some(slot) = usize::try_from(bin).ok().and_then(|b| histogram.get_mut(b)) {
            slot.count += count;
        }
    }
    let (tagged, model_blurred, disagreements): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*),
            COALESCE(SUM(CASE WHEN looks_blurred = 1 THEN 1 ELSE 0 END), 0),
            COALESCE(SUM(CASE WHEN is_blurred IS NOT NULL AND looks_blurred <> is_blurred
                         THEN 1 ELSE 0 END), 0)
         FROM photos WHERE user_id = $1 AND looks_blurred IS NOT NULL",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await?;
    Ok(Stats {
        ai_audit: shared::api::AiAudit {
            tagged,
            model_says_blurred: model_blurred,
            disagreements,
        },
        total,
        blurred,
        not_blurred,
        unprocessed: total - blurred - not_blurred - failed,
        failed,
        blur_threshold: threshold,
        by_type: TypeCounts {
            motion,
            defocus: blurred - motion,
        },
        histogram,
    })
}
