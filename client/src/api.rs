//! Typed calls to the server. Errors keep the server's JSON error body when there is one.
//!
//! Every call is same-origin and carries no credentials of its own: in local mode the server
//! takes such a request as the local user, and with Google sign-in the browser sends the
//! session cookie.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use shared::api::{
    AnalyzeBatchRequest, ErrorCode, ErrorResponse, JobAccepted, JobProgress, Me, Photo,
    PhotoDetail, PhotoFilter, PhotoPage, PhotoSort, PickerSession, ServicesReport, Settings, Stats,
    SyncAccepted, TagAccepted, TagEstimate, TagList, TaggingInfo, UploadResponse,
};

/// Starts signing in with Google: a full-page navigation (the server redirects to Google).
pub const GOOGLE_START: &str = "/api/v1/auth/google/start";
/// The same, with Google's consent screen shown again: to grant a scope that was unticked or
/// to replace a refresh token Google no longer accepts.
pub const GOOGLE_CONSENT: &str = "/api/v1/auth/google/start?consent=true";

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request never got an answer (offline, server down).
    Network(String),
    /// The server answered with an error.
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code, when the body was the API's error object.
        code: Option<ErrorCode>,
        /// The server's message.
        message: String,
        /// Where to send the user to fix it (Google's consent for a missing scope), if anywhere.
        action_url: Option<String>,
    },
}

impl ApiError {
    /// The server refused the request itself (4xx): sending it again will not help.
    pub fn is_client_error(&self) -> bool {
        matches!(self, ApiError::Server { status, .. } if (400..500).contains(status))
    }

    /// The server's error code, if it sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Server { code, .. } => *code,
            ApiError::Network(_) => None,
        }
    }

    /// Where the server says the user can fix this (e.g. grant a Google scope), if anywhere.
    pub fn action_url(&self) -> Option<&str> {
        match self {
            ApiError::Server { action_url, .. } => action_url.as_deref(),
            ApiError::Network(_) => None,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Server { status, .. } => Some(*status),
            ApiError::Network(_) => None,
        }
    }

    /// The server's own message (or the network failure), without the status.
    pub fn message(&self) -> String {
        match self {
            ApiError::Network(e) => format!("cannot reach the server: {e}"),
            ApiError::Server { message, .. } => message.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Network(e) => write!(f, "cannot reach the server: {e}"),
            ApiError::Server {
                status, message, ..
            } => write!(f, "{message} (HTTP {status})"),
        }
    }
}

fn network(e: gloo_net::Error) -> ApiError {
    ApiError::Network(e.to_string())
}

/// Sends a request and turns a non-2xx answer into [`ApiError::Server`] with the server's
/// message (or the status text when the body is not the API's error object).
async fn send(request: Request) -> Result<Response, ApiError> {
    let response = request.send().await.map_err(network)?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let (code, message, action_url) = match response.json::<ErrorResponse>().await {
        Ok(body) => (
            Some(body.error.code),
            body.error.message,
            body.error.action_url,
        ),
        Err(_) => (None, response.status_text(), None),
    };
    Err(ApiError::Server {
        status,
        code,
        message,
        action_url,
    })
}

async fn json<T: DeserializeOwned>(request: Request) -> Result<T, ApiError> {
    send(request).await?.json::<T>().await.map_err(network)
}

fn build(builder: RequestBuilder) -> Result<Request, ApiError> {
    builder.build().map_err(network)
}

/// `GET /health/services`.
pub async fn services() -> Result<ServicesReport, ApiError> {
    json(build(Request::get("/health/services"))?).await
}

/// The query value of a filter, as the API spells it.
pub fn filter_param(filter: PhotoFilter) -> &'static str {
    match filter {
        PhotoFilter::All => "all",
        PhotoFilter::Blurred => "blurred",
        PhotoFilter::NotBlurred => "not_blurred",
        PhotoFilter::Unprocessed => "unprocessed",
        PhotoFilter::Failed => "failed",
    }
}

/// `GET /api/v1/photos`: one gallery page (of one AI tag's photos, when given), after
/// `cursor` when given.
pub async fn photos(
    filter: PhotoFilter,
    tag: Option<&str>,
    sort: PhotoSort,
    cursor: Option<&str>,
    limit: u32,
) -> Result<PhotoPage, ApiError> {
    let limit = limit.to_string();
    let mut query = vec![
        ("filter", filter_param(filter)),
        ("sort", sort.as_str()),
        ("limit", limit.as_str()),
    ];
    if let Some(tag) = tag {
        query.push(("tag", tag));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    json(build(Request::get("/api/v1/photos").query(query))?).await
}

/// `GET /api/v1/photos/{id}`, read as the photo lists show it.
pub async fn photo(id: i64) -> Result<Photo, ApiError> {
    json(build(Request::get(&format!("/api/v1/photos/{id}")))?).await
}

/// `GET /api/v1/photos/{id}` with what only the photo view needs (the sharpness map).
pub async fn photo_detail(id: i64) -> Result<PhotoDetail, ApiError> {
    json(build(Request::get(&format!("/api/v1/photos/{id}")))?).await
}

/// The URL of a photo's 320-px thumbnail (the server caches it with an ETag).
pub fn thumb_url(id: i64) -> String {
    format!("/api/v1/photos/{id}/image?size=thumb")
}

/// `POST /api/v1/photos`: one multipart request with a part named `file` per file.
pub async fn upload(files: &[web_sys::File]) -> Result<UploadResponse, ApiError> {
    let form = web_sys::FormData::new().map_err(|e| ApiError::Network(format!("{e:?}")))?;
    for file in files {
        form.append_with_blob_and_filename("file", file, &file.name())
            .map_err(|e| ApiError::Network(format!("{e:?}")))?;
    }
    // No content-type header: the browser sets multipart/form-data with its boundary.
    let request = Request::post("/api/v1/photos")
        .body(form)
        .map_err(network)?;
    json(request).await
}

/// `DELETE /api/v1/photos/{id}`.
pub async fn delete_photo(id: i64) -> Result<(), ApiError> {
    send(build(Request::delete(&format!("/api/v1/photos/{id}")))?).await?;
    Ok(())
}

/// `POST /api/v1/photos/{id}/analyze`: queue verification of one photo.
pub async fn analyze_photo(id: i64) -> Result<JobAccepted, ApiError> {
    json(build(Request::post(&format!(
        "/api/v1/photos/{id}/analyze"
    )))?)
    .await
}

/// `POST /api/v1/blur/analyze-batch` with `{"filter": …}`: every photo of one category.
pub async fn analyze_filter(filter: PhotoFilter) -> Result<JobAccepted, ApiError> {
    let body = AnalyzeBatchRequest {
        photo_ids: None,
        filter: Some(filter),
    };
    json(
        Request::post("/api/v1/blur/analyze-batch")
            .json(&body)
            .map_err(network)?,
    )
    .await
}

/// `POST /api/v1/blur/analyze-batch` with `{"photo_ids": [...]}`: verify these photos.
pub async fn analyze_ids(ids: Vec<i64>) -> Result<JobAccepted, ApiError> {
    let body = AnalyzeBatchRequest {
        photo_ids: Some(ids),
        filter: None,
    };
    json(
        Request::post("/api/v1/blur/analyze-batch")
            .json(&body)
            .map_err(network)?,
    )
    .await
}

/// `GET /api/v1/tags/status`: whether AI tagging is on, the model, where photos go, the cost.
pub async fn tagging_info() -> Result<TaggingInfo, ApiError> {
    json(build(Request::get("/api/v1/tags/status"))?).await
}

/// `POST /api/v1/photos/{id}/tag`: queue tagging of one photo.
pub async fn tag_photo(id: i64) -> Result<TagAccepted, ApiError> {
    json(build(Request::post(&format!("/api/v1/photos/{id}/tag")))?).await
}

/// `POST /api/v1/tags/estimate` for these photos: what tagging them would spend.
pub async fn tag_estimate(ids: Vec<i64>) -> Result<TagEstimate, ApiError> {
    let body = AnalyzeBatchRequest {
        photo_ids: Some(ids),
        filter: None,
    };
    json(
        Request::post("/api/v1/tags/estimate")
            .json(&body)
            .map_err(network)?,
    )
    .await
}

/// `POST /api/v1/tags/batch` for these photos.
pub async fn tag_batch(ids: Vec<i64>) -> Result<TagAccepted, ApiError> {
    let body = AnalyzeBatchRequest {
        photo_ids: Some(ids),
        filter: None,
    };
    json(
        Request::post("/api/v1/tags/batch")
            .json(&body)
            .map_err(network)?,
    )
    .await
}

/// `GET /api/v1/tags`: the user's tags with their counts.
pub async fn tags() -> Result<TagList, ApiError> {
    json(build(Request::get("/api/v1/tags"))?).await
}

/// `DELETE /api/v1/photos/{id}/tags/{tag}`: a wrong tag goes.
pub async fn remove_tag(id: i64, tag: &str) -> Result<(), ApiError> {
    let path = format!("/api/v1/photos/{id}/tags/{}", path_segment(tag));
    send(build(Request::delete(&path))?).await?;
    Ok(())
}

/// A text as one path segment: anything outside the unreserved characters is escaped, so a
/// tag or an id from elsewhere cannot leave its segment.
pub fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `GET /api/v1/blur/jobs/{batch_id}`.
pub async fn job(batch_id: i64) -> Result<JobProgress, ApiError> {
    json(build(Request::get(&format!(
        "/api/v1/blur/jobs/{batch_id}"
    )))?)
    .await
}

/// `GET /api/v1/settings`.
pub async fn settings() -> Result<Settings, ApiError> {
    json(build(Request::get("/api/v1/settings"))?).await
}

/// `PUT /api/v1/settings`.
pub async fn put_settings(settings: &Settings) -> Result<Settings, ApiError> {
    json(
        Request::put("/api/v1/settings")
            .json(settings)
            .map_err(network)?,
    )
    .await
}

/// `GET /api/v1/stats`.
pub async fn stats() -> Result<Stats, ApiError> {
    json(build(Request::get("/api/v1/stats"))?).await
}

/// `GET /api/v1/auth/me`: 401 when Google sign-in is configured and nobody is signed in.
pub async fn me() -> Result<Me, ApiError> {
    json(build(Request::get("/api/v1/auth/me"))?).await
}

/// `POST /api/v1/auth/logout`.
pub async fn logout() -> Result<(), ApiError> {
    send(build(Request::post("/api/v1/auth/logout"))?).await?;
    Ok(())
}

/// `POST /api/v1/auth/google/disconnect`: revokes Classify's access at Google.
pub async fn disconnect_google() -> Result<(), ApiError> {
    send(build(Request::post("/api/v1/auth/google/disconnect"))?).await?;
    Ok(())
}

/// `DELETE /api/v1/account`: irreversible.
pub async fn delete_account() -> Result<(), ApiError> {
    send(build(Request::delete("/api/v1/account"))?).await?;
    Ok(())
}

/// `POST /api/v1/picker/sessions`.
pub async fn create_picker_session() -> Result<PickerSession, ApiError> {
    json(build(Request::post("/api/v1/picker/sessions"))?).await
}

/// The path of a Picker session. Google's ids are opaque, so anything outside the unreserved
/// characters is escaped rather than trusted to be path-safe.
pub fn picker_session_path(id: &str) -> String {
    format!("/api/v1/picker/sessions/{}", path_segment(id))
}

/// `GET /api/v1/picker/sessions/{id}` (the server asks Google while the user is picking).
pub async fn picker_session(id: &str) -> Result<PickerSession, ApiError> {
    json(build(Request::get(&picker_session_path(id)))?).await
}

/// `POST /api/v1/picker/sessions/{id}/sync`: queues the import of the picked photos.
pub async fn sync_picker_session(id: &str) -> Result<SyncAccepted, ApiError> {
    let path = format!("{}/sync", picker_session_path(id));
    json(build(Request::post(&path))?).await
}

/// `GET /api/v1/albums`: the user's albums, newest first.
pub async fn albums() -> Result<shared::api::AlbumList, ApiError> {
    json(build(Request::get("/api/v1/albums"))?).await
}

/// `GET /api/v1/albums/{id}`: one album with the first page of its photos.
pub async fn album(id: i64) -> Result<shared::api::Album, ApiError> {
    json(build(Request::get(&format!("/api/v1/albums/{id}")))?).await
}

/// `POST /api/v1/albums/unblurred`: an album of the clear photos. A missing Google scope is a
/// 403 `scope_required` whose `action_url` asks Google for it.
pub async fn create_album(
    request: &shared::api::CreateAlbumRequest,
) -> Result<shared::api::Album, ApiError> {
    json(
        Request::post("/api/v1/albums/unblurred")
            .json(request)
            .map_err(network)?,
    )
    .await
}

/// `POST /api/v1/albums/{id}/resume`: a paused or failed album tries again.
pub async fn resume_album(id: i64) -> Result<shared::api::Album, ApiError> {
    json(build(Request::post(&format!(
        "/api/v1/albums/{id}/resume"
    )))?)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_sent_as_the_api_spells_them() {
        for filter in [
            PhotoFilter::All,
            PhotoFilter::Blurred,
            PhotoFilter::NotBlurred,
            PhotoFilter::Unprocessed,
            PhotoFilter::Failed,
        ] {
            assert_eq!(
                serde_json::to_value(filter).ok(),
                Some(serde_json::Value::from(filter_param(filter)))
            );
        }
    }

    #[test]
    fn only_4xx_answers_are_client_errors() {
        let server = |status| ApiError::Server {
            status,
            code: None,
            message: "m".into(),
            action_url: None,
        };
        assert!(server(422).is_client_error());
        assert!(!server(503).is_client_error());
        assert!(!ApiError::Network("x".into()).is_client_error());
        assert_eq!(server(422).message(), "m");
    }

    #[test]
    fn tags_cannot_leave_their_path_segment() {
        assert_eq!(path_segment("sun set"), "sun%20set");
        assert_eq!(path_segment("../x"), "..%2Fx");
        assert_eq!(path_segment("été"), "%C3%A9t%C3%A9");
    }

    #[test]
    fn picker_session_ids_cannot_leave_their_path_segment() {
        assert_eq!(
            picker_session_path("a1-b_2.c~"),
            "/api/v1/picker/sessions/a1-b_2.c~"
        );
        assert_eq!(
            picker_session_path("../x?y"),
            "/api/v1/picker/sessions/..%2Fx%3Fy"
        );
    }
}
