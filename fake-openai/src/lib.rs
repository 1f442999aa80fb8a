//! A fake OpenAI for tests and offline demos: `POST /v1/chat/completions` for one image with a
//! strict `json_schema` response format, in OpenAI's wire format, answering tags it derives
//! from the pixels (dominant colour, brightness, orientation) with realistic `usage` (the
//! text estimate plus the image's documented token price for the model and `detail`).
//! Failures are injected on demand (429 `rate_limit_exceeded` with `Retry-After`,
//! `insufficient_quota`, 503, a refusal, a truncated or malformed answer, empty tags) and every
//! request is logged with its time and tokens.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let fake = fake_openai::FakeOpenAi::start(fake_openai::Options::default()).await?;
//! let base_url = fake.base_url(); // http://127.0.0.1:PORT/v1
//! fake.state().fail_next(fake_openai::Fault::RateLimited { retry_after_ms: Some(1000) }, 1);
//! # Ok(()) }
//! ```

mod control;
mod control_http;
pub mod vision;
pub mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use control::Shared;
pub use control::{Control, Fault, RequestRecord, peak_in_window};
use wire::{ApiError, Usage};

/// How to start the fake.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen (default `127.0.0.1:0`).
    pub addr: SocketAddr,
    /// The key requests must send as `Authorization: Bearer <key>`; empty = any (as a local
    /// OpenAI-compatible server does).
    pub api_key: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: "sk-fake-classify-test".into(),
        }
    }
}

/// A running fake. Dropping it stops the server.
pub struct FakeOpenAi {
    origin: String,
    addr: SocketAddr,
    control: Control,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeOpenAi {
    /// Binds `options.addr` and serves in the background.
    pub async fn start(options: Options) -> std::io::Result<FakeOpenAi> {
        let listener = TcpListener::bind(options.addr).await?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        let control = Control {
            shared: Arc::new(Shared {
                api_key: options.api_key,
                inner: Mutex::default(),
            }),
        };
        let app = router(control.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = rx.await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await;
        });
        Ok(FakeOpenAi {
            origin: format!("http://{addr}"),
            addr,
            control,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.origin
    }

    /// What a client sets as `OPENAI_BASE_URL`: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.origin)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key to send.
    pub fn api_key(&self) -> &str {
        self.control.api_key()
    }

    /// The handle that steers and inspects this fake.
    pub fn state(&self) -> &Control {
        &self.control
    }

    /// The settings as `KEY=value` pairs for Classify's environment.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OPENAI_BASE_URL", self.base_url()),
            ("OPENAI_API_KEY", self.api_key().to_string()),
        ]
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Data URLs of up to 20 MB images grow by a third in base64.
const BODY_LIMIT: usize = 32 * 1024 * 1024;

fn router(control: Control) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .merge(control_http::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(control)
}

async fn not_found() -> Response {
    ApiError {
        status: 404,
        ..ApiError::invalid(None, "Invalid URL (the fake serves /v1/chat/completions)")
    }
    .into_response()
}

async fn models(State(control): State<Control>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&control, &headers) {
        return e.into_response();
    }
    let data: Vec<Value> = vision::MODELS
        .iter()
        .map(|(id, _)| json!({"id": id, "object": "model", "created": 1_721_172_741, "owned_by": "system"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

fn authorize(control: &Control, headers: &HeaderMap) -> Result<(), ApiError> {
    let key = control.api_key();
    if key.is_empty() {
        return Ok(());
    }
    let sent = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match sent {
        Some(k) if k == key => Ok(()),
        Some(k) => Err(ApiError {
            status: 401,
            code: Some("invalid_api_key"),
            ..ApiError::invalid(
                None,
                format!(
                    "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                    masked(k)
                ),
            )
        }),
        None => Err(ApiError {
            status: 401,
            ..ApiError::invalid(
                None,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        }),
    }
}

/// `sk-abc…wxyz` as OpenAI shows a wrong key.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

async fn chat_completions(
    State(control): State<Control>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut record = RequestRecord {
        at_ms: now_ms(),
        status: 200,
        model: String::new(),
        detail: None,
        image_width: None,
        image_height: None,
        image_bytes: None,
        prompt_tokens: 0,
        completion_tokens: 0,
        fault: None,
        error: None,
    };
    let response = answer(&control, &headers, &body, &mut record);
    record.status = response.status().as_u16();
    control.shared.lock().log.push(record);
    response
}

/// The answer to one request; fills in the log record as it learns things.
fn answer(
    control: &Control,
    headers: &HeaderMap,
    body: &[u8],
    record: &mut RequestRecord,
) -> Response {
    let fail = |record: &mut RequestRecord, e: ApiError| {
        record.error = e.code.or(Some(e.kind)).map(str::to_string);
        e.into_response()
    };
    if let Err(e) = authorize(control, headers) {
        return fail(record, e);
    }
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return fail(
            record,
            ApiError::invalid(
                None,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            ),
        );
    };
    record.model = json
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let checked = match wire::check(&json, |m| vision::price_of(m).is_some()) {
        Ok(c) => c,
        Err(e) => return fail(record, e),
    };
    let (width, height) = (checked.image.width(), checked.image.height());
    record.detail = Some(checked.detail.as_str().to_string());
    record.image_width = Some(width);
    record.image_height = Some(height);
    record.image_bytes = image_len(&json);
    let price = vision::price_of(&checked.model).unwrap_or(vision::ImagePrice { base: 0, tile: 0 });
    let prompt_tokens =
        checked.text_tokens + vision::image_tokens(price, checked.detail, width, height);
    record.prompt_tokens = prompt_tokens;
    let fault = control.take_fault();
    record.fault = fault.as_ref().map(|f| f.name().to_string());
    let seen = vision::look(&checked.image);
    let full = json!({
        "tags": seen.tags,
        "caption": seen.caption,
        "looks_blurred": seen.looks_blurred,
    })
    .to_string();
    let (content, refusal, finish) = match fault {
        Some(Fault::RateLimited { retry_after_ms }) => {
            return fail(
                record,
                ApiError {
                    status: 429,
                    kind: "tokens",
                    code: Some("rate_limit_exceeded"),
                    retry_after_ms,
                    ..ApiError::invalid(
                        None,
                        format!(
                            "Rate limit reached for {} in organization org-fake on tokens per min (TPM): Limit 200000, Used 199000, Requested {prompt_tokens}. Please try again in {}ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
                            checked.model,
                            retry_after_ms.unwrap_or(1000)
                        ),
                    )
                },
            );
        }
        Some(Fault::SlowDown) => {
            return fail(
                record,
                ApiError {
                    status: 429,
                    kind: "requests",
                    code: Some("slow_down"),
                    ..ApiError::invalid(
                        None,
                        "Please reduce the rate at which you're sending requests and ramp up gradually.",
                    )
                },
            );
        }
        Some(Fault::InsufficientQuota) => {
            return fail(
                record,
                ApiError {
                    status: 429,
                    kind: "insufficient_quota",
                    code: Some("insufficient_quota"),
                    ..ApiError::invalid(
                        None,
                        "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                    )
                },
            );
        }
        Some(Fault::Overloaded) => {
            return fail(
                record,
                ApiError {
                    status: 503,
                    kind: "server_error",
                    code: Some("server_is_overloaded"),
                    ..ApiError::invalid(None, "The server is overloaded or not ready yet.")
                },
            );
        }
        Some(Fault::ServerError) => {
            return fail(
                record,
                ApiError {
                    status: 500,
                    kind: "server_error",
                    ..ApiError::invalid(
                        None,
                        "The server had an error while processing your request. Sorry about that!",
                    )
                },
            );
        }
        Some(Fault::Refusal) => (
            None,
            Some("I'm sorry, I can't help with that request.".to_string()),
            "stop",
        ),
        Some(Fault::Truncated) => {
            let half: String = full.chars().take(full.chars().count() / 2).collect();
            (Some(half), None, "length")
        }
        Some(Fault::MalformedJson) => (
            Some(format!("Sure! Here are the tags: {}", seen.tags.join(", "))),
            None,
            "stop",
        ),
        Some(Fault::EmptyTags) => (
            Some(
                json!({"tags": [], "caption": seen.caption, "looks_blurred": seen.looks_blurred})
                    .to_string(),
            ),
            None,
            "stop",
        ),
        None => match checked.max_tokens {
            // The answer does not fit the caller's max_tokens: cut, as the real model is.
            Some(max) if wire::estimate_tokens(&full) > max => {
                let cut: String = full.chars().take(max as usize * 4).collect();
                (Some(cut), None, "length")
            }
            _ => (Some(full), None, "stop"),
        },
    };
    let completion_tokens =
        wire::estimate_tokens(content.as_deref().or(refusal.as_deref()).unwrap_or(""))
            .min(checked.max_tokens.unwrap_or(u32::MAX));
    record.completion_tokens = completion_tokens;
    let id = {
        let mut inner = control.shared.lock();
        inner.next_id += 1;
        inner.next_id
    };
    let usage = Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
    };
    let created = u64::try_from(record.at_ms / 1000).unwrap_or(0);
    Json(wire::completion(
        id,
        &checked.model,
        content.as_deref(),
        refusal.as_deref(),
        finish,
        usage,
        created,
    ))
    .into_response()
}

/// Bytes of the image in the request (base64 decoded length, from the data URL's size).
fn image_len(json: &Value) -> Option<usize> {
    let messages = json.get("messages")?.as_array()?;
    messages
        .iter()
        .filter_map(|m| m.get("content")?.as_array())
        .flatten()
        .find_map(|p| p.get("image_url")?.get("url")?.as_str())
        .and_then(|url| url.split_once(";base64,"))
        .map(|(_, data)| data.len() / 4 * 3)
}
