//! `AppError`: the one place where failures become HTTP responses.
//!
//! - Handlers return `Result<_, AppError>`; lower layers return their own typed errors
//!   (`sqlx::Error`, `QueueError`, ...) which convert with `?`.
//! - Every error leaves as `{ "error": { "code", "message" } }` (`shared::api::ErrorResponse`).
//! - 5xx details are logged here and never sent to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::api::{ErrorBody, ErrorCode, ErrorResponse};

use crate::google::GoogleError;
use crate::media::MediaError;
use crate::photos::PhotoError;
use crate::queue::QueueError;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No session, token or local user: nothing says who is asking.
    #[error("sign-in required")]
    Unauthorized,
    /// A token was sent and does not verify (forged, expired, revoked, spent, or not a bearer
    /// token): the client should refresh or get a new one, not sign in as if it had none.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// Signed in, but not allowed.
    #[error("not allowed")]
    Forbidden,
    /// Local mode and a `Host` that is neither this machine nor a listed name (DNS rebinding).
    #[error(
        "this server answers only to this machine's names (localhost, 127.0.0.1, [::1]); list other names in CLASSIFY_ALLOWED_HOSTS"
    )]
    ForeignHost,
    /// A cookie-authenticated request that changes state came from another site.
    #[error("cross-site request refused")]
    CrossSite,
    /// The body is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body's media type is not one this endpoint takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request is well-formed but its content cannot be used.
    #[error("{0}")]
    Unprocessable(String),
    /// Nothing of that kind exists for this user.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The caller holds too much of a bounded resource (open streams) right now.
    #[error("{0}")]
    TooManyRequests(String),
    /// Storing it would take the user over a quota (photos or stored bytes).
    #[error("{0}")]
    QuotaExceeded(String),
    /// A dependency is down.
    #[error("{0}")]
    Unavailable(String),
    /// The user's Google grant lacks a scope this needs; `action_url` starts the incremental
    /// consent for it.
    #[error("{message}")]
    ScopeRequired {
        /// What is missing and why it is needed.
        message: String,
        /// Where the browser goes to grant it.
        action_url: String,
    },
    /// AI tagging is not configured, or the operator switched it off.
    #[error(
        "AI tagging is off on this server: the operator has not configured a vision model (OPENAI_API_KEY or OPENAI_BASE_URL), or switched tagging off"
    )]
    TaggingDisabled,
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The queue failed.
    #[error("job queue error")]
    Queue(#[from] QueueError),
    /// The blob store failed.
    #[error("storage error")]
    Blob(#[from] crate::blobs::BlobError),
    /// Google refused or failed.
    #[error(transparent)]
    Google(#[from] GoogleError),
    /// Anything else.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// [`AppError::InvalidToken`]'s messages.
pub mod token_messages {
    /// An `Authorization` header that is not `Bearer <token>`.
    pub const NOT_BEARER: &str = "the Authorization header must be `Bearer <access token>`";
    /// An access token that does not verify.
    pub const ACCESS: &str = "the access token is invalid or expired";
    /// A refresh token that does not verify or was spent.
    pub const REFRESH: &str = "the refresh token is invalid, expired or already used";
}

impl AppError {
    /// The status and code this error answers with.
    pub fn code(&self) -> (StatusCode, ErrorCode) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            AppError::Unauthorized | AppError::InvalidToken(_) => {
                (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized)
            }
            AppError::Forbidden | AppError::CrossSite | AppError::ForeignHost => {
                (StatusCode::FORBIDDEN, ErrorCode::Forbidden)
            }
            AppError::ScopeRequired { .. } => (StatusCode::FORBIDDEN, ErrorCode::ScopeRequired),
            AppError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
            }
            AppError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            ),
            AppError::Unprocessable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Unprocessable)
            }
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            AppError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed)
            }
            AppError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            AppError::TooManyRequests(_) => {
                (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests)
            }
            AppError::QuotaExceeded(_) => (StatusCode::CONFLICT, ErrorCode::QuotaExceeded),
            AppError::TaggingDisabled => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::TaggingDisabled)
            }
            AppError::Unavailable(_) | AppError::Queue(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable)
            }
            AppError::Database(sqlx::Error::PoolTimedOut) => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable)
            }
            AppError::Database(_) | AppError::Internal(_) | AppError::Blob(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal)
            }
            AppError::Google(e) => google_code(e),
        }
    }
}

fn google_code(e: &GoogleError) -> (StatusCode, ErrorCode) {
    match e {
        GoogleError::NotConnected | GoogleError::ScopeMissing => {
            (StatusCode::CONFLICT, ErrorCode::GoogleNotConnected)
        }
        GoogleError::ReauthRequired => (StatusCode::UNAUTHORIZED, ErrorCode::ReauthRequired),
        GoogleError::LinkExpired => (StatusCode::GONE, ErrorCode::LinkExpired),
        GoogleError::HostNotAllowed(_) => (StatusCode::BAD_GATEWAY, ErrorCode::Forbidden),
        GoogleError::TooLarge(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Unprocessable),
        GoogleError::RateLimited { .. }
        | GoogleError::Unavailable(_)
        | GoogleError::QuotaExhausted { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::UpstreamBusy)
        }
        GoogleError::Api { status: 404, .. } => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
        GoogleError::Api { .. } | GoogleError::Protocol(_) => {
            (StatusCode::BAD_GATEWAY, ErrorCode::UpstreamBusy)
        }
        GoogleError::Crypto(_) | GoogleError::Database(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal)
        }
    }
}

impl From<PhotoError> for AppError {
    fn from(err: PhotoError) -> Self {
        let message = err.to_string();
        match err {
            PhotoError::Refused { source, .. } => match source {
                MediaError::Empty => AppError::BadRequest(message),
                MediaError::TooLarge { .. } => AppError::PayloadTooLarge(message),
                MediaError::Unsupported | MediaError::Animated => {
                    AppError::UnsupportedMediaType(message)
                }
                MediaError::TooManyPixels { .. }
                | MediaError::Corrupt(_)
                | MediaError::OverBudget { .. } => AppError::Unprocessable(message),
            },
            PhotoError::TooLarge { .. } => AppError::PayloadTooLarge(message),
            PhotoError::OverQuota { .. } => AppError::QuotaExceeded(message),
            PhotoError::Unrenderable(_) => AppError::Unprocessable(message),
            PhotoError::Missing => AppError::NotFound("image"),
            PhotoError::Blob(e) => AppError::Blob(e),
            PhotoError::Database(e) => AppError::Database(e),
            PhotoError::Task(m) => AppError::Internal(anyhow::anyhow!(m)),
            PhotoError::Google(e) => AppError::Google(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        // Tagging switched off is the operator's choice, not a failure worth a log line.
        if status.is_server_error() && !matches!(self, AppError::TaggingDisabled) {
            // The full chain goes to the log; the client gets only the generic message.
            tracing::error!(error = ?self, "request failed");
        }
        // A 500's cause (a query, a key file) stays in the log.
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "internal error".to_string()
        } else {
            self.to_string()
        };
        let action_url = match self {
            AppError::ScopeRequired { action_url, .. } => Some(action_url),
            _ => None,
        };
        let body = ErrorResponse {
            error: ErrorBody {
                action_url,
                ..ErrorBody::new(code, message)
            },
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(err: AppError) -> (StatusCode, serde_json::Value) {
        let response = err.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn not_found_is_a_404_with_the_json_error_shape() {
        let (status, body) = body_of(AppError::NotFound("photo")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(body["error"]["message"], "photo not found");
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let (status, body) =
            body_of(AppError::Internal(anyhow::anyhow!("secret path /etc/x"))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["message"], "internal error");
    }

    #[test]
    fn each_refused_file_has_its_status_and_names_the_file_once() {
        let refused = |source| {
            AppError::from(PhotoError::Refused {
                filename: "f.jpg".into(),
                source,
            })
        };
        for (source, code) in [
            (MediaError::Empty, ErrorCode::BadRequest),
            (
                MediaError::TooLarge { size: 2, max: 1 },
                ErrorCode::PayloadTooLarge,
            ),
            (MediaError::Unsupported, ErrorCode::UnsupportedMediaType),
            (MediaError::Animated, ErrorCode::UnsupportedMediaType),
            (
                MediaError::TooManyPixels {
                    width: 1,
                    height: 1,
                    max_pixels: 0,
                },
                ErrorCode::Unprocessable,
            ),
            (MediaError::Corrupt("x".into()), ErrorCode::Unprocessable),
        ] {
            let err = refused(source);
            assert_eq!(err.code().1, code, "{err}");
            assert_eq!(err.to_string().matches("f.jpg").count(), 1, "{err}");
        }
    }

    #[tokio::test]
    async fn tagging_off_is_a_503_that_says_so() {
        let (status, body) = body_of(AppError::TaggingDisabled).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "tagging_disabled");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("OPENAI_API_KEY")
        );
    }

    #[tokio::test]
    async fn a_pool_timeout_means_the_database_is_unavailable() {
        let (status, body) = body_of(AppError::Database(sqlx::Error::PoolTimedOut)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "unavailable");
    }
}
