//! Talking to Google over HTTP: one retry rule for every call (429 and 5xx back off
//! exponentially, honouring `Retry-After`, a bounded number of times), Google's error bodies
//! turned into [`GoogleError`], and the adapter the `oauth2` crate sends its requests through,
//! so token calls get the same retries.

use std::time::Duration;

use serde::Deserialize;

use super::GoogleError;

/// How often and how patiently a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first included).
    pub attempts: u32,
    /// The first backoff; doubled after each retry.
    pub base_delay: Duration,
    /// The longest wait, whatever `Retry-After` asks (a longer one fails the call, and the job
    /// system retries later instead of holding a worker).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// Whether a status is worth retrying.
fn retryable(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` in seconds (Google sends seconds; an HTTP date is treated as absent).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Sends the request that `build` makes, again after 429/5xx or a connection failure, up to
/// the policy's attempts. Returns the first response that is not retryable, or the last
/// error. `build` is called once per attempt (a request cannot be sent twice).
pub async fn send(
    policy: RetryPolicy,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, GoogleError> {
    send_with(policy, Repeat::Safe, || async { Ok(()) }, build).await
}

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Sending it twice does no harm (reads, uploads of bytes): 5xx and timeouts are retried.
    Safe,
    /// It changes something that must happen once (`batchCreate`): only answers that say it
    /// was not carried out (429, a refused connection) are retried; a 5xx or a timeout is
    /// returned at once, for the caller to find out what happened.
    Once,
}

/// [`send`], with `before_each` awaited before every attempt (the Library quota counts every
/// request Google sees, retries included: an error from it ends the call unsent), and the
/// retry rule of `repeat`.
pub async fn send_with<F, Fut>(
    policy: RetryPolicy,
    repeat: Repeat,
    mut before_each: F,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, GoogleError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), GoogleError>>,
{
    let mut delay = policy.base_delay;
    let mut attempt = 1;
    loop {
        before_each().await?;
        let wait = match build().send().await {
            Ok(response) if retryable(response.status()) => {
                let status = response.status();
                if repeat == Repeat::Once && status.is_server_error() {
                    return Err(GoogleError::Unavailable(format!(
                        "HTTP {}",
                        status.as_u16()
                    )));
                }
                let asked = retry_after(response.headers());
                let throttled = status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                // Google's own daily quota (another deployment on the same project, or a count
                // that drifted): waiting seconds cannot help, the day has to turn.
                if throttled
                    && response
                        .text()
                        .await
                        .unwrap_or_default()
                        .contains("per day")
                {
                    return Err(GoogleError::QuotaExhausted {
                        per_day: 0,
                        resets_at_ms: super::quota::google_day(crate::time::now_ms()).1,
                    });
                }
                if asked.is_some_and(|d| d > policy.max_delay) {
                    return Err(GoogleError::RateLimited { retry_after: asked });
                }
                if attempt >= policy.attempts {
                    return Err(if throttled {
                        GoogleError::RateLimited { retry_after: asked }
                    } else {
                        GoogleError::Unavailable(format!("HTTP {}", status.as_u16()))
                    });
                }
                asked.unwrap_or(delay)
            }
            Ok(response) => return Ok(response),
            Err(e) if e.is_connect() || (e.is_timeout() && repeat == Repeat::Safe) => {
                if attempt >= policy.attempts {
                    return Err(GoogleError::Unavailable(e.to_string()));
                }
                delay
            }
            Err(e) => return Err(GoogleError::Unavailable(e.to_string())),
        };
        tracing::debug!(
            attempt,
            wait_ms = wait.as_millis() as u64,
            "retrying a Google call"
        );
        tokio::time::sleep(wait).await;
        delay = (delay * 2).min(policy.max_delay);
        attempt += 1;
    }
}

/// Google APIs' error body: `{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}`.
#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    error: ApiErrorInner,
}

#[derive(Debug, Deserialize)]
struct ApiErrorInner {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

/// The response if it is a success, else the API error it carries (Google's JSON error shape;
/// any other body is summarised by its status).
pub async fn check(response: reqwest::Response) -> Result<reqwest::Response, GoogleError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let (code, message) = match serde_json::from_str::<ApiErrorBody>(&text) {
        Ok(body) => (body.error.status, body.error.message),
        Err(_) => (
            String::new(),
            status.canonical_reason().unwrap_or("").to_string(),
        ),
    };
    Err(GoogleError::Api {
        status: status.as_u16(),
        code,
        message,
    })
}

/// Reads a JSON body of the documented shape.
pub async fn json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, GoogleError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| GoogleError::Unavailable(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| GoogleError::Protocol(e.to_string()))
}

/// The `oauth2` crate's requests, sent through [`send`]: the token endpoint gets the same
/// retries as every other call, and no redirect is followed.
pub async fn oauth_request(
    client: &reqwest::Client,
    policy: RetryPolicy,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, GoogleError> {
    let (parts, body) = request.into_parts();
    let response = send(policy, || {
        client
            .request(parts.method.clone(), parts.uri.to_string())
            .headers(parts.headers.clone())
            .body(body.clone())
    })
    .await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| GoogleError::Unavailable(e.to_string()))?;
    builder
        .body(bytes.to_vec())
        .map_err(|e| GoogleError::Protocol(e.to_string()))
}

/// The client the `oauth2` crate sends through: [`oauth_request`] on our HTTP client. A
/// named type with a boxed `Send` future, so the token calls can run inside spawned tasks.
pub struct OauthHttp {
    /// Our HTTP client (no redirects).
    pub client: reqwest::Client,
    /// Retries on 429/5xx.
    pub policy: RetryPolicy,
}

impl<'c> oauth2::AsyncHttpClient<'c> for OauthHttp {
    type Error = GoogleError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, GoogleError>> + Send + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(oauth_request(&self.client, self.policy, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        assert!(retryable(reqwest::StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable(reqwest::StatusCode::SERVICE_UNAVAILABLE));
        assert!(!retryable(reqwest::StatusCode::BAD_REQUEST));
        assert!(!retryable(reqwest::StatusCode::FORBIDDEN));
    }
}
