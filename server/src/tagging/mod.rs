//! AI tags (F9, issue 14): a vision model behind OpenAI's Chat Completions API (OpenAI's own,
//! or any OpenAI-compatible server such as Ollama, llama.cpp or vLLM) looks at a downsized
//! JPEG of a photo and answers, under a strict JSON schema, `{tags, caption, looks_blurred}`.
//!
//! - [`Tagging`]: the configuration (model, detail, budget, provider), what a photo costs, and
//!   the client when tagging is on (`None` when off: no key and no base URL, or switched off).
//! - [`TagError`]: every way one photo's tagging fails, typed: transient ones (rate limited,
//!   5xx, unreachable) are retried here after `Retry-After` or with backoff and jitter;
//!   `insufficient_quota` never is (the job fails the rest of its batch); a refusal, a
//!   truncated answer, invalid JSON or empty tags fail that photo with the reason.
//! - `budget`: the token bucket every worker process shares; `transport`: the HTTP layer under
//!   async-openai that keeps `Retry-After`.

pub mod budget;
pub mod transport;

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestMessageContentPartImageArgs,
    ChatCompletionRequestMessageContentPartTextArgs, ChatCompletionRequestSystemMessageArgs,
    ChatCompletionRequestUserMessageArgs, ChatCompletionRequestUserMessageContentPart,
    CreateChatCompletionRequestArgs, FinishReason, ImageDetail, ImageUrlArgs, ResponseFormat,
    ResponseFormatJsonSchema,
};
use base64::Engine as _;
use shared::api::TaggingInfo;

use self::budget::{BudgetError, TokenBucket};
use self::transport::{Transport, Upstream};
use crate::config::{TagDetail, TaggingArgs};

/// OpenAI's API, when a key is set and no base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// The system message (the research notes' §2.1 prompt).
pub const SYSTEM_PROMPT: &str = "You tag personal photos. Return JSON only.";
/// The user message's text, beside the image.
pub const USER_PROMPT: &str =
    "Give 3-10 short lowercase tags, a one-line caption, and whether the photo looks blurred.";
/// The answer's bound (`max_tokens`): three fields fit in well under 200 tokens, and OpenAI's
/// rate limit counts this bound, not the tokens used, so it is kept close to the need.
pub const MAX_OUTPUT_TOKENS: u32 = 200;
/// The name of the response schema.
pub const SCHEMA_NAME: &str = "photo_tags";

/// Attempts of one photo within one job run (rate limits, 5xx, network) before the job itself
/// is retried by the queue.
const MAX_TRIES: u32 = 5;
/// Longest pause between two tries (a `Retry-After` beyond it is capped).
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// The strict JSON schema of the answer.
pub fn answer_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "caption": {"type": "string"},
            "looks_blurred": {"type": "boolean"}
        },
        "required": ["tags", "caption", "looks_blurred"],
        "additionalProperties": false
    })
}

/// What a model charges, as far as Classify knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    /// Tokens of any image (all of a low-detail one).
    pub image_base: u64,
    /// Tokens per 512-px tile at high detail.
    pub image_tile: u64,
    /// US dollars per million input tokens.
    pub usd_per_m_input: f64,
    /// US dollars per million output tokens.
    pub usd_per_m_output: f64,
}

/// The price of a model: gpt-4o-mini bills images at inflated token counts (2,833 per
/// low-detail image, 5,667 per tile; research notes §2.1) at $0.15/$0.60 per million; gpt-4o
/// at 85/170 tokens and $2.50/$10. Any other model (a local server's) is budgeted at
/// gpt-4o-mini's token counts, the cautious choice, and costs nothing known (`None`).
pub fn price_of(model: &str) -> (ModelPrice, bool) {
    const MINI: ModelPrice = ModelPrice {
        image_base: 2_833,
        image_tile: 5_667,
        usd_per_m_input: 0.15,
        usd_per_m_output: 0.60,
    };
    if model.starts_with("gpt-4o-mini") {
        (MINI, true)
    } else if model.starts_with("gpt-4o") {
        (
            ModelPrice {
                image_base: 85,
                image_tile: 170,
                usd_per_m_input: 2.50,
                usd_per_m_output: 10.0,
            },
            true,
        )
    } else {
        (
            ModelPrice {
                usd_per_m_input: 0.0,
                usd_per_m_output: 0.0,
                ..MINI
            },
            false,
        )
    }
}

/// Long side of the JPEG sent at low detail: the model looks at 512×512.
pub const LOW_DETAIL_SIDE: u32 = 512;

/// The size of the JPEG sent for `detail`, from the photo's size: never larger than what the
/// model looks at (low: 512 px on the long side; high and auto: within 2048×2048 with the
/// shortest side at most 768), never enlarged.
pub fn vision_size(detail: TagDetail, width: u32, height: u32) -> (u32, u32) {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let scale = match detail {
        TagDetail::Low => f64::from(LOW_DETAIL_SIDE) / w.max(h),
        TagDetail::High | TagDetail::Auto => (2048.0 / w.max(h)).min(768.0 / w.min(h)),
    }
    .min(1.0);
    let fit = |v: f64| ((v * scale).round() as u32).max(1);
    (fit(w), fit(h))
}

/// The image tokens of a `width`×`height` JPEG at `detail` (auto is budgeted as high).
pub fn image_tokens(price: &ModelPrice, detail: TagDetail, width: u32, height: u32) -> u64 {
    match detail {
        TagDetail::Low => price.image_base,
        TagDetail::High | TagDetail::Auto => {
            let tiles =
                u64::from(width.div_ceil(512).max(1)) * u64::from(height.div_ceil(512).max(1));
            price.image_base + price.image_tile * tiles
        }
    }
}

/// Tokens of the prompt's text: about four characters a token, plus each message's overhead.
pub fn prompt_text_tokens() -> u64 {
    let chars = |s: &str| s.chars().count().div_ceil(4) as u64;
    3 + 2 * 4 + chars(SYSTEM_PROMPT) + chars(USER_PROMPT)
}

/// Tokens and dollars of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    /// What the rate limit counts: prompt (text + image) and the answer's bound.
    pub tokens: u64,
    /// The most it costs.
    pub usd: f64,
}

/// Tagging's settings and, when on, its client and budget. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Tagging {
    /// The model asked.
    pub model: String,
    /// The image detail sent.
    pub detail: TagDetail,
    /// The deployment's tokens per budget window.
    pub tokens_per_minute: u64,
    /// Where photos go (host[:port] of the base URL), for the page to say.
    pub provider: String,
    backoff_base: Duration,
    engine: Option<Engine>,
}

#[derive(Debug)]
struct Engine {
    client: Client<OpenAIConfig>,
    bucket: TokenBucket,
}

/// Tagging cannot start with these settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The base URL does not parse or is not http(s).
    #[error("OPENAI_BASE_URL {0:?} is not an http(s) URL")]
    BaseUrl(String),
    /// A key with characters an HTTP header cannot carry.
    #[error("OPENAI_API_KEY holds characters an HTTP header cannot carry")]
    Key,
    /// The budget is smaller than one photo.
    #[error(
        "CLASSIFY_TAG_TPM ({tpm}) is below one photo's {per_photo} tokens at detail {detail}: no photo could ever be sent"
    )]
    Budget {
        /// The budget.
        tpm: u64,
        /// One photo's tokens.
        per_photo: u64,
        /// The detail.
        detail: &'static str,
    },
}

impl Tagging {
    /// Tagging off, with the default settings (local mode without a key, tests).
    pub fn off() -> Self {
        Self::from_args(&TaggingArgs::disabled()).unwrap_or_else(|_| Self {
            model: crate::config::DEFAULT_TAG_MODEL.into(),
            detail: TagDetail::Low,
            tokens_per_minute: crate::config::DEFAULT_TAG_TPM,
            provider: "api.openai.com".into(),
            backoff_base: Duration::from_secs(1),
            engine: None,
        })
    }

    /// Tagging as configured: on when a key or a base URL is set and the operator did not
    /// switch it off.
    pub fn from_args(args: &TaggingArgs) -> Result<Self, ConfigError> {
        let key = args
            .openai_api_key
            .as_ref()
            .map(|k| k.expose().trim().to_string())
            .filter(|k| !k.is_empty());
        let base = args
            .openai_base_url
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        let configured = key.is_some() || base.is_some();
        let base = base
            .unwrap_or(OPENAI_BASE_URL)
            .trim_end_matches('/')
            .to_string();
        let url = url::Url::parse(&base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| ConfigError::BaseUrl(base.clone()))?;
        let provider = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => String::new(),
        };
        if key
            .as_deref()
            .is_some_and(|k| k.chars().any(|c| !c.is_ascii_graphic()))
        {
            return Err(ConfigError::Key);
        }
        let mut tagging = Self {
            model: args.tag_model.trim().to_string(),
            detail: args.tag_detail,
            tokens_per_minute: args.tag_tpm,
            provider,
            backoff_base: args.tag_backoff_base,
            engine: None,
        };
        if !(configured && args.tagging) {
            return Ok(tagging);
        }
        let per_photo = tagging.photo_cost().tokens;
        if args.tag_tpm < per_photo {
            return Err(ConfigError::Budget {
                tpm: args.tag_tpm,
                per_photo,
                detail: args.tag_detail.as_str(),
            });
        }
        let config = OpenAIConfig::new()
            .with_api_base(base)
            .with_api_key(key.unwrap_or_default())
            // Nothing but config.rs reads the environment: no org or project header.
            .with_org_id("")
            .with_project_id("");
        let http = reqwest::Client::builder()
            .user_agent(concat!("classify/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let client = Client::with_config(config).with_http_service(Transport::new(http));
        tagging.engine = Some(Engine {
            client,
            bucket: TokenBucket::new("tagging", args.tag_tpm, args.tag_budget_window, per_photo),
        });
        Ok(tagging)
    }

    /// Whether photos can be tagged.
    pub fn enabled(&self) -> bool {
        self.engine.is_some()
    }

    /// What one photo costs at most, at the configured detail (a 4:3 photo at high detail).
    pub fn photo_cost(&self) -> Cost {
        let (w, h) = vision_size(self.detail, 4032, 3024);
        self.cost_of(w, h)
    }

    /// What a request with a `width`×`height` JPEG costs at most.
    pub fn cost_of(&self, width: u32, height: u32) -> Cost {
        let (price, _) = price_of(&self.model);
        let input = image_tokens(&price, self.detail, width, height) + prompt_text_tokens();
        let output = u64::from(MAX_OUTPUT_TOKENS);
        Cost {
            tokens: input + output,
            usd: (input as f64 * price.usd_per_m_input + output as f64 * price.usd_per_m_output)
                / 1e6,
        }
    }

    /// What `GET /api/v1/tags/status` answers.
    pub fn info(&self) -> TaggingInfo {
        let cost = self.photo_cost();
        TaggingInfo {
            enabled: self.enabled(),
            model: self.model.clone(),
            detail: self.detail.as_str().to_string(),
            tokens_per_photo: i64::try_from(cost.tokens).unwrap_or(i64::MAX),
            usd_per_photo: cost.usd,
            tokens_per_minute: i64::try_from(self.tokens_per_minute).unwrap_or(i64::MAX),
            provider: self.provider.clone(),
        }
    }

    /// Tags one photo: takes its tokens from the shared budget (waiting when it is spent), asks
    /// the model, and retries rate limits, 5xx and network failures here (after `Retry-After`,
    /// else with exponential backoff and jitter), taking tokens again for each try since
    /// failed requests count against the limit too. Returns the outcome and the tokens every
    /// answered request used.
    pub async fn tag(
        &self,
        pool: &sqlx::AnyPool,
        image: &VisionImage,
    ) -> (Result<Answer, TagError>, Usage) {
        let mut used = Usage::default();
        let Some(engine) = &self.engine else {
            return (Err(TagError::Disabled), used);
        };
        let cost = self.cost_of(image.width, image.height).tokens;
        let mut tries = 0;
        loop {
            tries += 1;
            if let Err(e) = engine.bucket.take(pool, cost).await {
                return (Err(TagError::Budget(e)), used);
            }
            let result = self.ask(engine, image).await;
            if let Ok(answer) | Err(TagError::Answer { answer, .. }) = &result {
                used.add(&answer.usage);
            }
            let error = match result {
                Ok(answer) => return (Ok(answer), used),
                Err(e) => e,
            };
            let Some(pause) = error.retry_pause(tries, self.backoff_base) else {
                return (Err(error), used);
            };
            if tries >= MAX_TRIES {
                return (Err(error), used);
            }
            tracing::info!(error = %error, tries, pause_ms = pause.as_millis() as u64, "tagging request failed; retrying");
            tokio::time::sleep(pause).await;
        }
    }

    async fn ask(&self, engine: &Engine, image: &VisionImage) -> Result<Answer, TagError> {
        let request = self
            .request(image)
            .map_err(|e| TagError::Protocol(e.to_string()))?;
        let response = engine
            .client
            .chat()
            .create(request)
            .await
            .map_err(TagError::from_openai)?;
        let usage = response
            .usage
            .as_ref()
            .map(|u| Usage {
                prompt_tokens: i64::from(u.prompt_tokens),
                completion_tokens: i64::from(u.completion_tokens),
            })
            .unwrap_or_default();
        let choice = response
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| TagError::Protocol("the answer holds no choice".into()))?;
        let fail = |why: Failure| TagError::Answer {
            why,
            answer: Answer {
                usage,
                ..Answer::default()
            },
        };
        if let Some(refusal) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
            return Err(fail(Failure::Refusal(refusal)));
        }
        if choice.finish_reason == Some(FinishReason::Length) {
            return Err(fail(Failure::Truncated));
        }
        if choice.finish_reason == Some(FinishReason::ContentFilter) {
            return Err(fail(Failure::Refusal(
                "the content filter stopped the answer".into(),
            )));
        }
        let content = choice.message.content.unwrap_or_default();
        let parsed: RawAnswer = serde_json::from_str(content.trim())
            .map_err(|e| fail(Failure::InvalidJson(e.to_string())))?;
        let tags = shared::api::normalize_tags(&parsed.tags);
        if tags.is_empty() {
            return Err(fail(Failure::EmptyTags));
        }
        Ok(Answer {
            tags,
            caption: parsed
                .caption
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(300)
                .collect(),
            looks_blurred: parsed.looks_blurred,
            usage,
        })
    }

    fn request(
        &self,
        image: &VisionImage,
    ) -> Result<async_openai::types::chat::CreateChatCompletionRequest, OpenAIError> {
        let detail = match self.detail {
            TagDetail::Low => ImageDetail::Low,
            TagDetail::High => ImageDetail::High,
            TagDetail::Auto => ImageDetail::Auto,
        };
        let url = format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&image.jpeg)
        );
        let parts: Vec<ChatCompletionRequestUserMessageContentPart> = vec![
            ChatCompletionRequestMessageContentPartTextArgs::default()
                .text(USER_PROMPT)
                .build()?
                .into(),
            ChatCompletionRequestMessageContentPartImageArgs::default()
                .image_url(ImageUrlArgs::default().url(url).detail(detail).build()?)
                .build()?
                .into(),
        ];
        let messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestSystemMessageArgs::default()
                .content(SYSTEM_PROMPT)
                .build()?
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(parts)
                .build()?
                .into(),
        ];
        // `max_tokens` (deprecated by OpenAI for `max_completion_tokens`) is what OpenAI-compatible
        // local servers read, and OpenAI still honours it.
        #[allow(deprecated)]
        let request = CreateChatCompletionRequestArgs::default()
            .model(self.model.clone())
            .messages(messages)
            .response_format(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: None,
                    name: SCHEMA_NAME.into(),
                    schema: answer_schema(),
                    strict: Some(true),
                },
            })
            .max_tokens(MAX_OUTPUT_TOKENS)
            .build()?;
        Ok(request)
    }
}

/// The JPEG sent to the model.
#[derive(Debug, Clone)]
pub struct VisionImage {
    /// The bytes.
    pub jpeg: Vec<u8>,
    /// Its width.
    pub width: u32,
    /// Its height.
    pub height: u32,
}

/// The answer's JSON, before normalising.
#[derive(Debug, serde::Deserialize)]
struct RawAnswer {
    tags: Vec<String>,
    caption: String,
    looks_blurred: bool,
}

/// What the model said about a photo.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    /// Normalised tags (1 to 10).
    pub tags: Vec<String>,
    /// One line.
    pub caption: String,
    /// The model's opinion.
    pub looks_blurred: bool,
    /// Tokens the request used.
    pub usage: Usage,
}

/// Tokens used (`usage` of the answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Prompt tokens (text and image).
    pub prompt_tokens: i64,
    /// Answer tokens.
    pub completion_tokens: i64,
}

impl Usage {
    fn add(&mut self, other: &Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The model refused (`message.refusal`, or the content filter).
    Refusal(String),
    /// `finish_reason: "length"`: the JSON was cut off.
    Truncated,
    /// The content is not the schema's JSON.
    InvalidJson(String),
    /// No tag left after normalising.
    EmptyTags,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refusal(r) => write!(f, "the model refused: {r}"),
            Failure::Truncated => f.write_str("the answer was cut off (finish_reason length)"),
            Failure::InvalidJson(e) => write!(f, "the answer is not the requested JSON: {e}"),
            Failure::EmptyTags => f.write_str("the answer holds no usable tag"),
        }
    }
}

/// Every way tagging one photo fails.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// An answer came (and used tokens) but cannot be used.
    #[error("{why}")]
    Answer {
        /// Why.
        why: Failure,
        /// The tokens it used (the rest is empty).
        answer: Answer,
    },
    /// 429 `rate_limit_exceeded` or `slow_down`: wait and retry.
    #[error("rate limited: {message}")]
    RateLimited {
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
        /// OpenAI's message.
        message: String,
    },
    /// 429 `insufficient_quota` (or `credit_balance_exhausted`): billing; never retried.
    #[error("insufficient quota: {0}")]
    InsufficientQuota(String),
    /// 5xx (or 408/409): the server is busy or broke; retried with backoff.
    #[error("the model's server failed (HTTP {status}): {message}")]
    Server {
        /// The status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// Another 4xx: a bad key, an unknown model, a request the server will not take.
    #[error("the model's server refused the request (HTTP {status}): {message}")]
    Rejected {
        /// The status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// No answer at all.
    #[error("{0}")]
    Network(String),
    /// The answer is not a chat completion.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// The token budget failed (database down, or a photo above the whole budget).
    #[error("token budget: {0}")]
    Budget(BudgetError),
    /// Tagging is off.
    #[error("tagging is not configured on this server")]
    Disabled,
}

impl TagError {
    /// The short name a failed job's reason starts with (`refusal: ...`).
    pub fn code(&self) -> &'static str {
        match self {
            TagError::Answer { why, .. } => match why {
                Failure::Refusal(_) => "refusal",
                Failure::Truncated => "truncated",
                Failure::InvalidJson(_) => "invalid_json",
                Failure::EmptyTags => "empty_tags",
            },
            TagError::RateLimited { .. } => "rate_limited",
            TagError::InsufficientQuota(_) => "insufficient_quota",
            TagError::Server { .. } => "server_error",
            TagError::Rejected { .. } => "rejected",
            TagError::Network(_) => "unreachable",
            TagError::Protocol(_) => "invalid_response",
            TagError::Budget(_) => "budget",
            TagError::Disabled => "tagging_disabled",
        }
    }

    /// Worth another job attempt later (the queue retries it).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TagError::RateLimited { .. }
                | TagError::Server { .. }
                | TagError::Network(_)
                | TagError::Budget(BudgetError::Database(_))
        )
    }

    /// How long to wait before trying again within this job run; `None` = do not.
    fn retry_pause(&self, tries: u32, base: Duration) -> Option<Duration> {
        let backoff = || {
            let exp = base.saturating_mul(1 << tries.saturating_sub(1).min(10));
            let jitter = exp.mul_f64(rand::random::<f64>() * 0.5);
            (exp + jitter).min(MAX_PAUSE)
        };
        match self {
            TagError::RateLimited { retry_after, .. } => {
                Some(retry_after.map_or_else(backoff, |d| d.min(MAX_PAUSE)))
            }
            // Overloaded servers want longer pauses than a rate limit's.
            TagError::Server { .. } => Some(backoff().saturating_mul(2).min(MAX_PAUSE)),
            TagError::Network(_) => Some(backoff()),
            _ => None,
        }
    }

    fn from_openai(e: OpenAIError) -> Self {
        match e {
            OpenAIError::Boxed(boxed) => match boxed.downcast::<Upstream>() {
                Ok(upstream) => Self::from_upstream(*upstream),
                Err(other) => TagError::Network(other.to_string()),
            },
            OpenAIError::JSONDeserialize(e, _) => {
                TagError::Protocol(format!("the body is not a chat completion: {e}"))
            }
            OpenAIError::Reqwest(e) => TagError::Network(e.to_string()),
            OpenAIError::ApiError(api) => Self::from_status(
                api.status_code.as_u16(),
                Some(api.api_error),
                String::new(),
                None,
            ),
            other => TagError::Protocol(other.to_string()),
        }
    }

    fn from_upstream(e: Upstream) -> Self {
        match e {
            Upstream::Status {
                status,
                error,
                body,
                retry_after,
            } => Self::from_status(status, error, body, retry_after),
            Upstream::Network(m) => TagError::Network(m),
            Upstream::Build(m) => TagError::Protocol(m),
        }
    }

    fn from_status(
        status: u16,
        error: Option<async_openai::error::ApiError>,
        body: String,
        retry_after: Option<Duration>,
    ) -> Self {
        let code = error
            .as_ref()
            .and_then(|e| e.code.clone())
            .unwrap_or_default();
        let kind = error
            .as_ref()
            .and_then(|e| e.r#type.clone())
            .unwrap_or_default();
        let message = error.map_or(body, |e| e.message);
        let billing = [
            "insufficient_quota",
            "credit_balance_exhausted",
            "billing_hard_limit_reached",
        ];
        match status {
            429 if billing.contains(&code.as_str()) || billing.contains(&kind.as_str()) => {
                TagError::InsufficientQuota(message)
            }
            429 => TagError::RateLimited {
                retry_after,
                message,
            },
            408 | 409 | 500..=599 => TagError::Server { status, message },
            _ => TagError::Rejected { status, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_cost_what_the_notes_say() {
        let t = Tagging::off();
        assert!(!t.enabled());
        let info = t.info();
        assert_eq!(info.model, "gpt-4o-mini");
        assert_eq!(info.detail, "low");
        // 2,833 image tokens + the prompt's text + the 200-token answer bound.
        assert_eq!(
            info.tokens_per_photo,
            2_833 + prompt_text_tokens() as i64 + 200
        );
        assert!(
            info.usd_per_photo > 0.0004 && info.usd_per_photo < 0.0006,
            "{}",
            info.usd_per_photo
        );
        assert_eq!(info.provider, "api.openai.com");
    }

    #[test]
    fn the_image_sent_is_no_larger_than_the_model_looks_at() {
        assert_eq!(vision_size(TagDetail::Low, 4032, 3024), (512, 384));
        assert_eq!(vision_size(TagDetail::Low, 3024, 4032), (384, 512));
        assert_eq!(
            vision_size(TagDetail::Low, 300, 200),
            (300, 200),
            "never enlarged"
        );
        assert_eq!(vision_size(TagDetail::High, 4032, 3024), (1024, 768));
        assert_eq!(vision_size(TagDetail::High, 8000, 1000), (2048, 256));
        let (price, known) = price_of("gpt-4o-mini");
        assert!(known);
        assert_eq!(
            image_tokens(&price, TagDetail::High, 1024, 768),
            2_833 + 4 * 5_667
        );
        assert!(!price_of("llava:13b").1);
    }

    #[test]
    fn tagging_is_on_with_a_key_or_a_base_url_unless_switched_off() {
        let mut args = TaggingArgs::disabled();
        assert!(!Tagging::from_args(&args).unwrap().enabled());
        args.openai_base_url = Some("http://127.0.0.1:11434/v1/".into());
        let local = Tagging::from_args(&args).unwrap();
        assert!(local.enabled());
        assert_eq!(local.provider, "127.0.0.1:11434");
        args.tagging = false;
        assert!(!Tagging::from_args(&args).unwrap().enabled());
        let mut args = TaggingArgs::disabled();
        args.openai_api_key = Some("sk-test".to_string().into());
        assert_eq!(
            Tagging::from_args(&args).unwrap().provider,
            "api.openai.com"
        );
        args.openai_base_url = Some("ftp://x".into());
        assert!(matches!(
            Tagging::from_args(&args),
            Err(ConfigError::BaseUrl(_))
        ));
        let mut args = TaggingArgs::disabled();
        args.openai_api_key = Some("sk-bad\nkey".to_string().into());
        assert!(matches!(Tagging::from_args(&args), Err(ConfigError::Key)));
        let mut args = TaggingArgs::disabled();
        args.openai_api_key = Some("sk-test".to_string().into());
        args.tag_tpm = 1_000;
        assert!(matches!(
            Tagging::from_args(&args),
            Err(ConfigError::Budget { .. })
        ));
    }

    #[test]
    fn statuses_become_typed_errors() {
        let api = |code: &str, kind: &str| {
            Some(async_openai::error::ApiError {
                message: "m".into(),
                r#type: Some(kind.into()),
                param: None,
                code: Some(code.into()),
            })
        };
        let quota = TagError::from_status(
            429,
            api("insufficient_quota", "insufficient_quota"),
            String::new(),
            None,
        );
        assert_eq!(quota.code(), "insufficient_quota");
        assert!(!quota.is_transient());
        let limited = TagError::from_status(
            429,
            api("rate_limit_exceeded", "tokens"),
            String::new(),
            Some(Duration::from_secs(2)),
        );
        assert!(limited.is_transient());
        assert_eq!(
            limited.retry_pause(1, Duration::from_secs(1)),
            Some(Duration::from_secs(2))
        );
        let busy = TagError::from_status(503, None, "overloaded".into(), None);
        assert_eq!(busy.code(), "server_error");
        let pause = busy.retry_pause(1, Duration::from_millis(100)).unwrap();
        assert!(
            pause >= Duration::from_millis(200) && pause <= Duration::from_millis(300),
            "{pause:?}"
        );
        let bad_key = TagError::from_status(
            401,
            api("invalid_api_key", "invalid_request_error"),
            String::new(),
            None,
        );
        assert_eq!(bad_key.code(), "rejected");
        assert_eq!(bad_key.retry_pause(1, Duration::from_secs(1)), None);
    }
}
