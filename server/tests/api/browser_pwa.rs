//! The installable app in headless Chromium: Chromium itself finds nothing that stops it being
//! installed, a share from the phone's share sheet (the multipart POST the manifest declares)
//! lands in the library verified, and with the server gone the app still opens on the library
//! as last seen, saying it is offline. And the app is sent compressed.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::{app_with_client, start_browser, wait_for};
use crate::fixtures::{blurred_jpeg, sharp_jpeg};
use crate::helpers::eventually;

/// A Chrome DevTools Protocol command, through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
pub(crate) struct Cdp(pub(crate) &'static str, pub(crate) Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.0, "params": self.1});
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn script(browser: &fantoccini::Client, js: &str) -> Value {
    browser.execute(js, vec![]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_installs_takes_shared_photos_and_opens_offline() {
    let app = app_with_client(1).await;

    // The manifest: what an install and the share sheet read.
    let manifest: Value =
        serde_json::from_str(&app.get("/manifest.webmanifest").await.text().await.unwrap())
            .unwrap();
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["start_url"], "/");
    let share = &manifest["share_target"];
    assert_eq!(share["action"], "/share");
    assert_eq!(share["method"], "POST");
    assert_eq!(share["enctype"], "multipart/form-data");
    assert_eq!(share["params"]["files"][0]["name"], "photos");
    for icon in manifest["icons"].as_array().unwrap() {
        let response = app.get(icon["src"].as_str().unwrap()).await;
        assert_eq!(response.status(), 200, "{icon}");
        assert_eq!(response.headers()["content-type"], "image/png", "{icon}");
    }

    let (_driver, browser, _profile) = start_browser().await;
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    wait_for(&browser, "[data-testid='empty']").await;
    assert!(
        eventually(30, || {
            let browser = &browser;
            async move {
                script(browser, "return !!navigator.serviceWorker.controller").await == json!(true)
            }
        })
        .await,
        "the service worker never took control of the page"
    );

    // Chromium's own verdict on installing: no installability errors, and the manifest it
    // parsed without errors.
    let installable = browser
        .issue_cmd(Cdp("Page.getInstallabilityErrors", json!({})))
        .await
        .unwrap();
    assert_eq!(
        installable["installabilityErrors"],
        json!([]),
        "{installable}"
    );
    let parsed = browser
        .issue_cmd(Cdp("Page.getAppManifest", json!({})))
        .await
        .unwrap();
    assert_eq!(parsed["errors"], json!([]), "{parsed}");

    // A share, as the share sheet sends it: a multipart POST navigation to /share with the
    // files in `photos`. The service worker keeps them and opens the app, which uploads them.
    let folder = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, bytes) in [
        ("shared-sharp.jpg", sharp_jpeg(7)),
        ("shared-blurred.jpg", blurred_jpeg(8)),
    ] {
        let path = folder.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        paths.push(path.display().to_string());
    }
    script(
        &browser,
        r#"const form = document.createElement("form");
           form.id = "share-sheet"; form.method = "post"; form.action = "/share";
           form.enctype = "multipart/form-data";
           const input = document.createElement("input");
           input.type = "file"; input.name = "photos"; input.multiple = true;
           input.id = "share-files";
           form.appendChild(input); document.body.prepend(form); return null;"#,
    )
    .await;
    wait_for(&browser, "#share-files")
        .await
        .send_keys(&paths.join("\n"))
        .await
        .unwrap();
    script(
        &browser,
        "document.getElementById('share-sheet').submit(); return null;",
    )
    .await;

    let batch = browser
        .wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css(
            "[data-testid='batch-progress'][data-finished='true']",
        ))
        .await
        .expect("the shared photos were never verified");
    assert_eq!(
        batch.attr("data-total").await.unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(batch.attr("data-done").await.unwrap().as_deref(), Some("2"));
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.query(), None, "the share's query is dropped: {url}");
    let (status, page) = app.get_json("/api/v1/photos").await;
    assert_eq!(status, 200);
    let mut names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["filename"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["shared-blurred.jpg", "shared-sharp.jpg"]);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["verified"] == true)
    );
    // The cards show both, verified, before the server goes.
    assert!(
        eventually(30, || {
            let browser = &browser;
            async move {
                browser
                    .find_all(Locator::Css(
                        "[data-testid='photo-card'][data-status='verified']",
                    ))
                    .await
                    .map(|c| c.len())
                    .unwrap_or(0)
                    == 2
            }
        })
        .await,
        "the grid never showed the two shared photos verified"
    );
    // The page is opened again while the server still runs, so the copies it falls back to
    // are the ones it last read.
    browser.refresh().await.unwrap();
    wait_for(
        &browser,
        "[data-testid='photo-card'][data-status='verified']",
    )
    .await;

    // One photo's thumbnail copy is made to look as a Google photo's does once its time is
    // up (the service worker marks a copy with the end its Cache-Control gave it).
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let marked = script(
        &browser,
        &format!(
            r#"const name = (await caches.keys()).find(k => k.startsWith("classify-data-"));
               const cache = await caches.open(name);
               const url = "/api/v1/photos/{}/image?size=thumb";
               const kept = await cache.match(url);
               if (!kept) return "no copy of " + url;
               const headers = new Headers(kept.headers);
               headers.set("x-classify-expires", String(Date.now() - 1));
               await cache.put(url, new Response(await kept.blob(), {{ headers }}));
               return "marked";"#,
            ids[0]
        ),
    )
    .await;
    assert_eq!(marked, json!("marked"));

    // The server goes away. Reopened, the app shows the library as last seen, and says why.
    app.stop().await;
    browser.refresh().await.unwrap();
    let notice = wait_for(&browser, "[data-testid='offline']")
        .await
        .text()
        .await
        .unwrap();
    assert!(notice.starts_with("Offline"), "{notice}");
    let mut shown = Vec::new();
    for card in browser
        .find_all(Locator::Css("[data-testid='photo-card'] .filename"))
        .await
        .unwrap()
    {
        shown.push(card.text().await.unwrap());
    }
    shown.sort();
    assert_eq!(shown, ["shared-blurred.jpg", "shared-sharp.jpg"]);
    // Offline, the copy whose time is up is gone; the other is still served.
    let offline_thumbs = script(
        &browser,
        &format!(
            r#"const get = async id => {{
                 // no-store: past the HTTP cache, to the service worker's copies.
                 try {{ return (await fetch(`/api/v1/photos/${{id}}/image?size=thumb`,
                                          {{ cache: "no-store" }})).status; }}
                 catch (_) {{ return "unreachable"; }}
               }};
               return [await get({}), await get({})];"#,
            ids[0], ids[1]
        ),
    )
    .await;
    assert_eq!(offline_thumbs, json!(["unreachable", 200]));

    browser.close().await.unwrap();
}

/// The first visit over the wire: the page and every asset it names (the app's script, wasm
/// and styles, and the preview worker it starts) come brotli-compressed to a browser that
/// accepts it, gzip to one that accepts only that, and as they are to one that accepts
/// neither; the totals are printed for the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_is_sent_compressed() {
    let app = app_with_client(0).await;
    let page = app.get("/").await.text().await.unwrap();
    let mut paths = vec![
        "/".to_string(),
        "/worker.js".into(),
        "/worker_bg.wasm".into(),
    ];
    for part in page.split("href=\"").skip(1) {
        let path = part.split('"').next().unwrap();
        if path.ends_with(".js") || path.ends_with(".wasm") || path.ends_with(".css") {
            paths.push(path.to_string());
        }
    }
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("_bg.wasm") && p != "/worker_bg.wasm"),
        "{paths:?}"
    );
    let client = reqwest::Client::new();
    let mut totals = Vec::new();
    for accept in ["br, gzip", "gzip", "identity"] {
        let mut total = 0;
        for path in &paths {
            let response = client
                .get(format!("{}{path}", app.base))
                .header("accept-encoding", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let encoding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_string());
            let expected = match accept {
                "br, gzip" => Some("br"),
                "gzip" => Some("gzip"),
                _ => None,
            };
            assert_eq!(encoding.as_deref(), expected, "{path} with {accept}");
            total += response.bytes().await.unwrap().len();
        }
        totals.push((accept, total));
    }
    eprintln!(
        "first visit over the wire ({} files): {totals:?}",
        paths.len()
    );
    let (br, identity) = (totals[0].1, totals[2].1);
    assert!(
        br * 2 < identity,
        "brotli saves more than half: {br} of {identity}"
    );
    app.stop().await;
}
