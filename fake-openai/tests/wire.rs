//! The fake over real HTTP, as a client of OpenAI sees it: the documented request gets the
//! documented answer, and every injected failure has OpenAI's status, headers and body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use fake_openai::{FakeOpenAi, Fault, Options};
use serde_json::{Value, json};

fn jpeg(w: u32, h: u32, rgb: [u8; 3]) -> String {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(out.into_inner())
    )
}

fn request(url: &str, detail: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You tag personal photos. Return JSON only."},
            {"role": "user", "content": [
                {"type": "text", "text": "Give 3-10 short lowercase tags, a one-line caption, and whether the photo looks blurred."},
                {"type": "image_url", "image_url": {"url": url, "detail": detail}}
            ]}
        ],
        "response_format": {"type": "json_schema", "json_schema": {"name": "photo_tags", "strict": true, "schema": {
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}},
                "caption": {"type": "string"},
                "looks_blurred": {"type": "boolean"}
            },
            "required": ["tags", "caption", "looks_blurred"],
            "additionalProperties": false
        }}},
        "max_tokens": 200
    })
}

async fn post(
    fake: &FakeOpenAi,
    key: Option<&str>,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/chat/completions", fake.base_url()))
        .json(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap())
}

#[tokio::test]
async fn the_documented_request_gets_tags_derived_from_the_pixels_and_real_usage() {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    let key = fake.api_key().to_string();
    let (status, _, body) = post(
        &fake,
        Some(&key),
        &request(&jpeg(64, 48, [220, 30, 30]), "low"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["role"], "assistant");
    assert!(choice["message"]["refusal"].is_null());
    let answer: Value =
        serde_json::from_str(choice["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(answer["tags"], json!(["red", "dark", "landscape", "photo"]));
    assert_eq!(answer["looks_blurred"], true);
    let usage = &body["usage"];
    let prompt = usage["prompt_tokens"].as_u64().unwrap();
    // 2,833 for the image at low detail on gpt-4o-mini, plus the text.
    assert!((2_833 + 20..2_833 + 80).contains(&prompt), "{usage}");
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        prompt + usage["completion_tokens"].as_u64().unwrap()
    );
    let log = fake.state().requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].detail.as_deref(), Some("low"));
    assert_eq!(
        (log[0].image_width, log[0].image_height),
        (Some(64), Some(48))
    );
    assert_eq!(u64::from(log[0].prompt_tokens), prompt);
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_a_401_in_openais_shape() {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    let body = request(&jpeg(8, 8, [0, 0, 0]), "low");
    let (status, _, err) = post(&fake, Some("sk-wrong-key-123456"), &body).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], "invalid_api_key");
    assert!(err["error"]["message"].as_str().unwrap().contains("sk-"));
    let (status, _, err) = post(&fake, None, &body).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["type"], "invalid_request_error");
    assert!(err["error"].get("param").is_some());
}

#[tokio::test]
async fn injected_failures_have_openais_statuses_headers_and_bodies() {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    let key = fake.api_key().to_string();
    let body = request(&jpeg(32, 64, [20, 60, 230]), "low");
    let control = fake.state();
    control.fail_next(
        Fault::RateLimited {
            retry_after_ms: Some(1500),
        },
        1,
    );
    control.fail_next(Fault::InsufficientQuota, 1);
    control.fail_next(Fault::Overloaded, 1);
    control.fail_next(Fault::Refusal, 1);
    control.fail_next(Fault::Truncated, 1);
    control.fail_next(Fault::MalformedJson, 1);
    control.fail_next(Fault::EmptyTags, 1);

    let (status, headers, err) = post(&fake, Some(&key), &body).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(headers["retry-after-ms"], "1500");
    assert_eq!(err["error"]["code"], "rate_limit_exceeded");
    let (status, headers, err) = post(&fake, Some(&key), &body).await;
    assert_eq!(status, 429);
    assert!(headers.get("retry-after").is_none());
    assert_eq!(err["error"]["code"], "insufficient_quota");
    assert_eq!(err["error"]["type"], "insufficient_quota");
    let (status, _, err) = post(&fake, Some(&key), &body).await;
    assert_eq!(status, 503);
    assert_eq!(err["error"]["type"], "server_error");

    let (status, _, ok) = post(&fake, Some(&key), &body).await;
    assert_eq!(status, 200);
    assert!(ok["choices"][0]["message"]["content"].is_null());
    assert!(
        ok["choices"][0]["message"]["refusal"]
            .as_str()
            .unwrap()
            .contains("can't")
    );
    let (_, _, ok) = post(&fake, Some(&key), &body).await;
    assert_eq!(ok["choices"][0]["finish_reason"], "length");
    let cut = ok["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(cut).is_err(), "{cut}");
    let (_, _, ok) = post(&fake, Some(&key), &body).await;
    let text = ok["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
    let (_, _, ok) = post(&fake, Some(&key), &body).await;
    let empty: Value =
        serde_json::from_str(ok["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(empty["tags"], json!([]));
    // Faults are spent: the next answer is normal again.
    let (_, _, ok) = post(&fake, Some(&key), &body).await;
    let normal: Value =
        serde_json::from_str(ok["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(normal["tags"], json!(["blue", "dark", "portrait", "photo"]));

    let faults: Vec<Option<String>> = control.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(faults[0].as_deref(), Some("rate_limited"));
    assert_eq!(faults[7], None);
}

#[tokio::test]
async fn the_http_control_api_injects_faults_and_serves_the_log() {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/_fake/fail_next", fake.url()))
        .json(&json!({"fault": "slow_down", "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let key = fake.api_key().to_string();
    let (status, _, err) = post(&fake, Some(&key), &request(&jpeg(8, 8, [1, 2, 3]), "high")).await;
    assert_eq!(status, 429);
    assert_eq!(err["error"]["code"], "slow_down");
    let log: Vec<Value> = http
        .get(format!("{}/_fake/requests", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], 429);
    assert_eq!(log[0]["detail"], "high");
    assert!(log[0]["at_ms"].as_i64().unwrap() > 1_600_000_000_000);
    let bad = http
        .post(format!("{}/_fake/fail_next", fake.url()))
        .json(&json!({"fault": "nonsense"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
