//! AI tags against the fake OpenAI (`fake-openai`), on both backends: a batch tags every photo
//! and the tag filter and counts follow; every failure the fake injects ends as the right
//! outcome (retried and tagged, or failed with its reason, never stuck); the shared token
//! budget keeps a 200-photo batch under the configured rate, measured on the fake's request
//! log; tagging off says so; another user's tags are invisible.

use std::time::Duration;

use fake_openai::{FakeOpenAi, Fault, Options};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::jpeg;
use crate::helpers::{Backend, TestApp, storage};
use crate::on_both_backends;

on_both_backends!(
    a_batch_of_50_tags_every_photo_and_the_filter_and_counts_follow,
    each_failure_ends_as_its_outcome_and_no_job_is_left_stuck,
    out_of_quota_fails_the_rest_of_the_batch_at_once,
    the_token_budget_keeps_a_200_photo_batch_under_the_configured_rate,
    with_tagging_off_queuing_answers_503_and_the_status_says_so,
    another_users_tags_are_invisible,
    google_photos_are_tagged_from_the_authorised_working_copy,
);

/// A server whose embedded workers tag through `fake`, with `tweak` for the rest.
async fn spawn(
    backend: Backend,
    fake: &FakeOpenAi,
    workers: usize,
    tweak: impl FnOnce(&mut server::config::TaggingArgs),
) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(backend, data_dir.path().to_path_buf()).await;
    let base_url = fake.base_url();
    let key = fake.api_key().to_string();
    TestApp::spawn_with(storage, data_dir, move |args| {
        args.workers = workers;
        args.tagging.openai_base_url = Some(base_url);
        args.tagging.openai_api_key = Some(key.into());
        // Backoff of 5xx and of 429s without Retry-After: short, so the tests stay quick.
        args.tagging.tag_backoff_base = Duration::from_millis(20);
        tweak(&mut args.tagging);
    })
    .await
}

/// A solid-colour JPEG (the fake tags it by its colour and orientation), made distinct by one
/// pixel so uploads are not deduplicated.
fn photo(seed: u32, width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    // The seed also stretches the long side: a flipped pixel alone can vanish in the JPEG.
    let (width, height) = if width >= height {
        (width + seed, height)
    } else {
        (width, height + seed)
    };
    let mut img = image::RgbImage::from_pixel(width, height, image::Rgb(rgb));
    let x = seed % width;
    let y = (seed / width) % height;
    img.put_pixel(x, y, image::Rgb([rgb[0] ^ 0x40, rgb[1], rgb[2]]));
    jpeg(&img)
}

/// Uploads photos 16 to a request; returns their ids in order.
async fn upload_all(app: &TestApp, files: Vec<Vec<u8>>, token: Option<&str>) -> Vec<i64> {
    let mut ids = Vec::new();
    let named: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| (format!("p{i}.jpg"), bytes))
        .collect();
    for chunk in named.chunks(16) {
        let (status, body) = app.upload(chunk, token).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["duplicates"], json!([]), "{body}");
        ids.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap()),
        );
    }
    ids
}

/// Every photo id of `GET /api/v1/photos?{query}`, following the cursor pages.
async fn all_ids(app: &TestApp, query: &str, token: Option<&str>) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app
            .call(
                Method::GET,
                &format!("/api/v1/photos?{query}&limit=7{cursor}"),
                token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return ids,
        }
    }
}

/// Tags one photo and waits for its batch; returns the batch's final progress.
async fn tag_and_wait(app: &TestApp, id: i64) -> (i64, Value) {
    let (status, accepted) = app
        .call(
            Method::POST,
            &format!("/api/v1/photos/{id}/tag"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let batch = accepted["batch_id"].as_i64().unwrap();
    (batch, app.wait_for_batch(batch, None, 60).await)
}

/// The error and tokens of each job of a batch.
async fn jobs_of(app: &TestApp, batch: i64) -> Vec<(String, Option<String>, Option<i64>)> {
    sqlx::query_as("SELECT status, error, prompt_tokens FROM jobs WHERE batch_id = $1 ORDER BY id")
        .bind(batch)
        .fetch_all(app.deps.db.pool())
        .await
        .unwrap()
}

async fn a_batch_of_50_tags_every_photo_and_the_filter_and_counts_follow(backend: Backend) {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    // A budget this large never makes a photo wait (the budget test below is about that).
    let app = spawn(backend, &fake, 2, |t| t.tag_tpm = 1_000_000_000).await;
    let files: Vec<Vec<u8>> = (0..50)
        .map(|i| {
            if i % 2 == 0 {
                photo(i, 64, 48, [220, 30, 30])
            } else {
                photo(i, 48, 64, [20, 60, 230])
            }
        })
        .collect();
    let ids = upload_all(&app, files, None).await;
    let (status, estimate) = app
        .call(
            Method::POST,
            "/api/v1/tags/estimate",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 200, "{estimate}");
    assert_eq!(estimate["photos"], 50);
    let (_, info) = app
        .call(Method::GET, "/api/v1/tags/status", None, None)
        .await;
    assert_eq!(info["enabled"], true);
    let per_photo = info["tokens_per_photo"].as_i64().unwrap();
    assert_eq!(
        estimate["estimated_tokens"].as_i64().unwrap(),
        50 * per_photo
    );

    let (status, accepted) = app
        .call(
            Method::POST,
            "/api/v1/tags/batch",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["total"], 50);
    assert_eq!(accepted["estimated_tokens"], estimate["estimated_tokens"]);
    let batch = accepted["batch_id"].as_i64().unwrap();
    let done = app.wait_for_batch(batch, None, 120).await;
    assert_eq!(
        (done["status"].as_str(), done["done"].as_i64()),
        (Some("done"), Some(50)),
        "{done}"
    );

    // Every photo has its tags, caption and the model's blur opinion.
    let (_, page) = app
        .call(Method::GET, "/api/v1/photos?limit=200", None, None)
        .await;
    for p in page["items"].as_array().unwrap() {
        let tags: Vec<&str> = p["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let red = ids
            .iter()
            .position(|i| Some(*i) == p["id"].as_i64())
            .unwrap()
            % 2
            == 0;
        let expected = if red {
            ["red", "dark", "landscape", "photo"]
        } else {
            ["blue", "dark", "portrait", "photo"]
        };
        let mut sorted = expected.to_vec();
        sorted.sort_unstable();
        assert_eq!(tags, sorted, "{p}");
        assert!(p["caption"].as_str().unwrap().contains(expected[0]), "{p}");
        assert_eq!(p["looks_blurred"], true, "a flat photo looks blurred: {p}");
    }
    let (_, one) = app
        .call(
            Method::GET,
            &format!("/api/v1/photos/{}", ids[0]),
            None,
            None,
        )
        .await;
    assert_eq!(one["tags"], json!(["dark", "landscape", "photo", "red"]));

    // The tag filter, paged, alone and with a verdict filter; normalised like the tags.
    let mut red: Vec<i64> = ids.iter().step_by(2).copied().collect();
    red.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(all_ids(&app, "tag=red", None).await, red);
    assert_eq!(all_ids(&app, "tag=%20RED%20", None).await, red);
    assert_eq!(
        all_ids(&app, "tag=portrait&filter=unprocessed", None)
            .await
            .len(),
        25
    );
    assert!(
        all_ids(&app, "tag=portrait&filter=blurred", None)
            .await
            .is_empty()
    );
    assert!(all_ids(&app, "tag=beach", None).await.is_empty());
    let (status, _) = app
        .call(Method::GET, "/api/v1/photos?tag=", None, None)
        .await;
    assert_eq!(status, 400);

    let (_, list) = app.call(Method::GET, "/api/v1/tags", None, None).await;
    let counts: Vec<(String, i64)> = list["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap().to_string(),
                t["count"].as_i64().unwrap(),
            )
        })
        .collect();
    let expect = |t: &str, n: i64| (t.to_string(), n);
    assert_eq!(
        counts,
        [
            expect("dark", 50),
            expect("photo", 50),
            expect("blue", 25),
            expect("landscape", 25),
            expect("portrait", 25),
            expect("red", 25)
        ]
    );

    // A wrong tag goes; the counts follow.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/photos/{}/tags/Red", ids[0]),
            None,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/photos/{}/tags/red", ids[0]),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(all_ids(&app, "tag=red", None).await.len(), 24);

    // What was sent: low detail, a JPEG no larger than 512 px, every job's tokens recorded.
    let log = fake.state().requests();
    let attempts: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, attempts FROM jobs WHERE batch_id = $1 AND attempts > 1")
            .bind(batch)
            .fetch_all(app.deps.db.pool())
            .await
            .unwrap();
    let odd: Vec<_> = log
        .iter()
        .filter(|r| r.status != 200 || r.fault.is_some())
        .collect();
    assert_eq!(log.len(), 50, "{odd:?} {attempts:?}");
    assert!(
        log.iter()
            .all(|r| r.detail.as_deref() == Some("low") && r.image_width <= Some(512))
    );
    let jobs = jobs_of(&app, batch).await;
    assert!(
        jobs.iter()
            .all(|(s, _, tokens)| s == "done" && tokens.unwrap_or(0) > 2_833),
        "{jobs:?}"
    );
    let (_, stats) = app.call(Method::GET, "/api/v1/stats", None, None).await;
    assert_eq!(stats["ai_audit"]["tagged"], 50);
    assert_eq!(stats["ai_audit"]["model_says_blurred"], 50);
    assert_eq!(
        stats["ai_audit"]["disagreements"], 0,
        "nothing is verified yet"
    );
    app.stop().await;
}

async fn each_failure_ends_as_its_outcome_and_no_job_is_left_stuck(backend: Backend) {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    let app = spawn(backend, &fake, 1, |_| {}).await;
    let ids = upload_all(
        &app,
        (0..7).map(|i| photo(i, 40, 30, [60, 200, 60])).collect(),
        None,
    )
    .await;
    let cases = [
        (
            Fault::RateLimited {
                retry_after_ms: Some(1000),
            },
            None,
        ),
        (Fault::Overloaded, None),
        (Fault::SlowDown, None),
        (Fault::Refusal, Some("refusal:")),
        (Fault::Truncated, Some("truncated:")),
        (Fault::MalformedJson, Some("invalid_json:")),
        (Fault::EmptyTags, Some("empty_tags:")),
    ];
    for ((fault, failure), id) in cases.into_iter().zip(ids) {
        fake.state().clear_requests();
        fake.state().fail_next(fault.clone(), 1);
        let started = std::time::Instant::now();
        let (batch, done) = tag_and_wait(&app, id).await;
        let jobs = jobs_of(&app, batch).await;
        let (_, photo) = app
            .call(Method::GET, &format!("/api/v1/photos/{id}"), None, None)
            .await;
        let log = fake.state().requests();
        match failure {
            None => {
                assert_eq!(done["status"], "done", "{fault:?}: {done} {jobs:?}");
                assert_eq!(photo["tags"][0], "green", "{fault:?}: {photo}");
                assert_eq!(log.len(), 2, "{fault:?}: retried once");
                assert_eq!(log[1].fault, None);
                if let Fault::RateLimited { .. } = fault {
                    assert!(
                        started.elapsed() >= Duration::from_millis(1000),
                        "waited Retry-After"
                    );
                    assert!(log[1].at_ms - log[0].at_ms >= 1000, "{log:?}");
                }
            }
            Some(reason) => {
                assert_eq!(done["status"], "failed", "{fault:?}: {done}");
                let error = jobs[0].1.clone().unwrap_or_default();
                assert!(error.starts_with(reason), "{fault:?}: {error}");
                assert_eq!(photo["tags"], json!([]), "{fault:?}");
                assert_eq!(log.len(), 1, "{fault:?}: not retried");
                // The answer was billed even though it could not be used.
                assert!(jobs[0].2.unwrap_or(0) > 0, "{fault:?}: {jobs:?}");
            }
        }
    }
    // Nothing is left queued or running.
    let (open,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
            .fetch_one(app.deps.db.pool())
            .await
            .unwrap();
    assert_eq!(open, 0);
    app.stop().await;
}

async fn out_of_quota_fails_the_rest_of_the_batch_at_once(backend: Backend) {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    let app = spawn(backend, &fake, 1, |_| {}).await;
    upload_all(
        &app,
        (0..6).map(|i| photo(i, 30, 30, [240, 220, 40])).collect(),
        None,
    )
    .await;
    fake.state().fail_next(Fault::InsufficientQuota, 1);
    let (status, accepted) = app
        .call(
            Method::POST,
            "/api/v1/tags/batch",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let batch = accepted["batch_id"].as_i64().unwrap();
    let done = app.wait_for_batch(batch, None, 60).await;
    assert_eq!(
        (done["status"].as_str(), done["failed"].as_i64()),
        (Some("failed"), Some(6)),
        "{done}"
    );
    for (_, error, _) in jobs_of(&app, batch).await {
        assert!(error.unwrap_or_default().starts_with("insufficient_quota:"));
    }
    // One request was made: the quota answer was never retried, and no other photo was sent.
    assert_eq!(fake.state().requests().len(), 1);
    app.stop().await;
}

async fn the_token_budget_keeps_a_200_photo_batch_under_the_configured_rate(backend: Backend) {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    // A budget "minute" of one second keeps the test short; the arithmetic is the same. The
    // budget is about 40 photos per window; 200 photos need about five windows.
    let per_photo = server::tagging::Tagging::off().photo_cost().tokens;
    let tpm = 40 * per_photo;
    let window = Duration::from_secs(1);
    let app = spawn(backend, &fake, 4, move |t| {
        t.tag_tpm = tpm;
        t.tag_budget_window = window;
    })
    .await;
    let files: Vec<Vec<u8>> = (0..200)
        .map(|i| photo(i, 40, 40, [250, 250, 250]))
        .collect();
    upload_all(&app, files, None).await;
    let (status, accepted) = app
        .call(
            Method::POST,
            "/api/v1/tags/batch",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let done = app
        .wait_for_batch(accepted["batch_id"].as_i64().unwrap(), None, 120)
        .await;
    assert_eq!(done["done"], 200, "{done}");
    let log = fake.state().requests();
    assert_eq!(log.len(), 200);
    let peak = fake.state().peak_tokens_in_window(1000);
    let first = log.iter().map(|r| r.at_ms).min().unwrap();
    let last = log.iter().map(|r| r.at_ms).max().unwrap();
    let spent: u64 = log
        .iter()
        .map(|r| u64::from(r.prompt_tokens + r.completion_tokens))
        .sum();
    eprintln!(
        "token budget: {tpm} per {window:?}; 200 photos, {spent} tokens in {} ms; peak {peak} tokens in any 1 s",
        last - first
    );
    assert!(peak <= tpm, "peak {peak} over the budget {tpm}");
    // The budget, not the workers, set the pace: 200 photos at ~36 a second take > 4 s.
    assert!(last - first >= 4_000, "{} ms", last - first);
    app.stop().await;
}

async fn with_tagging_off_queuing_answers_503_and_the_status_says_so(backend: Backend) {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    let app = spawn(backend, &fake, 1, |t| t.tagging = false).await;
    let ids = upload_all(&app, vec![photo(1, 20, 20, [0, 0, 0])], None).await;
    let (status, info) = app
        .call(Method::GET, "/api/v1/tags/status", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(info["enabled"], false);
    assert_eq!(info["model"], "gpt-4o-mini");
    for (path, body) in [
        (format!("/api/v1/photos/{}/tag", ids[0]), None),
        (
            "/api/v1/tags/batch".to_string(),
            Some(json!({"filter": "all"})),
        ),
    ] {
        let (status, err) = app.call(Method::POST, &path, None, body).await;
        assert_eq!(status, 503, "{path}: {err}");
        assert_eq!(err["error"]["code"], "tagging_disabled", "{path}");
    }
    // Reading works; nothing went out.
    let (status, list) = app.call(Method::GET, "/api/v1/tags", None, None).await;
    assert_eq!((status, list), (200, json!({"tags": []})));
    assert!(fake.state().requests().is_empty());
    app.stop().await;

    // No key and no base URL: off as well.
    let app = TestApp::spawn(backend).await;
    let (_, info) = app
        .call(Method::GET, "/api/v1/tags/status", None, None)
        .await;
    assert_eq!(
        (info["enabled"].as_bool(), info["provider"].as_str()),
        (Some(false), Some("api.openai.com"))
    );
    app.stop().await;
}

async fn another_users_tags_are_invisible(backend: Backend) {
    let fake = FakeOpenAi::start(Options::default()).await.unwrap();
    let app = spawn(backend, &fake, 1, |_| {}).await;
    let (_, alice) = app.new_user("alice").await;
    let (_, bob) = app.new_user("bob").await;
    let alice_ids = upload_all(&app, vec![photo(1, 64, 48, [220, 30, 30])], Some(&alice)).await;
    let bob_ids = upload_all(&app, vec![photo(2, 48, 64, [20, 60, 230])], Some(&bob)).await;
    for (ids, token) in [(&alice_ids, &alice), (&bob_ids, &bob)] {
        let (status, accepted) = app
            .call(
                Method::POST,
                &format!("/api/v1/photos/{}/tag", ids[0]),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, 202);
        app.wait_for_batch(accepted["batch_id"].as_i64().unwrap(), Some(token), 60)
            .await;
    }
    let names = |list: &Value| -> Vec<String> {
        list["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tag"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, bobs) = app
        .call(Method::GET, "/api/v1/tags", Some(&bob), None)
        .await;
    assert!(!names(&bobs).contains(&"red".to_string()), "{bobs}");
    assert!(names(&bobs).contains(&"blue".to_string()), "{bobs}");
    assert!(all_ids(&app, "tag=red", Some(&bob)).await.is_empty());
    assert_eq!(all_ids(&app, "tag=red", Some(&alice)).await, alice_ids);
    assert_eq!(all_ids(&app, "tag=photo", Some(&bob)).await, bob_ids);
    // Bob can neither remove nor queue Alice's, and learns nothing from trying.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/photos/{}/tags/red", alice_ids[0]),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/photos/{}/tag", alice_ids[0]),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/tags/batch",
            Some(&bob),
            Some(json!({"photo_ids": alice_ids})),
        )
        .await;
    assert_eq!(status, 404);
    let (_, stats) = app
        .call(Method::GET, "/api/v1/stats", Some(&bob), None)
        .await;
    assert_eq!(stats["ai_audit"]["tagged"], 1);
    // Alice's tag is still there, and hers to remove.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/photos/{}/tags/red", alice_ids[0]),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 204);
    app.stop().await;
}

async fn google_photos_are_tagged_from_the_authorised_working_copy(backend: Backend) {
    let openai = FakeOpenAi::start(Options::default()).await.unwrap();
    let (base_url, key) = (openai.base_url(), openai.api_key().to_string());
    let g = crate::google_harness::GoogleApp::start_with(
        backend,
        1,
        fake_google::Options::default(),
        move |args, _| {
            args.tagging.openai_base_url = Some(base_url);
            args.tagging.openai_api_key = Some(key.into());
        },
    )
    .await;
    let alice = g.sign_in("alice@example.com").await;
    let imported = g
        .pick_and_sync(&alice, fake_google::Pick::Items(vec![0, 1, 2]))
        .await;
    g.wait_for_batch(&alice, imported["verify_batch_id"].as_i64().unwrap())
        .await;
    let ids: Vec<i64> = alice
        .photos()
        .await
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let (status, accepted) = alice
        .call(
            Method::POST,
            "/api/v1/tags/batch",
            Some(json!({"photo_ids": ids})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let done = g
        .wait_for_batch(&alice, accepted["batch_id"].as_i64().unwrap())
        .await;
    assert_eq!(done["done"], 3, "{done}");
    // The model got a 512-px JPEG made from the working copy (fetched from Google with the
    // owner's token, never a Google link).
    let log = openai.state().requests();
    assert_eq!(log.len(), 3);
    for r in &log {
        let long = r.image_width.max(r.image_height).unwrap_or(0);
        assert!((64..=512).contains(&long), "{r:?}");
    }
    let photos = alice.photos().await;
    let mut disagreements = 0;
    for p in &photos {
        assert!(!p["tags"].as_array().unwrap().is_empty(), "{p}");
        if p["looks_blurred"] != p["is_blurred"] {
            disagreements += 1;
        }
    }
    // The audit counts exactly the photos where the model and the kernel disagree.
    let (_, stats) = alice.call(Method::GET, "/api/v1/stats", None).await;
    assert_eq!(stats["ai_audit"]["tagged"], 3, "{stats}");
    assert_eq!(stats["ai_audit"]["disagreements"], disagreements, "{stats}");
    g.stop().await;
}
