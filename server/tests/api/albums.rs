//! Albums of clear photos (issue 13): a Google Photos album filled through the fake Google's
//! Library API (three `batchCreate`s of 50/50/20 for 120 photos, each photo once), the
//! incremental Library consent, expired links skipped, a 429 storm, per-item failures, the
//! daily quota pausing and resuming, and a collection's ZIP; another user reaches nothing.
//! Then, on PostgreSQL and Redis with real `classify worker` processes: workers killed with
//! SIGKILL at three points of one album (during uploads, between the uploads and
//! `batchCreate`, after `batchCreate` answered), each photo still in the album exactly once;
//! and a ZIP of 500 photos streamed by a `classify serve` process whose peak memory is read.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use fake_google::{Endpoint, HoldPoint, Options, Photo};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::fixtures::{jpeg, scene};
use crate::google_harness::{Browser, GoogleApp, location};
use crate::helpers::{Backend, TestApp, free_port, peak_rss_mib, serve_process, wait_healthy};
use crate::on_both_backends;

on_both_backends!(
    album_of_120_clear_photos_takes_three_batch_creates_and_holds_each_once,
    expired_links_are_skipped_and_a_429_storm_is_waited_out,
    per_item_failures_are_recorded_and_a_resume_retries_them,
    the_daily_quota_pauses_the_album_and_a_resume_finishes_it,
    a_collection_downloads_as_a_zip_and_another_user_reaches_nothing,
);

const ALICE: &str = "alice@example.com";
/// The Google request timeout of the worker processes: a resumed job waits this long (+1 s)
/// after a lost `batchCreate` before it reads the album back.
const WORKER_GOOGLE_TIMEOUT_SECS: u64 = 2;
/// The job lease of these tests: a killed worker's job is taken over this soon.
const LEASE_SECS: u64 = 3;

/// A fake Google with `n` distinct small JPEGs, and a server using it.
async fn start(backend: Backend, n: usize, quota: Option<u64>) -> GoogleApp {
    start_with_workers(backend, n, quota, 1).await
}

async fn start_with_workers(
    backend: Backend,
    n: usize,
    quota: Option<u64>,
    workers: usize,
) -> GoogleApp {
    let photos = (0..n)
        .map(|i| {
            Photo::from_bytes(&format!("IMG_{i:04}.jpg"), jpeg(&scene(i as u64, 96, 64))).unwrap()
        })
        .collect();
    let options = Options {
        photos,
        ..Options::default()
    };
    GoogleApp::start_with(backend, workers, options, |args, _| {
        args.google.google_timeout_secs = 5;
        args.storage.job_timeout_secs = LEASE_SECS;
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

/// The album at Google holds exactly photos `0..n`, each once, and the database says each is
/// `added` with the media item Google made for it.
async fn assert_album_holds_each_once(g: &GoogleApp, album_id: i64, n: usize) {
    let albums = g.fake.state().albums();
    assert_eq!(albums.len(), 1, "one album at Google: {albums:?}");
    let items = g.fake.state().library_items();
    let in_album: Vec<(&str, &str)> = albums[0]
        .media_item_ids
        .iter()
        .map(|id| {
            let item = items.iter().find(|i| &i.id == id).unwrap();
            (item.filename.as_str(), item.id.as_str())
        })
        .collect();
    let names: BTreeSet<&str> = in_album.iter().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), in_album.len(), "a photo is in the album twice");
    let expected: BTreeSet<String> = (0..n).map(|i| format!("IMG_{i:04}.jpg")).collect();
    assert_eq!(
        names,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    // Nothing was created outside the album either.
    assert_eq!(items.len(), n, "items made at Google");
    let stored: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT file_name, status, media_item_id FROM album_items WHERE album_id = $1",
    )
    .bind(album_id)
    .fetch_all(g.app.deps.db.pool())
    .await
    .unwrap();
    assert_eq!(stored.len(), n);
    for (name, status, media) in stored {
        assert_eq!(status, "added", "{name}");
        let at_google = in_album.iter().find(|(n, _)| *n == name).map(|(_, id)| *id);
        assert_eq!(media.as_deref(), at_google, "{name}: the stored media item");
    }
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
    // Six 429s with Retry-After: 1 s on uploads: more than the four uploads in flight get, so
    // some are refused twice.
    g.fake
        .state()
        .fail_next(Endpoint::LibraryUpload, 429, 6, Some(1));
    g.fake.state().clear_requests();
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
    // Every Retry-After was honoured: no upload got through until a second after the first
    // refusal (the backoff alone would retry after 250 ms).
    let uploads: Vec<(bool, u64)> = g
        .fake
        .state()
        .requests()
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::LibraryUpload))
        .map(|r| (r.injected, r.at_ms))
        .collect();
    let refused: Vec<u64> = uploads.iter().filter(|u| u.0).map(|u| u.1).collect();
    assert_eq!(refused.len(), 6, "{uploads:?}");
    let first_refusal = refused.iter().min().copied().unwrap();
    let first_success = uploads.iter().filter(|u| !u.0).map(|u| u.1).min().unwrap();
    assert!(first_success >= first_refusal + 1000, "{uploads:?}");
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
    let entries = zip_entries(&bytes);
    assert_eq!(entries.len(), 21, "{:?}", entries.keys());
    assert!(entries.contains_key("scores.csv"));
    for (name, original) in &files {
        assert!(
            entries.get(name.as_str()) == Some(&original.as_slice()),
            "{name}"
        );
    }
    app.stop().await;
}

/// A `classify worker` process of one consumer on the app's database, queue, data folder
/// (the token key) and fake Google.
fn album_worker(g: &GoogleApp) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_classify"));
    command
        .args(["worker", "--workers", "1"])
        .env("DATABASE_URL", g.app.services_database_url())
        .env("REDIS_URL", g.app.redis_url())
        .env("CLASSIFY_REDIS_PREFIX", g.app.redis_prefix())
        .env("CLASSIFY_DATA_DIR", g.app.data_dir())
        .env("CLASSIFY_JOB_TIMEOUT_SECS", LEASE_SECS.to_string())
        .env(
            "CLASSIFY_GOOGLE_TIMEOUT_SECS",
            WORKER_GOOGLE_TIMEOUT_SECS.to_string(),
        )
        .env_remove("CLASSIFY_LIBRARY_DAILY_QUOTA")
        .env("RUST_LOG", "warn")
        .envs(g.fake.env_vars())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command.spawn().unwrap()
}

/// SIGKILL: the worker gets no chance to store or hand back anything.
async fn kill(worker: &mut Child) {
    worker.start_kill().unwrap();
    worker.wait().await.unwrap();
}

/// Waits for a held request to arrive at the fake (30 s at most).
async fn held(hold: &fake_google::HeldRequest, what: &str) {
    tokio::time::timeout(Duration::from_secs(30), hold.reached())
        .await
        .unwrap_or_else(|_| panic!("no {what} reached Google"));
}

/// How many of the album's items are in each stored state.
async fn item_states(g: &GoogleApp, album_id: i64) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM album_items WHERE album_id = $1 GROUP BY status",
    )
    .bind(album_id)
    .fetch_all(g.app.deps.db.pool())
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// One album of 70 photos (two rounds: 50 + 20), and a worker process killed three times:
/// while an upload is at Google; when `batchCreate` has reached Google but not been carried
/// out (the uploads are done, nothing is created); when `batchCreate` was carried out but its
/// answer never came back. A fourth worker finishes it: every photo in the album once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn album_workers_killed_at_three_points_leave_each_photo_in_the_album_once() {
    const N: usize = 70;
    // The server runs no worker: worker processes do all the album's work.
    let g = start_with_workers(Backend::Services, N, None, 0).await;
    let browser = alice_with_clear_photos(&g, N).await;
    let control = g.fake.state();

    // 1. During the uploads: one upload is at Google when the worker dies.
    let hold = control.hold_next(Endpoint::LibraryUpload, HoldPoint::Before);
    let mut worker = album_worker(&g);
    let album = create(&browser, json!({"title": "Killed thrice"})).await;
    let id = album["id"].as_i64().unwrap();
    held(&hold, "upload").await;
    kill(&mut worker).await;
    hold.release();
    assert_eq!(control.albums().len(), 1, "the album exists at Google");
    assert!(control.library_items().is_empty());
    let states = item_states(&g, id).await;
    eprintln!("killed during uploads: {states:?}");
    // Uploads that finished are kept (their tokens live a day); the held one is not.
    let pending = states.get("pending").copied().unwrap_or(0);
    let uploaded = states.get("uploaded").copied().unwrap_or(0);
    assert!(pending >= 1, "{states:?}");
    assert_eq!(pending + uploaded, N as i64, "{states:?}");

    // 2. Between the uploads and batchCreate: the call reached Google, which has not carried
    // it out when the worker dies.
    let hold = control.hold_next(Endpoint::LibraryBatchCreate, HoldPoint::Before);
    let mut worker = album_worker(&g);
    held(&hold, "batchCreate").await;
    kill(&mut worker).await;
    let states = item_states(&g, id).await;
    eprintln!("killed before batchCreate was carried out: {states:?}");
    assert_eq!(states.get("creating"), Some(&50), "{states:?}");
    assert!(control.library_items().is_empty());
    // Google may still carry out the request of a dead client (here it runs now, or never):
    // the next worker must not trust either way before it has read the album back.
    hold.release();

    // 3. After batchCreate answered: Google created the items, the answer never arrived.
    let hold = control.hold_next(Endpoint::LibraryBatchCreate, HoldPoint::After);
    let mut worker = album_worker(&g);
    held(&hold, "batchCreate").await;
    let at_google = control.library_items().len();
    assert!(
        at_google >= 20,
        "batchCreate was carried out: {at_google} items"
    );
    kill(&mut worker).await;
    hold.release();
    let states = item_states(&g, id).await;
    eprintln!("killed after batchCreate answered ({at_google} items at Google): {states:?}");
    assert!(
        states.get("creating").is_some_and(|n| *n >= 20),
        "{states:?}"
    );
    assert!(
        states.get("added").copied().unwrap_or(0) < at_google as i64,
        "the answer was stored: {states:?}"
    );

    // 4. Another worker reads the album back and finishes the job.
    let mut worker = album_worker(&g);
    let done = settled(&browser, id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["added"], N, "{done}");
    assert_eq!(done["failed"], 0, "{done}");
    assert_album_holds_each_once(&g, id, N).await;
    let search = control.count(Endpoint::LibrarySearch);
    // Every request sent, as the quota counted it (the fake logs only answered ones).
    let spent = server::google::quota::LibraryQuota::used_today(
        g.app.deps.db.pool(),
        server::time::now_ms(),
    )
    .await
    .unwrap();
    eprintln!(
        "after three SIGKILLs: {N} photos added once each; {spent} Library requests sent ({:.2} a photo; {N} + 2 batchCreate + 1 album would be {}), {search} album reads",
        spent as f64 / N as f64,
        N + 3,
    );
    assert!(
        search >= 2,
        "each lost batchCreate was checked against the album"
    );
    kill(&mut worker).await;
    g.stop().await;
}

/// Photo `i` of the ZIP test: a small real JPEG (every third one defocused) padded after its
/// end marker to `ZIP_PHOTO_BYTES` with bytes of its own, so the archive is large while the
/// photos stay cheap to make and to verify.
fn zip_photo(i: u64) -> Vec<u8> {
    let img = scene(i, 128, 96);
    let img = if i.is_multiple_of(3) {
        image::imageops::blur(&img, 4.0)
    } else {
        img
    };
    let mut bytes = jpeg(&img);
    let mut block = 0_u64;
    while bytes.len() < ZIP_PHOTO_BYTES {
        let len = (ZIP_PHOTO_BYTES - bytes.len()).min(4096);
        let fill = ((i * 7 + block) % 251) as u8;
        bytes.resize(bytes.len() + len, fill);
        block += 1;
    }
    bytes
}

const ZIP_PHOTO_BYTES: usize = 384 * 1024;

/// Sets the process's peak RSS back to its current RSS (`5` to /proc/PID/clear_refs, Linux),
/// so the next `VmHWM` read measures only what follows.
fn reset_peak_rss(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
}

/// A collection of 500 photos (≈ 190 MiB) downloaded as one ZIP from a `classify serve`
/// process (local mode): every original is in it byte for byte, `scores.csv` holds each
/// file's verified score and blur type as the API shows them, and the server's memory
/// during the download stays flat (its peak RSS is read from the kernel).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_of_500_photos_streams_in_bounded_memory_with_every_file_and_its_score() {
    const N: u64 = 500;
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // One worker verifies the photos, so the CSV has scores to show.
    let mut serve = serve_process(data_dir.path(), port, 1);
    wait_healthy(&base).await;
    let pid = serve.id().unwrap();
    let http = reqwest::Client::new();

    // Upload, four at a time; names are unique, so the ZIP keeps them.
    let ids: Vec<(u64, i64)> = futures_util::stream::iter(0..N)
        .map(|i| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let name = format!("z{i:03}.jpg");
                (
                    i,
                    crate::helpers::upload_one(&http, &base, zip_photo(i), &name).await,
                )
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let (status, batch) = json_call(
        &http,
        Method::POST,
        &format!("{base}/api/v1/blur/analyze-batch"),
        Some(json!({"filter": "all"})),
    )
    .await;
    assert_eq!(status, 202, "{batch}");
    let batch_id = batch["batch_id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let (_, p) = json_call(
            &http,
            Method::GET,
            &format!("{base}/api/v1/blur/jobs/{batch_id}"),
            None,
        )
        .await;
        if p["status"] == "done" {
            assert_eq!(p["done"], N, "{p}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "verification stuck: {p}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // What the API says of each photo: the CSV must say the same.
    let mut shown: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/photos?limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = json_call(&http, Method::GET, &url, None).await;
        assert_eq!(status, 200, "{page}");
        for p in page["items"].as_array().unwrap() {
            let score = format!("{:.4}", p["blur_score"].as_f64().unwrap());
            let kind = p["blur_type"].as_str().unwrap().to_string();
            shown.insert(p["filename"].as_str().unwrap().to_string(), (score, kind));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(shown.len(), N as usize);
    let kinds: BTreeSet<&str> = shown.values().map(|(_, k)| k.as_str()).collect();
    assert!(kinds.len() >= 2, "clear and blurred photos both: {kinds:?}");

    let photo_ids: Vec<i64> = ids.iter().map(|(_, id)| *id).collect();
    let (status, album) = json_call(
        &http,
        Method::POST,
        &format!("{base}/api/v1/albums/unblurred"),
        Some(json!({"title": "Five hundred", "photo_ids": photo_ids})),
    )
    .await;
    assert_eq!(status, 201, "{album}");
    assert_eq!(album["destination"], "download");
    assert_eq!(album["total"], N);

    // The download, written to a file as it arrives; the server's peak measured over it.
    let before = current_rss_mib(pid);
    reset_peak_rss(pid);
    let started = std::time::Instant::now();
    let mut response = http
        .get(format!("{base}{}", album["download_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let zip_path = data_dir.path().join("download.zip");
    let mut file = std::fs::File::create(&zip_path).unwrap();
    let mut size = 0_u64;
    while let Some(chunk) = response.chunk().await.unwrap() {
        std::io::Write::write_all(&mut file, &chunk).unwrap();
        size += chunk.len() as u64;
    }
    drop(file);
    let peak = peak_rss_mib(pid);
    eprintln!(
        "ZIP of {N} photos: {:.0} MiB in {:.1} s; server RSS {before:.0} MiB before, peak {peak:.0} MiB during the download",
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    assert!(size > N * ZIP_PHOTO_BYTES as u64, "{size} bytes");
    // A server that held the archive (or one photo per entry for long) would grow by far
    // more than the 190 MiB sent; streaming keeps it within a few buffers.
    assert!(
        peak <= before + 32.0,
        "peak RSS {peak:.0} MiB during the download, {before:.0} MiB before"
    );

    // Every file, byte for byte, and the CSV.
    let zip = std::fs::read(&zip_path).unwrap();
    let entries = zip_entries(&zip);
    assert_eq!(entries.len(), N as usize + 1, "the photos and the CSV");
    for (i, _) in &ids {
        let name = format!("z{i:03}.jpg");
        let data = entries
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is missing"));
        assert!(*data == zip_photo(*i).as_slice(), "{name} differs");
    }
    let csv = std::str::from_utf8(entries["scores.csv"]).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("file,score,type"));
    let rows: BTreeMap<String, (String, String)> = lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), 3, "{line}");
            (
                cells[0].to_string(),
                (cells[1].to_string(), cells[2].to_string()),
            )
        })
        .collect();
    assert_eq!(rows, shown, "scores.csv against the API");
    serve.start_kill().unwrap();
    let _ = serve.wait().await;
}

async fn json_call(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A process's resident memory now, in MiB (`VmRSS`).
fn current_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

/// Each stored entry of a ZIP by name, read through its central directory (ZIP64 sizes and
/// offsets included): the bytes a reader would extract.
fn zip_entries(zip: &[u8]) -> BTreeMap<String, &[u8]> {
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([zip[i], zip[i + 1]]));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes(zip[i..i + 4].try_into().unwrap()));
    let u64_at = |i: usize| u64::from_le_bytes(zip[i..i + 8].try_into().unwrap());
    // The end of central directory record (no comment), or its ZIP64 form.
    let eocd = zip.len() - 22;
    assert_eq!(u32_at(eocd), 0x0605_4b50, "end of central directory");
    let (mut count, mut at) = (u16_at(eocd + 10), u32_at(eocd + 16));
    if at == 0xFFFF_FFFF || count == 0xFFFF {
        let locator = eocd - 20;
        assert_eq!(u32_at(locator), 0x0706_4b50, "ZIP64 locator");
        let record = u64_at(locator + 8) as usize;
        assert_eq!(u32_at(record), 0x0606_4b50, "ZIP64 end record");
        count = u64_at(record + 32);
        at = u64_at(record + 48);
    }
    let mut at = at as usize;
    let mut entries = BTreeMap::new();
    for _ in 0..count {
        assert_eq!(u32_at(at), 0x0201_4b50, "central directory entry");
        assert_eq!(u16_at(at + 10), 0, "stored, not deflated");
        let (mut size, mut offset) = (u32_at(at + 20), u32_at(at + 42));
        let (name_len, extra_len, comment_len) = (
            u16_at(at + 28) as usize,
            u16_at(at + 30) as usize,
            u16_at(at + 32) as usize,
        );
        let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
        // The ZIP64 extra field holds, in order, the sizes and offset that are 0xFFFFFFFF.
        let mut extra = at + 46 + name_len;
        let extra_end = extra + extra_len;
        while extra + 4 <= extra_end {
            let (id, len) = (u16_at(extra), u16_at(extra + 2) as usize);
            if id == 1 {
                let mut field = extra + 4;
                let uncompressed = u32_at(at + 24);
                if uncompressed == 0xFFFF_FFFF {
                    field += 8;
                }
                if size == 0xFFFF_FFFF {
                    size = u64_at(field);
                    field += 8;
                }
                if offset == 0xFFFF_FFFF {
                    offset = u64_at(field);
                }
            }
            extra += 4 + len;
        }
        let local = offset as usize;
        assert_eq!(u32_at(local), 0x0403_4b50, "{name}: local header");
        let data = local + 30 + u16_at(local + 26) as usize + u16_at(local + 28) as usize;
        entries.insert(name, &zip[data..data + size as usize]);
        at += 46 + name_len + extra_len + comment_len;
    }
    entries
}
