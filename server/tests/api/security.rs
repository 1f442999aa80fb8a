//! The hardening of issue 10 that HTTP shows: local mode's host rule on every route (DNS
//! rebinding), refusing local mode on a public address, browser security headers, bounded
//! metric labels, the header-read timeout and the error bodies of over-size requests.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Backend, TestApp, storage};
use crate::on_both_backends;

on_both_backends!(
    a_rebound_host_reaches_no_route_in_local_mode,
    uploaded_filenames_lose_bidirectional_and_invisible_characters,
);

/// Sends raw bytes on a new connection and returns the status line's code (0 when the server
/// closed without answering).
async fn raw_status(app: &TestApp, request: &[u8]) -> u16 {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

async fn a_rebound_host_reaches_no_route_in_local_mode(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let rebound = format!("rebound.example:{port}");
    let rebound_origin = format!("http://{rebound}");

    // What a rebinding page sends: its own name as Host, a matching Origin, same-origin.
    let grant = || {
        app.request(Method::POST, "/api/v1/auth/token", None)
            .json(&json!({"grant_type": "local"}))
    };
    let response = grant()
        .header("host", &rebound)
        .header("origin", &rebound_origin)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let err: serde_json::Value = response.json().await.unwrap();
    assert_eq!(err["error"]["code"], "forbidden", "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CLASSIFY_ALLOWED_HOSTS"),
        "{err}"
    );

    // A token obtained on loopback does not open the API to the rebound name either.
    let pair: serde_json::Value = grant().send().await.unwrap().json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap().to_string();
    let paths = [
        "/api/v1/photos",
        "/api/v1/auth/me",
        "/health/services",
        "/health/ready",
        "/metrics",
        "/api/docs/",
        "/api/openapi.json",
        "/",
        "/index.html",
    ];
    for path in paths {
        for token in [None, Some(access.as_str())] {
            let response = app
                .request(Method::GET, path, token)
                .header("host", &rebound)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status().as_u16(),
                403,
                "{path} (token: {})",
                token.is_some()
            );
        }
        // The same request by this machine's names passes the rule.
        for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
            let response = app
                .request(Method::GET, path, Some(&access))
                .header("host", &host)
                .send()
                .await
                .unwrap();
            assert_ne!(response.status().as_u16(), 403, "{path} as {host}");
        }
    }
    // A missing or unparsable Host is not loopback.
    for request in [
        "GET /api/v1/photos HTTP/1.0\r\n\r\n".to_string(),
        "GET /health/services HTTP/1.0\r\n\r\n".to_string(),
        "GET /api/v1/photos HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n".to_string(),
        format!(
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1@evil.example:{port}\r\nConnection: close\r\n\r\n"
        ),
    ] {
        let status = raw_status(&app, request.as_bytes()).await;
        assert!(
            status == 403 || status == 400,
            "{request:?} answered {status}"
        );
    }
    // Liveness stays open to any name: it says only "ok", and probes call it by any address.
    let response = app
        .request(Method::GET, "/health", None)
        .header("host", &rebound)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_extend_the_local_host_rule() {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.allowed_hosts = vec!["Photos.LAN".into()];
    })
    .await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    for (host, expected) in [
        (format!("photos.lan:{port}"), 200),
        ("PHOTOS.lan".to_string(), 200),
        (format!("other.lan:{port}"), 403),
        (format!("localhost:{port}"), 200),
    ] {
        let response = app
            .request(Method::GET, "/api/v1/photos", None)
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{host}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_refuses_a_public_address_unless_allowed() {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    let deps = server::app::Deps::connect(&storage).await.unwrap();
    let mut args = server::config::ServeArgs::new(storage);
    args.addr = "0.0.0.0:0".parse().unwrap();
    let err = server::cli::serve::Server::with_deps(&args, deps.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("CLASSIFY_ALLOW_PUBLIC_LOCAL_MODE"), "{err}");
    args.allow_public_local_mode = true;
    let server = server::cli::serve::Server::with_deps(&args, deps.clone())
        .await
        .unwrap();
    assert!(server.local_addr().unwrap().ip().is_unspecified());
    drop(server);
    deps.db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_browser_security_headers() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let (status, body) = app
        .upload(&[("a.jpg".into(), crate::fixtures::sharp_jpeg(1))], None)
        .await;
    assert_eq!(status, 201, "{body}");
    let photo = body["items"][0]["id"].as_i64().unwrap();
    for path in [
        "/".to_string(),
        "/api/v1/photos".to_string(),
        format!("/api/v1/photos/{photo}/image?size=original"),
        "/api/v1/no-such-thing".to_string(),
        "/api/docs/".to_string(),
        "/metrics".to_string(),
    ] {
        let response = app.get(&path).await;
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .unwrap_or_else(|| panic!("{path}: no {name}"))
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(
            header("cross-origin-resource-policy"),
            "same-origin",
            "{path}"
        );
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        let scripts = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src") || d.trim().starts_with("default-src"))
            .unwrap();
        assert!(!scripts.contains("'unsafe-inline'"), "{path}: {csp}");
    }
    // The app's page may run wasm; an image or a JSON answer may run nothing at all.
    let client = &app;
    let csp = |path: &'static str| async move {
        client.get(path).await.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert!(csp("/").await.contains("'wasm-unsafe-eval'"));
    assert!(
        csp("/api/v1/photos")
            .await
            .starts_with("default-src 'none'")
    );
    assert!(csp("/api/docs/").await.contains("script-src 'self'"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_methods_do_not_grow_the_metrics() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let long = "Z".repeat(2000);
    for method in ["BREWCOFFEE", long.as_str()] {
        let request =
            format!("{method} /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let status = raw_status(&app, request.as_bytes()).await;
        assert_ne!(status, 0, "{method:.20} got no answer");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(!metrics.contains("BREWCOFFEE"), "a method became a label");
    assert!(!metrics.contains("ZZZZ"), "a method became a label");
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
    app.stop().await;
}

async fn uploaded_filenames_lose_bidirectional_and_invisible_characters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut names = Vec::new();
    for (i, name) in ["\u{202e}gpj.exe", "a\u{200b}b\u{feff}\u{2066}.jpg"]
        .into_iter()
        .enumerate()
    {
        // Raw UTF-8 in the Content-Disposition, as browsers send it.
        let form = reqwest::multipart::Form::new().percent_encode_noop().part(
            "file",
            reqwest::multipart::Part::bytes(crate::fixtures::sharp_jpeg(i as u64 + 1))
                .file_name(name),
        );
        let response = app
            .request(Method::POST, "/api/v1/photos", None)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        let id = body["items"][0]["id"].as_i64().unwrap();
        let (_, photo) = app
            .call(Method::GET, &format!("/api/v1/photos/{id}"), None, None)
            .await;
        names.push(photo["filename"].as_str().unwrap().to_string());
    }
    assert_eq!(names, ["gpj.exe", "ab.jpg"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_cut_off_and_connections_are_capped() {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    let timeout = Duration::from_secs(2);
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.header_read_timeout = timeout;
        args.max_connections = 2;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // Two slowloris clients take both slots with half a request head each.
    let started = tokio::time::Instant::now();
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    // A third client is served only once a slot frees, i.e. after the timeout cut one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = raw_status(
        &app,
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() >= timeout - Duration::from_millis(300),
        "the third connection was served past the limit after {:?}",
        started.elapsed()
    );
    // The half-sent connections were closed by the server, within the timeout (plus slack).
    for mut stream in slow {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(
            timeout + Duration::from_secs(3),
            stream.read_to_end(&mut rest),
        )
        .await
        .expect("a half-sent request head kept its connection open");
        // Closed (EOF or reset), with no complete response to the half request.
        assert!(
            read.is_err() || !String::from_utf8_lossy(&rest).contains("200 OK"),
            "{rest:?}"
        );
    }
    assert!(started.elapsed() < timeout + Duration::from_secs(4));
    // The server still stops cleanly.
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_page_allows_its_inline_loader_by_hash_even_when_revalidated() {
    use base64::Engine;
    use sha2::Digest;
    let data_dir = tempfile::tempdir().unwrap();
    let client = data_dir.path().join("dist");
    std::fs::create_dir_all(&client).unwrap();
    let loader = "\nimport init from '/app-0123456789abcdef.js';\nawait init();\n";
    std::fs::write(
        client.join("index.html"),
        format!(
            "<!doctype html><html><head><script type=\"module\">{loader}</script></head></html>"
        ),
    )
    .unwrap();
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(loader));
    let storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.client_dir = Some(client);
    })
    .await;
    let page = app.get("/").await;
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    // The browser revalidates the page (no-cache): the 304's headers replace the cached ones,
    // so it must carry the app's policy too, not the deny-all one.
    let modified = page.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let again = app
        .request(Method::GET, "/", None)
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);
    let csp = again.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    app.stop().await;
}
