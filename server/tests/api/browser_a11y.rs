//! The page audited as assistive technology meets it: axe-core (tools/axe, installed by
//! `cargo xtask setup`) runs inside headless Chromium on the gallery, the photo view, the Debug
//! tab and the statistics, in the light and the dark theme, and finds no serious or critical
//! violation; at phone width, too, cards of one row keep one height and no page is wider than
//! the window. The photo view's sharpness map is audited with its overlay on, in both themes.
//! Screenshots at desktop and phone widths, in both themes, are written for the record.

use std::path::PathBuf;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use serde_json::{Value, json};

use crate::browser::{app_with_client, count, press, settled_text, start_browser, wait_for};
use crate::browser_pwa::Cdp;
use crate::fixtures::{blurred_jpeg, sharp_jpeg};
use crate::helpers::eventually;

fn axe_source() -> String {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tools/axe/node_modules/axe-core/axe.min.js"
    ));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is needed at {}: run `cargo xtask setup` ({e})",
            path.display()
        )
    })
}

/// axe's violations on the page as it is now: `[{id, impact, nodes, help, targets}]`.
async fn audit(browser: &fantoccini::Client, axe: &str) -> Vec<Value> {
    browser.execute(axe, vec![]).await.unwrap();
    let found = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ({
               id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help,
               targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))));",
            vec![],
        )
        .await
        .unwrap();
    found.as_array().cloned().unwrap_or_default()
}

async fn theme(browser: &fantoccini::Client, scheme: &str) {
    browser
        .issue_cmd(Cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        ))
        .await
        .unwrap();
}

async fn screenshot(browser: &fantoccini::Client, name: &str) -> PathBuf {
    let png = browser.screenshot().await.unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_passes_axe_in_light_and_dark_at_desktop_and_phone_widths() {
    let app = app_with_client(1).await;
    // A library with every state a card can show: clear, blurred, failed.
    let mut cut = sharp_jpeg(3);
    cut.truncate(cut.len() / 2);
    let files: Vec<(String, Vec<u8>)> = (0..4)
        .map(|s| (format!("sharp-{s}.jpg"), sharp_jpeg(40 + s)))
        .chain((0..4).map(|s| (format!("blurred-{s}.jpg"), blurred_jpeg(60 + s))))
        .chain([("cut.jpg".to_string(), cut)])
        .collect();
    let (status, body) = app.upload(&files, None).await;
    assert_eq!(status, 201, "{body}");
    app.verify_all(120).await;

    let axe = axe_source();
    let (_driver, browser, _profile) = start_browser().await;
    let mut serious = Vec::new();
    let mut report = Vec::new();
    let mut shots = Vec::new();
    for scheme in ["light", "dark"] {
        for (width, height, device) in [(1280, 900, "desktop"), (390, 844, "phone")] {
            browser.set_window_size(width, height).await.unwrap();
            theme(&browser, scheme).await;
            browser.goto(&format!("{}/#/all", app.base)).await.unwrap();
            wait_for(
                &browser,
                "[data-testid='photo-card'][data-status='failed'] .thumb-missing",
            )
            .await;
            let mut views = vec![("gallery", audit(&browser, &axe).await)];
            // Cards in one row keep one height; nothing is wider than the window.
            let layout = browser
                .execute(
                    "const tops = new Map();
                     for (const c of document.querySelectorAll(\"[data-testid='photo-card']\")) {
                       const r = c.getBoundingClientRect();
                       const row = tops.get(Math.round(r.top)) || new Set();
                       row.add(Math.round(r.height)); tops.set(Math.round(r.top), row);
                     }
                     const uneven = [...tops.values()].filter(h => h.size > 1).length;
                     return [uneven, document.documentElement.scrollWidth, window.innerWidth];",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(
                layout[0], 0,
                "{device}: cards of one row differ in height: {layout}"
            );
            assert!(
                layout[1].as_u64() <= layout[2].as_u64(),
                "{device}: the page is wider than the window: {layout}"
            );
            shots.push(screenshot(&browser, &format!("gallery-{device}-{scheme}")).await);
            // The photo view of a blurred photo (verdict, score meter, arrow).
            wait_for(
                &browser,
                "[data-testid='photo-card'][data-verdict='blurred'] .thumb img",
            )
            .await
            .click()
            .await
            .unwrap();
            wait_for(&browser, "[data-testid='photo-view']").await;
            views.push(("photo view", audit(&browser, &axe).await));
            shots.push(screenshot(&browser, &format!("view-{device}-{scheme}")).await);
            browser
                .goto(&format!("{}/#/debug", app.base))
                .await
                .unwrap();
            wait_for(&browser, "#preview-stats").await;
            let fits = browser
                .execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth;",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(fits, json!(true), "{device}: the Debug tab fits the window");
            views.push(("debug", audit(&browser, &axe).await));
            browser
                .goto(&format!("{}/#/statistics", app.base))
                .await
                .unwrap();
            wait_for(&browser, "[data-testid='histogram']").await;
            views.push(("statistics", audit(&browser, &axe).await));
            for (view, violations) in views {
                for v in violations {
                    let line = format!(
                        "{scheme} {device} {view}: {} ({}) x{}: {} {}",
                        v["id"], v["impact"], v["nodes"], v["help"], v["targets"]
                    );
                    if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                        serious.push(line.clone());
                    }
                    report.push(line);
                }
            }
        }
    }
    // The keyboard's first stop is the skip link, which takes the focus to the content.
    browser.goto(&format!("{}/#/all", app.base)).await.unwrap();
    browser.refresh().await.unwrap();
    wait_for(&browser, "[data-testid='photo-card']").await;
    let tab = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: '\u{e004}' })
        .then(KeyAction::Up { value: '\u{e004}' });
    browser.perform_actions(tab).await.unwrap();
    let first = browser.active_element().await.unwrap();
    assert_eq!(
        first.attr("data-testid").await.unwrap().as_deref(),
        Some("skip-link")
    );
    first.send_keys("\u{e007}").await.unwrap();
    let focused = browser.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("content")
    );
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.fragment(), Some("/all"), "the tab stays: {url}");

    eprintln!(
        "axe: {} violations in all, {} serious or critical",
        report.len(),
        serious.len()
    );
    for line in &report {
        eprintln!("  {line}");
    }
    for shot in &shots {
        eprintln!("screenshot: {}", shot.display());
    }
    assert!(serious.is_empty(), "serious or critical: {serious:#?}");
    browser.close().await.unwrap();
    app.stop().await;
}

/// "Show sharpness" lays the photo's sharpness map over it: one cell per tile of the map the
/// API serves, in its order, covering the drawn photo exactly, hidden from screen readers (the
/// summary beside it says it in words), with a legend; pressing again takes it away. A photo
/// without a map offers no button. With the overlay on, axe finds nothing serious in the light
/// or the dark theme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sharpness_map_is_laid_over_the_photo_and_passes_axe_in_both_themes() {
    use shared::kernel::SharpnessMap;
    let app = app_with_client(1).await;
    let (status, body) = app
        .upload(&[("verified.jpg".to_string(), sharp_jpeg(9))], None)
        .await;
    assert_eq!(status, 201, "{body}");
    let verified = body["items"][0]["id"].as_i64().unwrap();
    app.verify_all(60).await;
    // Added after the batch: never verified, so it has no map (and it leads the grid).
    let (status, body) = app
        .upload(&[("unverified.jpg".to_string(), blurred_jpeg(9))], None)
        .await;
    assert_eq!(status, 201, "{body}");
    let unverified = body["items"][0]["id"].as_i64().unwrap();
    let (status, detail) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/photos/{verified}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{detail}");
    let map: SharpnessMap = serde_json::from_value(detail["sharpness_map"].clone()).unwrap();
    assert!(!map.cells.is_empty(), "{detail}");
    let judged = map
        .cells
        .iter()
        .filter(|v| **v != SharpnessMap::FLAT)
        .count();
    let sharp = map
        .cells
        .iter()
        .filter(|v| **v != SharpnessMap::FLAT && **v >= SharpnessMap::SHARP)
        .count();

    let axe = axe_source();
    let (_driver, browser, _profile) = start_browser().await;
    browser.set_window_size(1280, 900).await.unwrap();
    theme(&browser, "light").await;
    browser.goto(&format!("{}/#/all", app.base)).await.unwrap();
    wait_for(
        &browser,
        &format!("[data-photo-id='{unverified}'] [data-testid='open']"),
    )
    .await
    .click()
    .await
    .unwrap();
    settled_text(
        &browser,
        &format!("[data-testid='photo-view'][data-photo-id='{unverified}'] [data-testid='photo-view-verdict']"),
    )
    .await;
    // An unverified photo has no map to ask for: the view shows no button from the start.
    assert_eq!(
        count(&browser, "[data-testid='sharpness-toggle']").await,
        0,
        "a photo without a map offers no button"
    );
    // The next photo is the verified one.
    press(&browser, "\u{e014}").await;
    let toggle = wait_for(
        &browser,
        &format!("[data-testid='photo-view'][data-photo-id='{verified}'] [data-testid='sharpness-toggle']"),
    )
    .await;
    assert_eq!(toggle.text().await.unwrap(), "Show sharpness");
    assert_eq!(
        toggle.attr("aria-pressed").await.unwrap().as_deref(),
        Some("false")
    );
    assert_eq!(
        count(&browser, "[data-testid='sharpness-overlay']").await,
        0
    );
    let words = if judged == 1 { "area" } else { "areas" };
    assert_eq!(
        settled_text(&browser, "[data-testid='sharpness-summary']").await,
        format!("Sharp in {sharp} of {judged} judged {words}")
    );
    toggle.click().await.unwrap();

    let overlay = wait_for(&browser, "[data-testid='sharpness-overlay']").await;
    assert_eq!(
        toggle.attr("aria-pressed").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        overlay.attr("aria-hidden").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        (
            overlay.attr("data-columns").await.unwrap(),
            overlay.attr("data-rows").await.unwrap()
        ),
        (Some(map.columns.to_string()), Some(map.rows.to_string()))
    );
    let cells = browser
        .execute(
            "return [...document.querySelectorAll(\"[data-testid='sharpness-overlay'] .map-cell\")]
               .map(c => [Number(c.dataset.value), c.classList.contains('flat'),
                          c.classList.contains('sharp')]);",
            vec![],
        )
        .await
        .unwrap();
    let cells = cells.as_array().unwrap();
    assert_eq!(cells.len(), map.cells.len(), "one cell per tile");
    for (drawn, value) in cells.iter().zip(&map.cells) {
        assert_eq!(drawn[0], json!(value), "cells in the map's order");
        assert_eq!(drawn[1], json!(*value == SharpnessMap::FLAT));
        assert_eq!(
            drawn[2],
            json!(*value != SharpnessMap::FLAT && *value >= SharpnessMap::SHARP)
        );
    }
    assert_eq!(
        count(&browser, "[data-testid='sharpness-legend'] li").await,
        4,
        "sharp, soft, blurred, too flat"
    );
    // The overlay covers the drawn photo, not the black around it.
    let covers = eventually(15, || {
        let browser = &browser;
        async move {
            let rects = browser
                .execute(
                    "const i = document.querySelector('.photo-view-image img');
                     const o = document.querySelector(\"[data-testid='sharpness-overlay']\");
                     if (!i.complete || i.naturalWidth === 0) return null;
                     const a = i.getBoundingClientRect(), b = o.getBoundingClientRect();
                     return [a.left - b.left, a.top - b.top, a.width - b.width,
                             a.height - b.height, a.width, a.height];",
                    vec![],
                )
                .await
                .unwrap();
            rects.as_array().is_some_and(|r| {
                r[..4].iter().all(|d| d.as_f64().unwrap().abs() < 1.5)
                    && r[4].as_f64().unwrap() > 100.0
                    && r[5].as_f64().unwrap() > 100.0
            })
        }
    })
    .await;
    assert!(covers, "the overlay does not cover the drawn photo");

    let mut serious = Vec::new();
    for scheme in ["light", "dark"] {
        theme(&browser, scheme).await;
        // The theme changes under an open page here: the colour transitions (the drop zone's
        // 0.15 s) must end first, or axe measures a colour halfway between the themes.
        assert!(
            eventually(10, || async {
                browser
                    .execute(
                        // Reading a layout value flushes the style change, which starts
                        // the transitions, before they are counted.
                        "void document.body.offsetWidth;
                         return document.getAnimations().length === 0;",
                        vec![],
                    )
                    .await
                    .is_ok_and(|v| v == json!(true))
            })
            .await,
            "the {scheme} theme's transitions never ended"
        );
        for v in audit(&browser, &axe).await {
            eprintln!(
                "{scheme} sharpness map: {} ({}) {}",
                v["id"], v["impact"], v["targets"]
            );
            if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                serious.push(format!("{scheme}: {v}"));
            }
        }
        eprintln!(
            "screenshot: {}",
            screenshot(&browser, &format!("sharpness-map-{scheme}"))
                .await
                .display()
        );
    }
    assert!(serious.is_empty(), "serious or critical: {serious:#?}");

    // Pressed again, the overlay goes.
    toggle.click().await.unwrap();
    assert!(
        eventually(10, || async {
            count(&browser, "[data-testid='sharpness-overlay']").await == 0
        })
        .await,
        "the overlay stayed"
    );
    assert_eq!(
        toggle.attr("aria-pressed").await.unwrap().as_deref(),
        Some("false")
    );
    browser.close().await.unwrap();
    app.stop().await;
}
