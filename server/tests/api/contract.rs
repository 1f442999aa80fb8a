//! The API contract (issue 10, item 16): `/api/openapi.json` promises what the server answers.
//! Every status an operation can give is listed, and the limits the server enforces are schema
//! keywords; each keyword is checked against the server's behaviour at its edges, so the
//! document and the code cannot drift apart.

use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures;
use crate::helpers::{Backend, TestApp, storage};
use crate::on_both_backends;

on_both_backends!(
    docs_list_every_status_the_server_answers,
    docs_limits_are_schema_keywords_the_server_enforces,
    an_invalid_token_says_it_is_invalid_or_expired,
);

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every operation of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// True when the operation's effective security names the bearer scheme.
fn bearer_secured(doc: &Value, op: &Value) -> bool {
    let security = op.get("security").unwrap_or(&doc["security"]);
    security
        .as_array()
        .is_some_and(|alternatives| alternatives.iter().any(|s| s.get("bearer").is_some()))
}

/// The schema `reference` points at (`#/components/schemas/X`), or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    }
}

fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name}: {op}"))
}

fn json_body_schema<'a>(doc: &'a Value, op: &'a Value) -> &'a Value {
    resolve(
        doc,
        &op["requestBody"]["content"]["application/json"]["schema"],
    )
}

/// Sends `request` and checks that its status is one the operation documents, with the error
/// shape when it is an error.
async fn answers_as_documented(
    op: &Value,
    label: &str,
    request: reqwest::RequestBuilder,
) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(
        op["responses"].get(status.to_string()).is_some(),
        "{label} answered {status}, which its operation does not list: {body}"
    );
    if status >= 400 {
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "{label} answered {status} without the error shape: {body}"
        );
    }
    (status, body)
}

async fn docs_list_every_status_the_server_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    let ops = operations(&doc);
    let mut secured = 0;
    for (method, path, op) in &ops {
        let label = format!("{} {path}", method.to_uppercase());
        let url = path
            .replace("{id}", "999999")
            .replace("{batch_id}", "999999");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        // Every operation that takes the bearer scheme refuses a bad token, and says so.
        if bearer_secured(&doc, op) {
            secured += 1;
            assert!(op["responses"]["401"].is_object(), "{label} lists no 401");
            let request = app.request(method.clone(), &url, Some("not-a-token"));
            let (status, _) = answers_as_documented(op, &label, request).await;
            assert_eq!(status, 401, "{label} accepted a bad token");
        }
        // Every JSON body: no Content-Type (415), broken JSON (400), the wrong shape (422).
        if op["requestBody"]["content"]["application/json"].is_object() {
            for (case, request, expected) in [
                (
                    "no Content-Type",
                    app.request(method.clone(), &url, None).body("{}"),
                    415,
                ),
                (
                    "broken JSON",
                    app.request(method.clone(), &url, None)
                        .header("content-type", "application/json")
                        .body("{"),
                    400,
                ),
                (
                    "the wrong shape",
                    app.request(method.clone(), &url, None).json(&json!("x")),
                    422,
                ),
                // serde reads a struct from an array of its fields; the document says object.
                (
                    "an array",
                    app.request(method.clone(), &url, None).json(&json!([0.5])),
                    422,
                ),
            ] {
                let (status, body) =
                    answers_as_documented(op, &format!("{label} with {case}"), request).await;
                assert_eq!(status, expected, "{label} with {case}: {body}");
            }
        }
        // Every query: a value of the wrong type is a documented 400.
        if let Some(params) = op["parameters"].as_array() {
            for p in params.iter().filter(|p| p["in"] == "query") {
                let name = p["name"].as_str().unwrap();
                let request = app.request(method.clone(), &format!("{url}?{name}=%FF%00x"), None);
                answers_as_documented(op, &format!("{label}?{name}=garbage"), request).await;
            }
        }
    }
    // Local mode serves its user without a credential, so bearer is one of two alternatives;
    // the token grants and Google's redirects need none.
    assert_eq!(doc["security"], json!([{}, {"bearer": []}]));
    assert_eq!(secured, ops.len() - 4, "{ops:?}");
    app.stop().await;
}

async fn docs_limits_are_schema_keywords_the_server_enforces(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, doc) = app.get_json("/api/openapi.json").await;
    let paths = &doc["paths"];

    // `limit` of the gallery: both ends of the documented range, and one past each.
    let list = &paths["/api/v1/photos"]["get"];
    let limit = &param(list, "limit")["schema"];
    let (min, max) = (
        limit["minimum"].as_i64().unwrap(),
        limit["maximum"].as_i64().unwrap(),
    );
    assert_eq!((min, max), (1, 200), "{limit}");
    for (value, expected) in [(min, 200), (max, 200), (min - 1, 400), (max + 1, 400)] {
        let request = app.request(Method::GET, &format!("/api/v1/photos?limit={value}"), None);
        let (status, body) = answers_as_documented(list, "GET /photos", request).await;
        assert_eq!(status, expected, "limit={value}: {body}");
    }
    // The cursor is what `next_cursor` gives: digits, or nothing.
    assert!(param(list, "cursor")["schema"]["pattern"].is_string());

    // The threshold and the preview score: [0, 1].
    let threshold = &doc["components"]["schemas"]["Settings"]["properties"]["blur_threshold"];
    let preview = &doc["components"]["schemas"]["PreviewRequest"]["properties"]["preview_score"];
    for schema in [threshold, preview] {
        assert_eq!(
            (schema["minimum"].as_f64(), schema["maximum"].as_f64()),
            (Some(0.0), Some(1.0)),
            "{schema}"
        );
    }
    let settings = &paths["/api/v1/settings"]["put"];
    for (value, expected) in [(0.0, 200), (1.0, 200), (-0.01, 400), (1.01, 400)] {
        let request = app
            .request(Method::PUT, "/api/v1/settings", None)
            .json(&json!({"blur_threshold": value}));
        let (status, body) = answers_as_documented(settings, "PUT /settings", request).await;
        assert_eq!(status, expected, "blur_threshold={value}: {body}");
    }

    // The image sizes are an enum, each served; anything else is a documented 400.
    let (status, uploaded) = app
        .upload(&[("a.jpg".into(), fixtures::sharp_jpeg(1))], None)
        .await;
    assert_eq!(status, 201, "{uploaded}");
    let id = uploaded["items"][0]["id"].as_i64().unwrap();
    let image = &paths["/api/v1/photos/{id}/image"]["get"];
    let sizes = param(image, "size")["schema"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        sizes,
        [json!("thumb"), json!("analysis"), json!("original")]
    );
    for size in sizes.iter().map(|s| s.as_str().unwrap()).chain(["x"]) {
        let request = app.request(
            Method::GET,
            &format!("/api/v1/photos/{id}/image?size={size}"),
            None,
        );
        let (status, _) = answers_as_documented(image, "GET /photos/{id}/image", request).await;
        assert_eq!(status, if size == "x" { 400 } else { 200 }, "size={size}");
    }

    // A batch: `photo_ids` (1 to 10,000 ids) or `filter`, exactly one.
    let batch = &paths["/api/v1/blur/analyze-batch"]["post"];
    let shapes = json_body_schema(&doc, batch)["oneOf"].as_array().unwrap();
    assert_eq!(shapes.len(), 2, "{shapes:?}");
    let ids = &shapes[0]["properties"]["photo_ids"];
    let max_ids = ids["maxItems"].as_u64().unwrap();
    assert_eq!((ids["minItems"].as_u64(), max_ids), (Some(1), 10_000));
    assert_eq!(shapes[0]["required"], json!(["photo_ids"]));
    assert_eq!(shapes[1]["required"], json!(["filter"]));
    let too_many: Vec<i64> = std::iter::repeat_n(id, max_ids as usize + 1).collect();
    let at_most: Vec<i64> = std::iter::repeat_n(id, max_ids as usize).collect();
    for (body, expected) in [
        (json!({"photo_ids": at_most}), 202),
        (json!({"photo_ids": [id], "filter": null}), 202),
        (json!({"filter": "unprocessed"}), 202),
        (json!({"photo_ids": too_many}), 400),
        (json!({"photo_ids": []}), 400),
        (json!({"photo_ids": [id], "filter": "all"}), 400),
        (json!({}), 400),
    ] {
        let request = app
            .request(Method::POST, "/api/v1/blur/analyze-batch", None)
            .json(&body);
        let (status, answer) =
            answers_as_documented(batch, "POST /blur/analyze-batch", request).await;
        assert_eq!(status, expected, "{body:.80}: {answer}");
    }

    // The grants: local mode offers only `local`.
    let token = &paths["/api/v1/auth/token"]["post"];
    let grant = resolve(
        &doc,
        &json_body_schema(&doc, token)["properties"]["grant_type"],
    );
    assert_eq!(grant["enum"], json!(["local"]), "{grant}");

    // The upload's `file` parts are required.
    let form = resolve(
        &doc,
        &paths["/api/v1/photos"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"],
    );
    assert_eq!(form["required"], json!(["file"]), "{form}");
    assert_eq!(form["properties"]["file"]["minItems"], 1, "{form}");
    assert_eq!(form["properties"]["file"]["maxItems"], 16, "{form}");
    app.stop().await;
}

async fn an_invalid_token_says_it_is_invalid_or_expired(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let forged = server::auth::TokenKeys::new(&[1u8; 32])
        .access_token(app.local_user(), 0)
        .unwrap();
    for token in ["garbage", forged.as_str()] {
        let (status, err) = app
            .call(Method::GET, "/api/v1/photos", Some(token), None)
            .await;
        assert_eq!(status, 401, "{err}");
        assert_eq!(err["error"]["code"], "unauthorized");
        assert_eq!(
            err["error"]["message"],
            "the access token is invalid or expired"
        );
    }
    let response = app
        .request(Method::GET, "/api/v1/photos", None)
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let err: Value = response.json().await.unwrap();
    assert!(
        err["error"]["message"].as_str().unwrap().contains("Bearer"),
        "{err}"
    );
    let (status, err) = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": "garbage"})),
        )
        .await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(
        err["error"]["message"],
        "the refresh token is invalid, expired or already used"
    );
    app.stop().await;
}

/// With Google sign-in every API operation needs a credential, and the only grant offered is
/// `authorization_code`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_with_sign_in_require_a_credential_and_offer_only_the_code_grant() {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.google.google_client_id = Some("test-client.apps.googleusercontent.com".into());
        args.google.google_client_secret = Some("test-secret".to_string().into());
    })
    .await;
    let (_, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    for (method, path, op) in operations(&doc) {
        let public = op.get("security") == Some(&json!([{}]));
        assert_eq!(bearer_secured(&doc, &op), !public, "{method} {path}");
        if !public {
            // Without any credential: the documented 401.
            let url = path.replace("{id}", "1").replace("{batch_id}", "1");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let label = format!("{method} {path}");
            let (status, _) =
                answers_as_documented(&op, &label, app.request(method, &url, None)).await;
            assert_eq!(status, 401, "{label}");
        }
    }
    let token = &doc["paths"]["/api/v1/auth/token"]["post"];
    let grant = resolve(
        &doc,
        &json_body_schema(&doc, token)["properties"]["grant_type"],
    );
    assert_eq!(grant["enum"], json!(["authorization_code"]), "{grant}");
    app.stop().await;
}
