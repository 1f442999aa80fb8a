//! The Google Photos Picker API (`photospicker.googleapis.com/v1`): create a session, poll it,
//! list the picked items page by page, delete it. The types follow Google's reference
//! (camelCase, int64 as strings, durations like `"3.5s"`, RFC 3339 times).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Google, GoogleError, transport};

/// Google's `PickingSession`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickingSession {
    /// The session id.
    pub id: String,
    /// Where the user picks (append `/autoclose` on the web).
    #[serde(default)]
    pub picker_uri: Option<String>,
    /// Polling advice, present while the user has not finished.
    #[serde(default)]
    pub polling_config: Option<PollingConfig>,
    /// When the session ends (RFC 3339).
    #[serde(default)]
    pub expire_time: Option<String>,
    /// True once the user pressed Done.
    #[serde(default)]
    pub media_items_set: bool,
}

/// Google's `PollingConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollingConfig {
    /// How often to poll (`"5s"`).
    #[serde(default)]
    pub poll_interval: Option<String>,
    /// When to stop polling (`"1800s"`; `"0s"` means stop now).
    #[serde(default)]
    pub timeout_in: Option<String>,
}

/// One page of `mediaItems.list`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaItemsPage {
    /// The items (may be empty even when another page follows).
    #[serde(default)]
    pub media_items: Vec<PickedMediaItem>,
    /// The next page, if any.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// Google's `PickedMediaItem`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickedMediaItem {
    /// Persistent id, stable across sessions.
    pub id: String,
    /// When the photo was taken (RFC 3339).
    #[serde(default)]
    pub create_time: Option<String>,
    /// `PHOTO`, `VIDEO` or `TYPE_UNSPECIFIED`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The file.
    #[serde(default)]
    pub media_file: Option<MediaFile>,
}

/// Google's `MediaFile`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFile {
    /// The 60-minute link (needs the bearer token).
    pub base_url: String,
    /// MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// File name.
    #[serde(default)]
    pub filename: Option<String>,
    /// Dimensions and camera data.
    #[serde(default)]
    pub media_file_metadata: Option<MediaFileMetadata>,
}

/// Google's `MediaFileMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFileMetadata {
    /// Width in pixels.
    #[serde(default)]
    pub width: Option<i64>,
    /// Height in pixels.
    #[serde(default)]
    pub height: Option<i64>,
    /// Camera maker.
    #[serde(default)]
    pub camera_make: Option<String>,
    /// Camera model.
    #[serde(default)]
    pub camera_model: Option<String>,
    /// Photo-only data.
    #[serde(default)]
    pub photo_metadata: Option<PhotoMetadata>,
}

/// Google's `PhotoMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhotoMetadata {
    /// Focal length, mm.
    #[serde(default)]
    pub focal_length: Option<f64>,
    /// Aperture f-number.
    #[serde(default)]
    pub aperture_f_number: Option<f64>,
    /// ISO.
    #[serde(default)]
    pub iso_equivalent: Option<i64>,
    /// Exposure time as a duration (`"0.008s"`).
    #[serde(default)]
    pub exposure_time: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    picking_config: PickingConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PickingConfig {
    max_item_count: String,
}

/// Most items Google lets one session pick.
pub const MAX_ITEMS: u32 = 2000;
/// Largest page Google returns.
pub const PAGE_SIZE: u32 = 100;

/// A Google duration (`"3.5s"`), if it is one.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// An RFC 3339 time as Unix milliseconds.
pub fn parse_time_ms(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

impl Google {
    fn picker_url(&self, path: &str) -> Result<url::Url, GoogleError> {
        self.endpoints
            .picker
            .join(path)
            .map_err(|e| GoogleError::Protocol(e.to_string()))
    }

    /// `POST /v1/sessions`.
    pub async fn create_session(&self, token: &str) -> Result<PickingSession, GoogleError> {
        let url = self.picker_url("/v1/sessions")?;
        let body = CreateBody {
            picking_config: PickingConfig {
                max_item_count: MAX_ITEMS.to_string(),
            },
        };
        let response = transport::send(self.retry, || {
            self.http().post(url.clone()).bearer_auth(token).json(&body)
        })
        .await?;
        transport::json(transport::check(response).await?).await
    }

    /// `GET /v1/sessions/{id}`.
    pub async fn get_session(&self, token: &str, id: &str) -> Result<PickingSession, GoogleError> {
        let url = self.picker_url(&format!("/v1/sessions/{}", encode(id)))?;
        let response = transport::send(self.retry, || {
            self.http().get(url.clone()).bearer_auth(token)
        })
        .await?;
        transport::json(transport::check(response).await?).await
    }

    /// `GET /v1/mediaItems?sessionId=&pageSize=&pageToken=`.
    pub async fn list_items(
        &self,
        token: &str,
        session_id: &str,
        page_token: Option<&str>,
    ) -> Result<MediaItemsPage, GoogleError> {
        let mut url = self.picker_url("/v1/mediaItems")?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("sessionId", session_id);
            query.append_pair("pageSize", &PAGE_SIZE.to_string());
            if let Some(page) = page_token {
                query.append_pair("pageToken", page);
            }
        }
        let response = transport::send(self.retry, || {
            self.http().get(url.clone()).bearer_auth(token)
        })
        .await?;
        transport::json(transport::check(response).await?).await
    }

    /// `DELETE /v1/sessions/{id}` (Google asks apps to delete every session they are done
    /// with). A session already gone is fine.
    pub async fn delete_session(&self, token: &str, id: &str) -> Result<(), GoogleError> {
        let url = self.picker_url(&format!("/v1/sessions/{}", encode(id)))?;
        let response = transport::send(self.retry, || {
            self.http().delete(url.clone()).bearer_auth(token)
        })
        .await?;
        match transport::check(response).await {
            Ok(_) | Err(GoogleError::Api { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A path segment, percent-encoded (session ids are opaque).
fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_durations_and_times_parse() {
        assert_eq!(parse_duration("3.5s"), Some(Duration::from_millis(3500)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(
            parse_time_ms("2024-05-01T10:00:00Z"),
            Some(1_714_557_600_000)
        );
        assert_eq!(
            parse_time_ms("2024-05-01T10:00:00.250+02:00"),
            Some(1_714_550_400_250)
        );
        assert_eq!(parse_time_ms("yesterday"), None);
    }

    #[test]
    fn a_picked_item_reads_googles_documented_shape() {
        let json = r#"{"id":"AF1Qip","createTime":"2024-05-01T10:00:00Z","type":"PHOTO",
            "mediaFile":{"baseUrl":"https://lh3.googleusercontent.com/abc","mimeType":"image/jpeg",
            "filename":"IMG_1.jpg","mediaFileMetadata":{"width":4032,"height":3024,
            "cameraMake":"Google","cameraModel":"Pixel 8","photoMetadata":{"focalLength":6.9,
            "apertureFNumber":1.7,"isoEquivalent":800,"exposureTime":"0.008s"}}}}"#;
        let item: PickedMediaItem = serde_json::from_str(json).unwrap();
        let file = item.media_file.unwrap();
        let meta = file.media_file_metadata.unwrap();
        assert_eq!(meta.width, Some(4032));
        let photo = meta.photo_metadata.unwrap();
        assert_eq!(photo.iso_equivalent, Some(800));
        assert_eq!(
            photo.exposure_time.as_deref().and_then(parse_duration),
            Some(Duration::from_millis(8))
        );
        assert_eq!(item.kind.as_deref(), Some("PHOTO"));
    }
}
