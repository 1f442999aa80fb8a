//! Issue 10, items 3, 4 and 6: tokens end with logout, a replayed refresh token and their user;
//! weak secrets are refused at start; the session table and the data folder give nothing away.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, TestApp, eventually};
use crate::on_both_backends;

on_both_backends!(
    an_access_token_dies_at_logout_and_with_its_user,
    a_replayed_refresh_token_ends_the_access_tokens_already_out,
    the_session_table_holds_no_cookie_value,
);

async fn an_access_token_dies_at_logout_and_with_its_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, erin) = app.new_user("erin").await;
    let (fred_id, fred) = app.new_user("fred").await;
    for token in [&erin, &fred] {
        let (status, body) = app
            .call(Method::GET, "/api/v1/photos", Some(token), None)
            .await;
        assert_eq!(status, 200, "{body}");
    }

    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&erin), None)
        .await;
    assert_eq!(status, 204);
    // Erin's token was valid for another 15 minutes; logout ended it. Fred's is untouched.
    let (status, err) = app
        .call(Method::GET, "/api/v1/photos", Some(&erin), None)
        .await;
    assert_eq!(status, 401, "{err}");
    let (status, _) = app
        .call(Method::GET, "/api/v1/photos", Some(&fred), None)
        .await;
    assert_eq!(status, 200);

    // A deleted user's token opens nothing, not even an empty gallery. (`DELETE /account`
    // does this with Google sign-in; this server runs in local mode.) Deleted behind the
    // server's back, as here, PostgreSQL announces it, which a server that keeps versions
    // hears within milliseconds.
    server::db::google::delete_user(app.deps.db.pool(), fred_id)
        .await
        .unwrap();
    let refused = eventually(2, || async {
        app.call(Method::GET, "/api/v1/photos", Some(&fred), None)
            .await
            .0
            == 401
    })
    .await;
    assert!(refused, "a deleted user's token still opens the gallery");
    for path in ["/api/v1/photos", "/api/v1/auth/me", "/api/v1/stats"] {
        let (status, err) = app.call(Method::GET, path, Some(&fred), None).await;
        assert_eq!(status, 401, "{path}: {err}");
    }
    app.stop().await;
}

/// Two server processes on one PostgreSQL, the second keeping users' token versions: a logout
/// on the first ends the token on the second as soon as PostgreSQL announces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_replica_ends_the_token_on_another_that_kept_its_version() {
    let a = TestApp::spawn(Backend::Services).await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage = crate::helpers::storage(Backend::Embedded, data_dir.path().into()).await;
    storage.database_url = a.database_url.clone().map(Into::into);
    let b = TestApp::spawn_with(storage, data_dir, |_| {}).await;
    let (erin_id, on_a) = a.new_user("erin").await;
    let on_b = b.auth.keys.access_token(erin_id, 0).unwrap();
    assert!(
        eventually(10, || async { b.auth.versions.is_listening() }).await,
        "the second server never started keeping versions"
    );
    let (status, body) = b
        .call(Method::GET, "/api/v1/photos", Some(&on_b), None)
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, _) = a
        .call(Method::POST, "/api/v1/auth/logout", Some(&on_a), None)
        .await;
    assert_eq!(status, 204);
    // The second server kept erin's version for up to 30 s; the announcement ends it now.
    let ended = eventually(2, || async {
        b.call(Method::GET, "/api/v1/photos", Some(&on_b), None)
            .await
            .0
            == 401
    })
    .await;
    assert!(
        ended,
        "the token still works on the other server after logout"
    );
    b.stop().await;
    a.stop().await;
}

async fn a_replayed_refresh_token_ends_the_access_tokens_already_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let grant = || {
        app.call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "local"})),
        )
    };
    let refresh = |token: serde_json::Value| {
        app.call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": token})),
        )
    };
    let (status, first) = grant().await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = refresh(first["refresh_token"].clone()).await;
    assert_eq!(status, 200, "{second}");
    let access = second["access_token"].as_str().unwrap().to_string();
    let (status, _) = app
        .call(Method::GET, "/api/v1/photos", Some(&access), None)
        .await;
    assert_eq!(status, 200);

    // The spent token comes back: someone else holds it. Every token of the user ends.
    let (status, _) = refresh(first["refresh_token"].clone()).await;
    assert_eq!(status, 401);
    let (status, err) = app
        .call(Method::GET, "/api/v1/photos", Some(&access), None)
        .await;
    assert_eq!(status, 401, "{err}");

    // Signing in again works, at the new version.
    let (status, third) = grant().await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/photos",
            third["access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, 200);
    app.stop().await;
}

async fn the_session_table_holds_no_cookie_value(backend: Backend) {
    use tower_sessions::SessionStore;
    use tower_sessions::session::{Id, Record};
    let app = TestApp::spawn(backend).await;
    let (gina, _) = app.new_user("gina").await;
    let store = server::auth::sessions::DbSessionStore::new(app.deps.db.clone());
    let mut record = Record {
        id: Id::default(),
        data: [(server::auth::SESSION_USER_KEY.to_string(), json!(gina))]
            .into_iter()
            .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut record).await.unwrap();
    let cookie_value = record.id.to_string();

    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, data FROM sessions")
        .fetch_all(app.deps.db.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    for (id, data) in &rows {
        assert!(!id.contains(&cookie_value), "the row's key is the cookie");
        assert!(
            !data.contains(&cookie_value),
            "the row's data holds the cookie: {data}"
        );
    }

    // The cookie still signs Gina in; once the session is deleted it is nobody (local mode then
    // answers as its own user).
    let me = |cookie: String| async {
        let me: serde_json::Value = app
            .request(Method::GET, "/api/v1/auth/me", None)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        me["id"].as_i64()
    };
    let cookie = format!("{}={cookie_value}", server::auth::SESSION_COOKIE);
    assert_eq!(me(cookie.clone()).await, Some(gina));
    store.delete(&record.id).await.unwrap();
    assert_ne!(me(cookie).await, Some(gina));
    app.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    // A folder the server creates (a temp dir is already 0700 by itself).
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let storage = crate::helpers::storage(Backend::Embedded, data.clone()).await;
    let app = TestApp::spawn_with(storage, parent, |_| {}).await;
    // One write so SQLite has its journal files open.
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/settings",
            None,
            Some(json!({"blur_threshold": 0.45})),
        )
        .await;
    assert_eq!(status, 200);
    let mode = |name: &str| {
        std::fs::metadata(data.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "data folder");
    for file in [
        "classify.db",
        "classify.db-wal",
        "classify.db-shm",
        "secret.key",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_placeholder_or_low_entropy_secret() {
    let data_dir = tempfile::tempdir().unwrap();
    for (secret, says) in [
        ("change-me-change-me-change-me-change-me", "placeholder"),
        ("abababababababababababababababababababab", "openssl rand"),
        ("short", "at least 32"),
    ] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_classify"))
            .args(["serve", "--workers", "0", "--addr", "127.0.0.1:0"])
            .env("CLASSIFY_DATA_DIR", data_dir.path())
            .env("CLASSIFY_SECRET_KEY", secret)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("GOOGLE_CLIENT_ID")
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{secret} was accepted");
        assert!(stderr.contains(says), "{secret}: {stderr}");
        assert!(
            !stderr.contains(secret) || secret == "short",
            "the error printed the secret: {stderr}"
        );
    }
}
