//! Google sign-in, the Picker import, verification of Google photos and the image proxy,
//! against `fake-google` (Google's wire format on loopback), on both backends.

use fake_google::{Endpoint, MediaType, Pick};
use reqwest::Method;
use serde_json::json;

use crate::google_harness::GoogleApp;
use crate::helpers::Backend;
use crate::on_both_backends;

on_both_backends!(
    picked_photos_are_imported_verified_and_shown_through_the_proxy,
    picker_imports_stop_at_the_photo_quota,
    sign_in_refuses_a_foreign_state_a_replayed_callback_and_denied_consent,
    an_unticked_photos_scope_signs_in_but_cannot_pick,
    expired_access_tokens_are_refreshed_and_a_revoked_grant_asks_to_sign_in_again,
    google_throttling_and_outages_are_retried_then_reported,
    expired_links_answer_410_and_fail_their_verification_with_link_expired,
    one_user_reaches_nothing_of_another,
    disconnect_revokes_at_google_and_delete_removes_everything,
    api_clients_exchange_their_own_code_and_a_wrong_pkce_verifier_is_refused,
    the_proxy_refuses_a_base_url_on_any_other_host,
    a_revoked_grant_fails_the_users_google_jobs_with_reauth_required,
);

/// The fake's library: the nine real photos of `tests/photos` and one video.
pub(crate) fn real_library() -> fake_google::Options {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/photos");
    let mut options = fake_google::Options::default().photos_dir(dir).unwrap();
    let video = fake_google::Photo::builtin_set()
        .into_iter()
        .find(|p| p.media_type == MediaType::Video)
        .unwrap();
    options.photos.push(video);
    options
}

async fn picker_imports_stop_at_the_photo_quota(backend: Backend) {
    // Room for three photos; the library holds nine and a video.
    let g = GoogleApp::start_with(backend, 1, real_library(), |args, _| {
        args.quota.quota_photos = 3;
    })
    .await;
    let alice = g.sign_in("alice@example.com").await;
    let pick_all = || async {
        let (status, session) = alice
            .call(Method::POST, "/api/v1/picker/sessions", None)
            .await;
        assert_eq!(status, 201, "{session}");
        let id = session["id"].as_str().unwrap().to_string();
        g.fake.state().pick(&id, Pick::All).unwrap();
        let (status, body) = alice
            .call(
                Method::POST,
                &format!("/api/v1/picker/sessions/{id}/sync"),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        g.wait_for_import(&alice, &id).await
    };
    let photos_in_library = g
        .fake
        .state()
        .photos()
        .iter()
        .filter(|p| p.media_type == MediaType::Photo)
        .count() as i64;
    let imported = pick_all().await;
    assert_eq!(imported["status"], "imported", "{imported}");
    assert_eq!(imported["imported"], 3, "{imported}");
    assert_eq!(imported["skipped"], photos_in_library - 3 + 1, "{imported}");
    let reason = imported["skipped_reason"].as_str().unwrap();
    assert!(
        reason.contains("library is full") && reason.contains("video"),
        "{reason}"
    );
    let (status, page) = alice.call(Method::GET, "/api/v1/photos", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 3, "{page}");

    // Picking the same photos again refreshes the three held, and still adds none.
    let again = pick_all().await;
    assert_eq!(again["imported"], 3, "{again}");
    let (_, page) = alice.call(Method::GET, "/api/v1/photos", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3, "{page}");
    g.stop().await;
}

async fn picked_photos_are_imported_verified_and_shown_through_the_proxy(backend: Backend) {
    let g = GoogleApp::start_with(backend, 1, real_library(), |_, _| {}).await;
    let alice = g.sign_in("alice@example.com").await;
    let (status, me) = alice.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["mode"], "google");
    assert_eq!(me["google"]["connected"], true);
    assert_eq!(me["google"]["photos_scope"], true);
    assert_eq!(me["google"]["library_scope"], false);

    let (status, session) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 201, "{session}");
    assert!(
        session["picker_uri"]
            .as_str()
            .unwrap()
            .ends_with("/autoclose"),
        "{session}"
    );
    assert_eq!(session["status"], "picking");
    assert_eq!(session["poll_interval_ms"], 1000);
    let id = session["id"].as_str().unwrap().to_string();
    // Syncing before Done is refused, and says why.
    let (status, err) = alice
        .call(
            Method::POST,
            &format!("/api/v1/picker/sessions/{id}/sync"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("Done"),
        "{err}"
    );

    g.fake.state().set_empty_pages(true);
    g.fake.state().pick(&id, Pick::All).unwrap();
    let (status, _) = alice
        .call(
            Method::POST,
            &format!("/api/v1/picker/sessions/{id}/sync"),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let imported = g.wait_for_import(&alice, &id).await;
    let library = g.fake.state().photos();
    let photos_in_library = library
        .iter()
        .filter(|p| p.media_type == MediaType::Photo)
        .count();
    assert_eq!(imported["status"], "imported", "{imported}");
    assert_eq!(imported["imported"], photos_in_library as i64, "{imported}");
    assert_eq!(imported["skipped"], 1, "{imported}");
    assert_eq!(imported["skipped_reason"], "videos are not analysed");
    assert!(imported["picker_uri"].is_null());
    // Done with the session: it is deleted at Google (right after the import is recorded).
    assert!(
        crate::helpers::eventually(10, || async {
            g.fake.state().live_sessions().iter().all(|s| s.id != id)
        })
        .await
    );

    let batch = imported["verify_batch_id"].as_i64().unwrap();
    let progress = g.wait_for_batch(&alice, batch).await;
    assert_eq!(progress["status"], "done", "{progress}");
    assert_eq!(progress["done"], photos_in_library as i64, "{progress}");

    let photos = alice.photos().await;
    assert_eq!(photos.len(), photos_in_library);
    for photo in &photos {
        assert_eq!(photo["source"], "google");
        assert_eq!(photo["verified"], true, "{photo}");
        assert_eq!(photo["link_expired"], false);
        assert!(
            photo["taken_at"].as_i64().unwrap() > 1_700_000_000_000,
            "{photo}"
        );
    }
    // Verification fetched each photo once, at the working size, with the bearer token.
    let media: Vec<_> = g
        .fake
        .state()
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Media))
        .collect();
    let verified_media = media.len();
    assert_eq!(verified_media, photos_in_library, "{media:?}");
    assert!(
        media
            .iter()
            .all(|r| r.path.ends_with("=w1024-h1024") && r.status == 200),
        "{media:?}"
    );

    // The verified score is the kernel's score of exactly what Google serves at the working
    // size: fetch it as the worker did and judge it here.
    let token = g
        .fake
        .state()
        .mint_tokens(
            "alice@example.com",
            &["https://www.googleapis.com/auth/photospicker.mediaitems.readonly"],
            false,
        )
        .unwrap();
    for photo in &photos {
        let id = photo["id"].as_i64().unwrap();
        let base: String = sqlx::query_scalar("SELECT base_url FROM photos WHERE id = $1")
            .bind(id)
            .fetch_one(g.app.deps.db.pool())
            .await
            .unwrap();
        let bytes = reqwest::Client::new()
            .get(format!("{base}=w1024-h1024"))
            .bearer_auth(&token.access_token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let expected = f64::from(crate::fixtures::kernel_score(&bytes));
        let score = photo["blur_score"].as_f64().unwrap();
        assert!(
            (score - expected).abs() < 1e-6,
            "{photo}: expected {expected}"
        );
    }
    // These real photos get their labelled verdicts: `_S` sharp, `_F` and `_M` blurred.
    assert_eq!(photos_in_library, 9);
    for photo in &photos {
        let name = photo["filename"].as_str().unwrap();
        let blurred = photo["is_blurred"].as_bool().unwrap();
        assert_eq!(blurred, !name.ends_with("_S.jpg"), "{photo}");
    }
    // Thumbnails and analysis images come through the proxy from the working copy (no new
    // fetch), cacheable by the browser for less than an hour.
    let first = photos[0]["id"].as_i64().unwrap();
    for (size, mime) in [("thumb", "image/jpeg"), ("analysis", "image/png")] {
        let response = alice
            .get(&format!("/api/v1/photos/{first}/image?size={size}"))
            .await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], mime);
        let cache = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_string();
        let max_age: i64 = cache.rsplit('=').next().unwrap().parse().unwrap();
        assert!(max_age > 0 && max_age <= 3000, "{cache}");
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    assert_eq!(g.fake.state().count(Endpoint::Media), photos_in_library * 2);
    // The original is Google's download, fetched on demand.
    let original = alice
        .get(&format!("/api/v1/photos/{first}/image?size=original"))
        .await;
    assert_eq!(original.status().as_u16(), 200);
    assert!(
        g.fake
            .state()
            .requests()
            .iter()
            .any(|r| r.path.ends_with("=d"))
    );

    // Picking the same photos again refreshes them and never duplicates them.
    let again = g.pick_and_sync(&alice, Pick::All).await;
    assert_eq!(again["imported"], photos_in_library as i64);
    assert_eq!(alice.photos().await.len(), photos_in_library);
    g.wait_for_batch(&alice, again["verify_batch_id"].as_i64().unwrap())
        .await;

    // Nothing cached is older than the cache's life: backdate the entries and purge.
    let cached_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media_cache")
        .fetch_one(g.app.deps.db.pool())
        .await
        .unwrap();
    assert!(cached_before > photos_in_library as i64);
    sqlx::query("UPDATE media_cache SET created_at = created_at - 3060000")
        .execute(g.app.deps.db.pool())
        .await
        .unwrap();
    let purged = server::photos::remote::purge(&g.app.deps, server::time::now_ms())
        .await
        .unwrap();
    assert_eq!(purged.media, cached_before as u64);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media_cache")
        .fetch_one(g.app.deps.db.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
    let google_blobs = g.app.data_dir().join("blobs/google");
    let files = walk_files(&google_blobs);
    assert!(files.is_empty(), "Google media left on disk: {files:?}");
    g.stop().await;
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn sign_in_refuses_a_foreign_state_a_replayed_callback_and_denied_consent(backend: Backend) {
    let g = GoogleApp::start(backend, 0).await;
    // A callback whose state this browser never issued (login CSRF).
    let browser = g.browser();
    let consent = g.start_sign_in(&browser).await;
    let callback = g
        .fake
        .state()
        .approve(&consent, "alice@example.com", None)
        .unwrap();
    let forged = callback.replace("state=", "state=x");
    let response = browser.get_url(&forged).await;
    assert_eq!(response.status().as_u16(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("state mismatch"), "{forged}: {text}");
    let (status, _) = browser.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(status, 401);
    // The real callback then finds no sign-in in progress (it was used up): start again.
    let response = browser.get_url(&callback).await;
    assert_eq!(response.status().as_u16(), 400);

    // Another browser's callback is refused too: the state lives in the session.
    let stranger = g.browser();
    let consent = g.start_sign_in(&browser).await;
    let callback = g
        .fake
        .state()
        .approve(&consent, "alice@example.com", None)
        .unwrap();
    assert_eq!(stranger.get_url(&callback).await.status().as_u16(), 400);

    // A replayed callback: the first signs in, the second is refused.
    let browser = g.browser();
    let consent = g.start_sign_in(&browser).await;
    let callback = g
        .fake
        .state()
        .approve(&consent, "alice@example.com", None)
        .unwrap();
    let cookie_before = browser.cookies();
    assert!(cookie_before.is_some(), "the sign-in started a session");
    assert_eq!(browser.get_url(&callback).await.status().as_u16(), 303);
    // Signed in under a new session id (no fixation).
    assert_ne!(browser.cookies(), cookie_before);
    assert_eq!(browser.get_url(&callback).await.status().as_u16(), 400);

    // Consent refused: a page that says so, and no session.
    let browser = g.browser();
    let consent = g.start_sign_in(&browser).await;
    let denied = g.fake.state().deny(&consent).unwrap();
    assert!(denied.contains("error=access_denied"));
    let response = browser.get_url(&denied).await;
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.text().await.unwrap().contains("Sign-in cancelled"));
    let (status, _) = browser.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(status, 401);
    g.stop().await;
}

async fn an_unticked_photos_scope_signs_in_but_cannot_pick(backend: Backend) {
    let g = GoogleApp::start(backend, 0).await;
    let browser = g.browser();
    let consent = g.start_sign_in(&browser).await;
    assert!(consent.contains("code_challenge_method=S256"), "{consent}");
    assert!(consent.contains("access_type=offline"));
    assert!(consent.contains("include_granted_scopes=true"));
    assert!(consent.contains("photospicker.mediaitems.readonly"));
    assert!(
        !consent.contains("photoslibrary"),
        "the Library scope is asked for later"
    );
    let callback = g
        .fake
        .state()
        .approve(&consent, "bob@example.com", Some(&[]))
        .unwrap();
    assert_eq!(browser.get_url(&callback).await.status().as_u16(), 303);
    let (_, me) = browser.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(me["google"]["photos_scope"], false, "{me}");
    let (status, err) = browser
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "google_not_connected");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Photos box")
    );
    g.stop().await;
}

async fn expired_access_tokens_are_refreshed_and_a_revoked_grant_asks_to_sign_in_again(
    backend: Backend,
) {
    let g = GoogleApp::start(backend, 0).await;
    let alice = g.sign_in("alice@example.com").await;
    // The stored token expires: the server refreshes it and goes on.
    expire_stored_tokens(&g).await;
    g.fake.state().expire_access_tokens();
    let (status, body) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(g.fake.state().refresh_count(), 1);
    // Google forgets the grant (the user revoked it): "sign in again", said once and kept.
    g.fake.state().revoke_user("alice@example.com").unwrap();
    expire_stored_tokens(&g).await;
    let (status, err) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 401, "{err}");
    assert_eq!(err["error"]["code"], "reauth_required");
    let (_, me) = alice.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(me["google"]["needs_reauth"], true, "{me}");
    let token_calls = g.fake.state().count(Endpoint::Token);
    let (status, _) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        g.fake.state().count(Endpoint::Token),
        token_calls,
        "no retry storm"
    );
    // Signing in again clears it.
    let alice = g.sign_in("alice@example.com").await;
    let (_, me) = alice.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(me["google"]["needs_reauth"], false, "{me}");
    g.stop().await;
}

async fn google_throttling_and_outages_are_retried_then_reported(backend: Backend) {
    let g = GoogleApp::start(backend, 0).await;
    let alice = g.sign_in("alice@example.com").await;
    g.fake
        .state()
        .fail_next(Endpoint::PickerCreate, 429, 2, Some(0));
    let (status, body) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(g.fake.state().count(Endpoint::PickerCreate), 3);
    g.fake
        .state()
        .fail_next(Endpoint::PickerCreate, 503, 20, None);
    let (status, err) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 503, "{err}");
    assert_eq!(err["error"]["code"], "upstream_busy");
    // A Retry-After longer than we wait is reported at once, not slept through.
    g.fake
        .state()
        .fail_next(Endpoint::PickerCreate, 429, 1, Some(3600));
    let started = std::time::Instant::now();
    let (status, _) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The token endpoint gets the same retries.
    g.fake.state().clear_faults();
    g.fake.state().fail_next(Endpoint::Token, 500, 1, None);
    expire_stored_tokens(&g).await;
    let (status, body) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 201, "{body}");
    g.stop().await;
}

async fn expired_links_answer_410_and_fail_their_verification_with_link_expired(backend: Backend) {
    let g = GoogleApp::start(backend, 1).await;
    let alice = g.sign_in("alice@example.com").await;
    let imported = g.pick_and_sync(&alice, Pick::Items(vec![0, 1])).await;
    g.wait_for_batch(&alice, imported["verify_batch_id"].as_i64().unwrap())
        .await;
    let photos = alice.photos().await;
    let (a, b) = (
        photos[0]["id"].as_i64().unwrap(),
        photos[1]["id"].as_i64().unwrap(),
    );
    // Google stops serving the links before our clock says so: the proxy answers 410.
    g.fake.state().expire_base_urls();
    let (status, err) = alice
        .call(
            Method::GET,
            &format!("/api/v1/photos/{a}/image?size=original"),
            None,
        )
        .await;
    assert_eq!(status, 410, "{err}");
    assert_eq!(err["error"]["code"], "link_expired");
    // Our own clock says so: the photo reports it and nothing is fetched.
    sqlx::query("UPDATE photos SET base_url_expires_at = 1 WHERE id = $1")
        .bind(b)
        .execute(g.app.deps.db.pool())
        .await
        .unwrap();
    let (_, photo) = alice
        .call(Method::GET, &format!("/api/v1/photos/{b}"), None)
        .await;
    assert_eq!(photo["link_expired"], true, "{photo}");
    assert_eq!(photo["verified"], true, "the score stays: {photo}");
    let media_calls = g.fake.state().count(Endpoint::Media);
    let (status, _) = alice
        .call(
            Method::GET,
            &format!("/api/v1/photos/{b}/image?size=original"),
            None,
        )
        .await;
    assert_eq!(status, 410);
    assert_eq!(g.fake.state().count(Endpoint::Media), media_calls);
    // Verifying it again fails that job with the reason; the old score stays.
    sqlx::query("DELETE FROM media_cache")
        .execute(g.app.deps.db.pool())
        .await
        .unwrap();
    let (status, accepted) = alice
        .call(Method::POST, &format!("/api/v1/photos/{b}/analyze"), None)
        .await;
    assert_eq!(status, 202, "{accepted}");
    g.wait_for_batch(&alice, accepted["batch_id"].as_i64().unwrap())
        .await;
    // The photo notes the failure just after the job does.
    let photo = photo_once(&alice, b, |p| p["status"] == "failed").await;
    assert!(
        photo["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("link_expired"),
        "{photo}"
    );
    assert!(photo["blur_score"].is_number(), "{photo}");
    g.stop().await;
}

async fn one_user_reaches_nothing_of_another(backend: Backend) {
    let g = GoogleApp::start(backend, 1).await;
    let alice = g.sign_in("alice@example.com").await;
    let imported = g.pick_and_sync(&alice, Pick::Items(vec![0])).await;
    let session = imported["id"].as_str().unwrap().to_string();
    let photo = alice.photos().await[0]["id"].as_i64().unwrap();
    let bob = g.sign_in("bob@example.com").await;
    assert!(bob.photos().await.is_empty());
    for path in [
        format!("/api/v1/photos/{photo}"),
        format!("/api/v1/photos/{photo}/image?size=thumb"),
        format!("/api/v1/photos/{photo}/result"),
        format!("/api/v1/picker/sessions/{session}"),
    ] {
        let (status, body) = bob.call(Method::GET, &path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = bob
        .call(
            Method::POST,
            &format!("/api/v1/picker/sessions/{session}/sync"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = bob
        .call(Method::DELETE, &format!("/api/v1/photos/{photo}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(alice.photos().await.len(), 1);
    g.stop().await;
}

async fn disconnect_revokes_at_google_and_delete_removes_everything(backend: Backend) {
    let g = GoogleApp::start(backend, 1).await;
    let alice = g.sign_in("alice@example.com").await;
    let imported = g.pick_and_sync(&alice, Pick::Items(vec![0, 1])).await;
    g.wait_for_batch(&alice, imported["verify_batch_id"].as_i64().unwrap())
        .await;
    assert_token_never_stored_in_clear(&g).await;

    let (status, _) = alice
        .call(Method::POST, "/api/v1/auth/google/disconnect", None)
        .await;
    assert_eq!(status, 204);
    assert!(!g.fake.state().revoked_tokens().is_empty());
    let (_, me) = alice.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(me["google"]["connected"], false, "{me}");
    let (status, err) = alice
        .call(Method::POST, "/api/v1/picker/sessions", None)
        .await;
    assert_eq!(status, 409, "{err}");
    // The photos and their scores stay after a disconnect.
    assert_eq!(alice.photos().await.len(), 2);

    let (status, _) = alice.call(Method::DELETE, "/api/v1/account", None).await;
    assert_eq!(status, 204);
    let (status, _) = alice.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(status, 401);
    let pool = g.app.deps.db.pool();
    for table in [
        "users",
        "photos",
        "oauth_tokens",
        "picker_sessions",
        "media_cache",
        "jobs",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} still has rows");
    }
    assert!(walk_files(&g.app.data_dir().join("blobs")).is_empty());
    g.stop().await;
}

/// The tokens the fake issued never appear in the database's bytes.
async fn assert_token_never_stored_in_clear(g: &GoogleApp) {
    let dump: Vec<u8> = match &g.app.database_url {
        None => {
            let mut bytes = Vec::new();
            for name in ["classify.db", "classify.db-wal"] {
                bytes.extend(std::fs::read(g.app.data_dir().join(name)).unwrap_or_default());
            }
            bytes
        }
        Some(url) => {
            let out = tokio::process::Command::new("pg_dump")
                .arg(url)
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    };
    assert!(dump.len() > 1000);
    // The fake's access tokens start "ya29." and refresh tokens "1//", like Google's.
    for marker in [b"ya29.".as_slice(), b"1//".as_slice()] {
        assert!(
            !dump.windows(marker.len()).any(|w| w == marker),
            "a token is stored in clear"
        );
    }
}

async fn api_clients_exchange_their_own_code_and_a_wrong_pkce_verifier_is_refused(
    backend: Backend,
) {
    use base64::Engine;
    use sha2::Digest;
    let g = GoogleApp::start(backend, 0).await;
    let verifier = "a-long-enough-pkce-code-verifier-0123456789-abcdefghijklmnop";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:9/cli-callback";
    let auth = format!(
        "{}?client_id={}&redirect_uri={}&response_type=code&scope=openid%20email%20profile%20https://www.googleapis.com/auth/photospicker.mediaitems.readonly&state=s1&code_challenge={challenge}&code_challenge_method=S256&access_type=offline",
        g.fake.endpoints().auth_url,
        g.fake.client_id(),
        redirect
    );
    let code_of = |url: String| {
        url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.to_string())
            .unwrap()
    };
    let code = code_of(
        g.fake
            .state()
            .approve(&auth, "alice@example.com", None)
            .unwrap(),
    );
    let (status, err) = g
        .app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "authorization_code", "code": code,
                "code_verifier": "the-wrong-verifier-0123456789-0123456789-abcdefgh",
                "redirect_uri": redirect})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{err}"
    );
    let code = code_of(
        g.fake
            .state()
            .approve(&auth, "alice@example.com", None)
            .unwrap(),
    );
    let (status, tokens) = g
        .app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"grant_type": "authorization_code", "code": code,
                "code_verifier": verifier, "redirect_uri": redirect})),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let (status, me) = g
        .app
        .call(
            Method::GET,
            "/api/v1/auth/me",
            tokens["access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "alice@example.com");
    // The same Google account in the browser is the same user.
    let browser = g.sign_in("alice@example.com").await;
    let (_, me2) = browser.call(Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(me2["id"], me["id"]);
    g.stop().await;
}

async fn the_proxy_refuses_a_base_url_on_any_other_host(backend: Backend) {
    // Media allowed from the fake's exact host:port only; a listener on another port counts
    // what reaches it.
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_addr = trap.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = trap.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let g = GoogleApp::start_with(backend, 1, fake_google::Options::default(), |args, fake| {
        args.google.google_media_hosts = vec![format!("127.0.0.1:{}", fake.addr().port())];
    })
    .await;
    let alice = g.sign_in("alice@example.com").await;
    let imported = g.pick_and_sync(&alice, Pick::Items(vec![0])).await;
    assert_eq!(imported["imported"], 1);
    let photo = alice.photos().await[0]["id"].as_i64().unwrap();
    for evil in [
        format!("http://{trap_addr}/media/stolen"),
        "http://169.254.169.254/latest/meta-data".to_string(),
        format!("https://evil.example/{}", "x"),
    ] {
        sqlx::query("UPDATE photos SET base_url = $1 WHERE id = $2")
            .bind(&evil)
            .bind(photo)
            .execute(g.app.deps.db.pool())
            .await
            .unwrap();
        let (status, err) = alice
            .call(
                Method::GET,
                &format!("/api/v1/photos/{photo}/image?size=original"),
                None,
            )
            .await;
        assert_eq!(status, 502, "{evil}: {err}");
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    g.stop().await;
}

async fn a_revoked_grant_fails_the_users_google_jobs_with_reauth_required(backend: Backend) {
    let g = GoogleApp::start(backend, 1).await;
    let alice = g.sign_in("alice@example.com").await;
    let imported = g.pick_and_sync(&alice, Pick::Items(vec![0])).await;
    g.wait_for_batch(&alice, imported["verify_batch_id"].as_i64().unwrap())
        .await;
    let photo = alice.photos().await[0]["id"].as_i64().unwrap();
    // Google forgets the grant; the cached copy is gone, so verifying needs Google again.
    g.fake.state().revoke_user("alice@example.com").unwrap();
    expire_stored_tokens(&g).await;
    sqlx::query("DELETE FROM media_cache")
        .execute(g.app.deps.db.pool())
        .await
        .unwrap();
    let (status, accepted) = alice
        .call(
            Method::POST,
            &format!("/api/v1/photos/{photo}/analyze"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let progress = g
        .wait_for_batch(&alice, accepted["batch_id"].as_i64().unwrap())
        .await;
    assert_eq!(progress["failed"], 1, "{progress}");
    let body = photo_once(&alice, photo, |p| p["status"] == "failed").await;
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("reauth_required"),
        "{body}"
    );
    assert!(body["blur_score"].is_number(), "the score stays: {body}");
    g.stop().await;
}

/// The photo once `ready` holds for it (or, after 10 s, as it then is).
async fn photo_once(
    browser: &crate::google_harness::Browser,
    id: i64,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, photo) = browser
            .call(Method::GET, &format!("/api/v1/photos/{id}"), None)
            .await;
        if ready(&photo) || tokio::time::Instant::now() > deadline {
            return photo;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Makes the server's stored Google access tokens due for a refresh.
async fn expire_stored_tokens(g: &GoogleApp) {
    sqlx::query("UPDATE oauth_tokens SET expires_at = 0")
        .execute(g.app.deps.db.pool())
        .await
        .unwrap();
}
