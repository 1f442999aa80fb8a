//! The Picker API's JSON shapes (camelCase, int64 as strings, durations like `"1s"`), as in
//! developers.google.com/photos/picker/reference/rest/v1/sessions and .../mediaItems.

use serde::Serialize;

use crate::photos::{MediaType, Photo};
use crate::wire;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickingSession {
    pub id: String,
    pub picker_uri: String,
    /// Only while `mediaItemsSet` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polling_config: Option<PollingConfig>,
    pub expire_time: String,
    pub picking_config: PickingConfig,
    pub media_items_set: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PollingConfig {
    pub poll_interval: String,
    pub timeout_in: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickingConfig {
    /// int64, so a JSON string.
    pub max_item_count: String,
}

/// `mediaItems.list`. Like Google's JSON mapping, an empty page has no `mediaItems` field.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media_items: Vec<PickedMediaItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickedMediaItem {
    pub id: String,
    pub create_time: String,
    #[serde(rename = "type")]
    pub media_type: MediaType,
    pub media_file: MediaFile,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFile {
    pub base_url: String,
    pub mime_type: String,
    pub filename: String,
    pub media_file_metadata: MediaFileMetadata,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFileMetadata {
    pub width: u32,
    pub height: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera_make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_metadata: Option<PhotoMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_metadata: Option<VideoMetadata>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhotoMetadata {
    pub focal_length: f64,
    pub aperture_f_number: f64,
    pub iso_equivalent: i32,
    /// A Duration string, e.g. `"0.008s"`.
    pub exposure_time: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoMetadata {
    pub fps: f64,
    pub processing_status: &'static str,
}

impl PickedMediaItem {
    pub fn new(id: String, base_url: String, photo: &Photo) -> Self {
        let camera = photo.camera.as_ref();
        let is_video = photo.media_type == MediaType::Video;
        Self {
            id,
            create_time: wire::rfc3339(photo.create_time),
            media_type: photo.media_type,
            media_file: MediaFile {
                base_url,
                mime_type: photo.mime_type.clone(),
                filename: photo.filename.clone(),
                media_file_metadata: MediaFileMetadata {
                    width: photo.width,
                    height: photo.height,
                    camera_make: camera.map(|c| c.make.clone()),
                    camera_model: camera.map(|c| c.model.clone()),
                    photo_metadata: camera.filter(|_| !is_video).map(|c| PhotoMetadata {
                        focal_length: c.focal_length,
                        aperture_f_number: c.aperture_f_number,
                        iso_equivalent: c.iso_equivalent,
                        exposure_time: wire::duration(c.exposure_time),
                    }),
                    video_metadata: is_video.then_some(VideoMetadata {
                        fps: 29.97,
                        processing_status: "READY",
                    }),
                },
            },
        }
    }
}

/// An opaque page token: the session, the offset, and whether the empty page before this
/// offset was already served (with `Options::empty_pages`).
pub fn encode_page_token(session: &str, offset: usize, empty_served: bool) -> String {
    wire::b64url(format!("{session}:{offset}:{}", u8::from(empty_served)).as_bytes())
}

/// The offset and flag of a token made for `session`, or `None`.
pub fn decode_page_token(token: &str, session: &str) -> Option<(usize, bool)> {
    let raw = String::from_utf8(wire::b64url_decode(token)?).ok()?;
    let mut parts = raw.rsplitn(3, ':');
    let flag = parts.next()?;
    let offset = parts.next()?.parse().ok()?;
    (parts.next()? == session).then_some((offset, flag == "1"))
}
