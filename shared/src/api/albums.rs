//! Albums of clear photos (F10, F14): the JSON of `/api/v1/albums*`. An album is either a
//! Google Photos album that a job fills (copies uploaded, 50 per `batchCreate`), or a
//! downloadable collection (a ZIP of the originals) for local photos and local mode.

use serde::{Deserialize, Serialize};

use super::PhotoFilter;

/// Most photos one album holds (Google Photos' limit for an album).
pub const MAX_ALBUM_PHOTOS: usize = 20_000;
/// Longest album title, in characters (Google Photos accepts 500).
pub const MAX_ALBUM_TITLE_CHARS: usize = 500;

/// Where an album goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlbumDestination {
    /// A new album in the user's Google Photos, holding uploaded copies.
    GooglePhotos,
    /// A collection on this server, downloadable as a ZIP of the originals.
    Download,
}

/// `POST /api/v1/albums/unblurred`. Every field is optional: the default is every clear photo
/// of the user, titled "Unblurred Photos {date}", in Google Photos when Google is configured
/// (else a downloadable collection).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateAlbumRequest {
    /// The album's title (1 to 500 characters).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub title: Option<String>,
    /// These photos (1 to 20,000 of the user's ids), instead of a filter.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 20000))]
    pub photo_ids: Option<Vec<i64>>,
    /// Or every photo of this filter (default `not_blurred`: the clear ones).
    #[serde(default)]
    pub filter: Option<PhotoFilter>,
    /// Google Photos or a downloadable collection.
    #[serde(default)]
    pub destination: Option<AlbumDestination>,
}

/// Where an album job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlbumStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is adding photos.
    Running,
    /// Stopped until `resume_at` (the deployment's daily Google quota is spent) or a resume
    /// request; `error` says why.
    Paused,
    /// Every photo has its outcome.
    Done,
    /// The job gave up; `error` says why. A resume request tries again.
    Failed,
}

/// What became of one photo of an album.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlbumItemStatus {
    /// Not done yet.
    Pending,
    /// In the album.
    Added,
    /// Left out, with the reason (e.g. the link expired: re-pick to include).
    Skipped,
    /// Could not be added; `reason` says why.
    Failed,
}

/// One photo of an album.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlbumItem {
    /// The photo.
    pub photo_id: i64,
    /// Its name in the album (and in the ZIP).
    pub file_name: String,
    /// Its outcome.
    pub status: AlbumItemStatus,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
}

/// A page of an album's photos, in album order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlbumItemsPage {
    /// The photos.
    pub items: Vec<AlbumItem>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<i64>,
}

/// An album's counts: what the page and the progress events show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlbumCounts {
    /// Photos in the album job.
    pub total: i64,
    /// Added to the album.
    pub added: i64,
    /// Left out (link expired).
    pub skipped: i64,
    /// Failed.
    pub failed: i64,
}

/// An album job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Album {
    /// The id.
    pub id: i64,
    /// The title.
    pub title: String,
    /// Google Photos or a downloadable collection.
    pub destination: AlbumDestination,
    /// Where the job stands.
    pub status: AlbumStatus,
    /// Photos in the job.
    pub total: i64,
    /// Added.
    pub added: i64,
    /// Skipped.
    pub skipped: i64,
    /// Failed.
    pub failed: i64,
    /// Google's album id, once created.
    pub google_album_id: Option<String>,
    /// The album in Google Photos, once created.
    pub product_url: Option<String>,
    /// Why it is paused or failed.
    pub error: Option<String>,
    /// A paused album resumes by itself at this time (Unix ms).
    pub resume_at: Option<i64>,
    /// `GET` this for a ZIP of the album's originals (uploaded photos only).
    pub download_url: String,
    /// When created (Unix ms).
    pub created_at: i64,
    /// A page of its photos (the first, or the one `cursor` asked for); empty in lists.
    pub items_page: AlbumItemsPage,
}

/// `GET /api/v1/albums`: the user's albums, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlbumList {
    /// The albums (their `items_page` is empty).
    pub items: Vec<Album>,
}

/// A progress event of an album (`album` events of `/albums/{id}/events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlbumProgress {
    /// The album.
    pub album_id: i64,
    /// Where the job stands.
    pub status: AlbumStatus,
    /// The counts.
    #[serde(flatten)]
    pub counts: AlbumCounts,
    /// Why it is paused or failed.
    pub error: Option<String>,
}

impl AlbumStatus {
    /// Whether the job will not change any more by itself.
    pub fn is_final(self) -> bool {
        matches!(self, AlbumStatus::Done | AlbumStatus::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_body_is_a_valid_request_and_unknown_fields_are_refused() {
        let empty: CreateAlbumRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, CreateAlbumRequest::default());
        assert!(serde_json::from_str::<CreateAlbumRequest>(r#"{"titel":"x"}"#).is_err());
        let progress = AlbumProgress {
            album_id: 1,
            status: AlbumStatus::Running,
            counts: AlbumCounts {
                total: 3,
                added: 1,
                skipped: 1,
                failed: 0,
            },
            error: None,
        };
        let json = serde_json::to_value(&progress).unwrap();
        assert_eq!(json["added"], 1);
        assert_eq!(json["status"], "running");
    }
}
