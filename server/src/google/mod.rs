//! Google: sign-in with OAuth 2.0 (authorization code, PKCE, offline access), the user's
//! tokens (encrypted at rest, refreshed before they expire), the Photos Picker API, and the
//! media behind Picker base URLs (fetched only from Google's photo hosts).
//!
//! Every endpoint is configurable (`GOOGLE_*_URL`), so tests run against `fake-google`, which
//! speaks the same wire format. Requests that Google answers with 429 or 5xx are retried with
//! backoff, honouring `Retry-After` (`transport`).

pub mod account;
pub mod crypto;
pub mod library;
pub mod media;
pub mod oauth;
pub mod picker;
pub mod quota;
pub mod transport;

use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::config::{GoogleArgs, Secret};

pub use self::crypto::TokenCipher;

/// The scopes Classify asks for.
pub mod scopes {
    /// Sign-in: the account's id.
    pub const OPENID: &str = "openid";
    /// Sign-in: the email address.
    pub const EMAIL: &str = "email";
    /// Sign-in: name and picture.
    pub const PROFILE: &str = "profile";
    /// The Photos Picker: sessions and the picked items.
    pub const PICKER: &str = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly";
    /// The Library API's upload and album creation (asked for with the first album only).
    pub const LIBRARY_APPEND: &str = "https://www.googleapis.com/auth/photoslibrary.appendonly";
    /// Reading back what Classify made (its albums' contents): how a resumed album job learns
    /// what a `batchCreate` whose answer was lost did add. Asked for with `LIBRARY_APPEND`.
    pub const LIBRARY_READ_APP: &str =
        "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata";
    /// What the first album asks for, incrementally.
    pub const ALBUMS: [&str; 2] = [LIBRARY_APPEND, LIBRARY_READ_APP];
    /// What sign-in asks for.
    pub const SIGN_IN: [&str; 4] = [OPENID, EMAIL, PROFILE, PICKER];

    /// Whether a space-separated scope list holds `scope`. Google may answer the short forms
    /// of the sign-in scopes with their URL forms (`.../auth/userinfo.email`).
    pub fn has(granted: &str, scope: &str) -> bool {
        granted.split_whitespace().any(|s| s == scope)
    }
}

/// Why a call to Google failed.
#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// The user has no stored Google tokens.
    #[error("this account is not connected to Google Photos")]
    NotConnected,
    /// Google refused the stored refresh token (`invalid_grant`): the user must sign in again.
    #[error("Google no longer accepts this sign-in: sign in with Google again")]
    ReauthRequired,
    /// The user did not grant a scope this needs.
    #[error("Google Photos access was not granted: sign in again and tick the Photos box")]
    ScopeMissing,
    /// A base URL ran out (60 minutes after the pick) or was refused.
    #[error("the Google Photos link expired: pick the photo again to refresh it")]
    LinkExpired,
    /// A base URL that is not on one of `CLASSIFY_GOOGLE_MEDIA_HOSTS`.
    #[error("refused to fetch media from {0}: not a configured Google media host")]
    HostNotAllowed(String),
    /// The media is larger than the limit.
    #[error("the Google media is larger than {0} bytes")]
    TooLarge(u64),
    /// Google asked us to slow down, and kept asking after the retries.
    #[error("Google is rate limiting requests; try again later")]
    RateLimited {
        /// What Google's `Retry-After` asked for, if anything.
        retry_after: Option<Duration>,
    },
    /// Google failed (5xx) after the retries, or could not be reached.
    #[error("Google is unavailable: {0}")]
    Unavailable(String),
    /// The deployment's daily Library API quota is spent (counted in the database); the next
    /// Google day starts at `resets_at_ms`.
    #[error(
        "the daily Google Photos quota of this server (shared by all its users) is spent; it renews at midnight Pacific time"
    )]
    QuotaExhausted {
        /// The daily quota we count (0: Google's own count said so).
        per_day: u64,
        /// When the next day starts (Unix ms).
        resets_at_ms: i64,
    },
    /// Google answered with an error that retrying will not fix.
    #[error("Google answered {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Google's `error.status` (`NOT_FOUND`, `FAILED_PRECONDITION`, ...) or OAuth `error`.
        code: String,
        /// Google's message.
        message: String,
    },
    /// Google's answer did not have the documented shape.
    #[error("unexpected answer from Google: {0}")]
    Protocol(String),
    /// Stored tokens could not be decrypted (wrong or missing key).
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl GoogleError {
    /// A short machine-readable name, which job errors start with (`link_expired: ...`), so
    /// the page can offer the right action.
    pub fn code(&self) -> &'static str {
        match self {
            GoogleError::NotConnected | GoogleError::ScopeMissing => "google_not_connected",
            GoogleError::ReauthRequired => "reauth_required",
            GoogleError::LinkExpired => "link_expired",
            GoogleError::HostNotAllowed(_) => "host_not_allowed",
            GoogleError::TooLarge(_) => "too_large",
            GoogleError::RateLimited { .. } => "rate_limited",
            GoogleError::QuotaExhausted { .. } => "quota_exhausted",
            GoogleError::Unavailable(_) => "google_unavailable",
            GoogleError::Api { .. } | GoogleError::Protocol(_) => "google_error",
            GoogleError::Crypto(_) | GoogleError::Database(_) => "internal",
        }
    }

    /// Whether another attempt later can succeed (the job system retries these).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GoogleError::RateLimited { .. }
                | GoogleError::Unavailable(_)
                | GoogleError::Database(_)
        )
    }
}

/// Where Google is, and who we are to it.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Authorization (the consent page).
    pub auth: Url,
    /// Token exchange and refresh.
    pub token: Url,
    /// Revocation.
    pub revoke: Url,
    /// OpenID userinfo.
    pub userinfo: Url,
    /// Picker API origin.
    pub picker: Url,
    /// Library API origin.
    pub library: Url,
}

/// The connection to Google: configuration, the HTTP client and the token cipher.
#[derive(Debug, Clone)]
pub struct Google {
    /// OAuth client id.
    pub client_id: String,
    client_secret: Secret,
    /// Where Google redirects after consent.
    pub redirect_uri: Url,
    /// The endpoints.
    pub endpoints: Endpoints,
    /// Hosts media may come from (`host` or `host:port`).
    media_hosts: Vec<String>,
    /// Encrypts tokens at rest.
    pub cipher: TokenCipher,
    /// HTTP without redirects (a redirect could lead a bearer token elsewhere).
    http: reqwest::Client,
    /// Retries on 429/5xx.
    pub retry: transport::RetryPolicy,
    /// The deployment's daily Library API quota.
    pub library_quota: quota::LibraryQuota,
    /// Longest one request may take (the HTTP client's timeout).
    pub request_timeout: Duration,
}

/// Why Google could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A client id without a secret.
    #[error("GOOGLE_CLIENT_SECRET is required with GOOGLE_CLIENT_ID")]
    NoSecret,
    /// No public URL on a non-loopback address.
    #[error(
        "CLASSIFY_PUBLIC_URL is required with Google sign-in unless the server listens on loopback (Google must redirect browsers back to it)"
    )]
    NoPublicUrl,
    /// The token key is malformed or its file unreadable.
    #[error(transparent)]
    Key(#[from] crypto::CryptoError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

impl Google {
    /// Google as configured, or `None` in local mode (no client id). `public_url` is the
    /// origin browsers reach this server at (workers, which never redirect a browser, pass
    /// `None`; `serve` refuses to start without one off loopback).
    pub fn from_args(
        args: &GoogleArgs,
        public_url: Option<&Url>,
        data_dir: &Path,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(client_id) = args
            .google_client_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
        else {
            return Ok(None);
        };
        let client_secret = args
            .google_client_secret
            .clone()
            .filter(|s| !s.expose().trim().is_empty())
            .ok_or(ConfigError::NoSecret)?;
        let fallback =
            Url::parse("http://localhost/").map_err(|e| ConfigError::Http(e.to_string()))?;
        let mut redirect_uri = public_url.unwrap_or(&fallback).clone();
        redirect_uri.set_path("/api/v1/auth/google/callback");
        redirect_uri.set_query(None);
        let cipher =
            TokenCipher::load_or_create(args.token_key.as_ref().map(Secret::expose), data_dir)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(args.google_timeout_secs))
            .user_agent(concat!("classify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        Ok(Some(Self {
            client_id: client_id.to_string(),
            client_secret,
            redirect_uri,
            endpoints: Endpoints {
                auth: args.google_auth_url.clone(),
                token: args.google_token_url.clone(),
                revoke: args.google_revoke_url.clone(),
                userinfo: args.google_userinfo_url.clone(),
                picker: args.google_picker_url.clone(),
                library: args.google_library_url.clone(),
            },
            media_hosts: args
                .google_media_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            cipher,
            http,
            retry: transport::RetryPolicy::default(),
            library_quota: quota::LibraryQuota {
                per_day: args.library_daily_quota,
            },
            request_timeout: Duration::from_secs(args.google_timeout_secs),
        }))
    }

    /// The HTTP client (no redirects, timeouts set).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Whether `url` may be fetched as Google media: its host is on the list (an entry with a
    /// port names that port only), and it is https, or http to a loopback host (the fake).
    pub fn media_host_allowed(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let with_port = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        // An entry without a port names the host on any port.
        let listed = self
            .media_hosts
            .iter()
            .any(|h| *h == with_port || *h == host);
        // Plain http only to this machine (tests, the fake-Google demo's `*.localhost` name).
        let loopback = crate::net::is_loopback_name(&host);
        listed && (url.scheme() == "https" || (url.scheme() == "http" && loopback))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn google(media_hosts: &[&str], dir: &Path) -> Google {
        let key: Vec<u8> = (0u8..32).collect();
        let args = GoogleArgs {
            google_client_id: Some("id.apps.googleusercontent.com".into()),
            google_client_secret: Some(Secret::from("secret".to_string())),
            google_media_hosts: media_hosts.iter().map(|h| h.to_string()).collect(),
            token_key: Some(Secret::from(format!(
                "k1:{}",
                base64::engine::general_purpose::STANDARD.encode(key)
            ))),
            ..GoogleArgs::disabled()
        };
        match Google::from_args(&args, None, dir) {
            Ok(Some(g)) => g,
            other => panic!("Google did not configure: {:?}", other.err()),
        }
    }

    #[test]
    fn media_is_fetched_from_listed_hosts_over_https_or_loopback_http_only() {
        let dir = tempfile::tempdir().unwrap();
        let g = google(
            &[
                "lh3.googleusercontent.com",
                "fake-google.localhost",
                "127.0.0.1:9876",
            ],
            dir.path(),
        );
        let allowed = |u: &str| g.media_host_allowed(&Url::parse(u).unwrap());
        assert!(allowed("https://lh3.googleusercontent.com/lr/abc=d"));
        assert!(allowed("http://fake-google.localhost:9876/media/abc=d"));
        assert!(allowed("http://127.0.0.1:9876/media/abc"));
        // Listed but plain http off this machine; loopback but not listed; another port.
        assert!(!allowed("http://lh3.googleusercontent.com/lr/abc"));
        assert!(!allowed("http://other.localhost:9876/media/abc"));
        assert!(!allowed("http://127.0.0.1:9877/media/abc"));
        assert!(!allowed("https://evil.example/lh3.googleusercontent.com"));
    }
}
