//! Headless Chromium loads the page served by the real server: it reads the Debug tab, and
//! it does the local try-out's main job as a user would (add photos through the page's file
//! input, wait for verification, read the Clear / Blurred tabs and the statistics, move the
//! threshold). Needs the built client (`cargo xtask client`) and Debian's chromium +
//! chromium-driver.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};

use crate::fixtures::{blurred_jpeg, kernel_score, sharp_jpeg};
use crate::helpers::{Backend, TestApp, eventually, storage};
use crate::on_both_backends;

on_both_backends!(
    the_debug_tab_shows_the_database_and_queue_up_and_a_live_preview_worker,
    photos_added_in_the_page_are_verified_sorted_and_counted,
);

pub(crate) fn client_dir() -> PathBuf {
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

/// The app on the embedded backend, serving the built client, with `workers` embedded workers
/// (0: nothing is verified unless a test runs a worker itself).
pub(crate) async fn app_with_client(workers: usize) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().into()).await;
    TestApp::spawn_with(storage, data_dir, move |args| {
        args.client_dir = Some(client_dir());
        args.workers = workers;
    })
    .await
}

pub(crate) struct Driver(Child);

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

/// Chromium under chromedriver, with a throw-away profile (keep all three alive).
pub(crate) async fn start_browser() -> (Driver, fantoccini::Client, tempfile::TempDir) {
    let (driver, driver_url) = start_chromedriver().await;
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
    (driver, browser, profile)
}

pub(crate) async fn wait_for(
    client: &fantoccini::Client,
    css: &str,
) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

/// The text of the element at `css` once it appears. Yew may replace the element between the
/// find and the read (a re-render after a click), so a stale reference is looked up again.
pub(crate) async fn settled_text(browser: &fantoccini::Client, css: &str) -> String {
    for _ in 0..50 {
        if let Ok(text) = wait_for(browser, css).await.text().await {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} kept going stale");
}

async fn the_debug_tab_shows_the_database_and_queue_up_and_a_live_preview_worker(backend: Backend) {
    let client_dir = client_dir();
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(backend, data_dir.path().into()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.client_dir = Some(client_dir);
    })
    .await;
    let (_driver, browser, _profile) = start_browser().await;

    // The page comes with its Content-Security-Policy: everything below (the wasm app, its
    // preview worker) runs under it, with no inline script allowed but Trunk's hashed loader.
    let page = app.get("/").await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("'sha256-"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("script-src 'unsafe-inline'"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");

    browser.goto(&format!("{}/", app.base)).await.unwrap();
    // The shell renders with its tabs; the Debug tab is reached by clicking, as a user would.
    wait_for(&browser, "#tab-debug")
        .await
        .click()
        .await
        .unwrap();
    let heading = settled_text(&browser, "#page-title").await;
    assert_eq!(heading, "Debug");

    let (db_kind, queue_kind) = match backend {
        Backend::Embedded => ("sqlite", "memory"),
        Backend::Services => ("postgres", "redis"),
    };
    let db = settled_text(&browser, "tr[data-service='database'][data-status='up']").await;
    assert!(db.contains(db_kind), "{db}");
    let queue = settled_text(&browser, "tr[data-service='queue'][data-status='up']").await;
    assert!(queue.contains(queue_kind), "{queue}");
    let worker = settled_text(&browser, "#preview-worker[data-status='up']").await;
    assert!(worker.contains("ready"), "{worker}");
    assert_eq!(
        browser.current_url().await.unwrap().fragment(),
        Some("/debug")
    );

    // Swagger UI renders under its own policy (its scripts are files, its styles inline).
    browser
        .goto(&format!("{}/api/docs/", app.base))
        .await
        .unwrap();
    wait_for(&browser, ".swagger-ui .info .title").await;
    wait_for(&browser, ".swagger-ui .opblock").await;

    browser.close().await.unwrap();
    app.stop().await;
}

/// The number of elements matching `css` now.
/// Requests the server has answered on `route` (its template, as `/metrics` labels it).
async fn requests_to(app: &TestApp, route: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    let label = format!("route=\"{route}\"");
    text.lines()
        .filter(|l| l.starts_with("classify_http_requests_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub(crate) async fn count(browser: &fantoccini::Client, css: &str) -> usize {
    // Counted in the page: finding the elements through WebDriver would make a reference for
    // each (hundreds in the 200-photo run), main-thread work the page's long-task figure
    // would then include.
    let n = browser
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![serde_json::Value::from(css)],
        )
        .await
        .unwrap();
    n.as_u64().unwrap_or_else(|| panic!("a count: {n}")) as usize
}

/// The text of the element matching `css`, or "" while there is none.
async fn text_of(browser: &fantoccini::Client, css: &str) -> String {
    match browser.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Opens a gallery tab by clicking it and returns the filenames of its cards once its first
/// page has arrived.
async fn gallery_filenames(browser: &fantoccini::Client, tab: &str, filter: &str) -> Vec<String> {
    wait_for(browser, &format!("#tab-{tab}"))
        .await
        .click()
        .await
        .unwrap();
    // The grid says which filter it shows and when its page has arrived; an empty tab shows
    // its empty state instead.
    let loaded = format!(
        "[data-testid='grid'][data-filter='{filter}'][data-loaded='true'], [data-testid='empty']"
    );
    wait_for(browser, &loaded).await;
    let mut names = Vec::new();
    for card in browser
        .find_all(Locator::Css("[data-testid='photo-card']"))
        .await
        .unwrap()
    {
        let status = card.attr("data-status").await.unwrap();
        assert!(
            matches!(status.as_deref(), Some("verified" | "failed")),
            "every photo's verification ended before the tabs are read: {status:?}"
        );
        assert!(card.attr("data-photo-id").await.unwrap().is_some());
        names.push(
            card.find(Locator::Css(".filename"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    names.sort();
    names
}

async fn photos_added_in_the_page_are_verified_sorted_and_counted(backend: Backend) {
    let client_dir = client_dir();
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(backend, data_dir.path().into()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.client_dir = Some(client_dir);
        args.workers = 1;
    })
    .await;

    // 18 photos: more than one upload request carries (16), so the page must chunk. Plus a
    // file that claims to be a JPEG but is not: the server refuses it, with its reason. And a
    // JPEG cut in half: stored (its header is whole), then its verification fails, and the
    // page lists it under Failed with the reason, not under Unprocessed.
    let folder = tempfile::tempdir().unwrap();
    let mut photos: Vec<(String, Vec<u8>)> = (1..=10)
        .map(|seed| (format!("sharp-{seed:02}.jpg"), sharp_jpeg(seed)))
        .chain((1..=8).map(|seed| (format!("blurred-{seed:02}.jpg"), blurred_jpeg(100 + seed))))
        .collect();
    let mut paths = Vec::new();
    for (name, bytes) in &photos {
        let path = folder.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        paths.push(path.display().to_string());
    }
    let broken = folder.path().join("broken.jpg");
    std::fs::write(&broken, b"this is not a photo").unwrap();
    paths.insert(3, broken.display().to_string());
    let mut cut = sharp_jpeg(99);
    cut.truncate(cut.len() / 2);
    let truncated = folder.path().join("truncated.jpg");
    std::fs::write(&truncated, &cut).unwrap();
    paths.push(truncated.display().to_string());

    // What the worker's kernel will say, at the default threshold 0.5.
    let score = |bytes: &[u8]| f64::from(kernel_score(bytes));
    let mut expected_blurred: Vec<String> = photos
        .iter()
        .filter(|(_, b)| score(b) >= 0.5)
        .map(|(n, _)| n.clone())
        .collect();
    let mut expected_clear: Vec<String> = photos
        .iter()
        .filter(|(_, b)| score(b) < 0.5)
        .map(|(n, _)| n.clone())
        .collect();
    expected_blurred.sort();
    expected_clear.sort();
    assert!(
        !expected_blurred.is_empty() && !expected_clear.is_empty(),
        "the fixtures must give both verdicts"
    );
    photos.sort();

    let (_driver, browser, _profile) = start_browser().await;
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    wait_for(&browser, "[data-testid='empty']").await;

    // Choosing files in the page's own "Add photos" input, as a user would.
    wait_for(&browser, "input[data-testid='file-input']")
        .await
        .send_keys(&paths.join("\n"))
        .await
        .unwrap();

    let upload = wait_for(
        &browser,
        "[data-testid='upload-progress'][data-finished='true']",
    )
    .await;
    assert_eq!(
        upload.attr("data-sent").await.unwrap().as_deref(),
        Some("20")
    );
    assert_eq!(
        upload.attr("data-total").await.unwrap().as_deref(),
        Some("20")
    );
    let refused = wait_for(&browser, "[data-testid='refused']")
        .await
        .text()
        .await
        .unwrap();
    assert!(refused.contains("broken.jpg"), "refused: {refused}");
    assert_eq!(
        refused.lines().count(),
        1,
        "only the broken file is refused: {refused}"
    );
    assert_eq!(
        refused.matches("broken.jpg").count(),
        1,
        "the refused file is named once: {refused}"
    );
    let said = upload.text().await.unwrap();
    assert!(
        said.starts_with("Uploaded 20 files: 19 new, 1 refused."),
        "{said}"
    );

    // Verification is queued on its own after the upload; the page follows it to the end.
    let batch = browser
        .wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css(
            "[data-testid='batch-progress'][data-finished='true']",
        ))
        .await
        .expect("the verification batch never finished in the page");
    assert_eq!(
        batch.attr("data-total").await.unwrap().as_deref(),
        Some("19")
    );
    assert_eq!(
        batch.attr("data-done").await.unwrap().as_deref(),
        Some("18")
    );
    assert_eq!(
        batch.attr("data-failed").await.unwrap().as_deref(),
        Some("1")
    );
    assert_eq!(
        batch.attr("data-via").await.unwrap().as_deref(),
        Some("events"),
        "the page follows the batch by its server-sent events, not by polling"
    );

    // The All tab refreshed itself when the batch ended: every photo, each verified but the
    // cut one.
    let mut all: Vec<String> = photos.iter().map(|(n, _)| n.clone()).collect();
    all.push("truncated.jpg".into());
    all.sort();
    assert!(
        eventually(30, || {
            let browser = &browser;
            async move {
                count(
                    browser,
                    "[data-testid='photo-card'][data-status='verified']",
                )
                .await
                    == 18
            }
        })
        .await,
        "the All tab never showed 18 verified photos"
    );
    assert_eq!(gallery_filenames(&browser, "all", "all").await, all);
    assert_eq!(
        gallery_filenames(&browser, "blurred", "blurred").await,
        expected_blurred
    );
    assert_eq!(
        gallery_filenames(&browser, "clear", "not_blurred").await,
        expected_clear
    );
    assert!(
        gallery_filenames(&browser, "unprocessed", "unprocessed")
            .await
            .is_empty()
    );
    assert_eq!(
        gallery_filenames(&browser, "failed", "failed").await,
        ["truncated.jpg"]
    );
    let failure = text_of(
        &browser,
        "[data-testid='photo-card'] [data-testid='failure']",
    )
    .await;
    assert!(failure.starts_with("Failed: "), "{failure}");
    assert_eq!(
        text_of(&browser, "#tab-failed [data-testid='tab-count']").await,
        "1"
    );

    // Statistics: the totals, and a histogram holding every verified score.
    wait_for(&browser, "#tab-statistics")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(text_of_when_ready(&browser, "stat-total").await, "19");
    assert_eq!(
        text_of(&browser, "[data-testid='stat-blurred']").await,
        expected_blurred.len().to_string()
    );
    assert_eq!(
        text_of(&browser, "[data-testid='stat-clear']").await,
        expected_clear.len().to_string()
    );
    assert_eq!(
        text_of(&browser, "[data-testid='stat-unprocessed']").await,
        "0"
    );
    assert_eq!(text_of(&browser, "[data-testid='stat-failed']").await, "1");
    let bins = browser
        .find_all(Locator::Css("[data-testid='histogram'] rect.bin"))
        .await
        .unwrap();
    assert_eq!(bins.len(), 10);
    let mut in_bins = 0;
    for bin in bins {
        in_bins += bin
            .attr("data-count")
            .await
            .unwrap()
            .unwrap()
            .parse::<usize>()
            .unwrap();
    }
    assert_eq!(in_bins, 18);
    assert_eq!(count(&browser, "[data-testid='threshold-line']").await, 1);

    // The threshold slider, by keyboard: End moves it to 1. The server stores it and the
    // statistics follow.
    let slider = wait_for(&browser, "#threshold-input:enabled").await;
    slider.send_keys("\u{e010}").await.unwrap();
    let at_one = photos
        .iter()
        .filter(|(_, b)| score(b) >= 1.0)
        .count()
        .to_string();
    assert_ne!(
        at_one,
        expected_blurred.len().to_string(),
        "the move must show"
    );
    assert!(
        eventually(30, || {
            let browser = &browser;
            let at_one = at_one.clone();
            async move { text_of(browser, "[data-testid='stat-blurred']").await == at_one }
        })
        .await,
        "the statistics did not follow the threshold"
    );
    let (status, settings) = app.get_json("/api/v1/settings").await;
    assert_eq!(status, 200);
    assert_eq!(settings["blur_threshold"], 1.0);
    assert_eq!(
        text_of(&browser, "[data-testid='threshold-value']").await,
        "1.00"
    );

    // The same two files again: the library already has them, and the page says so instead
    // of counting them as stored.
    wait_for(&browser, "#tab-all").await.click().await.unwrap();
    wait_for(&browser, "input[data-testid='file-input']")
        .await
        .send_keys(&paths[..2].join("\n"))
        .await
        .unwrap();
    let again = wait_for(
        &browser,
        "[data-testid='upload-progress'][data-finished='true'][data-total='2']",
    )
    .await;
    assert_eq!(
        again.attr("data-already").await.unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(again.attr("data-new").await.unwrap().as_deref(), Some("0"));
    let said = again.text().await.unwrap();
    assert!(
        said.starts_with("Uploaded 2 files: 0 new, 2 already in your library."),
        "{said}"
    );
    let (_, stats) = app.get_json("/api/v1/stats").await;
    assert_eq!(stats["total"], 19, "nothing was stored twice: {stats}");

    browser.close().await.unwrap();
    app.stop().await;
}

/// The text of `[data-testid=id]` once it is there.
async fn text_of_when_ready(browser: &fantoccini::Client, id: &str) -> String {
    wait_for(browser, &format!("[data-testid='{id}']"))
        .await
        .text()
        .await
        .unwrap()
}

/// The card's ids and verdicts, in grid order, once `n` verified cards are shown.
async fn verified_cards(browser: &fantoccini::Client, n: usize) -> Vec<(String, String)> {
    assert!(
        eventually(30, || async move {
            count(
                browser,
                "[data-testid='photo-card'][data-status='verified']",
            )
            .await
                == n
        })
        .await,
        "the grid never showed {n} verified photos"
    );
    let mut cards = Vec::new();
    for card in browser
        .find_all(Locator::Css("[data-testid='photo-card']"))
        .await
        .unwrap()
    {
        cards.push((
            card.attr("data-photo-id").await.unwrap().unwrap(),
            card.attr("data-verdict").await.unwrap().unwrap(),
        ));
    }
    cards
}

/// Sends a key (WebDriver's code for it) to whatever has the focus, as a user types.
pub(crate) async fn press(browser: &fantoccini::Client, key: &str) {
    browser
        .active_element()
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
}

/// Waits until the photo view shows photo `id`; returns its verdict words.
async fn view_shows(browser: &fantoccini::Client, id: &str) -> String {
    settled_text(
        browser,
        &format!(
            "[data-testid='photo-view'][data-photo-id='{id}'] [data-testid='photo-view-verdict']"
        ),
    )
    .await
}

const ARROW_LEFT: &str = "\u{e012}";
const ARROW_RIGHT: &str = "\u{e014}";
const ENTER: &str = "\u{e007}";
const ESCAPE: &str = "\u{e00c}";

/// Culling as a photographer does it. The photo view opens from a card, says the verdict in
/// the tabs' words against the threshold, shows the photo itself, steps with the arrow keys,
/// deletes in place (the next photo takes the deleted one's place), and Escape gives the focus
/// back to the card. Then in bulk: click and shift-click select a range, which is exported as
/// CSV, analysed as one batch and deleted. One backend: the page is the subject here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn culling_in_the_photo_view_and_in_bulk_by_mouse_and_keyboard() {
    let client_dir = client_dir();
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().into()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.client_dir = Some(client_dir);
        args.workers = 1;
    })
    .await;
    let files = vec![
        ("sharp-a.jpg".to_string(), sharp_jpeg(41)),
        ("blurred-b.jpg".to_string(), blurred_jpeg(142)),
        ("sharp-c, copy.jpg".to_string(), sharp_jpeg(43)),
        ("blurred-d.jpg".to_string(), blurred_jpeg(144)),
        ("sharp-e.jpg".to_string(), sharp_jpeg(45)),
    ];
    let (status, body) = app.upload(&files, None).await;
    assert_eq!(status, 201, "{body}");
    let done = app.verify_all(60).await;
    assert_eq!(done["done"], 5, "{done}");

    let (_driver, browser, _profile) = start_browser().await;
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    let cards = verified_cards(&browser, 5).await;
    assert_eq!(
        count(
            &browser,
            "[data-testid='tag'], [data-testid='tag-selected']"
        )
        .await,
        0,
        "with AI tagging off the page offers no Tag action"
    );
    // The tabs count what they list.
    assert_eq!(
        settled_text(&browser, "#tab-all [data-testid='tab-count']").await,
        "5"
    );
    let blurred = cards.iter().filter(|(_, v)| v == "blurred").count();
    assert_eq!(
        settled_text(&browser, "#tab-blurred [data-testid='tab-count']").await,
        blurred.to_string()
    );
    let words = |verdict: &str| match verdict {
        "blurred" => "Blurred",
        "clear" => "Clear",
        other => panic!("a verified card reads {other}"),
    };
    assert!(cards.iter().any(|(_, v)| v == "blurred") && cards.iter().any(|(_, v)| v == "clear"));

    // Opened by a click on the first card's image.
    wait_for(
        &browser,
        &format!("[data-photo-id='{}'] [data-testid='open']", cards[0].0),
    )
    .await
    .click()
    .await
    .unwrap();
    assert_eq!(view_shows(&browser, &cards[0].0).await, words(&cards[0].1));
    assert_eq!(
        settled_text(&browser, "[data-testid='photo-view-position']").await,
        "1 of 5"
    );
    let mark = wait_for(&browser, "[data-testid='threshold-mark']").await;
    assert_eq!(
        mark.attr("data-threshold").await.unwrap().as_deref(),
        Some("0.50")
    );
    // The photo itself is drawn (the original, which the browser decodes), not a broken image.
    let drawn = eventually(15, || {
        let browser = &browser;
        async move {
            browser
                .execute(
                    "const i = document.querySelector('.photo-view-image img'); \
                     return i !== null && i.complete && i.naturalWidth > 0 \
                       && i.src.includes('size=original');",
                    vec![],
                )
                .await
                .is_ok_and(|v| v == serde_json::Value::Bool(true))
        }
    })
    .await;
    assert!(drawn, "the photo view never drew the original");

    // The arrow keys step through the grid in its order, and stop at its ends.
    press(&browser, ARROW_RIGHT).await;
    assert_eq!(view_shows(&browser, &cards[1].0).await, words(&cards[1].1));
    press(&browser, ARROW_LEFT).await;
    press(&browser, ARROW_LEFT).await;
    assert_eq!(view_shows(&browser, &cards[0].0).await, words(&cards[0].1));

    // Delete in the view: confirmed, the photo is gone from the server and the grid, and the
    // next one takes its place in the view.
    wait_for(&browser, "[data-testid='photo-view-delete']")
        .await
        .click()
        .await
        .unwrap();
    browser.accept_alert().await.unwrap();
    assert_eq!(view_shows(&browser, &cards[1].0).await, words(&cards[1].1));
    // The view may step to the next photo before the server's answer takes the deleted one
    // off the grid (then it reads "2 of 5" for a moment).
    assert!(
        eventually(15, || async {
            settled_text(&browser, "[data-testid='photo-view-position']").await == "1 of 4"
        })
        .await,
        "the view's position after the delete: {}",
        settled_text(&browser, "[data-testid='photo-view-position']").await
    );
    assert!(
        eventually(15, || async {
            count(&browser, "[data-testid='photo-card']").await == 4
        })
        .await
    );
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/photos/{}", cards[0].0),
            None,
            None,
        )
        .await;
    assert_eq!(status, 404, "the deleted photo is gone on the server");

    // Escape closes it and the focus goes back to the card it showed; Enter opens it again.
    press(&browser, ESCAPE).await;
    assert!(
        eventually(10, || async {
            count(&browser, "[data-testid='photo-view']").await == 0
        })
        .await,
        "Escape did not close the view"
    );
    let focused = browser.active_element().await.unwrap();
    assert_eq!(
        focused.attr("data-testid").await.unwrap().as_deref(),
        Some("open")
    );
    press(&browser, ENTER).await;
    assert_eq!(view_shows(&browser, &cards[1].0).await, words(&cards[1].1));
    press(&browser, ESCAPE).await;

    // Bulk culling: a click selects one photo, a shift-click the range up to another.
    let cards = verified_cards(&browser, 4).await;
    let select = |id: &str| format!("[data-photo-id='{id}'] [data-testid='select']");
    wait_for(&browser, &select(&cards[0].0))
        .await
        .click()
        .await
        .unwrap();
    browser
        .execute(
            "document.querySelector(arguments[0]).dispatchEvent(\
               new MouseEvent('click', {bubbles: true, cancelable: true, shiftKey: true}));",
            vec![serde_json::Value::from(select(&cards[2].0))],
        )
        .await
        .unwrap();
    assert_eq!(
        settled_text(&browser, "[data-testid='selected-count']").await,
        "3 selected"
    );
    let chosen: Vec<&str> = cards[..3].iter().map(|(id, _)| id.as_str()).collect();
    for (id, _) in &cards {
        let card = wait_for(
            &browser,
            &format!("[data-testid='photo-card'][data-photo-id='{id}']"),
        )
        .await;
        let on = card.attr("data-selected").await.unwrap();
        assert_eq!(
            on.as_deref() == Some("true"),
            chosen.contains(&id.as_str()),
            "{id}"
        );
    }

    // Export: the download's text, read where the page hands the file to the browser.
    browser
        .execute(
            "window.__csv = null; const make = URL.createObjectURL;\
             URL.createObjectURL = (b) => { b.text().then(t => { window.__csv = t; }); return make(b); };",
            vec![],
        )
        .await
        .unwrap();
    wait_for(&browser, "[data-testid='export-csv']")
        .await
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let csv = loop {
        if let Ok(serde_json::Value::String(text)) =
            browser.execute("return window.__csv;", vec![]).await
        {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the export never produced a file"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("filename,id,"), "{csv}");
    // The second field is the id; the first may be quoted (a name with a comma).
    let exported: Vec<&str> = lines[1..]
        .iter()
        .map(|l| {
            let rest = match l.strip_prefix('"') {
                Some(quoted) => quoted.split_once("\",").map_or("", |(_, r)| r),
                None => l.split_once(',').map_or("", |(_, r)| r),
            };
            rest.split(',').next().unwrap_or("")
        })
        .collect();
    assert_eq!(
        exported, chosen,
        "one row per selected photo, in grid order: {csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\"sharp-c, copy.jpg\",")),
        "a name with a comma is quoted: {csv}"
    );

    // Analyze selected: one batch of the three, followed in the page to its end.
    wait_for(&browser, "[data-testid='analyze-selected']")
        .await
        .click()
        .await
        .unwrap();
    let batch = browser
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css(
            "[data-testid='batch-progress'][data-finished='true'][data-total='3']",
        ))
        .await
        .expect("the batch of the selected photos never finished in the page");
    assert_eq!(batch.attr("data-done").await.unwrap().as_deref(), Some("3"));

    // Delete selected, confirmed: the three are gone from the grid and the server.
    let cards = verified_cards(&browser, 4).await;
    if count(&browser, "[data-testid='photo-card'][data-selected='true']").await != 3 {
        // The batch's refetch kept the selection; if a reload dropped it, select again.
        panic!("the selection did not survive the batch's refresh: {cards:?}");
    }
    wait_for(&browser, "[data-testid='delete-selected']")
        .await
        .click()
        .await
        .unwrap();
    browser.accept_alert().await.unwrap();
    assert!(
        eventually(15, || async {
            count(&browser, "[data-testid='photo-card']").await == 1
        })
        .await,
        "the selected photos never left the grid"
    );
    let (_, page) = app.get_json("/api/v1/photos").await;
    let left: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].to_string())
        .collect();
    assert_eq!(
        left,
        [cards[3].0.clone()],
        "only the unselected photo is left on the server"
    );

    // A card's own Re-analyze follows its one-photo batch by the batch's events, as the bulk
    // actions do: the page never polls the batch.
    const POLL: &str = "/api/v1/blur/jobs/{batch_id}";
    const EVENTS: &str = "/api/v1/blur/jobs/{batch_id}/events";
    let polls = requests_to(&app, POLL).await;
    let streams = requests_to(&app, EVENTS).await;
    let card = format!("[data-photo-id='{}']", cards[3].0);
    wait_for(&browser, &format!("{card} [data-testid='analyze']"))
        .await
        .click()
        .await
        .unwrap();
    assert!(
        eventually(30, || async {
            requests_to(&app, EVENTS).await > streams
                && count(
                    &browser,
                    &format!("{card}[data-status='verified'] [data-testid='analyze']:enabled"),
                )
                .await
                    == 1
        })
        .await,
        "the card's batch was never followed to its end by its events"
    );
    assert_eq!(
        requests_to(&app, POLL).await,
        polls,
        "the page polled the batch"
    );

    browser.close().await.unwrap();
    app.stop().await;
}

/// Files the user adds are previewed from the files themselves, in the preview workers, by the
/// server's own reading of a file (`shared::media`) and the same kernel: each preview equals
/// the score the server's verification gives the same bytes, bit for bit, on the nine real
/// photos and 20 generated ones. No worker runs, so every preview shown is the file's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_files_are_previewed_from_the_file_exactly_as_the_server_will_score_them() {
    let app = app_with_client(0).await;
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/photos");
    let folder = tempfile::tempdir().unwrap();
    let mut expected = std::collections::HashMap::new();
    let mut paths = Vec::new();
    let generated = (0..10)
        .map(|s| (format!("gen-sharp-{s:02}.jpg"), sharp_jpeg(700 + s)))
        .chain((0..10).map(|s| (format!("gen-blurred-{s:02}.jpg"), blurred_jpeg(800 + s))));
    let real_photos = std::fs::read_dir(&real)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        });
    for (name, bytes) in real_photos.chain(generated) {
        let path = folder.path().join(&name);
        std::fs::write(&path, &bytes).unwrap();
        paths.push(path.display().to_string());
        expected.insert(name, f64::from(kernel_score(&bytes)));
    }
    assert_eq!(expected.len(), 29);

    let (_driver, browser, _profile) = start_browser().await;
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    wait_for(&browser, "input[data-testid='file-input']")
        .await
        .send_keys(&paths.join("\n"))
        .await
        .unwrap();
    let judged = match browser
        .wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css(
            "[data-testid='file-previews'][data-judged='29']",
        ))
        .await
    {
        Ok(line) => line,
        Err(e) => panic!(
            "the added files were never all previewed ({e}): {:?}",
            text_of(&browser, "[data-testid='file-previews']").await
        ),
    };
    let line = judged.text().await.unwrap();
    let blurred = expected.values().filter(|s| **s >= 0.5).count();
    assert_eq!(
        line,
        format!("Previewed in your browser: 29 of 29 files, {blurred} look blurred.")
    );
    assert!(
        eventually(60, || async {
            count(
                &browser,
                "[data-testid='photo-card'][data-preview-from='file']",
            )
            .await
                == 29
        })
        .await,
        "not every card shows its file's preview: {} of 29",
        count(
            &browser,
            "[data-testid='photo-card'][data-preview-from='file']"
        )
        .await
    );
    let mut same = 0;
    for card in browser
        .find_all(Locator::Css("[data-testid='photo-card']"))
        .await
        .unwrap()
    {
        let name = card
            .find(Locator::Css(".filename"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let shown: f64 = card
            .attr("data-preview")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            shown.to_bits(),
            expected[&name].to_bits(),
            "{name}: preview {shown} vs the server's {}",
            expected[&name]
        );
        same += 1;
    }
    assert_eq!(same, 29);
    // Only files were judged: no analysis image was asked for.
    let stats = wait_for(&browser, "#tab-debug").await;
    stats.click().await.unwrap();
    assert_eq!(
        wait_for(&browser, "#preview-stats")
            .await
            .attr("data-count")
            .await
            .unwrap()
            .as_deref(),
        Some("0")
    );
    eprintln!("file previews: 29 of 29 equal to the server's score, bit for bit");
    browser.close().await.unwrap();
    app.stop().await;
}

/// The instant preview: the page's workers judge each photo the server has not verified as its
/// card comes on screen, the cards show the preview at once, and the score stored through
/// `PUT /preview` is bit for bit the one the server's worker computes from the original (the
/// nine real photos of `tests/photos` and 20 generated ones). No server worker runs here, so
/// every score the server holds came from the browser. Prints the page's own timing and its
/// main-thread long tasks (Debug tab).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instant_preview_scores_photos_in_the_browser_exactly_as_the_server_will() {
    let client_dir = client_dir();
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().into()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.client_dir = Some(client_dir);
        args.workers = 0;
    })
    .await;
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/photos");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&real)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    assert_eq!(files.len(), 9, "the nine real photos");
    files.extend((0..10).map(|s| (format!("gen-sharp-{s:02}.jpg"), sharp_jpeg(500 + s))));
    files.extend((0..10).map(|s| (format!("gen-blurred-{s:02}.jpg"), blurred_jpeg(600 + s))));
    for chunk in files.chunks(16) {
        let (status, body) = app.upload(chunk, None).await;
        assert_eq!(status, 201, "{body}");
    }
    let expected: std::collections::HashMap<String, f64> = files
        .iter()
        .map(|(name, bytes)| (name.clone(), f64::from(kernel_score(bytes))))
        .collect();

    let (_driver, browser, _profile) = start_browser().await;
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    // Previews follow the screen: a card far below the fold waits until it is scrolled to.
    wait_for(&browser, "[data-testid='photo-card'][data-preview]").await;
    let below = browser
        .execute(
            "const cards = document.querySelectorAll(\"[data-testid='photo-card']\");
             const last = cards[cards.length - 1];
             return last.getBoundingClientRect().top > 2 * window.innerHeight + 200
               ? last.hasAttribute('data-preview') : null;",
            vec![],
        )
        .await
        .unwrap();
    // Judged a screen ahead (the prefetch margin), never the whole page at once.
    assert_eq!(
        below,
        serde_json::json!(false),
        "a card two screens below the fold was previewed (null: the page is too short to tell)"
    );
    assert!(
        eventually(60, || async {
            // Scrolls on, as a user looking through the page would.
            browser
                .execute(
                    "const c = document.querySelector(\"[data-testid='photo-card']:not([data-preview])\");
                     if (c) c.scrollIntoView();
                     return null;",
                    vec![],
                )
                .await
                .unwrap();
            count(&browser, "[data-testid='photo-card'][data-preview]").await == 29
        })
        .await,
        "not every card got its preview: {} of 29",
        count(&browser, "[data-testid='photo-card'][data-preview]").await
    );
    let note = settled_text(&browser, "[data-testid='preview-note']").await;
    assert!(note.starts_with("Preview: "), "{note}");

    // The server holds each preview, and it is exactly the verdict to come.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let stored = loop {
        let (_, page) = app.get_json("/api/v1/photos?limit=100").await;
        let stored: std::collections::HashMap<String, f64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| {
                Some((
                    p["filename"].as_str()?.to_string(),
                    p["preview_score"].as_f64()?,
                ))
            })
            .collect();
        if stored.len() == 29 {
            break stored;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server got {} of 29 previews",
            stored.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (name, score) in &expected {
        assert_eq!(
            stored[name].to_bits(),
            score.to_bits(),
            "{name}: preview {} vs verified {score}",
            stored[name]
        );
    }
    for photo in app.get_json("/api/v1/photos?limit=100").await.1["items"]
        .as_array()
        .unwrap()
    {
        assert_eq!(
            photo["verified"], false,
            "a preview never counts as verified"
        );
    }

    // The page's own measure, from a card coming on screen to its score arriving.
    wait_for(&browser, "#tab-debug")
        .await
        .click()
        .await
        .unwrap();
    let stats = wait_for(&browser, "#preview-stats[data-count='29']").await;
    let median = stats.attr("data-median-ms").await.unwrap().unwrap();
    let p95 = stats.attr("data-p95-ms").await.unwrap().unwrap();
    let workers = stats.attr("data-workers").await.unwrap().unwrap();
    eprintln!(
        "instant preview: 29 photos, {workers} workers, from on screen to score: median {median} ms, p95 {p95} ms"
    );
    assert!(median.parse::<f64>().unwrap() > 0.0);
    // The page's main thread, from the start: tasks over 50 ms (the page could not answer).
    let long = wait_for(&browser, "#long-tasks").await;
    let tasks = long.attr("data-count").await.unwrap().unwrap();
    let longest = long.attr("data-longest-ms").await.unwrap().unwrap();
    eprintln!("main-thread long tasks during the gallery: {tasks}, longest {longest} ms");
    assert!(tasks.parse::<usize>().is_ok());

    browser.close().await.unwrap();
    app.stop().await;
}

/// AI tags in the page, against the fake OpenAI: "Tag" on a card asks first (saying where the
/// photo goes and what it costs), the tagging batch is followed, the tags appear on the card,
/// the tag filter shows only the photos with a tag, and a wrong tag is removed in the photo
/// view. One backend: the page is the subject here (the server's tagging runs on both in
/// `tags.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_is_tagged_from_its_card_filtered_by_a_tag_and_a_wrong_tag_removed() {
    let fake = fake_openai::FakeOpenAi::start(fake_openai::Options::default())
        .await
        .unwrap();
    let client_dir = client_dir();
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().into()).await;
    let (base_url, key) = (fake.base_url(), fake.api_key().to_string());
    let app = TestApp::spawn_with(storage, data_dir, move |args| {
        args.client_dir = Some(client_dir);
        args.workers = 1;
        args.tagging.openai_base_url = Some(base_url);
        args.tagging.openai_api_key = Some(key.into());
    })
    .await;
    // The fake tags by colour and orientation: a red landscape and a blue portrait.
    let solid =
        |w, h, rgb| crate::fixtures::jpeg(&image::RgbImage::from_pixel(w, h, image::Rgb(rgb)));
    let files = vec![
        ("red.jpg".to_string(), solid(320, 200, [220, 20, 20])),
        ("blue.jpg".to_string(), solid(200, 320, [20, 20, 220])),
    ];
    let (status, body) = app.upload(&files, None).await;
    assert_eq!(status, 201, "{body}");
    let id_of = |name: &str| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["filename"] == name)
            .unwrap()["id"]
            .to_string()
    };
    let (red, blue) = (id_of("red.jpg"), id_of("blue.jpg"));

    let (_driver, browser, _profile) = start_browser().await;
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    let card = |id: &str| format!("[data-testid='photo-card'][data-photo-id='{id}']");
    wait_for(&browser, &format!("{} [data-testid='tag']", card(&red)))
        .await
        .click()
        .await
        .unwrap();
    // Asked first: where the photo goes and what it costs.
    let mut question = String::new();
    for _ in 0..100 {
        if let Ok(text) = browser.get_alert_text().await {
            question = text;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(question.contains("127.0.0.1"), "{question}");
    assert!(question.contains("tokens"), "{question}");
    browser.accept_alert().await.unwrap();

    let tags = format!("{} [data-testid='tags'] [data-tag='red']", card(&red));
    browser
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css(&tags))
        .await
        .expect("the red photo never showed its tags");
    let progress = wait_for(
        &browser,
        "[data-testid='batch-progress'][data-finished='true']",
    )
    .await;
    assert_eq!(
        progress.attr("data-kind").await.unwrap().as_deref(),
        Some("tag")
    );
    assert_eq!(
        progress.attr("data-done").await.unwrap().as_deref(),
        Some("1")
    );
    assert_eq!(
        count(&browser, &format!("{} [data-testid='tags']", card(&blue))).await,
        0,
        "only the photo asked for is tagged"
    );

    // The filter by tag: only the red photo.
    wait_for(&browser, "[data-testid='tag-filter'] option[value='red']").await;
    wait_for(&browser, "[data-testid='tag-filter']")
        .await
        .select_by_value("red")
        .await
        .unwrap();
    assert!(
        eventually(15, || async {
            count(&browser, "[data-testid='photo-card']").await == 1
                && count(&browser, &card(&red)).await == 1
        })
        .await,
        "the tag filter did not narrow the grid to the red photo"
    );

    // A wrong tag goes, from the photo view.
    wait_for(&browser, &format!("{} [data-testid='open']", card(&red)))
        .await
        .click()
        .await
        .unwrap();
    wait_for(
        &browser,
        "[data-testid='photo-view-tags'] [data-tag='landscape'] [data-testid='remove-tag']",
    )
    .await
    .click()
    .await
    .unwrap();
    assert!(
        eventually(15, || async {
            count(
                &browser,
                "[data-testid='photo-view-tags'] [data-tag='landscape']",
            )
            .await
                == 0
        })
        .await,
        "the removed tag still shows"
    );
    let (_, photo) = app.get_json(&format!("/api/v1/photos/{red}")).await;
    let left: Vec<&str> = photo["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(
        left.contains(&"red") && !left.contains(&"landscape"),
        "{left:?}"
    );

    browser.close().await.unwrap();
    app.stop().await;
}

/// In local mode the album is a collection to download: made from the Albums tab, followed to
/// the end, and its ZIP link gives the clear photos' originals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_of_the_clear_photos_is_made_and_downloaded_from_the_albums_tab() {
    let app = app_with_client(1).await;
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|s| (format!("sharp-{s}.jpg"), sharp_jpeg(900 + s)))
        .chain((0..2).map(|s| (format!("blurred-{s}.jpg"), blurred_jpeg(950 + s))))
        .collect();
    let clear = files.iter().filter(|(_, b)| kernel_score(b) < 0.5).count();
    assert!(clear > 0);
    let (status, body) = app.upload(&files, None).await;
    assert_eq!(status, 201, "{body}");
    app.verify_all(120).await;

    let (_driver, browser, _profile) = start_browser().await;
    browser
        .goto(&format!("{}/#/albums", app.base))
        .await
        .unwrap();
    wait_for(&browser, "[data-testid='albums-empty']").await;
    let create = wait_for(&browser, "[data-testid='album-create']:enabled").await;
    assert_eq!(
        create.text().await.unwrap(),
        format!("Make a collection of {clear} clear photos")
    );
    create.click().await.unwrap();
    let album = browser
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("[data-testid='album'][data-status='done']"))
        .await
        .expect("the collection was never done");
    assert_eq!(
        album.attr("data-added").await.unwrap(),
        Some(clear.to_string())
    );
    let href = wait_for(&browser, "[data-testid='album-download']")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let zip = app.get(&href).await;
    assert_eq!(zip.status(), 200);
    let bytes = zip.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a ZIP file");
    for (name, b) in &files {
        let inside = bytes.windows(name.len()).any(|w| w == name.as_bytes());
        assert_eq!(inside, kernel_score(b) < 0.5, "{name} in the ZIP iff clear");
    }
    browser.close().await.unwrap();
    app.stop().await;
}

/// The preview at gallery scale, for the record (not part of the suite: `cargo nextest run
/// --workspace --run-ignored only -E 'test(two_hundred)' --no-capture`): 200 unverified
/// photos in a 1280 × 900 window, skimmed at a screen a second (400 px every 0.5 s; the next
/// pages load by themselves as the end nears). Prints the page's timing from a card coming on
/// screen to its score (median, p95), from asking a worker to the score, the workers' fetch
/// and judge times, and the main-thread tasks over 50 ms while scrolling (a PerformanceObserver
/// started after the first page showed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run on demand"]
async fn two_hundred_photos_previewed_while_scrolling() {
    let app = app_with_client(0).await;
    let files: Vec<(String, Vec<u8>)> = (0..200u64)
        .map(|s| {
            let bytes = if s % 2 == 0 {
                sharp_jpeg(2000 + s)
            } else {
                blurred_jpeg(3000 + s)
            };
            (format!("p{s:03}.jpg"), bytes)
        })
        .collect();
    for chunk in files.chunks(16) {
        let (status, body) = app.upload(chunk, None).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_driver, browser, _profile) = start_browser().await;
    browser.set_window_size(1280, 900).await.unwrap();
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    wait_for(&browser, "[data-testid='photo-card'][data-preview]").await;
    browser
        .execute(
            "window.__longTasks = [];
             new PerformanceObserver(list => list.getEntries()
                 .forEach(e => { window.__longTasks.push(e.duration);
                                 window.__longTaskAt = (window.__longTaskAt || [])
                                     .concat([[Math.round(e.startTime), Math.round(e.duration)]]); }))
               .observe({type: 'longtask'});
             window.__loaf = [];
             new PerformanceObserver(list => list.getEntries()
                 .forEach(e => window.__loaf.push({
                     start: Math.round(e.startTime),
                     duration: Math.round(e.duration),
                     blocking: Math.round(e.blockingDuration),
                     render: Math.round(e.startTime + e.duration - (e.renderStart || e.startTime + e.duration)),
                     layout: Math.round(e.startTime + e.duration - (e.styleAndLayoutStart || e.startTime + e.duration)),
                     scripts: e.scripts.map(s => [s.invoker, s.invokerType, Math.round(s.duration),
                         Math.round(s.forcedStyleAndLayoutDuration), s.sourceFunctionName]),
                 })))
               .observe({type: 'long-animation-frame'});
             return null;",
            vec![],
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut previewed = 0;
    while started.elapsed() < Duration::from_secs(300) {
        browser
            .execute("window.scrollBy(0, 400); return null;", vec![])
            .await
            .unwrap();
        previewed = count(&browser, "[data-testid='photo-card'][data-preview]").await;
        if previewed == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(previewed, 200, "only {previewed} of 200 previewed");
    let took = started.elapsed();
    let long_tasks = browser
        .execute("return window.__longTasks;", vec![])
        .await
        .unwrap();
    let long_tasks: Vec<f64> = serde_json::from_value(long_tasks).unwrap();
    let loaf = browser
        .execute("return window.__loaf;", vec![])
        .await
        .unwrap();
    for frame in loaf.as_array().into_iter().flatten() {
        eprintln!("long animation frame: {frame}");
    }
    let at = browser
        .execute("return window.__longTaskAt || [];", vec![])
        .await
        .unwrap();
    eprintln!("long tasks (start, duration ms): {at}");
    let probe = browser
        .execute("return window.__probe || [];", vec![])
        .await
        .unwrap();
    eprintln!("PROBE {probe}");
    wait_for(&browser, "#tab-debug")
        .await
        .click()
        .await
        .unwrap();
    let stats = wait_for(&browser, "#preview-stats[data-count='200']").await;
    let attr = |name: &'static str| {
        let stats = stats.clone();
        async move { stats.attr(name).await.unwrap().unwrap_or_default() }
    };
    eprintln!(
        "200 photos, {} workers, skimmed in {took:.1?}: from on screen to score median {} ms, \
         p95 {} ms ({} cards timed); from asking a worker to the score median {} ms, p95 {} ms; \
         a worker's median fetch {} ms, judge {} ms; main-thread tasks over 50 ms while \
         scrolling: {} (longest {:.0} ms)",
        attr("data-workers").await,
        attr("data-median-ms").await,
        attr("data-p95-ms").await,
        attr("data-seen").await,
        attr("data-asked-median-ms").await,
        attr("data-asked-p95-ms").await,
        attr("data-fetch-median-ms").await,
        attr("data-judge-median-ms").await,
        long_tasks.len(),
        long_tasks.iter().copied().fold(0.0, f64::max),
    );
    browser.close().await.unwrap();
    app.stop().await;
}
