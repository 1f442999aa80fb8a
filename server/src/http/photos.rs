//! `/api/v1/photos`: upload, the gallery, one photo, its images, its result, delete, and the
//! browser's preview score.

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::api::{
    BlurResult, ErrorBody, Photo, PhotoDetail, PhotoFilter, PhotoPage, PhotoSort, PreviewRequest,
    RejectedFile, UploadResponse,
};

use super::extract::{ApiJson, ApiQuery, IdPath};
use super::state::AppState;
use crate::auth::CurrentUser;
use crate::db::gallery::{self, Cursor};
use crate::db::photos::{self, Source};
use crate::db::sharpness_map;
use crate::error::AppError;
use crate::media::ImageSize;
use crate::photos::{self as photo_service, Ingested, remote};

/// Page size when the client does not ask.
pub const DEFAULT_PAGE: i64 = 50;
/// Largest page.
pub const MAX_PAGE: i64 = 200;

/// Query of `GET /api/v1/photos`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `all` (default), `blurred`, `not_blurred`, `unprocessed` or `failed`.
    #[serde(default)]
    #[param(value_type = Option<PhotoFilter>)]
    pub filter: PhotoFilter,
    /// `next_cursor` of the previous page (of the same `sort`).
    #[param(pattern = r"^([1-9][0-9]{0,17}|-?[0-9][0-9.e+-]{0,30}_[1-9][0-9]{0,17})?$")]
    pub cursor: Option<String>,
    /// `newest` (default: most recently added first), `taken` (capture date, newest first),
    /// `blurriest` (highest score first) or `sharpest` (lowest score first); unverified
    /// photos come last in both score orders.
    #[serde(default)]
    #[param(value_type = Option<PhotoSort>)]
    pub sort: PhotoSort,
    /// Photos per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Only photos carrying this AI tag (compared lowercase and trimmed, as tags are stored);
    /// combines with `filter`.
    #[param(max_length = 128)]
    pub tag: Option<String>,
}

/// Lists the user's photos, newest first unless `sort` says otherwise, one keyset page at a
/// time.
#[utoipa::path(get, path = "/photos", tag = "photos", params(ListQuery),
    responses((status = 200, body = PhotoPage), (status = 400, body = shared::api::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, AppError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty());
    let invalid = || AppError::BadRequest("invalid cursor".into());
    let (before, after) = match (cursor, query.sort) {
        (None, _) => (None, None),
        (Some(c), PhotoSort::Newest) => {
            let id = c
                .parse::<i64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(invalid)?;
            (Some(id), None)
        }
        (Some(c), sort) => (None, Some(Cursor::parse(sort, c).ok_or_else(invalid)?)),
    };
    let tag = match query.tag.as_deref() {
        None => None,
        Some(raw) => Some(
            shared::api::normalize_tag(raw)
                .filter(|_| raw.chars().count() <= 128)
                .ok_or_else(|| AppError::BadRequest("tag must be 1 to 128 characters".into()))?,
        ),
    };
    // One extra row says whether another page follows without a COUNT.
    let db = &state.deps.db;
    let (uid, filter, sort) = (user.id(), query.filter, query.sort);
    // Each page is one statement that brings its photos' tags along.
    let mut rows = match (&tag, sort) {
        // Newest first is the hot path: one prepared range scan of an index.
        (None, PhotoSort::Newest) => photos::page(db, uid, filter, before, limit + 1).await?,
        (Some(tag), PhotoSort::Newest) => {
            photos::page_with_tag(db, uid, tag, filter, before, limit + 1).await?
        }
        (tag, sort) => {
            gallery::page(db, uid, filter, tag.as_deref(), sort, after, limit + 1).await?
        }
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = rows.last().filter(|_| more).map(|r| match sort {
        PhotoSort::Newest => r.photo.id.to_string(),
        sort => Cursor::after(sort, &r.photo).encode(),
    });
    let page = PhotoPage {
        items: rows.into_iter().map(photos::PageRow::into_api).collect(),
        next_cursor,
    };
    // Written into a buffer of a page's size at once: axum's `Json` starts at 128 bytes and
    // copies the page's tens of kilobytes each time it doubles.
    let mut body = Vec::with_capacity(JSON_BYTES_PER_PHOTO * (page.items.len() + 1));
    serde_json::to_writer(&mut body, &page).map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// About what one photo of a page takes as JSON.
const JSON_BYTES_PER_PHOTO: usize = 640;

/// One photo, with its sharpness map once verified (only this view carries the map: lists
/// never do).
#[utoipa::path(get, path = "/photos/{id}", tag = "photos",
    params(("id" = i64, Path, description = "Photo id")),
    responses((status = 200, body = PhotoDetail), (status = 404, body = shared::api::ErrorResponse)))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<Json<PhotoDetail>, AppError> {
    let row = photos::get_detail(state.deps.db.pool(), user.id(), id)
        .await?
        .ok_or(AppError::NotFound("photo"))?;
    let photo = tagged(&state, &row.photo).await?;
    // The map is decoration: bytes that do not read as one are logged and shown as no map,
    // never as a failed photo.
    let sharpness_map = row
        .sharpness_map
        .as_deref()
        .and_then(|bytes| match sharpness_map::decode(bytes) {
            Ok(map) => Some(map),
            Err(e) => {
                tracing::warn!(photo_id = id, error = %e, "stored sharpness map unreadable");
                None
            }
        });
    Ok(Json(PhotoDetail {
        photo,
        sharpness_map,
    }))
}

/// One photo as lists show it (no map).
async fn one(state: &AppState, user_id: i64, id: i64) -> Result<Photo, AppError> {
    let row = photos::get(state.deps.db.pool(), user_id, id)
        .await?
        .ok_or(AppError::NotFound("photo"))?;
    tagged(state, &row).await
}

/// The API view of one row, with its AI tags.
async fn tagged(state: &AppState, row: &photos::PhotoRow) -> Result<Photo, AppError> {
    let mut tags = crate::db::tags::of_photos(state.deps.db.pool(), &[row.id]).await?;
    Ok(Photo {
        tags: tags.remove(&row.id).unwrap_or_default(),
        ..row.to_api()
    })
}

/// The verification result of one photo.
#[utoipa::path(get, path = "/photos/{id}/result", tag = "blur",
    params(("id" = i64, Path, description = "Photo id")),
    responses((status = 200, body = BlurResult), (status = 404, body = shared::api::ErrorResponse)))]
pub async fn result(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<Json<BlurResult>, AppError> {
    let row = photos::get(state.deps.db.pool(), user.id(), id)
        .await?
        .ok_or(AppError::NotFound("photo"))?;
    Ok(Json(BlurResult::from(&row.to_api())))
}

/// Deletes a photo, its stored image and derived images.
#[utoipa::path(delete, path = "/photos/{id}", tag = "photos",
    params(("id" = i64, Path, description = "Photo id")),
    responses((status = 204), (status = 404, body = shared::api::ErrorResponse)))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
) -> Result<StatusCode, AppError> {
    photo_service::delete(&state.deps, user.id(), id)
        .await?
        .ok_or(AppError::NotFound("photo"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stores the browser's preview score (shown until the verified score arrives).
#[utoipa::path(put, path = "/photos/{id}/preview", tag = "blur", request_body = PreviewRequest,
    params(("id" = i64, Path, description = "Photo id")),
    responses((status = 200, body = Photo), (status = 404, body = shared::api::ErrorResponse)))]
pub async fn set_preview(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<PreviewRequest>,
) -> Result<Json<Photo>, AppError> {
    if !(0.0..=1.0).contains(&body.preview_score) {
        return Err(AppError::BadRequest(
            "preview_score must be between 0 and 1".into(),
        ));
    }
    if !photos::set_preview(state.deps.db.pool(), user.id(), id, body.preview_score).await? {
        return Err(AppError::NotFound("photo"));
    }
    Ok(Json(one(&state, user.id(), id).await?))
}

/// Query of `GET /api/v1/photos/{id}/image`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// `thumb` (default): a JPEG of 320 px; `analysis`: the kernel's 512-px luma, as PNG;
    /// `original`: the uploaded file (for a Google photo: Google's download, location removed).
    #[param(inline)]
    pub size: Option<ImageSizeName>,
}

/// The sizes `GET /api/v1/photos/{id}/image` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageSizeName {
    /// A JPEG of 320 px on the long side.
    Thumb,
    /// The kernel's 512-px luma, as PNG.
    Analysis,
    /// The file as uploaded.
    Original,
}

/// The photo's image: the original or a derived size (made on first request, then cached).
#[utoipa::path(get, path = "/photos/{id}/image", tag = "photos",
    params(("id" = i64, Path, description = "Photo id"), ImageQuery),
    responses((status = 200, description = "The image bytes", content_type = "image/*"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = shared::api::ErrorResponse, description = "An unknown `size`"),
        (status = 404, body = shared::api::ErrorResponse),
        (status = 409, body = shared::api::ErrorResponse, description = "A Google photo, and the account is not connected to Google"),
        (status = 410, body = shared::api::ErrorResponse, description = "A Google photo whose 60-minute link expired: pick it again (`link_expired`)"),
        (status = 422, body = shared::api::ErrorResponse),
        (status = 503, body = shared::api::ErrorResponse, description = "Google is rate limiting or unavailable")))]
pub async fn image(
    State(state): State<AppState>,
    user: CurrentUser,
    IdPath(id): IdPath,
    ApiQuery(query): ApiQuery<ImageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let size = match query.size.unwrap_or(ImageSizeName::Thumb) {
        ImageSizeName::Thumb => Some(ImageSize::Thumb),
        ImageSizeName::Analysis => Some(ImageSize::Analysis),
        ImageSizeName::Original => None,
    };
    let row = photos::get(state.deps.db.pool(), user.id(), id)
        .await?
        .ok_or(AppError::NotFound("photo"))?;
    if row.source == Source::Google.as_str() {
        return google_image(&state, &row, size).await;
    }
    let Some(sha) = &row.content_sha256 else {
        return Err(AppError::NotFound("image"));
    };
    // The bytes behind an id never change (content-addressed), so the tag is the hash.
    let etag = format!("\"{sha}-{}\"", size.map_or("original", ImageSize::as_str));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok(cached(StatusCode::NOT_MODIFIED, &etag, None, Body::empty()));
    }
    let (bytes, mime) = match size {
        None => (
            photo_service::original(&state.deps, &row).await?,
            row.mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        ),
        Some(size) => (
            photo_service::derived(&state.deps, &row, size).await?,
            size.mime().to_string(),
        ),
    };
    Ok(cached(
        StatusCode::OK,
        &etag,
        Some(&mime),
        Body::from(bytes),
    ))
}

/// A Google photo's image, through the proxy: fetched with the owner's token from Google's
/// photo hosts only, held at most `remote::CACHE_TTL_MS`, and cacheable by the browser only for
/// what is left of that. An expired link is a 410.
async fn google_image(
    state: &AppState,
    row: &photos::PhotoRow,
    size: Option<ImageSize>,
) -> Result<Response, AppError> {
    let (bytes, mime, stored_at) = match size {
        Some(size) => {
            let (bytes, stored_at) = remote::derived(&state.deps, row, size).await?;
            (bytes, size.mime().to_string(), Some(stored_at))
        }
        None => (
            remote::original(&state.deps, row).await?,
            row.mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            None,
        ),
    };
    let mut response = (StatusCode::OK, Body::from(bytes)).into_response();
    let h = response.headers_mut();
    let max_age = stored_at.map_or(0, |t| {
        ((t + remote::CACHE_TTL_MS - crate::time::now_ms()) / 1000).max(0)
    });
    let cache = if max_age > 0 {
        format!("private, max-age={max_age}")
    } else {
        "private, no-store".to_string()
    };
    if let Ok(v) = HeaderValue::from_str(&cache) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

fn cached(status: StatusCode, etag: &str, mime: Option<&str>, body: Body) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = mime.and_then(|m| HeaderValue::from_str(m).ok()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // Users' files are served as the image type we sniffed, never re-sniffed as a page.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The form `POST /api/v1/photos` reads; only its schema is used (the handler streams the parts).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The photos (JPEG, PNG, WebP or a still GIF), each at most `CLASSIFY_MAX_FILE_MIB`; parts
    /// of other names are ignored.
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1, max_items = 16)]
    file: Vec<Vec<u8>>,
}

/// Uploads photos: `multipart/form-data` with one or more parts named `file`. Each file is
/// checked by its content (not its name); the same bytes uploaded again are the same photo.
///
/// The request is read to its end before anything is stored. A request that breaks a rule of
/// the request (more than [`FILES_PER_REQUEST`] files, a file over the size limit, a malformed
/// body) stores nothing and answers 413 or 400. Otherwise the files are stored in order, each
/// on its own: one refused by its content, or that would take the user over a quota (409
/// `quota_exceeded`), is listed in `rejected` and the others are stored.
#[utoipa::path(post, path = "/photos", tag = "photos",
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "One or more parts named `file`, at most 16"),
    responses((status = 201, body = UploadResponse, description = "At least one file stored; refused ones are in `rejected`"),
        (status = 400, body = shared::api::ErrorResponse),
        (status = 409, body = shared::api::ErrorResponse, description = "No file stored: over the user's photo or storage quota (`quota_exceeded`); `rejected` lists every file's reason"),
        (status = 413, body = shared::api::ErrorResponse, description = "Nothing stored: more than 16 files, or a file over the size limit"),
        (status = 415, body = shared::api::ErrorResponse, description = "No file stored: the first reason, and `rejected` lists every file's"),
        (status = 422, body = shared::api::ErrorResponse)))]
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let mut multipart = multipart.map_err(|e| {
        AppError::UnsupportedMediaType(format!("expected multipart/form-data: {}", e.body_text()))
    })?;
    let body_limit = upload_body_limit(&state.deps.limits);
    // Every file is received (to the blob store's staging area) and checked first; an early
    // return drops what was staged, so nothing is stored.
    let mut received = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, body_limit))?
    {
        if field.name() != Some("file") {
            continue;
        }
        if received.len() as u64 == FILES_PER_REQUEST {
            return Err(AppError::PayloadTooLarge(format!(
                "too many files: send at most {FILES_PER_REQUEST} files per request"
            )));
        }
        let filename = crate::photos::clean_filename(field.file_name());
        let mut receiving = photo_service::Receiving::start(&state.deps, filename.clone()).await?;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| multipart_error(e, body_limit))?
        {
            if let Err(err) = receiving.push(&chunk).await {
                // The rest of this file is not read (it may be gigabytes): the request ends
                // here, and the answer names the file and the limit.
                let err = AppError::from(err);
                let rejected = vec![rejected_file(&filename, &err)];
                return Ok(refused(err, rejected));
            }
        }
        received.push(
            receiving
                .finish(&state.deps)
                .await
                .map_err(|e| (filename, AppError::from(e))),
        );
    }
    if received.is_empty() {
        return Err(AppError::BadRequest(
            "no file: send multipart/form-data with one or more parts named `file`".into(),
        ));
    }
    let mut response = UploadResponse {
        items: Vec::new(),
        duplicates: Vec::new(),
        rejected: Vec::new(),
    };
    let mut first_error: Option<AppError> = None;
    for file in received {
        let outcome = match file {
            Ok(staged) => {
                let filename = staged.filename.clone();
                photo_service::store(&state.deps, user.id(), Source::Local, state.quota, staged)
                    .await
                    .map_err(|e| (filename, AppError::from(e)))
            }
            Err(refusal) => Err(refusal),
        };
        match outcome {
            Ok(Ingested { row, created }) => {
                if !created {
                    response.duplicates.push(row.id);
                }
                response.items.push(row.to_api());
            }
            Err((filename, err)) => {
                if !err.code().0.is_client_error() {
                    return Err(err);
                }
                response.rejected.push(rejected_file(&filename, &err));
                first_error.get_or_insert(err);
            }
        }
    }
    if response.items.is_empty() {
        let err = first_error.unwrap_or_else(|| AppError::BadRequest("no file stored".into()));
        return Ok(refused(err, response.rejected));
    }
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// A file's entry in `rejected`.
fn rejected_file(filename: &str, err: &AppError) -> RejectedFile {
    RejectedFile {
        filename: filename.to_string(),
        code: err.code().1,
        message: err.to_string(),
    }
}

/// Nothing stored: an error with the first reason, in the usual shape, plus every file's own
/// reason so a client need not re-send them one by one.
fn refused(err: AppError, rejected: Vec<RejectedFile>) -> Response {
    let (status, code) = err.code();
    let body = serde_json::json!({
        "error": ErrorBody::new(code, err.to_string()),
        "rejected": rejected,
    });
    (status, Json(body)).into_response()
}

/// A multipart read error: the body limit (413, naming it) or a malformed body (400).
fn multipart_error(e: axum::extract::multipart::MultipartError, body_limit: usize) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(format!(
            "the request body is larger than the {} MiB allowed",
            body_limit / (1024 * 1024)
        ))
    } else {
        AppError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

/// Files one upload request may carry.
pub const FILES_PER_REQUEST: u64 = 16;

/// The body limit of an upload: [`FILES_PER_REQUEST`] files at the per-file limit, plus 1 MiB
/// for the parts' headers. The files themselves are checked one by one as they stream in.
pub fn upload_body_limit(limits: &crate::media::MediaLimits) -> usize {
    usize::try_from(
        limits
            .max_bytes
            .saturating_mul(FILES_PER_REQUEST)
            .saturating_add(1024 * 1024),
    )
    .unwrap_or(usize::MAX)
}
