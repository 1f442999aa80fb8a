//! A Classify server wired to a fake Google (`fake-google`), and a browser-like client that
//! signs in through the real redirect flow (start → consent → callback) with a cookie jar.

use fake_google::{FakeGoogle, Options};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, storage};

/// A server with Google sign-in pointed at a running fake.
pub struct GoogleApp {
    pub app: TestApp,
    pub fake: FakeGoogle,
}

impl GoogleApp {
    /// A fake Google and a server using it, with `workers` embedded workers.
    pub async fn start(backend: Backend, workers: usize) -> GoogleApp {
        Self::start_with(backend, workers, Options::default(), |_, _| {}).await
    }

    /// As [`start`](Self::start), with the fake's options and a last tweak of the server's.
    pub async fn start_with(
        backend: Backend,
        workers: usize,
        options: Options,
        tweak: impl FnOnce(&mut server::config::ServeArgs, &FakeGoogle),
    ) -> GoogleApp {
        let fake = FakeGoogle::start(options).await.unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        let storage = storage(backend, data_dir.path().to_path_buf()).await;
        let e = fake.endpoints();
        let (id, secret) = (
            fake.client_id().to_string(),
            fake.client_secret().to_string(),
        );
        let app = TestApp::spawn_with(storage, data_dir, |args| {
            args.workers = workers;
            let g = &mut args.google;
            g.google_client_id = Some(id);
            g.google_client_secret = Some(secret.into());
            g.google_auth_url = e.auth_url.parse().unwrap();
            g.google_token_url = e.token_url.parse().unwrap();
            g.google_revoke_url = e.revoke_url.parse().unwrap();
            g.google_userinfo_url = e.userinfo_url.parse().unwrap();
            g.google_picker_url = e.picker_url.parse().unwrap();
            g.google_library_url = e.library_url.parse().unwrap();
            g.google_media_hosts = vec![e.media_host.clone()];
            tweak(args, &fake);
        })
        .await;
        GoogleApp { app, fake }
    }

    /// A client with its own cookie jar that follows no redirect (each step is checked).
    pub fn browser(&self) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            base: self.app.base.clone(),
            jar: jar.clone(),
            http: reqwest::Client::builder()
                .cookie_provider(jar)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// Starts sign-in in `browser` and returns Google's consent URL it was sent to.
    pub async fn start_sign_in(&self, browser: &Browser) -> String {
        let response = browser.get("/api/v1/auth/google/start").await;
        assert_eq!(response.status().as_u16(), 303);
        location(&response)
    }

    /// Signs `email` in through the whole redirect flow, granting every requested scope.
    /// When Google sends no refresh token (the account consented before), the server asks
    /// once more with the consent screen; that round is followed too.
    pub async fn sign_in(&self, email: &str) -> Browser {
        let browser = self.browser();
        let mut consent = self.start_sign_in(&browser).await;
        for _ in 0..2 {
            let callback = self.fake.state().approve(&consent, email, None).unwrap();
            let response = browser.get_url(&callback).await;
            assert_eq!(
                response.status().as_u16(),
                303,
                "{}",
                response.text().await.unwrap()
            );
            let next = location(&response);
            if next == "/" {
                return browser;
            }
            assert_eq!(next, "/api/v1/auth/google/start?consent=true");
            let response = browser.get(&next).await;
            assert_eq!(response.status().as_u16(), 303);
            consent = location(&response);
            assert!(consent.contains("prompt=consent"), "{consent}");
        }
        panic!("sign-in did not finish");
    }

    /// Picks the fake's items `which` in a new Picker session and syncs it; waits until the
    /// import is recorded and returns the session.
    pub async fn pick_and_sync(&self, browser: &Browser, which: fake_google::Pick) -> Value {
        let (status, session) = browser
            .call(Method::POST, "/api/v1/picker/sessions", None)
            .await;
        assert_eq!(status, 201, "{session}");
        let id = session["id"].as_str().unwrap().to_string();
        self.fake.state().pick(&id, which).unwrap();
        let (status, polled) = browser
            .call(Method::GET, &format!("/api/v1/picker/sessions/{id}"), None)
            .await;
        assert_eq!(status, 200, "{polled}");
        assert_eq!(polled["status"], "picked", "{polled}");
        let (status, accepted) = browser
            .call(
                Method::POST,
                &format!("/api/v1/picker/sessions/{id}/sync"),
                None,
            )
            .await;
        assert_eq!(status, 202, "{accepted}");
        self.wait_for_import(browser, &id).await
    }

    /// Polls a session until its import is recorded (or failed).
    pub async fn wait_for_import(&self, browser: &Browser, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (status, session) = browser
                .call(Method::GET, &format!("/api/v1/picker/sessions/{id}"), None)
                .await;
            assert_eq!(status, 200, "{session}");
            if session["status"] == "imported" || session["status"] == "failed" {
                return session;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "import stuck: {session}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Waits for a batch through `browser`'s session.
    pub async fn wait_for_batch(&self, browser: &Browser, batch_id: i64) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (status, body) = browser
                .call(Method::GET, &format!("/api/v1/blur/jobs/{batch_id}"), None)
                .await;
            assert_eq!(status, 200, "{body}");
            if body["status"] == "done" || body["status"] == "failed" {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "batch stuck: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub async fn stop(self) {
        self.app.stop().await;
        self.fake.shutdown().await;
    }
}

/// A browser: a cookie jar on the server's origin.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Browser {
    /// The cookies this browser sends to the server.
    pub fn cookies(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        self.jar
            .cookies(&self.base.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_string())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_url(&format!("{}{path}", self.base)).await
    }

    pub async fn get_url(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    /// A JSON call on the server with this browser's cookies.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, json)
    }

    /// All of this user's photos (first page of 200).
    pub async fn photos(&self) -> Vec<Value> {
        let (status, page) = self
            .call(Method::GET, "/api/v1/photos?limit=200", None)
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().unwrap().clone()
    }
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}
