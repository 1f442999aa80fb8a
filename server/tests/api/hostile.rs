//! Hostile and unusual files: each is refused at upload with a 4xx JSON error or ends as a
//! failed job with its reason, and the server and its workers keep serving.

use reqwest::Method;
use serde_json::json;

use crate::fixtures::{animated_gif, cmyk_jpeg, png_16bit, png_claiming, sharp_jpeg};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(hostile_files_are_refused_or_fail_their_own_job);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_files_and_bodies_are_413_with_a_json_error() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage =
        crate::helpers::storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    storage.limits.max_file_mib = 1;
    let app = TestApp::spawn_with(storage, data_dir, |_| {}).await;
    // One file over the per-file limit.
    let mut big = sharp_jpeg(1);
    big.resize(2 * 1024 * 1024, 0);
    let (status, body) = app.upload(&[("big.jpg".into(), big)], None).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    // A JSON body over the default limit.
    // (2.3 MB: a little over axum's 2 MB default, so the client has sent it all.)
    let ids: Vec<i64> = (100_000..430_000).collect();
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            None,
            Some(json!({"photo_ids": ids})),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    app.stop().await;
}

async fn hostile_files_are_refused_or_fail_their_own_job(backend: Backend) {
    let app = TestApp::spawn_with_workers(backend, 1).await;
    let good = sharp_jpeg(9);
    let mut truncated = good.clone();
    truncated.truncate(good.len() / 2);

    // Refused at upload: (name, bytes, status, code).
    let refused: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("zero.jpg", Vec::new(), 400, "bad_request"),
        (
            "text.jpg",
            b"this is not a photo at all\n".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "bomb.png",
            png_claiming(100_000, 100_000),
            422,
            "unprocessable",
        ),
        ("empty.png", png_claiming(0, 0), 422, "unprocessable"),
        (
            "animated.gif",
            animated_gif(),
            415,
            "unsupported_media_type",
        ),
    ];
    for (name, bytes, status, code) in &refused {
        let (got, body) = app.upload(&[(name.to_string(), bytes.clone())], None).await;
        assert_eq!(got, *status, "{name}: {body}");
        assert_eq!(body["error"]["code"], *code, "{name}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(name),
            "{body}"
        );
        assert_eq!(body["rejected"][0]["filename"], *name, "{body}");
        assert_eq!(body["rejected"][0]["code"], *code, "{body}");
    }
    // In a mixed upload the good file is stored and the bad ones are listed with reasons.
    let (status, body) = app
        .upload(
            &[
                ("ok.jpg".into(), good.clone()),
                ("text.jpg".into(), b"nope".to_vec()),
            ],
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["rejected"][0]["filename"], "text.jpg");
    assert_eq!(body["rejected"][0]["code"], "unsupported_media_type");

    // Accepted at upload (the header is fine); verification decides.
    let accepted = [
        ("truncated.jpg", truncated),
        ("cmyk.jpg", cmyk_jpeg()),
        ("deep.png", png_16bit()),
    ];
    let mut ids = Vec::new();
    for (name, bytes) in &accepted {
        let (status, body) = app.upload(&[(name.to_string(), bytes.clone())], None).await;
        assert_eq!(status, 201, "{name}: {body}");
        ids.push((name.to_string(), body["items"][0]["id"].as_i64().unwrap()));
    }
    let (status, batch) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(batch["total"], 4);
    let progress = app
        .wait_for_batch(batch["job_id"].as_i64().unwrap(), None, 120)
        .await;
    assert_eq!(progress["done"], 3, "{progress}");
    assert_eq!(progress["failed"], 1, "{progress}");

    for (name, id) in &ids {
        let (_, photo) = app
            .call(Method::GET, &format!("/api/v1/photos/{id}"), None, None)
            .await;
        if name == "truncated.jpg" {
            // Failed with the reason, once: a decode error is not retried.
            assert_eq!(photo["status"], "failed", "{photo}");
            assert!(
                photo["error"].as_str().unwrap().contains("truncated"),
                "{photo}"
            );
            assert_eq!(photo["verified"], false);
            let attempts: (i64,) = sqlx::query_as("SELECT attempts FROM jobs WHERE photo_id = $1")
                .bind(id)
                .fetch_one(app.deps.db.pool())
                .await
                .unwrap();
            assert_eq!(attempts.0, 1);
        } else {
            // Valid if unusual images (CMYK, 16-bit) are analysed like any other.
            assert_eq!(photo["status"], "done", "{name}: {photo}");
            assert!(photo["blur_score"].as_f64().is_some());
        }
    }
    let (_, stats) = app.call(Method::GET, "/api/v1/stats", None, None).await;
    assert_eq!(stats["failed"], 1);
    // A failed photo is its own category, not one more unprocessed photo.
    assert_eq!(stats["unprocessed"], 0);
    let truncated = ids
        .iter()
        .find(|(n, _)| n == "truncated.jpg")
        .map(|(_, id)| *id);
    for (filter, expected) in [
        ("failed", vec![truncated.unwrap()]),
        ("unprocessed", vec![]),
    ] {
        let (status, page) = app
            .call(
                Method::GET,
                &format!("/api/v1/photos?filter={filter}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let listed: Vec<i64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert_eq!(listed, expected, "{filter}");
    }

    // Malformed requests get JSON errors too.
    for (method, path, body, status) in [
        (Method::POST, "/api/v1/blur/analyze-batch", json!({}), 400),
        (
            Method::POST,
            "/api/v1/blur/analyze-batch",
            json!({"photo_ids": []}),
            400,
        ),
        (
            Method::POST,
            "/api/v1/blur/analyze-batch",
            json!({"filter": "sideways"}),
            422,
        ),
        (
            Method::GET,
            "/api/v1/photos?filter=sideways",
            json!(null),
            400,
        ),
        (Method::GET, "/api/v1/photos?cursor=abc", json!(null), 400),
        (Method::GET, "/api/v1/photos?limit=0", json!(null), 400),
        (Method::GET, "/api/v1/photos/not-a-number", json!(null), 404),
    ] {
        let body = if body.is_null() { None } else { Some(body) };
        let (got, err) = app.call(method, path, None, body).await;
        assert_eq!(got, status, "{path}: {err}");
        assert!(err["error"]["message"].is_string(), "{path}: {err}");
    }
    let response = app
        .request(Method::POST, "/api/v1/photos", None)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);

    // Still serving, and the worker still verifies.
    let (status, body) = app
        .upload(&[("after.jpg".into(), sharp_jpeg(10))], None)
        .await;
    assert_eq!(status, 201);
    let id = body["items"][0]["id"].as_i64().unwrap();
    let (_, accepted) = app
        .call(
            Method::POST,
            &format!("/api/v1/photos/{id}/analyze"),
            None,
            None,
        )
        .await;
    let progress = app
        .wait_for_batch(accepted["job_id"].as_i64().unwrap(), None, 60)
        .await;
    assert_eq!(progress["done"], 1);
    app.stop().await;
}
