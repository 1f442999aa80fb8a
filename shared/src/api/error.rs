//! The one shape of every error the server sends: `{ "error": { "code", "message" } }`.

use serde::{Deserialize, Serialize};

/// Machine-readable error category; the HTTP status follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is malformed or a value is out of range (400).
    BadRequest,
    /// No valid session or token (401).
    Unauthorized,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// The resource does not exist for this user (404).
    NotFound,
    /// The method is not allowed on this path (405).
    MethodNotAllowed,
    /// The request conflicts with the current state (409).
    Conflict,
    /// The body is too large (413).
    PayloadTooLarge,
    /// The media type is not supported (415).
    UnsupportedMediaType,
    /// The body is well-formed but semantically wrong (422).
    Unprocessable,
    /// The request took too long (408).
    Timeout,
    /// A dependency (database, queue) is down (503).
    Unavailable,
    /// Anything else (500); details are logged, never sent.
    Internal,
    /// A Google photo's 60-minute link has run out: pick the photo again to refresh it (410).
    LinkExpired,
    /// Google no longer accepts the user's sign-in (revoked or expired): sign in again (401).
    ReauthRequired,
    /// The user has no Google connection, or did not grant the Photos scope (409).
    GoogleNotConnected,
    /// Google (or the service behind it) asked us to slow down; retry later (503).
    UpstreamBusy,
    /// Too many of a bounded resource (open progress streams) held at once (429).
    TooManyRequests,
    /// Storing the upload would take the user over a quota: photos or stored bytes (409).
    QuotaExceeded,
    /// The URL is longer than the server reads (414).
    UriTooLong,
    /// AI tagging is not configured on this server, or the operator switched it off (503).
    TaggingDisabled,
    /// The user has not granted the Google scope this needs (the Library scope for albums):
    /// `action_url` starts Google's consent for it (403).
    ScopeRequired,
}

/// The inner object of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error category.
    pub code: ErrorCode,
    /// A message safe to show to a user.
    pub message: String,
    /// Where to send the user to fix it (e.g. Google's consent for a missing scope), if
    /// anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_url: Option<String>,
}

impl ErrorBody {
    /// An error with no action to offer.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            action_url: None,
        }
    }
}

/// The whole error response: `{ "error": ErrorBody }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_has_the_documented_wire_shape() {
        let body = ErrorResponse {
            error: ErrorBody::new(ErrorCode::NotFound, "photo not found"),
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "not_found", "message": "photo not found"}})
        );
        let back: ErrorResponse = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
    }
}
