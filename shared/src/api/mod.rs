//! Wire types of the REST API under `/api/v1` and the health endpoints.

pub mod albums;
pub mod error;
pub mod google;
pub mod health;
pub mod photos;
pub mod tags;

pub use albums::{
    Album, AlbumCounts, AlbumDestination, AlbumItem, AlbumItemStatus, AlbumItemsPage, AlbumList,
    AlbumProgress, AlbumStatus, CreateAlbumRequest, MAX_ALBUM_PHOTOS, MAX_ALBUM_TITLE_CHARS,
};
pub use error::{ErrorBody, ErrorCode, ErrorResponse};
pub use google::{GoogleAccount, PickerSession, PickerStatus, SyncAccepted};
pub use health::{Readiness, ServiceHealth, ServiceStatus, ServicesReport};
pub use photos::{
    AnalyzeBatchRequest, ApiBlurType, BatchStatus, BlurResult, Camera, GrantType, HistogramBin,
    JobAccepted, JobProgress, MAX_BATCH_IDS, Me, Photo, PhotoDetail, PhotoFilter, PhotoPage,
    PhotoSort, PreviewRequest, RefreshRequest, RejectedFile, Settings, Stats, TokenRequest,
    TokenResponse, TypeCounts, UploadResponse, VerificationStatus,
};
pub use tags::{
    AiAudit, MAX_TAG_CHARS, MAX_TAGS_PER_PHOTO, TagAccepted, TagCount, TagEstimate, TagList,
    TaggingInfo, normalize_tag, normalize_tags,
};
