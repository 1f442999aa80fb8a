//! Albums of clear photos (issue 13): a Google Photos album filled through the fake Google's
//! Library API (three `batchCreate`s of 50/50/20 for 120 photos, each photo once), the
//! incremental Library consent, expired links skipped, a 429 storm, per-item failures, the
//! daily quota pausing and resuming, and a collection's ZIP; another user reaches nothing.

use std::time::Duration;

use fake_google::{Endpoint, Options, Photo};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{jpeg, scene};
use crate::google_harness::{Browser, GoogleApp, location};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    album_of_120_clear_photos_takes_three_batch_creates_and_holds_each_once,
    expired_links_are_skipped_and_a_429_storm_is_waited_out,
    per_item_failures_are_recorded_and_a_resume_retries_them,
    the_daily_quota_pauses_the_album_and_a_resume_finishes_it,
    a_collection_downloads_as_a_zip_and_another_user_reaches_nothing,
);

const ALICE: &str = "alice@example.com";

/// A fake Google with `n` distinct small JPEGs, and a server using it.
async fn start(backend: Backend, n: usize, quota: Option<u64>) -> GoogleApp {
    let photos = (0..n)
        .map(|i| {
            Photo::from_bytes(&format!("IMG_{i:04}.jpg"), jpeg(&scene(i as u64, 96, 64))).unwrap()
        })
        .collect();
    let options = Options {
        photos,
        ..Options::default()
    };
    GoogleApp::start_with(backend, 1, options, |args, _| {
        args.google.google_timeout_secs = 5;
        if let Some(q) = quota {
            args.google.library_daily_quota = q;
        }
    })
    .await
}

/// Alice signed in, her Library grant given through the album error's `action_url`, and her
/// `n` photos stored as clear Google photos with live links. Returns her browser.
async fn alice_with_clear_photos(g: &GoogleApp, n: usize) -> Browser {
    let browser = g.sign_in(ALICE).await;
    let user_id = me(&browser).await;
    store_clear_photos(&g.app, &g.fake, user_id, n).await;
    // Without the Library scope: 403 with where to grant it.
    let (status, body) = browser
        .call(Method::POST, "/api/v1/albums/unblurred", Some(json!({})))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "scope_required");
    let action = body["error"]["action_url"].as_str().unwrap().to_string();
    let response = browser.get(&action).await;
    assert_eq!(response.status().as_u16(), 303);
    let consent = location(&response);
    assert!(consent.contains("include_granted_scopes=true"), "{consent}");
    assert!(consent.contains("photoslibrary.appendonly"), "{consent}");
    assert!(consent.contains("code_challenge_method=S256"), "{consent}");
    let callback = g.fake.state().approve(&consent, ALICE, None).unwrap();
    let response = browser.get_url(&callback).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(location(&response), "/#/albums");
    browser
}

async fn me(browser: &Browser) -> i64 {
    let (status, me) = browser.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(status, 200, "{me}");
    me["id"].as_i64().unwrap()
}

/// Stores the fake's photos 0..n for the user as verified clear Google photos.
async fn store_clear_photos(app: &TestApp, fake: &fake_google::FakeGoogle, user_id: i64, n: usize) {
    let pool = app.deps.db.pool();
    let mut tx = pool.begin().await.unwrap();
    for i in 0..n {
        let photo = server::db::picker::PickedPhoto {
            google_id: fake.state().item_id(ALICE, i).unwrap(),
            filename: format!("IMG_{i:04}.jpg"),
            mime_type: Some("image/jpeg".into()),
            base_url: fake.state().mint_base_url(ALICE, i).unwrap(),
            base_url_expires_at: server::time::now_ms() + 3_000_000,
            ..Default::default()
        };
        server::db::picker::upsert_photo(&mut tx, user_id, &photo)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query(
        "UPDATE photos SET is_blurred = 0, blur_score = 0.1, blur_type = 'none', status = 'done' WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(pool)
    .await
    .unwrap();
}

async fn create(browser: &Browser, body: Value) -> Value {
    let (status, album) = browser
        .call(Method::POST, "/api/v1/albums/unblurred", Some(body))
        .await;
    assert_eq!(status, 202, "{album}");
    album
}

/// Polls the album until it leaves queued/running.
async fn settled(browser: &Browser, id: i64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (status, album) = browser
            .call(Method::GET, &format!("/api/v1/albums/{id}?limit=500"), None)
            .await;
        assert_eq!(status, 200, "{album}");
        if !matches!(album["status"].as_str(), Some("queued" | "running")) {
            return album;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "album stuck: {}",
            album["status"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every item of the album in the fake, by file name: none twice.
fn assert_each_once(g: &GoogleApp, expected: usize) {
    let albums = g.fake.state().albums();
    assert_eq!(albums.len(), 1, "one album at Google");
    let items = g.fake.state().library_items();
    let mut names: Vec<&str> = items.iter().map(|i| i.filename.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "a photo was added twice");
    assert_eq!(albums[0].media_item_ids.len(), expected);
}

async fn album_of_120_clear_photos_takes_three_batch_creates_and_holds_each_once(backend: Backend) {
    let g = start(backend, 120, None).await;
    let browser = alice_with_clear_photos(&g, 120).await;
    g.fake.state().clear_requests();
    let album = create(&browser, json!({})).await;
    assert!(
        album["title"]
            .as_str()
            .unwrap()
            .starts_with("Unblurred Photos ")
    );
    assert_eq!(album["total"], 120);
    let done = settled(&browser, album["id"].as_i64().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["added"], 120);
    assert!(done["product_url"].as_str().is_some());
    assert_each_once(&g, 120);
    // Three batchCreate calls, of 50, 50 and 20 items, in that order.
    let sizes: Vec<String> = g
        .fake
        .state()
        .requests()
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::LibraryBatchCreate))
        .filter_map(|r| r.detail.clone())
        .collect();
    assert_eq!(sizes, ["items=50", "items=50", "items=20"]);
    // Requests spent: 1 album + 120 uploads + 3 batchCreate.
    let used = server::google::quota::LibraryQuota::used_today(
        g.app.deps.db.pool(),
        server::time::now_ms(),
    )
    .await
    .unwrap();
    assert_eq!(used, 124);
    // A list shows it; another user gets 404 for it.
    let (status, list) = browser.call(Method::GET, "/api/v1/albums", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let bob = g.sign_in("bob@example.com").await;
    let id = done["id"].as_i64().unwrap();
    for path in [
        format!("/api/v1/albums/{id}"),
        format!("/api/v1/albums/{id}/download"),
        format!("/api/v1/albums/{id}/events"),
    ] {
        let (status, body) = bob.call(Method::GET, &path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    g.stop().await;
}

async fn expired_links_are_skipped_and_a_429_storm_is_waited_out(backend: Backend) {
    let g = start(backend, 12, None).await;
    let browser = alice_with_clear_photos(&g, 12).await;
    let user_id = me(&browser).await;
    // Two photos' links ran out.
    sqlx::query("UPDATE photos SET base_url_expires_at = 1 WHERE user_id = $1 AND filename IN ('IMG_0003.jpg', 'IMG_0007.jpg')")
        .bind(user_id)
        .execute(g.app.deps.db.pool())
        .await
        .unwrap();
    // Six 429s with Retry-After: 1 s on uploads: more than one call's four attempts.
    g.fake
        .state()
        .fail_next(Endpoint::LibraryUpload, 429, 6, Some(1));
    let started = std::time::Instant::now();
    let album = create(&browser, json!({"title": "Trip"})).await;
    let done = settled(&browser, album["id"].as_i64().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["added"], 10);
    assert_eq!(done["skipped"], 2);
    let skipped: Vec<&Value> = done["items_page"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0]["reason"], "link expired — re-pick to include");
    // Every Retry-After was honoured: six one-second waits at least.
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_each_once(&g, 10);
    g.stop().await;
}

async fn per_item_failures_are_recorded_and_a_resume_retries_them(backend: Backend) {
    let g = start(backend, 8, None).await;
    let browser = alice_with_clear_photos(&g, 8).await;
    g.fake.state().fail_items_next_batch(&[1, 4], 13);
    let album = create(&browser, json!({})).await;
    let id = album["id"].as_i64().unwrap();
    let done = settled(&browser, id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["added"], 6);
    assert_eq!(done["failed"], 2);
    let failed: Vec<&Value> = done["items_page"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "failed")
        .collect();
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("error while trying to create")
    );
    // A done album is not resumable; the failures are retried on request once it failed or
    // paused, so force "failed" as a job that gave up would leave it.
    sqlx::query("UPDATE albums SET status = 'failed' WHERE id = $1")
        .bind(id)
        .execute(g.app.deps.db.pool())
        .await
        .unwrap();
    let (status, body) = browser
        .call(Method::POST, &format!("/api/v1/albums/{id}/resume"), None)
        .await;
    assert_eq!(status, 202, "{body}");
    let done = settled(&browser, id).await;
    assert_eq!(done["added"], 8, "{done}");
    assert_each_once(&g, 8);
    g.stop().await;
}

async fn the_daily_quota_pauses_the_album_and_a_resume_finishes_it(backend: Backend) {
    // 1 album + 60 uploads + 1 batchCreate fit; the second round's uploads do not.
    let g = start(backend, 70, Some(70)).await;
    let browser = alice_with_clear_photos(&g, 70).await;
    let album = create(&browser, json!({})).await;
    let id = album["id"].as_i64().unwrap();
    let paused = settled(&browser, id).await;
    assert_eq!(paused["status"], "paused", "{paused}");
    assert!(
        paused["error"].as_str().unwrap().contains("quota"),
        "{paused}"
    );
    assert!(paused["resume_at"].as_i64().unwrap() > server::time::now_ms());
    let added = paused["added"].as_i64().unwrap();
    assert!((1..70).contains(&added), "{paused}");
    // A new day: the counter starts again (here: yesterday's count is moved away).
    sqlx::query("DELETE FROM library_quota")
        .execute(g.app.deps.db.pool())
        .await
        .unwrap();
    let (status, body) = browser
        .call(Method::POST, &format!("/api/v1/albums/{id}/resume"), None)
        .await;
    assert_eq!(status, 202, "{body}");
    let done = settled(&browser, id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["added"], 70);
    assert_each_once(&g, 70);
    g.stop().await;
}

async fn a_collection_downloads_as_a_zip_and_another_user_reaches_nothing(backend: Backend) {
    let app = TestApp::spawn_with_workers(backend, 1).await;
    let files: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("p{i:02}.jpg"), jpeg(&scene(i, 64, 48))))
        .collect();
    for chunk in files.chunks(16) {
        let (status, body) = app.upload(chunk, None).await;
        assert_eq!(status, 201, "{body}");
    }
    let pool = app.deps.db.pool();
    sqlx::query("UPDATE photos SET is_blurred = 0, blur_score = 0.25, blur_type = 'none'")
        .execute(pool)
        .await
        .unwrap();
    // Bad requests answer 4xx JSON.
    for bad in [
        json!({"title": ""}),
        json!({"photo_ids": []}),
        json!({"nope": 1}),
        json!({"destination": "google_photos"}),
    ] {
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/albums/unblurred",
                None,
                Some(bad.clone()),
            )
            .await;
        assert!((400..500).contains(&status), "{bad}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let (status, album) = app
        .call(
            Method::POST,
            "/api/v1/albums/unblurred",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201, "{album}");
    assert_eq!(album["destination"], "download");
    assert_eq!(album["status"], "done");
    assert_eq!(album["added"], 20);
    let id = album["id"].as_i64().unwrap();
    let response = app.get(&format!("/api/v1/albums/{id}/download")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let names = zip_names(&bytes);
    assert_eq!(names.len(), 21, "{names:?}");
    assert!(names.contains(&"scores.csv".to_string()));
    for (name, _) in &files {
        assert!(names.contains(name), "{name} missing");
    }
    app.stop().await;
}

/// Entry names from a ZIP's central directory (signature 0x02014b50).
pub fn zip_names(zip: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = 0;
    while i + 46 <= zip.len() {
        if zip[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            let len = u16::from_le_bytes([zip[i + 28], zip[i + 29]]) as usize;
            let extra = u16::from_le_bytes([zip[i + 30], zip[i + 31]]) as usize;
            let comment = u16::from_le_bytes([zip[i + 32], zip[i + 33]]) as usize;
            names.push(String::from_utf8_lossy(&zip[i + 46..i + 46 + len]).into_owned());
            i += 46 + len + extra + comment;
        } else {
            i += 1;
        }
    }
    names
}
