//! Typed calls to the server. Errors keep the server's JSON error body when there is one.

use gloo_net::http::Request;
use shared::api::{ErrorResponse, ServicesReport};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request never got an answer (offline, server down).
    Network(String),
    /// The server answered with an error.
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Network(e) => write!(f, "cannot reach the server: {e}"),
            ApiError::Server { status, message } => write!(f, "{message} (HTTP {status})"),
        }
    }
}

/// `GET /health/services`.
pub async fn services() -> Result<ServicesReport, ApiError> {
    let response = Request::get("/health/services")
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if !response.ok() {
        let status = response.status();
        let message = match response.json::<ErrorResponse>().await {
            Ok(body) => body.error.message,
            Err(_) => response.status_text(),
        };
        return Err(ApiError::Server { status, message });
    }
    response
        .json::<ServicesReport>()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))
}
