//! Who is asking: the `CurrentUser` of every `/api/v1` request, and the protection of
//! cookie-authenticated requests against cross-site forgery.
//!
//! A request's user comes from, in order: a bearer access token (`Authorization: Bearer ...`,
//! for REST API clients), the browser session (tower-sessions cookie), or, in local mode (no
//! Google sign-in configured), the single local user. Never from a path or query parameter.

pub mod keys;
pub mod sessions;
pub mod tokens;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use tower_sessions::Session;

use crate::db::users;
use crate::error::AppError;

pub use self::tokens::TokenKeys;

/// The session key holding the signed-in user's id.
pub const SESSION_USER_KEY: &str = "user_id";

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "classify_session";

/// How users are known to this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// No Google sign-in configured: one local user, no login (the local try-out).
    Local {
        /// The local user's id.
        user_id: i64,
    },
    /// Google sign-in: every request must carry a session or a token.
    Accounts,
}

impl AuthMode {
    /// `local` or `google`, as `/auth/me` reports it.
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::Local { .. } => "local",
            AuthMode::Accounts => "google",
        }
    }
}

/// Authentication settings shared by handlers.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Local or accounts.
    pub mode: AuthMode,
    /// Signs and checks bearer tokens.
    pub keys: TokenKeys,
    /// The server listens on loopback only: local mode then also requires a loopback `Host`,
    /// so a web page cannot reach the local user through DNS rebinding.
    pub loopback_only: bool,
}

/// How the current request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    /// A bearer access token.
    Bearer,
    /// The browser session cookie.
    Session,
    /// Local mode's implicit user.
    Local,
}

/// The authenticated user of a request. Only the id is established up front (a token's
/// signature, the session or local mode say who it is); handlers that need the user's row
/// (settings, profile) load it, so the gallery's hot path costs no extra query.
#[derive(Debug, Clone, Copy)]
pub struct CurrentUser {
    id: i64,
    /// How they were recognised.
    pub via: AuthVia,
}

impl CurrentUser {
    /// The user's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The user's row; a user that no longer exists is no longer signed in.
    pub async fn row(&self, db: &crate::db::Database) -> Result<users::UserRow, AppError> {
        users::get(db.pool(), self.id)
            .await?
            .ok_or(AppError::Unauthorized)
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Arc<Auth>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let auth = Arc::<Auth>::from_ref(state);
        let (user_id, via) = if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            // A present but bad Authorization header is refused outright, never ignored in
            // favour of the cookie: the client meant to use that token.
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or(AppError::Unauthorized)?;
            let (id, _) = auth
                .keys
                .verify(token.trim(), "access")
                .map_err(|_| AppError::Unauthorized)?;
            (id, AuthVia::Bearer)
        } else if let Some(id) = session_user(parts).await? {
            (id, AuthVia::Session)
        } else if let AuthMode::Local { user_id } = auth.mode {
            if auth.loopback_only && !is_loopback_host(parts) {
                return Err(AppError::Forbidden);
            }
            (user_id, AuthVia::Local)
        } else {
            return Err(AppError::Unauthorized);
        };
        if via != AuthVia::Bearer {
            // The browser attaches cookies (and, in local mode, reaches the server at all) on
            // requests any site can trigger, so state changes must come from our own pages.
            check_same_origin(parts)?;
        }
        Ok(CurrentUser { id: user_id, via })
    }
}

async fn session_user(parts: &Parts) -> Result<Option<i64>, AppError> {
    let Some(session) = parts.extensions.get::<Session>() else {
        return Ok(None);
    };
    session
        .get::<i64>(SESSION_USER_KEY)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session store: {e}")))
}

/// True when the `Host` header names this machine (`localhost`, `*.localhost`, `127.0.0.1`,
/// `[::1]`), with or without a port. A rebinding attack arrives with the attacker's name.
pub fn is_loopback_host(parts: &Parts) -> bool {
    let Some(host) = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        // HTTP/1.0 without Host, or HTTP/2 with the authority in the URI.
        return parts.uri.host().is_none_or(is_loopback_name);
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    is_loopback_name(name)
}

fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.to_ascii_lowercase().ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a state-changing request that a browser marks as coming from another site.
/// Safe methods pass; so do clients that send neither header (curl, API clients), which a
/// browser always sends on cross-site requests.
pub fn check_same_origin(parts: &Parts) -> Result<(), AppError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header_str = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header_str("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return Err(AppError::CrossSite);
    }
    if let Some(origin) = header_str(header::ORIGIN.as_str()) {
        let host = header_str(header::HOST.as_str()).unwrap_or_default();
        let origin_host = url::Url::parse(origin).ok().and_then(|u| {
            let name = u.host_str()?.to_string();
            Some(match u.port() {
                Some(port) => format!("{name}:{port}"),
                None => name,
            })
        });
        if origin_host.as_deref() != Some(host) {
            return Err(AppError::CrossSite);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri("/api/v1/photos");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn same_origin_and_header_less_requests_pass() {
        let host = ("host", "127.0.0.1:8080");
        assert!(check_same_origin(&parts(Method::POST, &[host])).is_ok());
        assert!(
            check_same_origin(&parts(
                Method::POST,
                &[
                    host,
                    ("origin", "http://127.0.0.1:8080"),
                    ("sec-fetch-site", "same-origin")
                ]
            ))
            .is_ok()
        );
        assert!(
            check_same_origin(&parts(
                Method::GET,
                &[host, ("sec-fetch-site", "cross-site")]
            ))
            .is_ok()
        );
    }

    #[test]
    fn only_loopback_host_names_count_as_this_machine() {
        for host in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:80",
            "app.localhost:1",
            "[::1]:8080",
            "127.0.0.2",
        ] {
            assert!(
                is_loopback_host(&parts(Method::GET, &[("host", host)])),
                "{host}"
            );
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "192.168.1.10:8080",
            "localhost.evil.example",
            "[2001:db8::1]:80",
        ] {
            assert!(
                !is_loopback_host(&parts(Method::GET, &[("host", host)])),
                "{host}"
            );
        }
    }

    #[test]
    fn cross_site_state_changes_are_refused() {
        let host = ("host", "127.0.0.1:8080");
        for headers in [
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![host, ("sec-fetch-site", "same-site")],
            vec![host, ("origin", "https://evil.example")],
            vec![host, ("origin", "http://127.0.0.1:9999")],
            vec![host, ("origin", "null")],
        ] {
            assert!(
                matches!(
                    check_same_origin(&parts(Method::DELETE, &headers)),
                    Err(AppError::CrossSite)
                ),
                "{headers:?} passed"
            );
        }
    }
}
