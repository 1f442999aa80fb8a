//! Google's two error shapes: the JSON APIs' `{"error":{"code","message","status"}}` and the
//! OAuth endpoints' `{"error","error_description"}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The canonical `google.rpc.Code` name Google writes for an HTTP status.
pub fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// An error of a Google JSON API (Picker, Library, media).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub rpc_status: &'static str,
    pub message: String,
    /// `google.rpc.ErrorInfo.reason`, when Google sends one (auth failures).
    pub reason: Option<&'static str>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the canonical status name for `status`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            rpc_status: status_name(status),
            message: message.into(),
            reason: None,
            retry_after: None,
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self {
            rpc_status: "FAILED_PRECONDITION",
            ..Self::new(400, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }

    /// 401 as Google answers a request without credentials.
    pub fn credentials_missing() -> Self {
        Self {
            reason: Some("CREDENTIALS_MISSING"),
            ..Self::new(
                401,
                "Request is missing required authentication credential. Expected OAuth 2 access \
                 token, login cookie or other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
        }
    }

    /// 401 as Google answers an unknown, expired or revoked bearer token.
    pub fn unauthenticated() -> Self {
        Self {
            reason: Some("ACCESS_TOKEN_TYPE_UNSUPPORTED"),
            ..Self::new(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, \
                 login cookie or other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
        }
    }

    /// 403 as Google answers a valid token that lacks the API's scope.
    pub fn insufficient_scope() -> Self {
        Self {
            reason: Some("ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
            ..Self::new(403, "Request had insufficient authentication scopes.")
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "code": self.status,
            "message": self.message,
            "status": self.rpc_status,
        });
        if let Some(reason) = self.reason {
            error["details"] = json!([{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }]);
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        if self.status == 401 {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// An error of the OAuth endpoints (token, revoke, userinfo).
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", description)
    }

    /// The RFC 6749 error code a fault with this status is reported as.
    pub fn for_fault(status: u16) -> Self {
        let (error, description) = match status {
            400 => ("invalid_request", "Bad Request"),
            401 => ("invalid_client", "Unauthorized"),
            403 => ("access_denied", "Forbidden"),
            429 => ("rate_limit_exceeded", "Rate Limit Exceeded"),
            503 => ("temporarily_unavailable", "Service Unavailable"),
            _ => ("server_error", "Internal Error"),
        };
        Self::new(status, error, description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.status == 401 {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
