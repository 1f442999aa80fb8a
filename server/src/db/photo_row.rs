//! A row of `photos` and the API's view of it: the select list, its decoding by position,
//! and a gallery page's row (the photo and its tags, read by one statement).

use std::sync::LazyLock;

use shared::api::{ApiBlurType, Photo, VerificationStatus};
use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use crate::time::now_ms;

/// One row of `photos`, as the API needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRow {
    /// The id.
    pub id: i64,
    /// The owner.
    pub user_id: i64,
    /// `local` or `google`.
    pub source: String,
    /// Upload name.
    pub filename: String,
    /// Sniffed MIME type.
    pub mime_type: Option<String>,
    /// Bytes of the original.
    pub size_bytes: Option<i64>,
    /// Original width.
    pub width: Option<i64>,
    /// Original height.
    pub height: Option<i64>,
    /// SHA-256 of the bytes, hex.
    pub content_sha256: Option<String>,
    /// Where the original lives in the blob store.
    pub blob_key: Option<String>,
    /// The verified score.
    pub blur_score: Option<f64>,
    /// The kind of blur the kernel saw (`motion` or `defocus`), whatever the threshold.
    pub blur_type: Option<String>,
    /// Direction of a motion blur.
    pub motion_angle_deg: Option<f64>,
    /// The browser's preview score.
    pub preview_score: Option<f64>,
    /// `unprocessed`, `queued`, `done` or `failed`.
    pub status: String,
    /// Why verification failed.
    pub error: Option<String>,
    /// When verified.
    pub processed_at: Option<i64>,
    /// When added.
    pub created_at: i64,
    /// 1 blurred, 0 clear under the owner's threshold (kept current by `set_threshold`);
    /// NULL until verified.
    pub is_blurred: Option<i64>,
    /// When taken (Unix ms), if known.
    pub taken_at: Option<i64>,
    /// Google's persistent id of a picked photo.
    pub google_photo_id: Option<String>,
    /// Google's 60-minute link to a picked photo's bytes (cleared when it expires).
    pub base_url: Option<String>,
    /// When `base_url` stops working (Unix ms).
    pub base_url_expires_at: Option<i64>,
    /// The vision model's caption.
    pub caption: Option<String>,
    /// The vision model's opinion: 1 looks blurred, 0 not; NULL until tagged.
    pub looks_blurred: Option<i64>,
    /// Camera maker (EXIF, or Google's `cameraMake`).
    pub camera_make: Option<String>,
    /// Camera model.
    pub camera_model: Option<String>,
    /// Exposure time, seconds.
    pub exposure_time_s: Option<f64>,
    /// Focal length, mm.
    pub focal_length_mm: Option<f64>,
    /// Aperture f-number.
    pub aperture_f_number: Option<f64>,
    /// ISO.
    pub iso: Option<i64>,
}

pub(crate) const COLUMNS: &str = "id, user_id, source, filename, mime_type, size_bytes, width, height, \
    content_sha256, blob_key, blur_score, blur_type, motion_angle_deg, preview_score, status, \
    error, processed_at, created_at, is_blurred, taken_at, google_photo_id, base_url, \
    base_url_expires_at, caption, looks_blurred, camera_make, camera_model, exposure_time_s, \
    focal_length_mm, aperture_f_number, iso";

/// [`COLUMNS`] of the photos table aliased `p` (queries that join it).
pub(crate) fn columns_of_p() -> &'static str {
    static OF_P: LazyLock<String> = LazyLock::new(|| {
        COLUMNS
            .split(',')
            .map(|c| format!("p.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    });
    &OF_P
}

/// The blur type the API shows: `none` for a photo clear under its owner's threshold, else
/// the kernel's kind; absent until verified.
pub fn api_blur_type(is_blurred: Option<i64>, kernel_kind: Option<&str>) -> Option<ApiBlurType> {
    is_blurred.map(|b| match (b == 1, kernel_kind) {
        (false, _) => ApiBlurType::None,
        (true, Some("motion")) => ApiBlurType::Motion,
        (true, _) => ApiBlurType::Defocus,
    })
}

impl PhotoRow {
    /// The camera data, when any part of it is known.
    fn take_camera(&mut self) -> Option<shared::api::Camera> {
        let camera = shared::api::Camera {
            make: self.camera_make.take(),
            model: self.camera_model.take(),
            exposure_time_s: self.exposure_time_s,
            focal_length_mm: self.focal_length_mm,
            aperture_f_number: self.aperture_f_number,
            iso: self.iso,
        };
        (camera != shared::api::Camera::default()).then_some(camera)
    }

    /// The API view. `is_blurred` is the stored verdict, which the threshold update rewrites
    /// in the same transaction, so what a photo says always matches the filter it is listed
    /// under.
    pub fn to_api(&self) -> Photo {
        self.clone().into_api()
    }

    /// [`PhotoRow::to_api`], moving the row's text into the view (a gallery page's rows).
    pub fn into_api(mut self) -> Photo {
        let is_blurred = self.is_blurred.map(|b| b == 1);
        let blur_type = api_blur_type(self.is_blurred, self.blur_type.as_deref());
        let status = match self.status.as_str() {
            "queued" => VerificationStatus::Queued,
            "done" => VerificationStatus::Done,
            "failed" => VerificationStatus::Failed,
            _ => VerificationStatus::Unprocessed,
        };
        let link_expired = self.link_expired(now_ms());
        let camera = self.take_camera();
        Photo {
            id: self.id,
            filename: self.filename,
            source: self.source,
            mime_type: self.mime_type,
            size_bytes: self.size_bytes,
            width: self.width,
            height: self.height,
            blur_score: self.blur_score,
            is_blurred,
            blur_type,
            motion_angle_deg: if blur_type == Some(ApiBlurType::Motion) {
                self.motion_angle_deg
            } else {
                None
            },
            preview_score: self.preview_score,
            status,
            // Only the worker writes `blur_score`, so a score is a verified score, even while
            // a re-verification is queued.
            verified: self.blur_score.is_some(),
            error: self.error,
            processed_at: self.processed_at,
            created_at: self.created_at,
            taken_at: self.taken_at,
            link_expired,
            // Filled in by the handlers that show tags (db::tags::of_photos).
            tags: Vec::new(),
            caption: self.caption,
            looks_blurred: self.looks_blurred.map(|b| b == 1),
            camera,
        }
    }

    /// A Google photo whose link is gone or past its life: its bytes cannot be fetched until
    /// the user picks it again.
    pub fn link_expired(&self, now_ms: i64) -> bool {
        self.source == Source::Google.as_str()
            && (self.base_url.is_none() || self.base_url_expires_at.is_none_or(|t| t <= now_ms))
    }

    /// The row whose [`COLUMNS`] start at column `first` of `row`, read by position: a page
    /// reads 50 to 200 rows, and by name every column of every row cost a hash lookup (decoding
    /// was 30 % of the server's time per page, a third of it those lookups). Debug builds, which run every test, check that each
    /// column has the name its position says.
    pub(crate) fn from_row_at<'r, R>(row: &'r R, first: usize) -> Result<Self, sqlx::Error>
    where
        R: Row,
        usize: ColumnIndex<R>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
        String: Decode<'r, R::Database> + Type<R::Database>,
        Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
        Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
        Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    {
        let mut next = first;
        let mut col = |name: &'static str| {
            let i = next;
            next += 1;
            Column { row, i, name }
        };
        Ok(PhotoRow {
            id: col("id").get()?,
            user_id: col("user_id").get()?,
            source: col("source").get()?,
            filename: col("filename").get()?,
            mime_type: col("mime_type").get()?,
            size_bytes: col("size_bytes").get()?,
            width: col("width").get()?,
            height: col("height").get()?,
            content_sha256: col("content_sha256").get()?,
            blob_key: col("blob_key").get()?,
            blur_score: col("blur_score").get()?,
            blur_type: col("blur_type").get()?,
            motion_angle_deg: col("motion_angle_deg").get()?,
            preview_score: col("preview_score").get()?,
            status: col("status").get()?,
            error: col("error").get()?,
            processed_at: col("processed_at").get()?,
            created_at: col("created_at").get()?,
            is_blurred: col("is_blurred").get()?,
            taken_at: col("taken_at").get()?,
            google_photo_id: col("google_photo_id").get()?,
            base_url: col("base_url").get()?,
            base_url_expires_at: col("base_url_expires_at").get()?,
            caption: col("caption").get()?,
            looks_blurred: col("looks_blurred").get()?,
            camera_make: col("camera_make").get()?,
            camera_model: col("camera_model").get()?,
            exposure_time_s: col("exposure_time_s").get()?,
            focal_length_mm: col("focal_length_mm").get()?,
            aperture_f_number: col("aperture_f_number").get()?,
            iso: col("iso").get()?,
        })
    }
}

/// Where a photo came from (the `source` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Uploaded from the user's device.
    Local,
    /// Picked from Google Photos.
    Google,
}

impl Source {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Google => "google",
        }
    }
}

/// Column `i` of a row, which should be named `name`.
struct Column<'r, R> {
    row: &'r R,
    i: usize,
    name: &'static str,
}

impl<'r, R: Row> Column<'r, R>
where
    usize: ColumnIndex<R>,
{
    /// The value. Debug builds, which run every test, check the column's name and type as
    /// `try_get` does; release builds decode without the type check (a clone and compare of
    /// the column's type per value, a tenth of a page's server time). The check therefore
    /// guards the columns' types, not user data: a column whose type a migration changed
    /// would fail the tests here, where in release it would mis-decode or (a float of another
    /// width) panic its request.
    fn get<T: Decode<'r, R::Database> + Type<R::Database>>(self) -> Result<T, sqlx::Error> {
        if cfg!(debug_assertions) {
            let name = self.row.columns().get(self.i).map(sqlx::Column::name);
            assert_eq!(
                name,
                Some(self.name),
                "column {} of the select list is not the one the decoder reads there",
                self.i
            );
            self.row.try_get(self.i)
        } else {
            self.row.try_get_unchecked(self.i)
        }
    }
}

impl<'r, R> FromRow<'r, R> for PhotoRow
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    /// A row that starts with [`COLUMNS`].
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        PhotoRow::from_row_at(row, 0)
    }
}

/// Joins a photo's tags in one column: a control character, which no stored tag holds
/// (`shared::api::normalize_tag` drops them).
const TAG_SEPARATOR: char = '\u{1f}';

/// The tags of the photo aliased `p`, alphabetical, as one column `tags` (NULL without tags):
/// a page reads its photos' tags in the same statement, one probe of `photo_tags`' primary key
/// per photo the model tagged. A photo never tagged is not probed: only `tags::store` writes
/// tags, and it sets `tagged_at` in the same transaction (the probe was a third of the page
/// statement's time on PostgreSQL). `string_agg` with ORDER BY is PostgreSQL's and SQLite's
/// (3.44+) alike.
pub(crate) fn tags_of_p() -> &'static str {
    static TAGS: LazyLock<String> = LazyLock::new(|| {
        format!(
            "CASE WHEN p.tagged_at IS NULL THEN NULL ELSE
             (SELECT string_agg(pt.tag, '{TAG_SEPARATOR}' ORDER BY pt.tag) FROM photo_tags pt
              WHERE pt.photo_id = p.id) END AS tags"
        )
    });
    &TAGS
}

/// A gallery row: the photo and its tags, read by one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRow {
    /// The photo.
    pub photo: PhotoRow,
    /// Its tags joined by [`TAG_SEPARATOR`].
    tags: Option<String>,
}

impl PageRow {
    /// The API view, with the tags.
    pub fn into_api(self) -> Photo {
        let tags = self
            .tags
            .as_deref()
            .map(|t| t.split(TAG_SEPARATOR).map(str::to_owned).collect())
            .unwrap_or_default();
        Photo {
            tags,
            ..self.photo.into_api()
        }
    }
}

impl<'r, R> FromRow<'r, R> for PageRow
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    /// A row of [`COLUMNS`] followed by [`tags_of_p`].
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let photo = PhotoRow::from_row_at(row, 0)?;
        let tags = Column {
            row,
            i: COLUMN_COUNT,
            name: "tags",
        }
        .get()?;
        Ok(PageRow { photo, tags })
    }
}

/// How many columns [`COLUMNS`] names.
pub(crate) const COLUMN_COUNT: usize = 31;

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use super::*;

    /// A SELECT of one literal per column of `names`, each of the column's type, the width and
    /// height told apart.
    fn literals(names: &[&str]) -> String {
        let literal = |name: &str| match name {
            "width" => "4032".to_string(),
            "height" => "3024".to_string(),
            "id"
            | "user_id"
            | "size_bytes"
            | "processed_at"
            | "created_at"
            | "is_blurred"
            | "taken_at"
            | "base_url_expires_at"
            | "looks_blurred"
            | "iso" => "7".to_string(),
            "blur_score" | "motion_angle_deg" | "preview_score" | "exposure_time_s"
            | "focal_length_mm" | "aperture_f_number" => "0.25".to_string(),
            other => format!("'{other}'"),
        };
        let columns: Vec<String> = names
            .iter()
            .map(|n| format!("{} AS {n}", literal(n)))
            .collect();
        format!("SELECT {}", columns.join(", "))
    }

    fn names() -> Vec<&'static str> {
        COLUMNS.split(',').map(str::trim).collect()
    }

    #[tokio::test]
    async fn the_select_list_is_read_in_its_own_order() {
        assert_eq!(names().len(), COLUMN_COUNT);
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let row: PhotoRow = sqlx::query_as(&literals(&names()))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!((row.width, row.height), (Some(4032), Some(3024)));
        assert_eq!(row.filename, "filename");
        assert_eq!(row.iso, Some(7));
        assert_eq!(row.aperture_f_number, Some(0.25));
    }

    /// Every test runs a debug build, where a select list out of the decoder's order stops the
    /// test that ran it, even where the swapped columns have one type (width and height).
    #[tokio::test]
    #[should_panic(expected = "is not the one the decoder reads there")]
    async fn a_select_list_out_of_order_stops_a_debug_build() {
        let mut swapped = names();
        swapped.swap(6, 7);
        assert_eq!((swapped[6], swapped[7]), ("height", "width"));
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let _: Result<PhotoRow, _> = sqlx::query_as(&literals(&swapped))
            .fetch_one(&mut conn)
            .await;
    }
}
