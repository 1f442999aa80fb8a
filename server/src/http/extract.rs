//! Extractors whose rejections are `AppError`s, so a malformed path, query or body answers
//! with the JSON error shape like every other failure.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A numeric id from the path. Anything else names nothing, so it is a 404, exactly like an
/// id that does not exist or belongs to someone else.
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound("resource"))?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(IdPath)
            .ok_or(AppError::NotFound("resource"))
    }
}

/// `axum::Json` with JSON errors. The body must be a JSON object, as every request body of the
/// document is: serde would also read a struct from an array of its fields (`[0.5]` as
/// `{"blur_threshold": 0.5}`), which the document does not allow (Schemathesis found it).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        type Object = serde_json::Map<String, serde_json::Value>;
        match axum::Json::<Object>::from_request(req, state).await {
            Ok(axum::Json(object)) => T::deserialize(serde_json::Value::Object(object))
                .map(ApiJson)
                .map_err(|e| {
                    AppError::Unprocessable(format!(
                        "Failed to deserialize the JSON body into the target type: {e}"
                    ))
                }),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType(
                "expected a JSON body (Content-Type: application/json)".into(),
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::Unprocessable(e.body_text())),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge(e.body_text()))
            }
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

/// [`ApiJson`] for a body that may be left out: none (or only whitespace) is `None`; any other
/// body is held to the same rules (Content-Type, JSON, an object of the right shape).
#[derive(Debug, Clone)]
pub struct OptionalApiJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let headers = req.headers().clone();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge(e.body_text())
                } else {
                    AppError::BadRequest(e.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        let mut again = Request::new(axum::body::Body::from(bytes));
        *again.headers_mut() = headers;
        let ApiJson(value) = ApiJson::from_request(again, state).await?;
        Ok(Self(Some(value)))
    }
}

/// `axum::extract::Query` with JSON errors.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| AppError::BadRequest(e.body_text()))
    }
}
