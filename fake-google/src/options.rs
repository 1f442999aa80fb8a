//! What a fake instance is started with: its OAuth client, test users, photos and timings.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::photos::Photo;

/// A Google account the consent page offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestUser {
    /// The stable account id (`sub`), 21 digits like Google's.
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub picture: String,
}

impl TestUser {
    /// A verified user; `name` is "given family", the picture a fixed placeholder URL.
    pub fn new(email: &str, sub: &str, given_name: &str, family_name: &str) -> Self {
        Self {
            sub: sub.into(),
            email: email.into(),
            email_verified: true,
            name: format!("{given_name} {family_name}"),
            given_name: given_name.into(),
            family_name: family_name.into(),
            picture: format!(
                "https://lh3.googleusercontent.com/a/fake-{}=s96-c",
                email.split('@').next().unwrap_or(email)
            ),
        }
    }

    /// The part of the email before `@`, used in the consent page's element ids.
    pub fn local_part(&self) -> &str {
        self.email.split('@').next().unwrap_or(&self.email)
    }
}

/// How a fake instance behaves. `Options::default()` suits most tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The origin the fake puts in the URLs it hands out (picker page, media base URLs,
    /// `env_vars`), when clients reach it by another name than its listening address (a
    /// container published on the host). Default: `http://<addr>`.
    pub public_origin: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of access tokens (`expires_in` is this minus one second, as Google's 3599).
    pub access_token_ttl: Duration,
    /// Lifetime of media base URLs (Google: 60 minutes).
    pub base_url_ttl: Duration,
    /// Lifetime of a picking session (`expireTime`, `pollingConfig.timeoutIn`).
    pub session_ttl: Duration,
    /// `pollingConfig.pollInterval` of new sessions.
    pub poll_interval: Duration,
    /// Lifetime of authorization codes (Google: 10 minutes).
    pub code_ttl: Duration,
    /// Interleave an empty page (still carrying a `nextPageToken`) before every page of
    /// `mediaItems.list`, which Google documents as possible.
    pub empty_pages: bool,
    pub users: Vec<TestUser>,
    /// Every user's library (item ids differ per user, the pixels do not).
    pub photos: Vec<Photo>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_origin: None,
            client_id: "fake-client-id.apps.googleusercontent.com".into(),
            client_secret: "fake-client-secret".into(),
            access_token_ttl: Duration::from_secs(3600),
            base_url_ttl: Duration::from_secs(60 * 60),
            session_ttl: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(1),
            code_ttl: Duration::from_secs(10 * 60),
            empty_pages: false,
            users: vec![
                TestUser::new(
                    "alice@example.com",
                    "1000000000000000000001",
                    "Alice",
                    "Liddell",
                ),
                TestUser::new(
                    "bob@example.com",
                    "1000000000000000000002",
                    "Bob",
                    "Builder",
                ),
            ],
            photos: Photo::builtin_set(),
        }
    }
}

impl Options {
    /// Replaces the photos with the JPEG/PNG files of `dir` (sorted by file name).
    pub fn photos_dir(mut self, dir: impl AsRef<Path>) -> io::Result<Self> {
        let photos = Photo::from_dir(dir.as_ref())?;
        if photos.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no JPEG or PNG files in {}", dir.as_ref().display()),
            ));
        }
        self.photos = photos;
        Ok(self)
    }
}
