//! The photo flow end to end through the REST API: upload, verify in a batch, list each filter,
//! counts, threshold, images, duplicates and delete. On both backends.

use reqwest::Method;
use serde_json::json;

use crate::fixtures::{blurred_jpeg, kernel_score, sharp_jpeg};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    fifty_photos_are_uploaded_verified_in_a_batch_and_listed_by_filter,
    the_same_bytes_uploaded_twice_are_one_photo,
    images_are_served_with_cache_headers_and_photos_can_be_deleted,
    the_threshold_moves_every_verdict_at_once,
    one_photo_is_analysed_and_its_result_verified,
    nullable_values_bind_in_any_order,
    the_gallery_filters_follow_the_shared_category_rule,
    every_order_pages_through_the_gallery_once,
    the_photo_view_gets_the_sharpness_map_and_lists_do_not,
);

/// `GET /photos/{id}` carries the sharpness map once the photo is verified (null before), as
/// the photo is shown: a photo stored sideways with EXIF orientation 6 gets the map of the same
/// pixels turned a quarter, its columns and rows swapped. No list answer carries a map.
async fn the_photo_view_gets_the_sharpness_map_and_lists_do_not(backend: Backend) {
    use shared::media::test_images::with_exif_orientation;
    let app = TestApp::spawn_with_workers(backend, 1).await;
    let upright = sharp_jpeg(7);
    // The same pixels, stored sideways (an EXIF block makes them other bytes, another photo).
    let sideways = with_exif_orientation(&upright, 6);
    let (status, body) = app
        .upload(
            &[
                ("upright.jpg".into(), upright.clone()),
                ("sideways.jpg".into(), sideways.clone()),
            ],
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ids: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let no_map = |p: &serde_json::Value| !p.as_object().unwrap().contains_key("sharpness_map");
    assert!(
        body["items"].as_array().unwrap().iter().all(no_map),
        "{body}"
    );
    let detail = |id: i64| {
        let app = &app;
        async move {
            let (status, photo) = app
                .call(Method::GET, &format!("/api/v1/photos/{id}"), None, None)
                .await;
            assert_eq!(status, 200, "{photo}");
            photo
        }
    };
    let before = detail(ids[0]).await;
    assert_eq!(before["verified"], false);
    assert!(
        before.as_object().unwrap().contains_key("sharpness_map")
            && before["sharpness_map"].is_null(),
        "{before}"
    );

    let done = app.verify_all(60).await;
    assert_eq!(done["done"], 2, "{done}");
    // What the kernel itself says of these bytes, turned as the photo is shown.
    let kernel_map = |bytes: &[u8]| {
        let decoded =
            server::media::decode_gray(bytes, &server::media::MediaLimits::default()).unwrap();
        decoded.judge().unwrap().sharpness_map
    };
    let served = |photo: &serde_json::Value| -> shared::kernel::SharpnessMap {
        serde_json::from_value(photo["sharpness_map"].clone()).unwrap()
    };
    // 640 x 480 is analysed at 512 x 384: (512 - 16) / 8 = 62 blocks = 8 columns of tiles,
    // (384 - 16) / 8 = 46 blocks = 6 rows.
    let shown = detail(ids[0]).await;
    assert_eq!(shown["verified"], true, "{shown}");
    let map = served(&shown);
    assert_eq!((map.columns, map.rows, map.cells.len()), (8, 6, 48));
    assert_eq!(map, kernel_map(&upright));
    assert!(
        map.cells
            .iter()
            .any(|v| *v >= shared::kernel::SharpnessMap::SHARP)
    );
    // Stored sideways, shown upright: 6 columns of 8 rows, the stored grid turned clockwise.
    let turned = served(&detail(ids[1]).await);
    assert_eq!(
        (turned.columns, turned.rows, turned.cells.len()),
        (6, 8, 48)
    );
    assert_eq!(turned, kernel_map(&sideways));
    assert_eq!(turned, map.clone().oriented(6));

    // No list carries it: the newest-first page, the other orders, each filter, and the
    // answers that return one photo as lists show it.
    for query in [
        "",
        "?sort=blurriest",
        "?sort=sharpest&filter=all",
        "?filter=blurred",
        "?filter=not_blurred",
        "?sort=taken",
    ] {
        let (status, page) = app
            .call(Method::GET, &format!("/api/v1/photos{query}"), None, None)
            .await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(
            !items.is_empty() || query.contains("filter="),
            "{query}: {page}"
        );
        assert!(items.iter().all(no_map), "{query}: {page}");
    }
    let (_, all) = app.call(Method::GET, "/api/v1/photos", None, None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    let (status, photo) = app
        .call(
            Method::PUT,
            &format!("/api/v1/photos/{}/preview", ids[0]),
            None,
            Some(json!({"preview_score": 0.2})),
        )
        .await;
    assert_eq!(status, 200, "{photo}");
    assert!(no_map(&photo), "{photo}");
    app.stop().await;
}

/// Every `sort` pages through each filter, with and without a tag, in its documented order,
/// each photo exactly once across pages of 3; unverified photos come last in the score orders.
async fn every_order_pages_through_the_gallery_once(backend: Backend) {
    use shared::api::PhotoSort;
    let app = TestApp::spawn(backend).await;
    let files: Vec<(String, Vec<u8>)> = (0..12u64)
        .map(|i| {
            let bytes = if i % 2 == 0 {
                sharp_jpeg(i)
            } else {
                blurred_jpeg(i)
            };
            (format!("p{i:02}.jpg"), bytes)
        })
        .collect();
    let ids = upload_ids(&app, &files).await;
    // Eight verified, four left unverified; half of them tagged "dog".
    verify_here(&app, &ids[..8]).await;
    let user: (i64,) = sqlx::query_as("SELECT user_id FROM photos WHERE id = $1")
        .bind(ids[0])
        .fetch_one(app.deps.db.pool())
        .await
        .unwrap();
    for id in ids.iter().step_by(2) {
        sqlx::query(
            "INSERT INTO photo_tags (photo_id, user_id, tag, created_at) VALUES ($1, $2, 'dog', 0)",
        )
        .bind(id)
        .bind(user.0)
        .execute(app.deps.db.pool())
        .await
        .unwrap();
        // As `db::tags::store` does: a tagged photo says when it was tagged.
        sqlx::query("UPDATE photos SET tagged_at = 0 WHERE id = $1")
            .bind(id)
            .execute(app.deps.db.pool())
            .await
            .unwrap();
    }

    let all = list_all(&app, "all", 50).await;
    assert_eq!(all.len(), 12);
    let key = |p: &serde_json::Value, sort: PhotoSort| -> f64 {
        let score = p["blur_score"].as_f64();
        match sort {
            PhotoSort::Newest => p["id"].as_f64().unwrap(),
            PhotoSort::Taken => p["taken_at"]
                .as_f64()
                .unwrap_or(p["created_at"].as_f64().unwrap()),
            // Ascending orders are compared negated.
            PhotoSort::Blurriest => score.unwrap_or(-1.0),
            PhotoSort::Sharpest => -score.unwrap_or(2.0),
        }
    };
    for sort in PhotoSort::ALL {
        for (filter, tag) in [
            ("all", None),
            ("blurred", None),
            ("not_blurred", Some("dog")),
            ("all", Some("dog")),
        ] {
            let mut expected: Vec<&serde_json::Value> = all
                .iter()
                .filter(|p| match filter {
                    "blurred" => p["is_blurred"] == true,
                    "not_blurred" => p["is_blurred"] == false,
                    _ => true,
                })
                .filter(|p| {
                    tag.is_none() || p["tags"].as_array().unwrap().iter().any(|t| t == "dog")
                })
                .collect();
            expected.sort_by(|a, b| {
                key(b, sort)
                    .total_cmp(&key(a, sort))
                    .then(b["id"].as_i64().cmp(&a["id"].as_i64()))
            });
            let expected: Vec<i64> = expected.iter().map(|p| p["id"].as_i64().unwrap()).collect();
            let query = match tag {
                Some(t) => format!("{filter}&tag={t}&sort={}", sort.as_str()),
                None => format!("{filter}&sort={}", sort.as_str()),
            };
            let listed: Vec<i64> = list_all(&app, &query, 3)
                .await
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect();
            assert!(!listed.is_empty(), "{query}");
            assert_eq!(listed, expected, "{query}");
        }
    }
    // The unverified photos close both score orders.
    for sort in ["blurriest", "sharpest"] {
        let listed = list_all(&app, &format!("all&sort={sort}"), 5).await;
        assert!(listed[8..].iter().all(|p| p["verified"] == false), "{sort}");
    }
    // A cursor of another order, or an unknown order, is a 400 with a JSON body.
    for path in [
        "/api/v1/photos?sort=blurriest&cursor=12",
        "/api/v1/photos?sort=newest&cursor=0.5_12",
        "/api/v1/photos?sort=random",
    ] {
        let (status, body) = app.call(Method::GET, path, None, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    app.stop().await;
}

/// Uploads `files` as the local user and returns the stored photos' ids, in order.
async fn upload_ids(app: &TestApp, files: &[(String, Vec<u8>)]) -> Vec<i64> {
    let (status, body) = app.upload(files, None).await;
    assert_eq!(status, 201, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

/// Queues verification of `ids` and runs a worker in this process until the queue is empty,
/// so the test decides when verification happens.
async fn verify_here(app: &TestApp, ids: &[i64]) {
    use server::jobs::{Outcome, Worker, WorkerConfig};
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            None,
            Some(json!({ "photo_ids": ids })),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let worker = Worker::new(app.deps.clone(), WorkerConfig::default());
    while let Outcome::Ran { .. } = worker.run_once().await.unwrap() {}
}

/// The server's filters and the page's grids share one rule (`PhotoFilter::matches`): checked
/// here on the cases where status and verdict disagree, a verified photo queued again.
async fn the_gallery_filters_follow_the_shared_category_rule(backend: Backend) {
    use shared::api::{Photo, PhotoFilter, PhotoPage};
    let app = TestApp::spawn(backend).await;
    let files = vec![
        ("sharp.jpg".to_string(), sharp_jpeg(1)),
        ("blurred.jpg".to_string(), blurred_jpeg(2)),
        ("never.jpg".to_string(), sharp_jpeg(3)),
    ];
    let ids = upload_ids(&app, &files).await;
    verify_here(&app, &[ids[0], ids[1]]).await;
    // Verified, then queued again with no worker running: status queued, verdict kept.
    for id in [ids[0], ids[1]] {
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/photos/{id}/analyze"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 202);
    }
    let list = |filter: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app
                .get_json(&format!("/api/v1/photos?filter={filter}"))
                .await;
            assert_eq!(status, 200, "{body}");
            serde_json::from_value::<PhotoPage>(body).unwrap().items
        }
    };
    let all: Vec<Photo> = list("all").await;
    assert_eq!(all.len(), 3);
    for (filter, name) in [
        (PhotoFilter::Blurred, "blurred"),
        (PhotoFilter::NotBlurred, "not_blurred"),
        (PhotoFilter::Unprocessed, "unprocessed"),
        (PhotoFilter::Failed, "failed"),
    ] {
        let listed: Vec<i64> = list(name).await.iter().map(|p| p.id).collect();
        let by_rule: Vec<i64> = all
            .iter()
            .filter(|p| filter.matches(p))
            .map(|p| p.id)
            .collect();
        assert_eq!(listed, by_rule, "{name}");
    }
    let unprocessed: Vec<i64> = list("unprocessed").await.iter().map(|p| p.id).collect();
    assert_eq!(
        unprocessed,
        vec![ids[2]],
        "a queued-again photo keeps its category"
    );
    assert!(
        all.iter()
            .filter(|p| p.id != ids[2])
            .all(|p| p.status == shared::api::VerificationStatus::Queued && p.verified)
    );
    app.stop().await;
}

/// On one connection, a `None` bound before a `Some` (and the reverse) must both work: photos
/// without EXIF next to photos with it, defocus verdicts (no angle) next to motion ones.
async fn nullable_values_bind_in_any_order(backend: Backend) {
    use server::db::photos::{NewPhoto, Verdict, insert, store_verdict};
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage = crate::helpers::storage(backend, data_dir.path().to_path_buf()).await;
    storage.database_max_connections = 1;
    let app = TestApp::spawn_with(storage, data_dir, |_| {}).await;
    let pool = app.deps.db.pool();
    let user = app.local_user();
    let mut ids = Vec::new();
    for (i, exposure) in [None, Some(0.01), None, Some(0.5)].into_iter().enumerate() {
        let sha = format!("{i:064}");
        let photo = NewPhoto {
            exposure_time_s: exposure,
            focal_length_mm: exposure.map(|e| e * 100.0),
            taken_at: exposure.map(|_| 1_700_000_000_000),
            camera_make: exposure.map(|_| "Canon"),
            aperture_f_number: exposure.map(|e| e * 10.0),
            iso: exposure.map(|_| 400),
            ..crate::helpers::bare_photo(user, &sha)
        };
        let mut conn = pool.acquire().await.unwrap();
        ids.push(insert(&mut conn, &photo).await.unwrap().0.id);
    }
    // The map's NULL falls on other photos than the angle's, so each is bound both ways.
    let maps = [None, None, Some(vec![1, 1, 90]), Some(vec![2, 1, 10, 255])];
    for ((id, angle), map) in ids
        .iter()
        .zip([None, Some(45.0), None, Some(90.0)])
        .zip(maps)
    {
        let verdict = Verdict {
            blur_score: 0.9,
            blur_kind: if angle.is_some() { "motion" } else { "defocus" },
            motion_angle_deg: angle,
            sharpness_map: map,
        };
        store_verdict(&app.deps.db, *id, &verdict).await.unwrap();
    }
    let (_, photo) = app
        .call(
            Method::GET,
            &format!("/api/v1/photos/{}", ids[1]),
            None,
            None,
        )
        .await;
    assert_eq!(photo["motion_angle_deg"], 45.0);
    assert_eq!(photo["blur_type"], "motion");
    assert_eq!(photo["sharpness_map"], serde_json::Value::Null);
    let (_, photo) = app
        .call(
            Method::GET,
            &format!("/api/v1/photos/{}", ids[3]),
            None,
            None,
        )
        .await;
    assert_eq!(
        photo["sharpness_map"],
        json!({"columns": 2, "rows": 1, "cells": [10, 255]})
    );
    app.stop().await;
}

/// Every page of a filter, following `next_cursor`.
async fn list_all(app: &TestApp, filter: &str, limit: usize) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/photos?filter={filter}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.call(Method::GET, &path, None, None).await;
        assert_eq!(status, 200, "{page}");
        let got = page["items"].as_array().unwrap().clone();
        assert!(got.len() <= limit);
        items.extend(got);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return items,
        }
    }
}

async fn fifty_photos_are_uploaded_verified_in_a_batch_and_listed_by_filter(backend: Backend) {
    let app = TestApp::spawn_with_workers(backend, 2).await;
    let files: Vec<(String, Vec<u8>)> = (0..50u64)
        .map(|i| {
            let bytes = if i % 2 == 0 {
                sharp_jpeg(i)
            } else {
                blurred_jpeg(i)
            };
            (format!("photo_{i:02}.jpg"), bytes)
        })
        .collect();
    let expected_blurred = files.iter().filter(|(_, b)| kernel_score(b) >= 0.5).count();
    // The fixtures really are a mix, or this test would prove little.
    assert!(
        (20..=30).contains(&expected_blurred),
        "{expected_blurred} blurred"
    );

    for chunk in files.chunks(10) {
        let (status, body) = app.upload(chunk, None).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["items"].as_array().unwrap().len(), chunk.len());
        assert!(body["rejected"].as_array().unwrap().is_empty());
        assert_eq!(body["items"][0]["status"], "unprocessed");
        assert_eq!(body["items"][0]["verified"], false);
    }
    assert_eq!(list_all(&app, "unprocessed", 50).await.len(), 50);

    let (status, accepted) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            None,
            Some(json!({"filter": "unprocessed"})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["total"], 50);
    let progress = app
        .wait_for_batch(accepted["job_id"].as_i64().unwrap(), None, 120)
        .await;
    assert_eq!(
        progress,
        json!({"batch_id": accepted["batch_id"], "job_id": accepted["batch_id"], "status": "done", "done": 50, "failed": 0, "total": 50})
    );

    let all = list_all(&app, "all", 7).await;
    let blurred = list_all(&app, "blurred", 7).await;
    let clear = list_all(&app, "not_blurred", 7).await;
    let unprocessed = list_all(&app, "unprocessed", 7).await;
    assert_eq!(all.len(), 50);
    assert_eq!(blurred.len(), expected_blurred);
    assert_eq!(clear.len(), 50 - expected_blurred);
    assert!(unprocessed.is_empty());
    // Newest first, no photo twice across pages.
    let ids: Vec<i64> = all.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    for photo in &all {
        assert_eq!(photo["status"], "done");
        assert_eq!(photo["verified"], true);
        let name = photo["filename"].as_str().unwrap();
        let (_, bytes) = files.iter().find(|(n, _)| n == name).unwrap();
        let score = photo["blur_score"].as_f64().unwrap();
        // The stored score is the kernel's, exactly (f32 widened to f64).
        assert_eq!(score, f64::from(kernel_score(bytes)), "{name}");
        assert_eq!(photo["is_blurred"], score >= 0.5);
        if score >= 0.5 {
            assert!(["motion", "defocus"].contains(&photo["blur_type"].as_str().unwrap()));
        } else {
            assert_eq!(photo["blur_type"], "none");
        }
    }
    for photo in &blurred {
        assert_eq!(photo["is_blurred"], true);
    }

    let (status, stats) = app.call(Method::GET, "/api/v1/stats", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(stats["total"], 50);
    assert_eq!(stats["blurred"], expected_blurred);
    assert_eq!(stats["not_blurred"], 50 - expected_blurred);
    assert_eq!(stats["unprocessed"], 0);
    assert_eq!(
        stats["by_type"]["motion"].as_i64().unwrap()
            + stats["by_type"]["defocus"].as_i64().unwrap(),
        expected_blurred as i64
    );
    let bins = stats["histogram"].as_array().unwrap();
    assert_eq!(bins.len(), 10);
    assert_eq!(
        bins.iter()
            .map(|b| b["count"].as_i64().unwrap())
            .sum::<i64>(),
        50
    );
    app.stop().await;
}

async fn the_same_bytes_uploaded_twice_are_one_photo(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bytes = sharp_jpeg(7);
    let (status, first) = app.upload(&[("a.jpg".into(), bytes.clone())], None).await;
    assert_eq!(status, 201, "{first}");
    let (status, second) = app
        .upload(
            &[
                ("renamed.jpeg".into(), bytes.clone()),
                ("b.jpg".into(), sharp_jpeg(8)),
            ],
            None,
        )
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["items"][0]["id"], first["items"][0]["id"]);
    assert_eq!(second["duplicates"], json!([first["items"][0]["id"]]));
    assert_ne!(second["items"][1]["id"], first["items"][0]["id"]);
    let (_, page) = app.call(Method::GET, "/api/v1/photos", None, None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    app.stop().await;
}

async fn images_are_served_with_cache_headers_and_photos_can_be_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bytes = sharp_jpeg(3);
    let (_, body) = app.upload(&[("a.jpg".into(), bytes.clone())], None).await;
    let id = body["items"][0]["id"].as_i64().unwrap();

    let thumb = app
        .get(&format!("/api/v1/photos/{id}/image?size=thumb"))
        .await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    assert!(
        thumb.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let etag = thumb.headers()["etag"].to_str().unwrap().to_string();
    let img = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));

    let again = app
        .request(
            Method::GET,
            &format!("/api/v1/photos/{id}/image?size=thumb"),
            None,
        )
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let analysis = app
        .get(&format!("/api/v1/photos/{id}/image?size=analysis"))
        .await;
    assert_eq!(analysis.headers()["content-type"], "image/png");
    let img = image::load_from_memory(&analysis.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (512, 384));
    assert!(matches!(img, image::DynamicImage::ImageLuma8(_)));

    let original = app
        .get(&format!("/api/v1/photos/{id}/image?size=original"))
        .await;
    assert_eq!(original.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let (status, err) = app
        .call(
            Method::GET,
            &format!("/api/v1/photos/{id}/image?size=huge"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "bad_request");

    let (status, _) = app
        .call(Method::DELETE, &format!("/api/v1/photos/{id}"), None, None)
        .await;
    assert_eq!(status, 204);
    for path in [
        format!("/api/v1/photos/{id}"),
        format!("/api/v1/photos/{id}/image"),
    ] {
        let (status, err) = app.call(Method::GET, &path, None, None).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(err["error"]["code"], "not_found");
    }
    let (status, _) = app
        .call(Method::DELETE, &format!("/api/v1/photos/{id}"), None, None)
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}

async fn the_threshold_moves_every_verdict_at_once(backend: Backend) {
    let app = TestApp::spawn_with_workers(backend, 1).await;
    let files: Vec<(String, Vec<u8>)> = (0..6u64)
        .map(|i| {
            (
                format!("{i}.jpg"),
                if i < 3 {
                    sharp_jpeg(100 + i)
                } else {
                    blurred_jpeg(100 + i)
                },
            )
        })
        .collect();
    let mut scores: Vec<f64> = files
        .iter()
        .map(|(_, b)| f64::from(kernel_score(b)))
        .collect();
    app.upload(&files, None).await;
    let (_, accepted) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    app.wait_for_batch(accepted["job_id"].as_i64().unwrap(), None, 60)
        .await;

    // A threshold between the 2nd and 3rd highest score leaves exactly two blurred.
    scores.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let threshold = (scores[1] + scores[2]) / 2.0;
    let (status, settings) = app
        .call(
            Method::PUT,
            "/api/v1/settings",
            None,
            Some(json!({"blur_threshold": threshold})),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(list_all(&app, "blurred", 50).await.len(), 2);
    assert_eq!(list_all(&app, "not_blurred", 50).await.len(), 4);
    let (_, stats) = app.call(Method::GET, "/api/v1/stats", None, None).await;
    assert_eq!(stats["blurred"], 2);
    assert_eq!(stats["blur_threshold"], threshold);
    let (_, me) = app.call(Method::GET, "/api/v1/auth/me", None, None).await;
    assert_eq!(me["settings"]["blur_threshold"], threshold);
    assert_eq!(me["mode"], "local");
    for photo in list_all(&app, "all", 50).await {
        assert_eq!(
            photo["is_blurred"],
            photo["blur_score"].as_f64().unwrap() >= threshold
        );
    }

    for bad in [
        json!({"blur_threshold": 1.5}),
        json!({"blur_threshold": -0.1}),
        json!({"x": 1}),
    ] {
        let (status, err) = app
            .call(Method::PUT, "/api/v1/settings", None, Some(bad))
            .await;
        assert!(status == 400 || status == 422, "{status} {err}");
        assert!(err["error"]["message"].is_string());
    }
    app.stop().await;
}

async fn one_photo_is_analysed_and_its_result_verified(backend: Backend) {
    let app = TestApp::spawn_with_workers(backend, 1).await;
    let bytes = blurred_jpeg(42);
    let (_, body) = app.upload(&[("b.jpg".into(), bytes.clone())], None).await;
    let id = body["items"][0]["id"].as_i64().unwrap();

    let (status, result) = app
        .call(
            Method::GET,
            &format!("/api/v1/photos/{id}/result"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(result["verified"], false);
    assert_eq!(result["blur_score"], serde_json::Value::Null);

    // A preview score is shown but is not a verification.
    let (status, photo) = app
        .call(
            Method::PUT,
            &format!("/api/v1/photos/{id}/preview"),
            None,
            Some(json!({"preview_score": 0.9})),
        )
        .await;
    assert_eq!(status, 200, "{photo}");
    assert_eq!(photo["preview_score"], 0.9);
    assert_eq!(photo["verified"], false);

    let (status, accepted) = app
        .call(
            Method::POST,
            &format!("/api/v1/photos/{id}/analyze"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["total"], 1);
    app.wait_for_batch(accepted["job_id"].as_i64().unwrap(), None, 60)
        .await;
    let (_, result) = app
        .call(
            Method::GET,
            &format!("/api/v1/photos/{id}/result"),
            None,
            None,
        )
        .await;
    assert_eq!(result["verified"], true);
    assert_eq!(result["status"], "done");
    assert_eq!(
        result["blur_score"].as_f64().unwrap(),
        f64::from(kernel_score(&bytes))
    );
    assert_eq!(result["preview_score"], 0.9);
    assert!(result["processed_at"].as_i64().unwrap() > 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_is_documented_and_the_docs_page_works_offline() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["schemas"]["Photo"].is_object());
    // One photo is the detail (the photo and its sharpness map); a list's items are photos.
    let schemas = &doc["components"]["schemas"];
    let one = &doc["paths"]["/api/v1/photos/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(one, "#/components/schemas/PhotoDetail", "{}", doc["paths"]);
    let detail = schemas["PhotoDetail"].to_string();
    assert!(
        detail.contains("#/components/schemas/Photo\"")
            && detail.contains("sharpness_map")
            && detail.contains("#/components/schemas/SharpnessMap"),
        "{detail}"
    );
    for field in ["columns", "rows", "cells"] {
        assert!(
            schemas["SharpnessMap"]["properties"][field].is_object(),
            "{}",
            schemas["SharpnessMap"]
        );
    }
    assert!(!schemas["Photo"].to_string().contains("sharpness_map"));
    // The document and the router come from one definition: every documented operation is
    // routed (it never meets the API's "endpoint not found" or 405 fallbacks), and there are as
    // many as the API has.
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let url = path
                .replace("{id}", "999999")
                .replace("{batch_id}", "999999");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .request(method.clone(), &url, None)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            assert_ne!(status, 405, "{method} {url} is documented but not routed");
            assert!(
                !body.contains("endpoint not found"),
                "{method} {url} is documented but not routed: {body}"
            );
        }
    }
    // 25 + the six of AI tags (status, list, tag one, batch, estimate, remove a tag) + the six
    // of albums (create, list, show, resume, events, download).
    assert_eq!(operations, 37, "{:?}", paths.keys().collect::<Vec<_>>());
    // Swagger UI is served from the binary: the page and its script, no CDN.
    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    assert!(
        !html.contains("https://"),
        "the docs page must not load remote assets"
    );
    let script = app.get("/api/docs/swagger-ui-bundle.js").await;
    assert_eq!(script.status(), 200);
    assert!(script.bytes().await.unwrap().len() > 100_000);
    let init = app
        .get("/api/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/openapi.json"), "{init}");
    app.stop().await;
}
