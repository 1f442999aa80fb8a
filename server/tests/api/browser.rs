//! Headless Chromium loads the page served by the real server and reads the Debug tab.
//! Needs the built client (`cargo xtask client`) and Debian's chromium + chromium-driver.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};

use crate::helpers::{Backend, TestApp, storage};
use crate::on_both_backends;

on_both_backends!(the_debug_tab_shows_the_database_and_queue_up_and_a_live_preview_worker);

fn client_dir() -> PathBuf {
    let dir = std::env::var("CLASSIFY_TEST_CLIENT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../client/dist")));
    assert!(
        dir.join("index.html").is_file(),
        "the web client is not built in {}: run `cargo xtask client` (or `cargo xtask test`)",
        dir.display()
    );
    dir
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_chromedriver() -> (Driver, String) {
    let port = free_port();
    let child = Command::new(
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
    )
    .arg(format!("--port={port}"))
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("chromedriver is needed: apt-get install -y chromium chromium-driver");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (driver, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

async fn wait_for(client: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

async fn the_debug_tab_shows_the_database_and_queue_up_and_a_live_preview_worker(backend: Backend) {
    let client_dir = client_dir();
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(backend, data_dir.path().into()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.client_dir = Some(client_dir);
    })
    .await;
    let (_driver, driver_url) = start_chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("cannot start Chromium through chromedriver");

    browser.goto(&format!("{}/", app.base)).await.unwrap();
    // The shell renders with its tabs; the Debug tab is reached by clicking, as a user would.
    wait_for(&browser, "#tab-debug")
        .await
        .click()
        .await
        .unwrap();
    let heading = wait_for(&browser, "#page-title")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Debug");

    let (db_kind, queue_kind) = match backend {
        Backend::Embedded => ("sqlite", "memory"),
        Backend::Services => ("postgres", "redis"),
    };
    let db = wait_for(&browser, "tr[data-service='database'][data-status='up']").await;
    assert!(db.text().await.unwrap().contains(db_kind));
    let queue = wait_for(&browser, "tr[data-service='queue'][data-status='up']").await;
    assert!(queue.text().await.unwrap().contains(queue_kind));
    let worker = wait_for(&browser, "#preview-worker[data-status='up']").await;
    assert!(worker.text().await.unwrap().contains("ready"));
    assert_eq!(
        browser.current_url().await.unwrap().fragment(),
        Some("/debug")
    );

    browser.close().await.unwrap();
    app.stop().await;
}
