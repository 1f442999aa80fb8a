//! Users and access: the user comes from a bearer token, the session or local mode; another
//! user's ids answer 404 exactly like missing ones; tokens rotate; cross-site writes are refused.

use reqwest::Method;
use serde_json::json;

use crate::fixtures::sharp_jpeg;
use crate::helpers::{Backend, TestApp, storage};
use crate::on_both_backends;

on_both_backends!(
    every_endpoint_that_takes_an_id_answers_404_to_another_user,
    refresh_tokens_rotate_and_a_replayed_one_revokes_the_rest,
);

async fn every_endpoint_that_takes_an_id_answers_404_to_another_user(backend: Backend) {
    let app = TestApp::spawn_with_workers(backend, 1).await;
    let (_, alice) = app.new_user("alice").await;
    let (_, bob) = app.new_user("bob").await;
    let (status, body) = app
        .upload(&[("a.jpg".into(), sharp_jpeg(1))], Some(&alice))
        .await;
    assert_eq!(status, 201, "{body}");
    let photo = body["items"][0]["id"].as_i64().unwrap();
    let (status, accepted) = app
        .call(
            Method::POST,
            &format!("/api/v1/photos/{photo}/analyze"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let job = accepted["job_id"].as_i64().unwrap();
    app.wait_for_batch(job, Some(&alice), 60).await;
    let missing = photo + 1_000_000;

    let by_id = |id: i64, job: i64| {
        vec![
            (Method::GET, format!("/api/v1/photos/{id}"), None),
            (Method::GET, format!("/api/v1/photos/{id}/image"), None),
            (
                Method::GET,
                format!("/api/v1/photos/{id}/image?size=original"),
                None,
            ),
            (Method::GET, format!("/api/v1/photos/{id}/result"), None),
            (Method::POST, format!("/api/v1/photos/{id}/analyze"), None),
            (
                Method::PUT,
                format!("/api/v1/photos/{id}/preview"),
                Some(json!({"preview_score": 0.1})),
            ),
            (
                Method::POST,
                "/api/v1/blur/analyze-batch".to_string(),
                Some(json!({"photo_ids": [id]})),
            ),
            (Method::GET, format!("/api/v1/blur/jobs/{job}"), None),
            (Method::GET, format!("/api/v1/blur/jobs/{job}/events"), None),
            (Method::DELETE, format!("/api/v1/photos/{id}"), None),
        ]
    };
    // Bob sees Alice's ids exactly as ids that do not exist.
    for (who, id, job_id) in [
        ("alice's", photo, job),
        ("missing", missing, job + 1_000_000),
    ] {
        for (method, path, body) in by_id(id, job_id) {
            let (status, err) = app.call(method.clone(), &path, Some(&bob), body).await;
            assert_eq!(status, 404, "bob {method} {path} ({who}): {err}");
            assert_eq!(err["error"]["code"], "not_found", "{path}");
        }
    }
    let (_, page) = app
        .call(Method::GET, "/api/v1/photos", Some(&bob), None)
        .await;
    assert_eq!(page["items"], json!([]));
    let (_, stats) = app
        .call(Method::GET, "/api/v1/stats", Some(&bob), None)
        .await;
    assert_eq!(stats["total"], 0);
    // The local user (no token) is a third user and sees nothing of Alice's either.
    let (status, _) = app
        .call(Method::GET, &format!("/api/v1/photos/{photo}"), None, None)
        .await;
    assert_eq!(status, 404);

    // Alice still has everything.
    for (method, path, body) in by_id(photo, job) {
        if method == Method::DELETE {
            continue;
        }
        let mut request = app.request(method.clone(), &path, Some(&alice));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        assert!(status < 300, "alice {method} {path}: {status}");
    }
    // The batch's event stream ends with its final progress.
    let events = app
        .request(
            Method::GET,
            &format!("/api/v1/blur/jobs/{job}/events"),
            Some(&alice),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let text = events.text().await.unwrap();
    assert!(text.contains("event: progress"), "{text}");
    assert!(text.contains(r#""status":"done""#), "{text}");
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/photos/{photo}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 204);

    // A bad or foreign-signed token is refused, never treated as the local user.
    let forged = server::auth::TokenKeys::new(&[1u8; 32])
        .access_token(1, 0)
        .unwrap();
    for token in ["garbage", forged.as_str()] {
        let (status, err) = app
            .call(Method::GET, "/api/v1/photos", Some(token), None)
            .await;
        assert_eq!(status, 401, "{err}");
        assert_eq!(err["error"]["code"], "unauthorized");
    }
    app.stop().await;
}

async fn refresh_tokens_rotate_and_a_replayed_one_revokes_the_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, pair) = app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "local"})),
        )
        .await;
    assert_eq!(status, 200, "{pair}");
    assert_eq!(pair["token_type"], "Bearer");
    let access = pair["access_token"].as_str().unwrap();
    let (status, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(access), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], app.local_user());

    let refresh = |token: serde_json::Value| {
        app.call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": token})),
        )
    };
    let (status, second) = refresh(pair["refresh_token"].clone()).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], pair["refresh_token"]);
    // Replaying the spent token fails and revokes the new one too.
    let (status, _) = refresh(pair["refresh_token"].clone()).await;
    assert_eq!(status, 401);
    let (status, _) = refresh(second["refresh_token"].clone()).await;
    assert_eq!(status, 401);
    // An access token is not a refresh token.
    let (status, _) = refresh(second["access_token"].clone()).await;
    assert_eq!(status, 401);

    let (status, third) = app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "local"})),
        )
        .await;
    assert_eq!(status, 200);
    let token = third["access_token"].as_str().unwrap();
    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(token), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = refresh(third["refresh_token"].clone()).await;
    assert_eq!(status, 401);

    let (status, err) = app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "password"})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sign_in_configured_there_is_no_local_user() {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| {
        args.google.google_client_id = Some("test-client.apps.googleusercontent.com".into());
        args.google.google_client_secret = Some("test-secret".to_string().into());
    })
    .await;
    for (method, path) in [
        (Method::GET, "/api/v1/photos"),
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/api/v1/stats"),
        (Method::POST, "/api/v1/blur/analyze-batch"),
    ] {
        let (status, err) = app
            .call(method, path, None, Some(json!({"filter": "all"})))
            .await;
        assert_eq!(status, 401, "{path}: {err}");
        assert_eq!(err["error"]["code"], "unauthorized");
    }
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "local"})),
        )
        .await;
    assert_eq!(status, 400);
    let (_, token) = app.new_user("carol").await;
    let (status, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["mode"], "google");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_session_is_a_user_and_cross_site_writes_are_refused() {
    use tower_sessions::SessionStore;
    use tower_sessions::session::{Id, Record};
    let app = TestApp::spawn(Backend::Embedded).await;
    let (dave, _) = app.new_user("dave").await;
    // A session as the Google callback will create it.
    let store = server::auth::sessions::DbSessionStore::new(app.deps.db.clone());
    let mut record = Record {
        id: Id::default(),
        data: [(server::auth::SESSION_USER_KEY.to_string(), json!(dave))]
            .into_iter()
            .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut record).await.unwrap();
    let cookie = format!("{}={}", server::auth::SESSION_COOKIE, record.id);

    let (status, me) = {
        let response = app
            .request(Method::GET, "/api/v1/auth/me", None)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<serde_json::Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], dave);

    let host = app.base.trim_start_matches("http://").to_string();
    for (origin, site, expected) in [
        (Some("https://evil.example"), Some("cross-site"), 403),
        (Some("https://evil.example"), None, 403),
        (None, Some("cross-site"), 403),
        (Some(app.base.as_str()), Some("same-origin"), 200),
    ] {
        let mut request = app
            .request(Method::PUT, "/api/v1/settings", None)
            .header("cookie", &cookie)
            .header("host", &host)
            .json(&json!({"blur_threshold": 0.4}));
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        if let Some(s) = site {
            request = request.header("sec-fetch-site", s);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{origin:?} {site:?}");
        if expected == 403 {
            let err: serde_json::Value = response.json().await.unwrap();
            assert_eq!(err["error"]["code"], "forbidden");
        }
    }
    // Local mode answers only to this machine's names: a page that rebinds its own domain
    // to 127.0.0.1 cannot read the local user's photos.
    let response = app
        .request(Method::GET, "/api/v1/photos", None)
        .header("host", "rebound.example:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let response = app
        .request(Method::GET, "/api/v1/photos", None)
        .header("host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // The same cross-site write in local mode (no cookie) is refused too.
    let response = app
        .request(Method::POST, "/api/v1/blur/analyze-batch", None)
        .header("origin", "https://evil.example")
        .json(&json!({"filter": "all"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_deleted_and_never_authenticate() {
    use tower_sessions::SessionStore;
    use tower_sessions::session::{Id, Record};
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Embedded, data_dir.path().to_path_buf()).await;
    // Sessions left from an earlier run: one expired, one live.
    let services = server::app::Deps::connect(&storage).await.unwrap();
    let store = server::auth::sessions::DbSessionStore::new(services.db.clone());
    let record = |hours: i64| Record {
        id: Id::default(),
        data: [(server::auth::SESSION_USER_KEY.to_string(), json!(1))]
            .into_iter()
            .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(hours),
    };
    let (mut expired, mut live) = (record(-1), record(1));
    store.create(&mut expired).await.unwrap();
    store.create(&mut live).await.unwrap();
    assert!(store.load(&expired.id).await.unwrap().is_none());
    services.db.close().await;

    let app = TestApp::spawn_with(storage, data_dir, |_| {}).await;
    let pool = app.deps.db.pool();
    let remaining = || async {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM sessions")
            .fetch_all(pool)
            .await
            .unwrap();
        rows.into_iter().map(|r| r.0).collect::<Vec<_>>()
    };
    assert!(
        crate::helpers::eventually(10, || async { remaining().await.len() == 1 }).await,
        "expired session not purged"
    );
    assert_eq!(
        remaining().await,
        vec![server::auth::sessions::key(&live.id)]
    );
    app.stop().await;
}
