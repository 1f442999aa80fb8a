//! The Google flow in headless Chromium, as a user meets it: "Sign in with Google", the
//! (fake) consent page, "Pick photos" opening Google's (fake) picker in a new tab, Done, the
//! import, the gallery showing the picked photos with thumbnails through the image proxy
//! and verified scores, and an album of the clear ones, Google's consent for it asked on the
//! way. Needs the built client and Debian's chromium + chromium-driver.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{client_dir, count, settled_text, start_browser, wait_for};
use crate::google::real_library;
use crate::google_harness::GoogleApp;
use crate::helpers::{Backend, eventually};
use crate::on_both_backends;

on_both_backends!(a_user_signs_in_with_google_picks_photos_and_sees_them_verified);

async fn a_user_signs_in_with_google_picks_photos_and_sees_them_verified(backend: Backend) {
    let client = client_dir();
    let g = GoogleApp::start_with(backend, 1, real_library(), |args, _| {
        args.client_dir = Some(client);
    })
    .await;
    let (_driver, browser, _profile) = start_browser().await;
    browser.goto(&format!("{}/", g.app.base)).await.unwrap();

    // Signed out: the sign-in screen, then Google's consent page.
    wait_for(&browser, "#google-sign-in")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&browser, "#user-alice")
        .await
        .click()
        .await
        .unwrap();
    let scopes = browser
        .find_all(Locator::Css("input[name='scope']"))
        .await
        .unwrap();
    assert!(
        !scopes.is_empty(),
        "the consent page lists the Photos scope"
    );
    wait_for(&browser, "#allow").await.click().await.unwrap();

    // Back in the app, signed in as Alice.
    let menu = settled_text(&browser, "#user-menu").await;
    assert!(menu.contains("Alice"), "{menu}");
    assert_eq!(count(&browser, "#google-banner").await, 0);

    // Pick photos: Google's picker opens in a new tab.
    let app_window = browser.window().await.unwrap();
    wait_for(&browser, "#pick-photos")
        .await
        .click()
        .await
        .unwrap();
    let status = settled_text(&browser, "#picker-status").await;
    assert!(!status.is_empty());
    let mut picker = None;
    for _ in 0..100 {
        let windows = browser.windows().await.unwrap();
        if let Some(w) = windows.into_iter().find(|w| *w != app_window) {
            picker = Some(w);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let picker = picker.expect("the picker opened in a new tab");
    browser.switch_to_window(picker).await.unwrap();
    wait_for(&browser, "#select-all")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&browser, "#done").await.click().await.unwrap();
    // The /autoclose page closes its own tab; go back to the app either way.
    browser.switch_to_window(app_window).await.unwrap();

    // The import runs and the nine photos are verified; the panel says so.
    let imported = eventually(60, || async {
        settled_text(&browser, "#picker-status")
            .await
            .contains("Imported 9 photos")
    })
    .await;
    assert!(
        imported,
        "{}",
        settled_text(&browser, "#picker-status").await
    );
    let verified = eventually(60, || async {
        count(
            &browser,
            "[data-testid='photo-card'][data-status='verified']",
        )
        .await
            == 9
    })
    .await;
    assert!(
        verified,
        "cards: {}",
        count(&browser, "[data-testid='photo-card']").await
    );

    // Every thumbnail came through the proxy and decoded (the lazy ones once scrolled to).
    let loaded = eventually(30, || async {
        let loaded = browser
            .execute(
                "const imgs = Array.from(document.querySelectorAll(\"[data-testid='photo-card'] img\"));
                 imgs.filter(i => !i.complete).forEach(i => i.scrollIntoView());
                 return imgs.filter(i => i.complete && i.naturalWidth > 0).length;",
                vec![],
            )
            .await
            .unwrap();
        loaded.as_u64() == Some(9)
    })
    .await;
    let images = browser
        .execute(
            "return Array.from(document.querySelectorAll(\"[data-testid='photo-card'] img\"))
               .map(i => [i.src, i.complete, i.naturalWidth, i.loading]);",
            vec![],
        )
        .await
        .unwrap();
    assert!(loaded, "not every thumbnail loaded: {images}");
    // The app's offline copies of Google media end within Google's 60 minutes: the service
    // worker keeps each thumbnail with the end the proxy's Cache-Control gives it.
    let mut left = Value::Null;
    for _ in 0..150 {
        left = browser
            .execute(
                r#"if (!navigator.serviceWorker.controller) return null;
                   const ids = Array.from(document.querySelectorAll("[data-testid='photo-card']"))
                     .map(c => c.dataset.photoId);
                   const name = (await caches.keys()).find(k => k.startsWith("classify-data-"));
                   const cache = await caches.open(name);
                   const left = [];
                   for (const id of ids) {
                     const url = `/api/v1/photos/${id}/image?size=thumb`;
                     await fetch(url);
                     const kept = await cache.match(url);
                     left.push(kept ? Number(kept.headers.get("x-classify-expires")) - Date.now()
                                    : "not kept");
                   }
                   return left;"#,
                vec![],
            )
            .await
            .unwrap();
        if !left.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let left = left
        .as_array()
        .expect("the service worker never took control of the page");
    assert_eq!(left.len(), 9, "{left:?}");
    assert!(
        left.iter()
            .all(|ms| ms.as_f64().is_some_and(|ms| ms > 0.0 && ms <= 3_600_000.0)),
        "each copy ends within 60 minutes (ms left): {left:?}"
    );
    // The blurred tab holds the six `_F`/`_M` photos.
    wait_for(&browser, "#tab-blurred")
        .await
        .click()
        .await
        .unwrap();
    wait_for(
        &browser,
        "[data-testid='grid'][data-filter='blurred'][data-loaded='true']",
    )
    .await;
    let blurred = count(&browser, "[data-testid='photo-card']").await;
    assert_eq!(blurred, 6);

    // An album of the three clear photos. Sign-in asked for the Picker only, so the first
    // album asks Google for the Library scope (incrementally), and the page comes back to
    // the Albums tab to make it.
    wait_for(&browser, "#tab-albums")
        .await
        .click()
        .await
        .unwrap();
    let create = wait_for(&browser, "[data-testid='album-create']:enabled").await;
    assert!(create.text().await.unwrap().contains("of 3 clear photos"));
    create.click().await.unwrap();
    wait_for(&browser, "[data-testid='album-consent']").await;
    wait_for(&browser, "[data-testid='album-consent-link']")
        .await
        .click()
        .await
        .unwrap();
    let consent = settled_text(&browser, "body").await;
    assert!(
        consent.contains("photoslibrary"),
        "the consent page names the Library scope: {consent}"
    );
    wait_for(&browser, "#allow").await.click().await.unwrap();
    wait_for(&browser, "[data-testid='album-form']").await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(
        url.fragment(),
        Some("/albums"),
        "back on the album screen: {url}"
    );
    wait_for(&browser, "[data-testid='album-create']:enabled")
        .await
        .click()
        .await
        .unwrap();
    let album = browser
        .wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css("[data-testid='album'][data-status='done']"))
        .await
        .expect("the album was never done");
    assert_eq!(
        album.attr("data-added").await.unwrap().as_deref(),
        Some("3")
    );
    assert_eq!(count(&browser, "[data-testid='album-open']").await, 1);
    let albums = g.fake.state().albums();
    assert_eq!(albums.len(), 1, "one album in Google Photos");
    assert_eq!(albums[0].media_item_ids.len(), 3, "each clear photo once");

    browser.close().await.unwrap();
    g.stop().await;
}
