//! The HTTP transport under async-openai: its requests go out on our reqwest client (rustls
//! with ring, as every other outside call of the server), with no retry layer of its own, and
//! every non-2xx answer comes back as an [`Upstream`] error that keeps what async-openai's own
//! error drops: the `Retry-After` headers.
//!
//! Retrying is the tagging job's business (tagging/mod.rs): it must take tokens from the
//! shared budget before each attempt, and must never retry `insufficient_quota`.

use std::time::Duration;

use async_openai::error::ApiError;
use async_openai::middleware::HttpRequestFactory;

/// A failed exchange with the model's server.
#[derive(Debug, thiserror::Error)]
pub enum Upstream {
    /// It answered with an error status.
    #[error("HTTP {status}: {}", describe(.error.as_ref(), .body))]
    Status {
        /// The status.
        status: u16,
        /// OpenAI's `{"error": {...}}`, when the body had that shape.
        error: Option<ApiError>,
        /// The body's start otherwise (a proxy's HTML page, a local server's plain text).
        body: String,
        /// `retry-after-ms`, else `Retry-After` (seconds).
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused or reset, DNS, TLS, timeout.
    #[error("cannot reach the model's server: {0}")]
    Network(String),
    /// The request could not be built (never expected).
    #[error("request: {0}")]
    Build(String),
}

/// OpenAI's error when the body had its shape, else the body's start.
fn describe(error: Option<&ApiError>, body: &str) -> String {
    error.map_or_else(|| body.to_string(), ToString::to_string)
}

/// How long one exchange may take (a vision answer takes seconds; a stuck one must end).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The tower service async-openai sends through: `factory` → our reqwest client → a response
/// in async-openai's reqwest version, or an [`Upstream`] error for any non-2xx status.
#[derive(Debug, Clone)]
pub struct Transport {
    http: reqwest::Client,
}

impl Transport {
    /// Sends with `http`.
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }
}

type Exchange =
    std::pin::Pin<Box<dyn Future<Output = Result<reqwest013::Response, tower::BoxError>> + Send>>;

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest013::Response;
    type Error = tower::BoxError;
    type Future = Exchange;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        Box::pin(async move {
            exchange(&http, factory)
                .await
                .map_err(|e| Box::new(e) as tower::BoxError)
        })
    }
}

async fn exchange(
    http: &reqwest::Client,
    factory: HttpRequestFactory,
) -> Result<reqwest013::Response, Upstream> {
    let request = factory
        .build()
        .await
        .map_err(|e| Upstream::Build(e.to_string()))?;
    let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|e| Upstream::Build(e.to_string()))?;
    let mut outgoing = http
        .request(method, request.url().as_str())
        .timeout(REQUEST_TIMEOUT);
    for (name, value) in request.headers() {
        outgoing = outgoing.header(name.as_str(), value.as_bytes());
    }
    if let Some(body) = request.body().and_then(|b| b.as_bytes()) {
        outgoing = outgoing.body(body.to_vec());
    }
    let response = outgoing
        .send()
        .await
        .map_err(|e| Upstream::Network(without_url(&e)))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Upstream::Network(without_url(&e)))?;
    if !(200..300).contains(&status) {
        return Err(Upstream::Status {
            status,
            error: serde_json::from_slice::<async_openai::error::WrappedError>(&bytes)
                .ok()
                .map(|w| w.error),
            body: String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
            retry_after: retry_after(&headers),
        });
    }
    let mut answer = http::Response::builder().status(status);
    for (name, value) in &headers {
        answer = answer.header(name.as_str(), value.as_bytes());
    }
    let answer = answer
        .body(bytes.to_vec())
        .map_err(|e| Upstream::Build(e.to_string()))?;
    Ok(reqwest013::Response::from(answer))
}

/// reqwest's errors print the URL; the base URL may carry credentials of a proxy.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// `retry-after-ms` (OpenAI's, precise), else `Retry-After` in seconds. An HTTP date is not
/// read (OpenAI does not send one); the caller's backoff applies then.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let read = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    read("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| read("retry-after").map(Duration::from_secs_f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn retry_after_prefers_milliseconds_then_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
