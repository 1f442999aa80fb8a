//! A fake Google for tests and offline demos: OAuth 2.0 (authorization code + PKCE, refresh,
//! revoke), OpenID userinfo, the Google Photos Picker API with its picker page, media base
//! URLs, and the app-created part of the Library API, all on one loopback origin and in
//! Google's wire format.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let fake = fake_google::FakeGoogle::start(fake_google::Options::default()).await?;
//! let endpoints = fake.endpoints();
//! assert!(endpoints.token_url.ends_with("/token"));
//! fake.state().fail_next(fake_google::Endpoint::PickerList, 429, 1, Some(2));
//! # Ok(()) }
//! ```

mod authorize;
mod control;
mod control_http;
mod errors;
mod faults;
mod grants;
mod library;
mod media;
mod options;
mod pages;
mod photos;
mod picker;
mod picker_wire;
mod samples;
mod state;
mod token;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use control::{Control, ControlError, HeldRequest, PhotoInfo, SessionInfo};
pub use faults::{Endpoint, HoldPoint, RequestRecord};
pub use grants::TokenResponse;
pub use library::{LibraryAlbum, LibraryItem};
pub use options::{Options, TestUser};
pub use photos::{Camera, MediaType, Photo, Sharpness};
pub use picker::{Pick, PickError};
pub use state::{EMAIL_SCOPE, PICKER_SCOPE, PROFILE_SCOPE};

/// The URLs a client is configured with; only the origin differs from Google's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoints {
    /// Google: `https://accounts.google.com/o/oauth2/v2/auth`.
    pub auth_url: String,
    /// Google: `https://oauth2.googleapis.com/token`.
    pub token_url: String,
    /// Google: `https://oauth2.googleapis.com/revoke`.
    pub revoke_url: String,
    /// Google: `https://openidconnect.googleapis.com/v1/userinfo`.
    pub userinfo_url: String,
    /// Google: `https://photospicker.googleapis.com` (clients append `/v1/...`).
    pub picker_url: String,
    /// Google: `https://photoslibrary.googleapis.com` (clients append `/v1/...`).
    pub library_url: String,
    /// The host of media base URLs (Google: `lh3.googleusercontent.com` and others).
    pub media_host: String,
}

/// A running fake. Dropping it stops the server.
pub struct FakeGoogle {
    origin: String,
    addr: SocketAddr,
    control: Control,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeGoogle {
    /// Binds `options.addr` (default `127.0.0.1:0`) and serves in the background.
    pub async fn start(options: Options) -> std::io::Result<FakeGoogle> {
        let listener = TcpListener::bind(options.addr).await?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        let origin = match &options.public_origin {
            Some(origin) => origin.trim_end_matches('/').to_string(),
            None => format!("http://{addr}"),
        };
        let shared = Arc::new(state::Shared::new(options, origin.clone()));
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = rx.await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await;
        });
        Ok(FakeGoogle {
            origin,
            addr,
            control: Control { shared },
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT` (or the public origin it was given): one origin serves every
    /// endpoint.
    pub fn url(&self) -> &str {
        &self.origin
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn endpoints(&self) -> Endpoints {
        let o = &self.origin;
        Endpoints {
            auth_url: format!("{o}/o/oauth2/v2/auth"),
            token_url: format!("{o}/token"),
            revoke_url: format!("{o}/revoke"),
            userinfo_url: format!("{o}/v1/userinfo"),
            picker_url: o.clone(),
            library_url: o.clone(),
            media_host: url::Url::parse(o)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| self.addr.ip().to_string()),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.control.shared.opts.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.control.shared.opts.client_secret
    }

    /// The handle that steers and inspects this fake (also served under `/_fake/`).
    pub fn state(&self) -> &Control {
        &self.control
    }

    /// The settings as `KEY=value` pairs for Classify's environment.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let e = self.endpoints();
        vec![
            ("GOOGLE_CLIENT_ID", self.client_id().to_string()),
            ("GOOGLE_CLIENT_SECRET", self.client_secret().to_string()),
            ("GOOGLE_AUTH_URL", e.auth_url),
            ("GOOGLE_TOKEN_URL", e.token_url),
            ("GOOGLE_REVOKE_URL", e.revoke_url),
            ("GOOGLE_USERINFO_URL", e.userinfo_url),
            ("GOOGLE_PICKER_URL", e.picker_url),
            ("GOOGLE_LIBRARY_URL", e.library_url),
            ("CLASSIFY_GOOGLE_MEDIA_HOSTS", e.media_host),
        ]
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until the server task ends (for the binary, alongside a Ctrl-C wait).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn router(shared: state::AppState) -> Router {
    Router::new()
        .merge(authorize::router())
        .merge(token::router())
        .merge(picker::router())
        .merge(media::router())
        .merge(library::router())
        .merge(control_http::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            faults::observe,
        ))
        .with_state(shared)
}

async fn not_found() -> Response {
    errors::ApiError::not_found("The requested URL was not found on this server.").into_response()
}
