//! The Picker API: sessions, the picker page, Done, and paginated media items.

use std::collections::HashSet;
use std::time::Duration;

use fake_google::{Options, Pick};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn create_session(
    fake: &fake_google::FakeGoogle,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client()
        .post(format!("{}/v1/sessions", fake.endpoints().picker_url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    json_of(req.send().await.unwrap()).await
}

async fn list(fake: &fake_google::FakeGoogle, token: &str, query: &str) -> (StatusCode, Value) {
    let url = format!("{}/v1/mediaItems?{query}", fake.endpoints().picker_url);
    json_of(api_get(&url, token).await).await
}

#[tokio::test]
async fn session_lifecycle_through_the_picker_page() {
    let fake = start_with(Options {
        poll_interval: Duration::from_millis(250),
        ..Options::default()
    })
    .await;
    let token = picker_token(&fake, ALICE);
    let (status, s) = create_session(&fake, &token, None).await;
    assert_eq!(status, StatusCode::OK);
    let id = s["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(s["pickerUri"], format!("{}/picker/{id}", fake.url()));
    assert_eq!(s["pollingConfig"]["pollInterval"], "0.25s");
    assert_eq!(s["pollingConfig"]["timeoutIn"], "1800s");
    assert_eq!(s["pickingConfig"]["maxItemCount"], "2000");
    assert_eq!(s["mediaItemsSet"], false);
    let expire = s["expireTime"].as_str().unwrap();
    assert!(expire.ends_with('Z') && expire.len() >= 20, "{expire}");

    // Not picked yet: listing is a failed precondition.
    let (status, body) = list(&fake, &token, &format!("sessionId={id}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["status"], "FAILED_PRECONDITION");

    // The picker page, as a browser sees it.
    let page = client()
        .get(format!("{}/autoclose", s["pickerUri"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for id in [
        "id=\"pick-0\"",
        "id=\"pick-11\"",
        "id=\"select-all\"",
        "id=\"done\"",
    ] {
        assert!(html.contains(id), "picker page lacks {id}");
    }
    let done = post_form(
        &format!("{}/picker/{id}/done", fake.url()),
        &[
            ("autoclose", "1"),
            ("item", "2"),
            ("item", "0"),
            ("item", "11"),
        ],
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    assert!(html.contains("window.close()") && html.contains("Done — you can close this tab"));

    let (status, s) =
        json_of(api_get(&format!("{}/v1/sessions/{id}", fake.url()), &token).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["mediaItemsSet"], true);
    assert!(
        s.get("pollingConfig").is_none(),
        "pollingConfig only while not set"
    );
    let gone = client()
        .get(format!("{}/picker/{id}", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    assert!(
        gone.text()
            .await
            .unwrap()
            .contains("This session is no longer active")
    );

    let (status, body) = list(&fake, &token, &format!("sessionId={id}")).await;
    assert_eq!(status, StatusCode::OK);
    let items = body["mediaItems"].as_array().unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["mediaFile"]["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["IMG_0001.jpg", "IMG_0003.jpg", "VID_0012.mp4"]);
    assert!(body.get("nextPageToken").is_none());

    // Another user cannot see it; deleting answers {} and removes it.
    let bob = picker_token(&fake, BOB);
    let (status, body) =
        json_of(api_get(&format!("{}/v1/sessions/{id}", fake.url()), &bob).await).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let del = client()
        .delete(format!("{}/v1/sessions/{id}", fake.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(del).await, (StatusCode::OK, json!({})));
    assert!(fake.state().live_sessions().is_empty());
    let (status, _) =
        json_of(api_get(&format!("{}/v1/sessions/{id}", fake.url()), &token).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        fake.state()
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.status == 200)
    );
}

#[tokio::test]
async fn pagination_with_page_size_2_includes_an_empty_page_with_a_token() {
    let fake = start_with(Options {
        empty_pages: true,
        ..Options::default()
    })
    .await;
    let token = picker_token(&fake, ALICE);
    let (_, s) = create_session(
        &fake,
        &token,
        Some(json!({"pickingConfig": {"maxItemCount": "50"}})),
    )
    .await;
    assert_eq!(s["pickingConfig"]["maxItemCount"], "50");
    let id = s["id"].as_str().unwrap();
    assert_eq!(fake.state().pick(id, Pick::All).unwrap(), 12);

    let mut page_token = String::new();
    let mut ids = Vec::new();
    let mut empty_pages_with_token = 0;
    let mut pages = 0;
    loop {
        let q = format!("sessionId={id}&pageSize=2&pageToken={page_token}");
        let (status, body) = list(&fake, &token, &q).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        let items = body["mediaItems"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        if items.is_empty() && body["nextPageToken"].is_string() {
            empty_pages_with_token += 1;
        }
        for item in &items {
            check_item_shape(item);
            ids.push(item["id"].as_str().unwrap().to_string());
        }
        match body["nextPageToken"].as_str() {
            Some(t) => page_token = t.to_string(),
            None => break,
        }
        assert!(pages < 40, "pagination does not end");
    }
    assert_eq!(ids.len(), 12);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 12);
    assert!(empty_pages_with_token >= 1);
    assert_eq!(pages, 12, "6 empty pages interleaved with 6 pages of 2");
    assert_eq!(ids[0], fake.state().item_id(ALICE, 0).unwrap());

    let (status, body) = list(&fake, &token, &format!("sessionId={id}&pageSize=-1")).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_ARGUMENT"))
    );
    let (status, body) = list(&fake, &token, &format!("sessionId={id}&pageToken=garbage")).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(400))
    );
}

fn check_item_shape(item: &Value) {
    let file = &item["mediaFile"];
    let meta = &file["mediaFileMetadata"];
    assert!(item["createTime"].as_str().unwrap().ends_with('Z'));
    assert!(
        meta["width"].is_u64() && meta["height"].is_u64(),
        "width/height are integers"
    );
    assert!(file["baseUrl"].as_str().unwrap().contains("/media/"));
    match item["type"].as_str().unwrap() {
        "PHOTO" => {
            assert_eq!(file["mimeType"], "image/jpeg");
            let photo = &meta["photoMetadata"];
            assert!(photo["exposureTime"].as_str().unwrap().ends_with('s'));
            assert!(photo["focalLength"].is_f64() && photo["isoEquivalent"].is_i64());
            assert!(meta.get("videoMetadata").is_none());
        }
        "VIDEO" => {
            assert_eq!(file["mimeType"], "video/mp4");
            assert_eq!(meta["videoMetadata"]["processingStatus"], "READY");
            assert!(meta.get("photoMetadata").is_none());
        }
        other => panic!("unexpected type {other}"),
    }
}

#[tokio::test]
async fn item_ids_persist_across_sessions_while_base_urls_do_not() {
    let fake = start().await;
    let token = picker_token(&fake, ALICE);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (_, s) = create_session(
            &fake,
            &token,
            Some(json!({"pickingConfig": {"maxItemCount": "9000"}})),
        )
        .await;
        assert_eq!(
            s["pickingConfig"]["maxItemCount"], "2000",
            "coerced to 2000"
        );
        let id = s["id"].as_str().unwrap();
        fake.state().pick(id, Pick::Items(vec![4])).unwrap();
        let (_, body) = list(&fake, &token, &format!("sessionId={id}&pageSize=500")).await;
        let item = &body["mediaItems"][0];
        seen.push((
            item["id"].as_str().unwrap().to_string(),
            item["mediaFile"]["baseUrl"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(seen[0].0, seen[1].0);
    assert_ne!(seen[0].1, seen[1].1);
    assert_ne!(fake.state().item_id(ALICE, 4), fake.state().item_id(BOB, 4));

    let (status, body) = create_session(
        &fake,
        &token,
        Some(json!({"pickingConfig": {"maxItemCount": "-3"}})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_ARGUMENT"))
    );
    let no_token = client()
        .post(format!("{}/v1/sessions", fake.url()))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(no_token).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED"))
    );
}

#[tokio::test]
async fn expired_sessions_are_permission_denied() {
    let fake = start().await;
    let token = picker_token(&fake, ALICE);
    let (_, s) = create_session(&fake, &token, None).await;
    let id = s["id"].as_str().unwrap();
    fake.state().expire_sessions();
    let (status, body) =
        json_of(api_get(&format!("{}/v1/sessions/{id}", fake.url()), &token).await).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::FORBIDDEN, Some("PERMISSION_DENIED"))
    );
    assert!(fake.state().pick(id, Pick::All).is_err());
}
