//! The Chat Completions wire format: the checks a request must pass (as OpenAI makes them),
//! OpenAI's error body `{"error":{"message","type","param","code"}}`, and the response JSON.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::vision::Detail;

/// An error as OpenAI sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `error.message`.
    pub message: String,
    /// `error.type`, e.g. `invalid_request_error`, `insufficient_quota`, `tokens`.
    pub kind: &'static str,
    /// `error.param`: the request field at fault.
    pub param: Option<&'static str>,
    /// `error.code`, e.g. `rate_limit_exceeded`, `insufficient_quota`, `invalid_api_key`.
    pub code: Option<&'static str>,
    /// `Retry-After` (whole seconds, rounded up) and `retry-after-ms`.
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    /// A 400 `invalid_request_error` about `param`.
    pub fn invalid(param: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: message.into(),
            kind: "invalid_request_error",
            param,
            code: None,
            retry_after_ms: None,
        }
    }

    /// The body as OpenAI writes it.
    pub fn body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, Json(self.body())).into_response();
        if let Some(ms) = self.retry_after_ms {
            let headers = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&ms.div_ceil(1000).to_string()) {
                headers.insert("retry-after", v);
            }
            if let Ok(v) = HeaderValue::from_str(&ms.to_string()) {
                headers.insert("retry-after-ms", v);
            }
        }
        response
    }
}

/// What a valid request asked for.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The model.
    pub model: String,
    /// The decoded image.
    pub image: image::DynamicImage,
    /// The MIME type of the data URL.
    pub mime: String,
    /// The `detail` sent (absent = `auto`, OpenAI's default).
    pub detail: Detail,
    /// Estimated tokens of the text parts (4 characters a token, plus per-message overhead).
    pub text_tokens: u32,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u32>,
    /// The `json_schema.name`.
    pub schema_name: String,
}

/// Largest image OpenAI takes, in bytes.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;

/// Checks a request body the way the fake's client must get it right: a known model, a user
/// message with an image as a base64 data URL whose MIME type matches the bytes, a valid
/// `detail`, and a strict `json_schema` response format for `{tags, caption, looks_blurred}`.
pub fn check(body: &Value, known_model: impl Fn(&str) -> bool) -> Result<Checked, ApiError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid(Some("model"), "you must provide a model parameter"))?;
    if !known_model(model) {
        return Err(ApiError {
            status: 404,
            code: Some("model_not_found"),
            ..ApiError::invalid(
                Some("model"),
                format!("The model `{model}` does not exist or you do not have access to it."),
            )
        });
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(
                Some("messages"),
                "[] is too short - 'messages': messages must be a non-empty array",
            )
        })?;
    let mut text_tokens = 3;
    let mut image = None;
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        if !matches!(role, "system" | "developer" | "user" | "assistant") {
            return Err(ApiError::invalid(
                Some("messages"),
                format!(
                    "Invalid value: '{role}'. Supported values are: 'system', 'developer', 'user', 'assistant'. (messages[{i}].role)"
                ),
            ));
        }
        text_tokens += 4;
        match message.get("content") {
            Some(Value::String(text)) => text_tokens += estimate_tokens(text),
            Some(Value::Array(parts)) => {
                for part in parts {
                    match part.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            let text = part.get("text").and_then(Value::as_str).unwrap_or("");
                            text_tokens += estimate_tokens(text);
                        }
                        Some("image_url") if role == "user" => {
                            if image.is_some() {
                                return Err(ApiError::invalid(
                                    Some("messages"),
                                    "the fake takes one image per request",
                                ));
                            }
                            image = Some(image_part(part)?);
                        }
                        other => {
                            return Err(ApiError::invalid(
                                Some("messages"),
                                format!(
                                    "Invalid content part type {other:?} in messages[{i}] ({role})"
                                ),
                            ));
                        }
                    }
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    Some("messages"),
                    format!("messages[{i}].content must be a string or an array of parts"),
                ));
            }
        }
    }
    let (image, mime, detail) = image.ok_or_else(|| {
        ApiError::invalid(
            Some("messages"),
            "the user message holds no image_url part (the fake only tags images)",
        )
    })?;
    let schema_name = check_response_format(body.get("response_format"))?;
    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64))
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX));
    if max_tokens == Some(0) {
        return Err(ApiError::invalid(
            Some("max_tokens"),
            "max_tokens must be at least 1",
        ));
    }
    Ok(Checked {
        model: model.to_string(),
        image,
        mime,
        detail,
        text_tokens,
        max_tokens,
        schema_name,
    })
}

/// Tokens of a text, estimated as OpenAI's rule of thumb (about 4 characters a token).
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4)).unwrap_or(u32::MAX)
}

fn image_part(part: &Value) -> Result<(image::DynamicImage, String, Detail), ApiError> {
    let param = Some("messages");
    let image_url = part
        .get("image_url")
        .ok_or_else(|| ApiError::invalid(param, "an image_url part needs an image_url object"))?;
    let url = image_url
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid(param, "image_url.url is required"))?;
    let detail = match image_url.get("detail") {
        None | Some(Value::Null) => Detail::Auto,
        Some(Value::String(d)) => Detail::parse(d).ok_or_else(|| {
            ApiError::invalid(
                param,
                format!("Invalid value: '{d}'. Supported values are: 'low', 'high' and 'auto'."),
            )
        })?,
        Some(_) => {
            return Err(ApiError::invalid(
                param,
                "image_url.detail must be a string",
            ));
        }
    };
    // Only data URLs: the images Classify sends are private (Google's links need a token).
    let rest = url.strip_prefix("data:").ok_or_else(|| {
        ApiError::invalid(
            param,
            "the fake expects a base64 data URL (data:image/jpeg;base64,...), not a link",
        )
    })?;
    let (mime, data) = rest
        .split_once(";base64,")
        .ok_or_else(|| ApiError::invalid(param, "Invalid base64 image_url."))?;
    let format = match mime {
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/png" => image::ImageFormat::Png,
        "image/webp" => image::ImageFormat::WebP,
        "image/gif" => image::ImageFormat::Gif,
        other => {
            return Err(ApiError {
                code: Some("invalid_image_format"),
                ..ApiError::invalid(
                    param,
                    format!(
                        "Invalid MIME type {other}. Supported: image/jpeg, image/png, image/webp, image/gif."
                    ),
                )
            });
        }
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| ApiError::invalid(param, "Invalid base64 image_url."))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ApiError::invalid(
            param,
            "Image exceeds the 20 MB size limit.",
        ));
    }
    if image::guess_format(&bytes).ok() != Some(format) {
        return Err(ApiError {
            code: Some("invalid_image_format"),
            ..ApiError::invalid(
                param,
                format!("The data URL says {mime} but the bytes are not that format."),
            )
        });
    }
    let image = image::load_from_memory_with_format(&bytes, format).map_err(|_| ApiError {
        code: Some("image_parse_error"),
        ..ApiError::invalid(
            param,
            "You uploaded an unsupported image. Please make sure your image is valid.",
        )
    })?;
    Ok((image, mime.to_string(), detail))
}

/// Strict Structured Outputs: `{"type":"json_schema","json_schema":{"name","strict":true,
/// "schema"}}` where every object lists all its properties in `required` and sets
/// `additionalProperties: false`, and the schema is the one the fake answers in.
fn check_response_format(format: Option<&Value>) -> Result<String, ApiError> {
    let param = Some("response_format");
    let format = format.ok_or_else(|| {
        ApiError::invalid(
            param,
            "the fake answers only with Structured Outputs: send response_format json_schema",
        )
    })?;
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return Err(ApiError::invalid(
            param,
            "response_format.type must be 'json_schema' (the fake does not do text or json_object)",
        ));
    }
    let spec = format.get("json_schema").ok_or_else(|| {
        ApiError::invalid(
            param,
            "Missing required parameter: 'response_format.json_schema'.",
        )
    })?;
    let name = spec.get("name").and_then(Value::as_str).unwrap_or("");
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(ApiError::invalid(
            param,
            format!(
                "Invalid 'response_format.json_schema.name': '{name}'. Expected a string of a-z, A-Z, 0-9, '_' or '-', at most 64."
            ),
        ));
    }
    if spec.get("strict").and_then(Value::as_bool) != Some(true) {
        return Err(ApiError::invalid(
            param,
            "the fake expects strict: true (Structured Outputs)",
        ));
    }
    let schema = spec
        .get("schema")
        .ok_or_else(|| ApiError::invalid(param, "Missing 'response_format.json_schema.schema'."))?;
    strict_object(schema, name, "()")?;
    let properties = schema.get("properties").and_then(Value::as_object);
    let typed = |key: &str, ty: &str| {
        properties
            .and_then(|p| p.get(key))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            == Some(ty)
    };
    let string_items = properties
        .and_then(|p| p.get("tags"))
        .and_then(|t| t.get("items"))
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str)
        == Some("string");
    if !(typed("tags", "array")
        && string_items
        && typed("caption", "string")
        && typed("looks_blurred", "boolean")
        && properties.is_some_and(|p| p.len() == 3))
    {
        return Err(ApiError::invalid(
            param,
            "the fake answers {tags: string[], caption: string, looks_blurred: boolean} only",
        ));
    }
    Ok(name.to_string())
}

/// The strict-mode rules of one object schema, recursively.
fn strict_object(schema: &Value, name: &str, context: &str) -> Result<(), ApiError> {
    let bad = |why: String| {
        Err(ApiError::invalid(
            Some("response_format"),
            format!("Invalid schema for response_format '{name}': In context={context}, {why}"),
        ))
    };
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return bad("schema must be a JSON Schema of 'type: \"object\"'.".into());
    }
    if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
        return bad("'additionalProperties' is required to be supplied and to be false.".into());
    }
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for key in properties.keys() {
        if !required.contains(&key.as_str()) {
            return bad(format!(
                "'required' is required to be supplied and to be an array including every key in properties. Missing '{key}'."
            ));
        }
    }
    if let Some(extra) = required.iter().find(|r| !properties.contains_key(**r)) {
        return bad(format!(
            "'required' names '{extra}', which is not in properties."
        ));
    }
    for (key, property) in &properties {
        let ty = property.get("type").and_then(Value::as_str);
        if ty == Some("object") {
            strict_object(property, name, &format!("('properties', '{key}')"))?;
        }
        if ty == Some("array")
            && let Some(items) = property.get("items")
            && items.get("type").and_then(Value::as_str) == Some("object")
        {
            strict_object(items, name, &format!("('properties', '{key}', 'items')"))?;
        }
    }
    Ok(())
}

/// Token counts of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Text + image tokens of the request.
    pub prompt_tokens: u32,
    /// Tokens of the answer.
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
}

/// A `chat.completion` object with one choice.
pub fn completion(
    id: u64,
    model: &str,
    content: Option<&str>,
    refusal: Option<&str>,
    finish_reason: &str,
    usage: Usage,
    created_secs: u64,
) -> Value {
    json!({
        "id": format!("chatcmpl-fake{id:020}"),
        "object": "chat.completion",
        "created": created_secs,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": content,
                "refusal": refusal,
                "annotations": [],
            },
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fake0001",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg_data_url(w: u32, h: u32) -> String {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .unwrap();
        format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(out.into_inner())
        )
    }

    fn schema() -> Value {
        json!({
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

    /// The request of the research notes (§2.1), verbatim in shape.
    fn request() -> Value {
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You tag personal photos. Return JSON only."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Give 3-10 short lowercase tags, a one-line caption, and whether the photo looks blurred."},
                    {"type": "image_url", "image_url": {"url": jpeg_data_url(64, 48), "detail": "low"}}
                ]}
            ],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "photo_tags", "strict": true, "schema": schema()}},
            "max_tokens": 200
        })
    }

    fn known(m: &str) -> bool {
        crate::vision::price_of(m).is_some()
    }

    #[test]
    fn the_documented_request_passes() {
        let checked = check(&request(), known).unwrap();
        assert_eq!(checked.model, "gpt-4o-mini");
        assert_eq!(checked.detail, Detail::Low);
        assert_eq!(checked.mime, "image/jpeg");
        assert_eq!(checked.max_tokens, Some(200));
        assert_eq!(checked.schema_name, "photo_tags");
        assert!(checked.text_tokens > 20 && checked.text_tokens < 60);
    }

    #[test]
    fn each_mistake_is_refused_with_openais_error_shape() {
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Mutation, &str)> = vec![
            (
                "unknown model",
                Box::new(|r| r["model"] = json!("gpt-9")),
                "model_not_found",
            ),
            (
                "not strict",
                Box::new(|r| r["response_format"]["json_schema"]["strict"] = json!(false)),
                "strict",
            ),
            (
                "json mode",
                Box::new(|r| r["response_format"] = json!({"type": "json_object"})),
                "json_schema",
            ),
            (
                "a property not required",
                Box::new(|r| {
                    r["response_format"]["json_schema"]["schema"]["required"] =
                        json!(["tags", "caption"])
                }),
                "Missing 'looks_blurred'",
            ),
            (
                "extra properties allowed",
                Box::new(|r| {
                    r["response_format"]["json_schema"]["schema"]["additionalProperties"] =
                        json!(true)
                }),
                "additionalProperties",
            ),
            (
                "a link, not a data URL",
                Box::new(|r| {
                    r["messages"][1]["content"][1]["image_url"]["url"] =
                        json!("https://example.com/a.jpg")
                }),
                "data URL",
            ),
            (
                "a wrong MIME type",
                Box::new(|r| {
                    let url = r["messages"][1]["content"][1]["image_url"]["url"]
                        .as_str()
                        .unwrap()
                        .replace("image/jpeg", "image/png");
                    r["messages"][1]["content"][1]["image_url"]["url"] = json!(url);
                }),
                "invalid_image_format",
            ),
            (
                "a bad detail",
                Box::new(|r| {
                    r["messages"][1]["content"][1]["image_url"]["detail"] = json!("medium")
                }),
                "Supported values",
            ),
            (
                "no image",
                Box::new(|r| r["messages"][1]["content"] = json!("just text")),
                "no image_url",
            ),
        ];
        for (what, mutate, needle) in cases {
            let mut r = request();
            mutate(&mut r);
            let err = check(&r, known).expect_err(what);
            let body = err.body().to_string();
            assert!(body.contains(needle), "{what}: {body}");
            let e = &err.body()["error"];
            for key in ["message", "type", "param", "code"] {
                assert!(e.get(key).is_some(), "{what}: no {key} in {body}");
            }
        }
    }

    #[test]
    fn rate_limit_errors_carry_retry_after_in_seconds_and_ms() {
        let response = ApiError {
            status: 429,
            kind: "tokens",
            code: Some("rate_limit_exceeded"),
            retry_after_ms: Some(1_500),
            ..ApiError::invalid(None, "Rate limit reached")
        }
        .into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "2");
        assert_eq!(response.headers()["retry-after-ms"], "1500");
    }
}
