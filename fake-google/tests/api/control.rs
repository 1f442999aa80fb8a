//! Faults, expiry and inspection, through the Rust handle and over `/_fake/`.

use fake_google::{Endpoint, Pick};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn fail_next_429_carries_retry_after_then_recovers() {
    let fake = start().await;
    let token = picker_token(&fake, ALICE);
    fake.state()
        .fail_next(Endpoint::PickerCreate, 429, 2, Some(7));
    let create = || async {
        client()
            .post(format!("{}/v1/sessions", fake.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
    };
    for _ in 0..2 {
        let resp = create().await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[RETRY_AFTER], "7");
        let (_, body) = json_of(resp).await;
        assert_eq!(body["error"]["code"], 429);
        assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
        assert!(body["error"]["message"].is_string());
    }
    assert_eq!(create().await.status(), StatusCode::OK);
    let injected = fake
        .state()
        .requests()
        .iter()
        .filter(|r| r.injected)
        .count();
    assert_eq!(injected, 2);
    assert_eq!(fake.state().count(Endpoint::PickerCreate), 3);
}

#[tokio::test]
async fn token_faults_use_the_oauth_error_shape() {
    let fake = start().await;
    let minted = fake
        .state()
        .mint_tokens(ALICE, &["openid", PICKER], true)
        .unwrap();
    fake.state().fail_next(Endpoint::Token, 503, 1, None);
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", minted.refresh_token.as_deref().unwrap()),
        ("client_id", fake.client_id()),
        ("client_secret", fake.client_secret()),
    ];
    let (status, body) = json_of(post_form(&fake.endpoints().token_url, &refresh).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "temporarily_unavailable");
    let (status, _) = json_of(post_form(&fake.endpoints().token_url, &refresh).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.state().refresh_count(), 1);
}

#[tokio::test]
async fn expired_access_tokens_are_401_until_refreshed_and_revoke_user_kills_refresh() {
    let fake = start().await;
    let minted = fake
        .state()
        .mint_tokens(BOB, &["openid", "email", PICKER], true)
        .unwrap();
    fake.state().expire_access_tokens();
    let resp = client()
        .post(format!("{}/v1/sessions", fake.url()))
        .bearer_auth(&minted.access_token)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED"))
    );

    let refresh_token = minted.refresh_token.unwrap();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("client_id", fake.client_id()),
        ("client_secret", fake.client_secret()),
    ];
    let (status, fresh) = json_of(post_form(&fake.endpoints().token_url, &refresh).await).await;
    assert_eq!(status, StatusCode::OK);
    let userinfo = api_get(
        &fake.endpoints().userinfo_url,
        fresh["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(userinfo.status(), StatusCode::OK);

    fake.state().revoke_user(BOB).unwrap();
    let (status, body) = json_of(post_form(&fake.endpoints().token_url, &refresh).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(fake.state().granted_scopes(BOB).is_empty());
}

#[tokio::test]
async fn the_http_control_api_mirrors_the_rust_one() {
    let fake = start().await;
    let c = client();
    let resp = c
        .post(format!("{}/_fake/fail_next", fake.url()))
        .json(&json!({"endpoint": "userinfo", "status": 500, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bad = c
        .post(format!("{}/_fake/fail_next", fake.url()))
        .json(&json!({"endpoint": "nope", "status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let (status, minted) = json_of(
        c.post(format!("{}/_fake/tokens", fake.url()))
            .json(&json!({"email": ALICE, "scopes": ["openid", "email", PICKER], "offline": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let access = minted["access_token"].as_str().unwrap();
    let (status, body) = json_of(api_get(&fake.endpoints().userinfo_url, access).await).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("INTERNAL"))
    );
    assert_eq!(
        api_get(&fake.endpoints().userinfo_url, access)
            .await
            .status(),
        StatusCode::OK
    );

    // Consent without a browser, then a session picked over HTTP.
    let url = auth_url(&fake, "openid email", &[]);
    let (status, body) = json_of(
        c.post(format!("{}/_fake/approve", fake.url()))
            .json(&json!({"url": url, "email": BOB}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["redirect"].as_str().unwrap().starts_with(REDIRECT));

    let (_, session) = json_of(
        c.post(format!("{}/v1/sessions", fake.url()))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = session["id"].as_str().unwrap();
    let pick_url = format!("{}/_fake/sessions/{id}/pick", fake.url());
    let (status, body) = json_of(
        c.post(&pick_url)
            .json(&json!({"items": [1, 3]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["picked"].as_u64()), (StatusCode::OK, Some(2)));
    let (_, sessions) = json_of(
        c.get(format!("{}/_fake/sessions", fake.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(sessions[0]["picked"], json!([1, 3]));
    assert_eq!(sessions[0]["media_items_set"], true);
    assert_eq!(
        fake.state().pick(id, Pick::All).unwrap_err().to_string(),
        "this session is no longer active"
    );

    let (_, log) = json_of(
        c.get(format!("{}/_fake/requests", fake.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let log = log.as_array().unwrap();
    assert!(
        log.iter()
            .any(|r| r["endpoint"] == "userinfo" && r["status"] == 500 && r["injected"] == true)
    );
    assert!(
        log.iter()
            .all(|r| !r["path"].as_str().unwrap().starts_with("/_fake"))
    );
    let (_, photos) = json_of(
        c.get(format!("{}/_fake/photos", fake.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(photos.as_array().unwrap().len(), 12);
    assert_eq!(photos[1]["sharpness"], "blurred");
}

#[tokio::test]
async fn library_albums_uploads_and_batch_create() {
    let fake = start().await;
    let scope = "https://www.googleapis.com/auth/photoslibrary.appendonly";
    let token = fake
        .state()
        .mint_tokens(ALICE, &["openid", scope], false)
        .unwrap()
        .access_token;
    let picker_only = picker_token(&fake, ALICE);
    let c = client();
    let (status, _) = json_of(
        c.post(format!("{}/v1/albums", fake.url()))
            .bearer_auth(&picker_only)
            .json(&json!({"album": {"title": "x"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, album) = json_of(
        c.post(format!("{}/v1/albums", fake.url()))
            .bearer_auth(&token)
            .json(&json!({"album": {"title": "Sharp ones"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(album["title"], "Sharp ones");
    let album_id = album["id"].as_str().unwrap();

    let bytes = fake_google::Options::default().photos[0].bytes().unwrap();
    let upload = c
        .post(format!("{}/v1/uploads", fake.url()))
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header("X-Goog-Upload-Content-Type", "image/jpeg")
        .header("X-Goog-Upload-Protocol", "raw")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::OK);
    let upload_token = upload.text().await.unwrap();

    let body = json!({"albumId": album_id, "newMediaItems": [
        {"description": "", "simpleMediaItem":
            {"uploadToken": upload_token, "fileName": "IMG_0001.jpg"}},
        {"simpleMediaItem": {"uploadToken": "bogus", "fileName": "x.jpg"}},
    ]});
    let url = format!("{}/v1/mediaItems:batchCreate", fake.url());
    let (status, result) = json_of(
        c.post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    let results = result["newMediaItemResults"].as_array().unwrap();
    assert_eq!(results[0]["status"]["message"], "Success");
    assert_eq!(results[0]["mediaItem"]["mediaMetadata"]["width"], "1600");
    assert_eq!(results[1]["status"]["code"], 3);
    assert_eq!(fake.state().albums()[0].media_item_ids.len(), 1);
    assert_eq!(fake.state().library_items()[0].size, bytes.len());

    let too_many: Vec<_> = (0..51)
        .map(|_| json!({"simpleMediaItem": {"uploadToken": "t"}}))
        .collect();
    let (status, _) = json_of(
        c.post(&url)
            .bearer_auth(&token)
            .json(&json!({"newMediaItems": too_many}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
