//! The limits of the upload path (issue 10, items 13 and 17): files per request, the per-file
//! and body size limits (a 413 that reaches a client still sending), long URLs (414), and the
//! per-user quotas. A refused request leaves nothing behind: no row, no blob, no staged file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fixtures::sharp_jpeg;
use crate::helpers::{Backend, TestApp, storage};
use crate::on_both_backends;

on_both_backends!(
    more_than_16_files_are_refused_with_413_and_nothing_is_stored,
    uploads_past_a_quota_are_refused_and_nothing_of_them_is_stored,
);

/// A valid JPEG of exactly `len` bytes: a small photo, then `seed`-dependent bytes after its
/// end marker (the header checks pass; the bytes differ per seed, so no two are duplicates).
pub fn padded_jpeg(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = sharp_jpeg(seed % 7);
    assert!(bytes.len() <= len);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    bytes.extend((bytes.len()..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    }));
    bytes
}

/// Files under the blob folder: (originals, staged leftovers).
fn stored_files(app: &TestApp) -> (usize, usize) {
    let count = |dir: std::path::PathBuf| {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .count()
    };
    let blobs = app.data_dir().join("blobs");
    (
        count(blobs.join("originals")),
        count(blobs.join(".staging")),
    )
}

async fn photo_count(app: &TestApp, token: Option<&str>) -> usize {
    let (status, body) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/photos?limit=200",
            token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().len()
}

async fn more_than_16_files_are_refused_with_413_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let files: Vec<(String, Vec<u8>)> = (0..17)
        .map(|i| (format!("f{i}.jpg"), padded_jpeg(i, 200_000)))
        .collect();
    let (status, body) = app.upload(&files, None).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 16 files"),
        "{body}"
    );
    assert_eq!(photo_count(&app, None).await, 0);
    assert_eq!(stored_files(&app), (0, 0));
    // Sixteen is the cap, not over it.
    let (status, body) = app.upload(&files[..16], None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 16, "{body}");
    assert_eq!(stored_files(&app), (16, 0));
    app.stop().await;
}

async fn uploads_past_a_quota_are_refused_and_nothing_of_them_is_stored(backend: Backend) {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(backend, data_dir.path().to_path_buf()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.quota.quota_photos = 3;
        args.quota.quota_storage_mib = 2;
    })
    .await;
    let file = |i: u64| (format!("p{i}.jpg"), padded_jpeg(i, 100_000));
    let (status, body) = app.upload(&[file(1), file(2)], None).await;
    assert_eq!(status, 201, "{body}");
    // A request that crosses the photo quota: the files before it are stored, in order.
    let (status, body) = app.upload(&[file(3), file(4)], None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["rejected"][0]["filename"], "p4.jpg", "{body}");
    assert_eq!(body["rejected"][0]["code"], "quota_exceeded", "{body}");
    // At the quota: a duplicate costs nothing, a new photo is refused with 409.
    let (status, body) = app.upload(&[file(1)], None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["duplicates"].as_array().unwrap().len(), 1, "{body}");
    let (status, body) = app.upload(&[file(5)], None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("p5.jpg") && message.contains('3'),
        "{message}"
    );
    assert_eq!(body["rejected"][0]["filename"], "p5.jpg", "{body}");
    assert_eq!(photo_count(&app, None).await, 3);
    assert_eq!(stored_files(&app), (3, 0));

    // The storage quota (2 MiB), for another user: 1.5 MB fits, 1.5 MB more does not.
    let (_, token) = app.new_user("quota").await;
    let big = |i: u64| (format!("big{i}.jpg"), padded_jpeg(100 + i, 1_500_000));
    let (status, body) = app.upload(&[big(1)], Some(&token)).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app.upload(&[big(2)], Some(&token)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded", "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("2 MiB"),
        "{body}"
    );

    // Parallel uploads of one user are counted one after another: with room for one more
    // photo, eight at once store exactly one.
    let (_, token) = app.new_user("racer").await;
    let (status, body) = app.upload(&[file(20), file(21)], Some(&token)).await;
    assert_eq!(status, 201, "{body}");
    let app = Arc::new(app);
    let racers = (0..8u64).map(|i| {
        let (app, token) = (app.clone(), token.clone());
        tokio::spawn(async move { app.upload(&[file(30 + i)], Some(&token)).await.0 })
    });
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(photo_count(&app, Some(&token)).await, 3);
    let Ok(app) = Arc::try_unwrap(app) else {
        panic!("the racers are done")
    };
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_1_1_gb_file_gets_413_naming_the_file_limit() {
    let app = TestApp::spawn(Backend::Embedded).await;
    // 1.1 GB made as it is sent (never held), counting what the client got to send.
    const TOTAL: u64 = 1_100_000_000;
    const CHUNK: usize = 1 << 20;
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let head = sharp_jpeg(1);
    let chunks = futures_util::stream::unfold(0u64, move |at| {
        let counter = counter.clone();
        let head = head.clone();
        async move {
            if at >= TOTAL {
                return None;
            }
            let mut chunk = if at == 0 { head } else { Vec::new() };
            chunk.resize(CHUNK.min((TOTAL - at) as usize), 0x5a);
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            Some((
                Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)),
                at + CHUNK as u64,
            ))
        }
    });
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(chunks), TOTAL)
            .file_name("huge.jpg");
    let response = app
        .request(reqwest::Method::POST, "/api/v1/photos", None)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("the client gets the answer, not a connection reset");
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("huge.jpg") && message.contains("64 MiB"),
        "{message}"
    );
    assert!(!message.contains("files"), "{message}");
    assert_eq!(body["rejected"][0]["filename"], "huge.jpg", "{body}");
    // The server read the file limit, then lingered a bounded while: far from all of it.
    let sent = sent.load(Ordering::Relaxed);
    eprintln!("the client sent {} MB of 1100", sent / 1_000_000);
    assert!(sent < 400_000_000, "sent {sent}");
    assert_eq!(stored_files(&app), (0, 0));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_its_limit_is_413_naming_the_limit() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    // 1 MiB per file: the body limit is 16 files and 1 MiB of part headers, 17 MiB.
    storage.limits.max_file_mib = 1;
    let app = TestApp::spawn_with(storage, data_dir, |_| {}).await;
    // A file and 20 MiB in a part that is not a file: the body limit strikes inside a part.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(sharp_jpeg(1)).file_name("ok.jpg"),
        )
        .part(
            "notes",
            reqwest::multipart::Part::bytes(vec![b'n'; 20 << 20]),
        );
    let response = app
        .request(reqwest::Method::POST, "/api/v1/photos", None)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than the 17 MiB allowed"),
        "{body}"
    );
    assert_eq!(stored_files(&app), (0, 0));
    // One file over the 1 MiB limit, among good ones: refused by name, nothing stored.
    let (status, body) = app
        .upload(
            &[
                ("a.jpg".into(), sharp_jpeg(2)),
                ("big.jpg".into(), padded_jpeg(3, 2 << 20)),
            ],
            None,
        )
        .await;
    assert_eq!(status, 413, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("big.jpg") && message.contains("1 MiB"),
        "{message}"
    );
    assert_eq!(stored_files(&app), (0, 0));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_over_64_kib_answers_414_in_the_json_shape() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn(Backend::Embedded).await;
    // Over the 64 KiB hyper reads (reqwest will not even build such a URL): a raw request.
    for path in [
        format!("/api/v1/photos?filter=all&x={}", "a".repeat(100_000)),
        format!("/{}", "b".repeat(70_000)),
    ] {
        let addr = app.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut answer),
        )
        .await
        .unwrap()
        .unwrap();
        let answer = String::from_utf8_lossy(&answer).to_string();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 "), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "uri_too_long", "{body}");
    }
    // The server still serves.
    assert_eq!(app.get("/health").await.status(), 200);
    app.stop().await;
}

/// A client that sends its whole body before it reads (simple scripts do): the server answers
/// at the first MiB of an over-size file, then reads on past its answer, so the client's
/// writes succeed and it reads the 413 (closing at once would reset the connection under it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_only_after_sending_gets_the_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    storage.limits.max_file_mib = 1;
    let app = TestApp::spawn_with(storage, data_dir, |_| {}).await;
    let boundary = "classify-linger-test";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&padded_jpeg(1, 6 << 20));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/v1/photos HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&body)
        .await
        .expect("the server reads the whole body");
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .unwrap()
    .expect("the answer, not a connection reset");
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 413 "), "{head}");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    app.stop().await;
}
