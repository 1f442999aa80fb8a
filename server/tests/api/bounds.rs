//! Issue 10, items 8, 10 and 14: decodes share one memory budget and a photo's derived image is
//! rendered once at a time; progress streams are capped per user, end after their lifetime and
//! at shutdown.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::fixtures;
use crate::helpers::{
    Backend, TestApp, free_port, peak_rss_mib, serve_process, serve_process_with, upload_one,
    wait_healthy,
};
use crate::on_both_backends;

on_both_backends!(progress_streams_are_capped_per_user_and_end_after_their_lifetime,);

/// An 8000×8000 16-bit RGB PNG: under 1 MB on disk, 384 MB once decoded, 640 MB for the
/// kernel's luma (with the 8-bit copy).
fn wide_png() -> Vec<u8> {
    let (w, h) = (8000u32, 8000u32);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Sixteen);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let mut row = vec![0u8; w as usize * 6];
    for y in 0..h {
        for (x, px) in row.chunks_exact_mut(6).enumerate() {
            let v = (((x as u32 / 64 + y / 64) % 2) * 40000) as u16;
            px[0..2].copy_from_slice(&v.to_be_bytes());
        }
        std::io::Write::write_all(&mut stream, &row).unwrap();
    }
    stream.finish().unwrap();
    drop(writer);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_images_decode_within_the_budget_once_at_a_time() {
    let photo = tokio::task::spawn_blocking(wide_png).await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // A budget that holds one thumbnail render (392 MiB) but not the kernel's decode (648 MiB).
    let mut server = serve_process_with(
        data_dir.path(),
        port,
        1,
        &[("CLASSIFY_DECODE_MEMORY_MIB", "450")],
    );
    wait_healthy(&base).await;
    let pid = server.id().unwrap();
    let http = reqwest::Client::new();
    let id = upload_one(&http, &base, photo, "wide.png").await;

    // Four thumbnails and four analysis images at once: before, each decoded the photo itself
    // (4 × 384 MB + 4 × 640 MB).
    let mut requests = Vec::new();
    for size in ["thumb", "analysis"].repeat(4) {
        let (http, url) = (
            http.clone(),
            format!("{base}/api/v1/photos/{id}/image?size={size}"),
        );
        requests.push(tokio::spawn(async move {
            let response = http.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            (size, status, response.text().await.unwrap_or_default())
        }));
    }
    for request in requests {
        let (size, status, body) = request.await.unwrap();
        match size {
            "thumb" => assert_eq!(status, 200, "{body}"),
            _ => {
                assert_eq!(status, 422, "{body}");
                assert!(body.contains("CLASSIFY_DECODE_MEMORY_MIB"), "{body}");
            }
        }
    }
    // The worker's verification fails this photo's job with the reason, and keeps working.
    let queued = http
        .post(format!("{base}/api/v1/photos/{id}/analyze"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(queued, 202);
    let photo_row = loop {
        let row: serde_json::Value = http
            .get(format!("{base}/api/v1/photos/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if row["status"] == "failed" {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        photo_row.to_string().contains("decode budget"),
        "{photo_row}"
    );
    let peak = peak_rss_mib(pid);
    eprintln!("8000x8000 16-bit PNG, 4 thumbs + 4 analysis + the worker: peak RSS {peak:.0} MiB");
    assert!(peak < 450.0 + 150.0, "peak RSS {peak:.0} MiB");
    server.start_kill().unwrap();
    let _ = server.wait().await;
}

/// Opens the progress stream of `batch` and returns its response once the headers arrived.
async fn open_stream(app: &TestApp, batch: i64, token: Option<&str>) -> reqwest::Response {
    app.request(
        Method::GET,
        &format!("/api/v1/blur/jobs/{batch}/events"),
        token,
    )
    .send()
    .await
    .unwrap()
}

/// Uploads a photo for the bearer of `token` and queues it (no worker runs, so the batch stays
/// open); returns the batch id.
async fn open_batch(app: &TestApp, token: Option<&str>, seed: u64) -> i64 {
    let (status, body) = app
        .upload(
            &[(format!("s{seed}.jpg"), fixtures::sharp_jpeg(seed))],
            token,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, accepted) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            token,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    accepted["batch_id"]
        .as_i64()
        .or_else(|| accepted["job_id"].as_i64())
        .unwrap()
}

async fn progress_streams_are_capped_per_user_and_end_after_their_lifetime(backend: Backend) {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = crate::helpers::storage(backend, data_dir.path().to_path_buf()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.max_streams_per_user = 2;
        args.stream_max_secs = 2;
    })
    .await;
    let (_, hana) = app.new_user("hana").await;
    let (_, ivan) = app.new_user("ivan").await;
    let batch = open_batch(&app, Some(&hana), 1).await;
    let ivans = open_batch(&app, Some(&ivan), 2).await;

    let first = open_stream(&app, batch, Some(&hana)).await;
    let second = open_stream(&app, batch, Some(&hana)).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open_stream(&app, batch, Some(&hana)).await;
    assert_eq!(third.status(), 429);
    let err: serde_json::Value = third.json().await.unwrap();
    assert_eq!(err["error"]["code"], "too_many_requests", "{err}");
    // The cap is per user: Ivan is not held up by Hana's streams.
    let other = open_stream(&app, ivans, Some(&ivan)).await;
    assert_eq!(other.status(), 200);

    // The batch never finishes (no worker), yet each stream ends after its lifetime, having
    // sent the progress first; then the slots are free again.
    let started = tokio::time::Instant::now();
    for mut stream in [first, second] {
        let mut text = String::new();
        while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("the stream outlived its lifetime")
            .unwrap()
        {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(text.contains("event: progress"), "{text}");
    }
    assert!(started.elapsed() < Duration::from_secs(6));
    let reopened = crate::helpers::eventually(10, || async {
        open_stream(&app, batch, Some(&hana)).await.status() == 200
    })
    .await;
    assert!(reopened, "the ended streams still count against the cap");
    drop(other);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_progress_stream_does_not_hold_shutdown() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve_process(data_dir.path(), port, 0);
    wait_healthy(&base).await;
    let http = reqwest::Client::new();
    upload_one(&http, &base, fixtures::sharp_jpeg(3), "a.jpg").await;
    let accepted: serde_json::Value = http
        .post(format!("{base}/api/v1/blur/analyze-batch"))
        .json(&json!({"filter": "all"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let batch = accepted["batch_id"]
        .as_i64()
        .or_else(|| accepted["job_id"].as_i64())
        .unwrap();
    let stream = http
        .get(format!("{base}/api/v1/blur/jobs/{batch}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    let pid = server.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = tokio::time::Instant::now();
    let exit = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("an open event stream held the server past 10 s after SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    eprintln!(
        "exited {:?} after SIGTERM with a stream open",
        started.elapsed()
    );
    // The stream ended rather than being cut mid-event.
    let body = tokio::time::timeout(Duration::from_secs(5), stream.text())
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(body.contains("event: progress"), "{body}");
}
