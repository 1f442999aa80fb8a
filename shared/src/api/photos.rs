//! Photos, verification jobs, settings and statistics: the JSON of `/api/v1/photos`,
//! `/api/v1/blur/*`, `/api/v1/settings` and `/api/v1/stats`.

use serde::{Deserialize, Serialize};

/// Which photos a gallery page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhotoFilter {
    /// Every photo.
    #[default]
    All,
    /// Verified, with a score at or above the user's threshold.
    Blurred,
    /// Verified, with a score below the user's threshold.
    NotBlurred,
    /// Without a verified score and not failed: never analysed, or its first verification is
    /// queued. A photo verified before and queued again keeps its score and its category.
    Unprocessed,
    /// Without a verified score because its verification failed (`error` says why). A photo
    /// verified before whose re-run failed keeps its score and its category.
    Failed,
}

impl PhotoFilter {
    /// Whether `photo` is listed under this filter: the one rule the server's queries and the
    /// page's grids both follow. The stored verdict (`is_blurred`, which follows the user's
    /// threshold) decides first; only a photo without one is told apart by its status.
    pub fn matches(self, photo: &Photo) -> bool {
        let failed = photo.status == VerificationStatus::Failed;
        match self {
            PhotoFilter::All => true,
            PhotoFilter::Blurred => photo.is_blurred == Some(true),
            PhotoFilter::NotBlurred => photo.is_blurred == Some(false),
            PhotoFilter::Unprocessed => photo.is_blurred.is_none() && !failed,
            PhotoFilter::Failed => photo.is_blurred.is_none() && failed,
        }
    }
}

/// The order of a gallery page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhotoSort {
    /// Most recently added first.
    #[default]
    Newest,
    /// Most recently taken first (capture date; the date added where none is known).
    Taken,
    /// Highest verified score first: the worst photos lead; unverified photos last.
    Blurriest,
    /// Lowest verified score first: the sharpest lead; unverified photos last.
    Sharpest,
}

impl PhotoSort {
    /// Every order, as the page offers them.
    pub const ALL: [PhotoSort; 4] = [
        PhotoSort::Newest,
        PhotoSort::Taken,
        PhotoSort::Blurriest,
        PhotoSort::Sharpest,
    ];

    /// Its query value.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoSort::Newest => "newest",
            PhotoSort::Taken => "taken",
            PhotoSort::Blurriest => "blurriest",
            PhotoSort::Sharpest => "sharpest",
        }
    }

    /// The order whose query value is `text`.
    pub fn parse(text: &str) -> Option<PhotoSort> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The words the page shows for it.
    pub fn label(self) -> &'static str {
        match self {
            PhotoSort::Newest => "Newest added",
            PhotoSort::Taken => "Date taken",
            PhotoSort::Blurriest => "Most blurred",
            PhotoSort::Sharpest => "Sharpest",
        }
    }
}

/// Where a photo's verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// Never analysed by the server.
    Unprocessed,
    /// A verification job is waiting or running.
    Queued,
    /// The server's score is stored: it is verified.
    Done,
    /// The server could not analyse it; `error` says why.
    Failed,
}

/// The kind of blur, as the API reports it under the user's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiBlurType {
    /// Camera shake: smeared along one direction.
    Motion,
    /// Out of focus.
    Defocus,
    /// Not blurred.
    None,
}

impl ApiBlurType {
    /// The name as the JSON says it (`motion`, `defocus`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiBlurType::Motion => "motion",
            ApiBlurType::Defocus => "defocus",
            ApiBlurType::None => "none",
        }
    }
}

/// One photo as the gallery and the detail endpoint show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Photo {
    /// The photo's id (only meaningful to its owner).
    pub id: i64,
    /// The name it was uploaded or picked with.
    pub filename: String,
    /// `local` (uploaded) or `google` (picked from Google Photos).
    pub source: String,
    /// MIME type sniffed from the content.
    pub mime_type: Option<String>,
    /// Size of the original, in bytes.
    pub size_bytes: Option<i64>,
    /// Width of the original, in pixels.
    pub width: Option<i64>,
    /// Height of the original, in pixels.
    pub height: Option<i64>,
    /// The verified score in [0, 1] (1 = certainly blurred); absent until verified.
    pub blur_score: Option<f64>,
    /// `blur_score >= ` the user's threshold; absent until verified.
    pub is_blurred: Option<bool>,
    /// Motion, defocus or none under the user's threshold; absent until verified.
    pub blur_type: Option<ApiBlurType>,
    /// Direction of a motion blur, degrees in [0, 180).
    pub motion_angle_deg: Option<f64>,
    /// The browser's preview score, if one was sent; never counts as verified.
    pub preview_score: Option<f64>,
    /// Verification state.
    pub status: VerificationStatus,
    /// A verified score is present (it comes from the server's worker, never the browser).
    pub verified: bool,
    /// Why verification failed.
    pub error: Option<String>,
    /// When the server verified it (Unix ms).
    pub processed_at: Option<i64>,
    /// When it was added (Unix ms).
    pub created_at: i64,
    /// When it was taken (Unix ms), if known (Google's `createTime`, or the file's EXIF).
    #[serde(default)]
    pub taken_at: Option<i64>,
    /// A Google photo whose 60-minute link has run out: its scores stay, its image cannot be
    /// shown or verified until the user picks it again ("re-pick to refresh").
    #[serde(default)]
    pub link_expired: bool,
    /// AI tags (lowercase, at most 10), when a vision model has tagged the photo.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The vision model's one-line caption.
    #[serde(default)]
    pub caption: Option<String>,
    /// Whether the vision model thought the photo looks blurred (beside the kernel's verdict).
    #[serde(default)]
    pub looks_blurred: Option<bool>,
    /// The camera and its settings, when the file's EXIF (or Google) says.
    #[serde(default)]
    pub camera: Option<Camera>,
}

/// One photo with what only its own view needs: `GET /api/v1/photos/{id}`. Lists never carry
/// the extra fields (a page of 200 photos would carry 200 maps nobody looks at).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoDetail {
    /// The photo, as lists show it.
    #[serde(flatten)]
    pub photo: Photo,
    /// Where the photo is sharp, tile by tile, turned as the photo is shown (EXIF orientation
    /// applied); null until verified.
    #[serde(default)]
    pub sharpness_map: Option<crate::kernel::SharpnessMap>,
}

/// The camera and its settings for one shot; every part is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Camera {
    /// Maker, e.g. `Canon`.
    pub make: Option<String>,
    /// Model, e.g. `Canon EOS R6`.
    pub model: Option<String>,
    /// Exposure time, seconds.
    pub exposure_time_s: Option<f64>,
    /// Focal length, mm (as recorded, not 35-mm equivalent).
    pub focal_length_mm: Option<f64>,
    /// Aperture f-number.
    pub aperture_f_number: Option<f64>,
    /// ISO sensitivity.
    pub iso: Option<i64>,
}

impl Camera {
    /// The camera's name as people say it: the model, prefixed by the maker unless the model
    /// already starts with it ("Canon" + "Canon EOS R6" is "Canon EOS R6").
    pub fn name(&self) -> Option<String> {
        match (self.make.as_deref(), self.model.as_deref()) {
            (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
                Some(model.to_string())
            }
            (Some(make), Some(model)) => Some(format!("{make} {model}")),
            (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
            (None, None) => None,
        }
    }

    /// The settings in photographers' shorthand: `35 mm · f/1.8 · 1/250 s · ISO 400`.
    pub fn settings(&self) -> String {
        let mut parts = Vec::new();
        if let Some(mm) = self.focal_length_mm {
            parts.push(format!("{} mm", trim_number(mm)));
        }
        if let Some(f) = self.aperture_f_number {
            parts.push(format!("f/{}", trim_number(f)));
        }
        if let Some(t) = self.exposure_time_s.filter(|t| *t > 0.0) {
            parts.push(if t < 0.5 {
                format!("1/{} s", (1.0 / t).round())
            } else {
                format!("{} s", trim_number(t))
            });
        }
        if let Some(iso) = self.iso {
            parts.push(format!("ISO {iso}"));
        }
        parts.join(" · ")
    }
}

/// A number with at most one decimal, without a trailing `.0`.
fn trim_number(x: f64) -> String {
    let rounded = (x * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// The verification result of one photo: `GET /api/v1/photos/{id}/result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlurResult {
    /// The photo.
    pub photo_id: i64,
    /// Verification state.
    pub status: VerificationStatus,
    /// The score comes from the server's worker.
    pub verified: bool,
    /// The verified score.
    pub blur_score: Option<f64>,
    /// Under the user's threshold.
    pub is_blurred: Option<bool>,
    /// Under the user's threshold.
    pub blur_type: Option<ApiBlurType>,
    /// Direction of a motion blur, degrees in [0, 180).
    pub motion_angle_deg: Option<f64>,
    /// The browser's preview score.
    pub preview_score: Option<f64>,
    /// When verified (Unix ms).
    pub processed_at: Option<i64>,
    /// Why verification failed.
    pub error: Option<String>,
}

impl From<&Photo> for BlurResult {
    fn from(p: &Photo) -> Self {
        Self {
            photo_id: p.id,
            status: p.status,
            verified: p.verified,
            blur_score: p.blur_score,
            is_blurred: p.is_blurred,
            blur_type: p.blur_type,
            motion_angle_deg: p.motion_angle_deg,
            preview_score: p.preview_score,
            processed_at: p.processed_at,
            error: p.error.clone(),
        }
    }
}

/// The browser's preview score for a photo: `PUT /api/v1/photos/{id}/preview`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewRequest {
    /// The score the browser's kernel gave, in [0, 1].
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub preview_score: f64,
}

/// One page of the gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoPage {
    /// Photos, newest first.
    pub items: Vec<Photo>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A file of a multipart upload that was not stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedFile {
    /// The file name the client sent.
    pub filename: String,
    /// Machine-readable reason.
    pub code: super::ErrorCode,
    /// Human-readable reason.
    pub message: String,
}

/// The answer to an upload: the stored photos (a file uploaded before is returned as the
/// photo it already is) and the files refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    /// Stored photos, in upload order.
    pub items: Vec<Photo>,
    /// Ids in `items` that were already stored (same bytes uploaded before).
    pub duplicates: Vec<i64>,
    /// Files that were refused, with the reason.
    pub rejected: Vec<RejectedFile>,
}

/// Which photos a batch analyses: a list of ids, or every photo matching a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzeBatchRequest {
    /// These photos (1 to 10,000 ids).
    #[serde(default, deserialize_with = "integral::ids")]
    pub photo_ids: Option<Vec<i64>>,
    /// Or every photo of this filter.
    #[serde(default)]
    pub filter: Option<PhotoFilter>,
}

/// Ids read as the document's JSON Schema reads them: there `3.0` is an integer, where serde's
/// `i64` refuses it (a client that only knows JSON numbers, like JavaScript, may send one).
mod integral {
    use serde::Deserialize;
    use serde::de::{self, Deserializer, Unexpected, Visitor};

    pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
        let ids: Option<Vec<Integral>> = Option::deserialize(d)?;
        Ok(ids.map(|ids| ids.into_iter().map(|Integral(id)| id).collect()))
    }

    struct Integral(i64);

    impl<'de> Deserialize<'de> for Integral {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(IntegralVisitor)
        }
    }

    struct IntegralVisitor;

    impl Visitor<'_> for IntegralVisitor {
        type Value = Integral;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an integer id")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Integral, E> {
            Ok(Integral(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Integral, E> {
            i64::try_from(v)
                .map(Integral)
                .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Integral, E> {
            // -2^63 is exact in f64; 2^63 (the first float above i64::MAX) is not an i64.
            if v.fract() == 0.0 && v >= i64::MIN as f64 && v < -(i64::MIN as f64) {
                Ok(Integral(v as i64))
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
    }
}

/// Most ids one batch request may list.
pub const MAX_BATCH_IDS: usize = 10_000;

// Written by hand because the two fields exclude each other, which a derived schema cannot say:
// exactly one of the two shapes matches (the other field absent or null).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AnalyzeBatchRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaFormat, SchemaType, Type,
        };
        use utoipa::openapi::{KnownFormat, Ref};
        let null = || ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null));
        let ids = ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
            )
            .min_items(Some(1))
            .max_items(Some(MAX_BATCH_IDS))
            .description(Some("These photos (1 to 10,000 ids)."));
        let by_ids = ObjectBuilder::new()
            .title(Some("by ids"))
            .property("photo_ids", ids)
            .property("filter", null())
            .required("photo_ids");
        let by_filter = ObjectBuilder::new()
            .title(Some("by filter"))
            .property("filter", Ref::from_schema_name("PhotoFilter"))
            .property("photo_ids", null())
            .required("filter");
        OneOfBuilder::new()
            .item(by_ids)
            .item(by_filter)
            .description(Some(
                "Which photos a batch analyses: `photo_ids` or `filter`, exactly one of them.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AnalyzeBatchRequest {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            "PhotoFilter".into(),
            <PhotoFilter as utoipa::PartialSchema>::schema(),
        ));
    }
}

/// A batch was queued (202): one job per photo, grouped in a batch whose progress is followed
/// at `GET /api/v1/blur/jobs/{batch_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobAccepted {
    /// The batch.
    pub batch_id: i64,
    /// The same batch id, under its first-wave name (kept for older clients).
    #[cfg_attr(feature = "openapi", schema(deprecated))]
    pub job_id: i64,
    /// How many photos it will verify.
    pub total: i64,
}

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Nothing started yet.
    Queued,
    /// Some photos are done, some are not.
    Running,
    /// Every photo finished (some may have failed).
    Done,
    /// Every photo failed.
    Failed,
}

/// The progress of a batch: `GET /api/v1/blur/jobs/{batch_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobProgress {
    /// The batch.
    pub batch_id: i64,
    /// The same batch id, under its first-wave name (kept for older clients).
    #[cfg_attr(feature = "openapi", schema(deprecated))]
    pub job_id: i64,
    /// Overall state.
    pub status: BatchStatus,
    /// Photos verified.
    pub done: i64,
    /// Photos that could not be verified.
    pub failed: i64,
    /// Photos in the batch.
    pub total: i64,
}

/// The user's settings: `GET`/`PUT /api/v1/settings`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    /// A photo is blurred when its score is at least this, in [0, 1].
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub blur_threshold: f64,
}

/// One bin of the score histogram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistogramBin {
    /// Lower edge (inclusive).
    pub from: f64,
    /// Upper edge (exclusive, except for the last bin, which includes 1.0).
    pub to: f64,
    /// Verified photos with a score in the bin.
    pub count: i64,
}

/// Counts per blur type among the blurred photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypeCounts {
    /// Camera shake.
    pub motion: i64,
    /// Out of focus.
    pub defocus: i64,
}

/// `GET /api/v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    /// Every photo.
    pub total: i64,
    /// Verified and blurred under the threshold.
    pub blurred: i64,
    /// Verified and clear.
    pub not_blurred: i64,
    /// Not verified and not failed (never analysed, or queued).
    pub unprocessed: i64,
    /// Not verified because verification failed.
    pub failed: i64,
    /// The threshold the counts use.
    pub blur_threshold: f64,
    /// The blurred photos by type.
    pub by_type: TypeCounts,
    /// Verified scores in ten bins of 0.1.
    pub histogram: Vec<HistogramBin>,
    /// How often the vision model's `looks_blurred` and the kernel disagree.
    #[serde(default)]
    pub ai_audit: super::AiAudit,
}

/// The signed-in user: `GET /api/v1/auth/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The user's id.
    pub id: i64,
    /// Email, when signed in with Google.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub picture: Option<String>,
    /// `local` (single-user try-out, no sign-in) or `google`.
    pub mode: String,
    /// The user's settings.
    pub settings: Settings,
    /// The Google connection; absent in local mode.
    #[serde(default)]
    pub google: Option<super::GoogleAccount>,
}

/// Tokens for REST API clients: `POST /api/v1/auth/token` and `/auth/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange at `/api/v1/auth/refresh` for a new pair; single use.
    pub refresh_token: String,
}

/// `POST /api/v1/auth/token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    /// `local` (single-user mode only) or `authorization_code` (Google sign-in).
    // A string, documented as `GrantType`, so an unknown grant is the handler's 400, not a 422.
    #[cfg_attr(feature = "openapi", schema(value_type = GrantType))]
    pub grant_type: String,
    /// Google's authorization code, for `authorization_code`.
    #[serde(default)]
    pub code: Option<String>,
    /// The PKCE verifier the client made the code's challenge from, for `authorization_code`.
    #[serde(default)]
    pub code_verifier: Option<String>,
    /// The redirect URI the client sent to Google with the authorization request, for
    /// `authorization_code`.
    #[serde(default)]
    pub redirect_uri: Option<String>,
}

/// The grants of `POST /api/v1/auth/token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// The local user's tokens; only in local mode (no Google sign-in configured).
    Local,
    /// Exchange a Google authorization code; only with Google sign-in.
    AuthorizationCode,
}

impl GrantType {
    /// Every grant.
    pub const ALL: [GrantType; 2] = [GrantType::Local, GrantType::AuthorizationCode];

    /// The grant named `text`, if there is one.
    pub fn parse(text: &str) -> Option<GrantType> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Local => "local",
            GrantType::AuthorizationCode => "authorization_code",
        }
    }
}

/// `POST /api/v1/auth/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    /// The refresh token of the last pair.
    pub refresh_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_use_the_documented_query_values() {
        for (filter, text) in [
            (PhotoFilter::All, "all"),
            (PhotoFilter::Blurred, "blurred"),
            (PhotoFilter::NotBlurred, "not_blurred"),
            (PhotoFilter::Unprocessed, "unprocessed"),
            (PhotoFilter::Failed, "failed"),
        ] {
            assert_eq!(serde_json::to_value(filter).unwrap(), text);
        }
    }

    #[test]
    fn camera_data_reads_as_photographers_write_it() {
        let camera = Camera {
            make: Some("Canon".into()),
            model: Some("Canon EOS R6".into()),
            exposure_time_s: Some(0.004),
            focal_length_mm: Some(35.0),
            aperture_f_number: Some(1.8),
            iso: Some(400),
        };
        assert_eq!(camera.name().as_deref(), Some("Canon EOS R6"));
        assert_eq!(camera.settings(), "35 mm · f/1.8 · 1/250 s · ISO 400");
        let phone = Camera {
            make: Some("Google".into()),
            model: Some("Pixel 8".into()),
            exposure_time_s: Some(2.0),
            focal_length_mm: Some(6.9),
            ..Camera::default()
        };
        assert_eq!(phone.name().as_deref(), Some("Google Pixel 8"));
        assert_eq!(phone.settings(), "6.9 mm · 2 s");
        assert_eq!(Camera::default().name(), None);
        assert_eq!(Camera::default().settings(), "");
    }

    #[test]
    fn sort_names_are_their_wire_names() {
        for sort in PhotoSort::ALL {
            assert_eq!(serde_json::to_value(sort).unwrap(), sort.as_str());
            assert_eq!(PhotoSort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(PhotoSort::parse("random"), None);
    }

    #[test]
    fn grant_names_are_their_wire_names() {
        for grant in GrantType::ALL {
            assert_eq!(serde_json::to_value(grant).unwrap(), grant.as_str());
            assert_eq!(GrantType::parse(grant.as_str()), Some(grant));
        }
        assert_eq!(GrantType::parse("password"), None);
    }

    #[test]
    fn a_batch_request_takes_ids_or_a_filter() {
        let by_ids: AnalyzeBatchRequest = serde_json::from_str(r#"{"photo_ids": [1, 2]}"#).unwrap();
        assert_eq!(by_ids.photo_ids, Some(vec![1, 2]));
        let by_filter: AnalyzeBatchRequest =
            serde_json::from_str(r#"{"filter": "unprocessed"}"#).unwrap();
        assert_eq!(by_filter.filter, Some(PhotoFilter::Unprocessed));
        assert_eq!(by_filter.photo_ids, None);
    }

    #[test]
    fn batch_ids_are_integers_as_json_schema_counts_them() {
        let ids =
            |json: &str| serde_json::from_str::<AnalyzeBatchRequest>(json).map(|r| r.photo_ids);
        assert_eq!(
            ids(r#"{"photo_ids": [381.0, -2.0, 7, -9223372036854775808]}"#).unwrap(),
            Some(vec![381, -2, 7, i64::MIN])
        );
        assert_eq!(ids(r#"{"photo_ids": null}"#).unwrap(), None);
        for bad in ["1.5", "9223372036854775808", "9.3e18", "\"1\"", "null"] {
            assert!(
                ids(&format!(r#"{{"photo_ids": [{bad}]}}"#)).is_err(),
                "{bad} was read as an id"
            );
        }
    }

    fn photo(status: VerificationStatus, is_blurred: Option<bool>) -> Photo {
        Photo {
            id: 1,
            filename: "a.jpg".into(),
            source: "local".into(),
            mime_type: None,
            size_bytes: None,
            width: None,
            height: None,
            blur_score: is_blurred.map(|b| if b { 0.9 } else { 0.1 }),
            is_blurred,
            blur_type: None,
            motion_angle_deg: None,
            preview_score: None,
            status,
            verified: is_blurred.is_some(),
            error: None,
            processed_at: None,
            created_at: 0,
            taken_at: None,
            link_expired: false,
            tags: Vec::new(),
            caption: None,
            looks_blurred: None,
            camera: None,
        }
    }

    #[test]
    fn each_photo_is_in_exactly_one_category_whatever_its_status() {
        use VerificationStatus::*;
        let cases = [
            // (status, verdict, the one category it is listed under)
            (Unprocessed, None, PhotoFilter::Unprocessed),
            (Queued, None, PhotoFilter::Unprocessed),
            (Failed, None, PhotoFilter::Failed),
            (Done, Some(true), PhotoFilter::Blurred),
            (Done, Some(false), PhotoFilter::NotBlurred),
            // The cases where status and verdict disagree: verified once, then queued again or
            // failed on a re-run. The stored verdict decides.
            (Queued, Some(true), PhotoFilter::Blurred),
            (Failed, Some(false), PhotoFilter::NotBlurred),
        ];
        for (status, verdict, category) in cases {
            let p = photo(status, verdict);
            assert!(PhotoFilter::All.matches(&p));
            for filter in [
                PhotoFilter::Blurred,
                PhotoFilter::NotBlurred,
                PhotoFilter::Unprocessed,
                PhotoFilter::Failed,
            ] {
                assert_eq!(
                    filter.matches(&p),
                    filter == category,
                    "{status:?}/{verdict:?} under {filter:?}"
                );
            }
        }
    }

    #[test]
    fn the_detail_is_the_photo_with_its_map_beside_it() {
        let detail = PhotoDetail {
            photo: photo(VerificationStatus::Done, Some(false)),
            sharpness_map: Some(crate::kernel::SharpnessMap {
                columns: 2,
                rows: 1,
                cells: vec![90, crate::kernel::SharpnessMap::FLAT],
            }),
        };
        let json = serde_json::to_value(&detail).unwrap_or_default();
        // Flat: a client that reads a `Photo` reads the detail as it is.
        assert_eq!(json["id"], detail.photo.id);
        assert_eq!(json["sharpness_map"]["columns"], 2);
        assert_eq!(json["sharpness_map"]["cells"], serde_json::json!([90, 255]));
        let as_photo: Result<Photo, _> = serde_json::from_value(json.clone());
        assert_eq!(as_photo.ok().as_ref(), Some(&detail.photo));
        let back: Result<PhotoDetail, _> = serde_json::from_value(json);
        assert_eq!(back.ok().as_ref(), Some(&detail));
        // An unverified photo's detail says null.
        let none = PhotoDetail {
            sharpness_map: None,
            ..detail
        };
        let json = serde_json::to_value(&none).unwrap_or_default();
        assert!(json["sharpness_map"].is_null() && json.get("sharpness_map").is_some());
    }
}
