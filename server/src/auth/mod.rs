//! Who is asking: the `CurrentUser` of every `/api/v1` request, and [`guard`], the one layer in
//! front of every route that applies local mode's host rule and the same-origin rule.
//!
//! A request's user comes from, in order: a bearer access token (`Authorization: Bearer ...`,
//! for REST API clients), the browser session (tower-sessions cookie), or, in local mode (no
//! Google sign-in configured), the single local user. Never from a path or query parameter.

pub mod keys;
pub mod sessions;
pub mod tokens;
pub mod versions;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use tower_sessions::Session;

use crate::db::users;
use crate::error::{AppError, token_messages};

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
    /// Host names local mode answers to besides the loopback names (`CLASSIFY_ALLOWED_HOSTS`),
    /// lower-case, without port.
    pub allowed_hosts: Vec<String>,
    /// Users' token versions, kept while PostgreSQL announces their changes.
    pub versions: Arc<versions::TokenVersions>,
}

/// The liveness path: the one route local mode's host rule leaves open (see [`Auth::admit`]).
pub const LIVENESS_PATH: &str = "/health";

impl Auth {
    /// Local mode's host rule and the same-origin rule, for every request before routing.
    ///
    /// In local mode anyone who reaches the port is the local user, so the `Host` must name this
    /// machine (or a listed name): a page on a rebound domain (`rebound.example` resolving to
    /// 127.0.0.1) arrives with its own name and is refused, whatever route it aims at (token
    /// grants, bearer calls, metrics, the docs, the app). `/health` stays open: it says only
    /// "ok", and container probes call it by whatever address they see.
    ///
    /// A request without `Authorization` that changes state must come from our own pages: the
    /// browser attaches cookies (and, in local mode, reaches the server at all) on requests any
    /// site can trigger. Bearer requests skip it: a browser cannot add the header cross-site
    /// without a CORS preflight, which this server never grants.
    pub fn admit(&self, parts: &Parts) -> Result<(), AppError> {
        if matches!(self.mode, AuthMode::Local { .. })
            && parts.uri.path() != LIVENESS_PATH
            && !request_host(parts).is_some_and(|name| {
                crate::net::is_loopback_name(&name) || self.allowed_hosts.contains(&name)
            })
        {
            return Err(AppError::ForeignHost);
        }
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            check_same_origin(parts)?;
        }
        Ok(())
    }
}

/// The middleware form of [`Auth::admit`], layered over the whole router.
pub async fn guard(
    axum::extract::State(auth): axum::extract::State<Arc<Auth>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    if let Err(e) = auth.admit(&parts) {
        return e.into_response();
    }
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
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
    crate::app::Deps: FromRef<S>,
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
                .ok_or(AppError::InvalidToken(token_messages::NOT_BEARER))?;
            let (id, claims) = auth
                .keys
                .verify(token.trim(), "access")
                .map_err(|_| AppError::InvalidToken(token_messages::ACCESS))?;
            // Logout (a version bump) and account deletion end the tokens already out at once,
            // not when they expire: the version is read per request, or kept while every
            // change of it is announced (see `versions`).
            let deps = crate::app::Deps::from_ref(state);
            if auth.versions.current(&deps.db, id).await? != Some(claims.ver) {
                return Err(AppError::InvalidToken(token_messages::ACCESS));
            }
            (id, AuthVia::Bearer)
        } else if let Some(id) = session_user(parts).await? {
            // Account deletion removes the user's sessions; a session that outlived its user
            // in a race is refused here.
            let deps = crate::app::Deps::from_ref(state);
            if auth.versions.current(&deps.db, id).await?.is_none() {
                return Err(AppError::Unauthorized);
            }
            (id, AuthVia::Session)
        } else if let AuthMode::Local { user_id } = auth.mode {
            // The host rule and the same-origin rule already ran in `guard`, before routing.
            (user_id, AuthVia::Local)
        } else {
            return Err(AppError::Unauthorized);
        };
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

/// The host name a request is addressed to, lower-case and without port: the `Host` header, or
/// for HTTP/2 the URI's authority. `None` when there is none or it does not parse, which no
/// rule accepts.
pub fn request_host(parts: &Parts) -> Option<String> {
    let authority = match parts.headers.get(header::HOST) {
        Some(value) => value
            .to_str()
            .ok()?
            .parse::<axum::http::uri::Authority>()
            .ok()?,
        None => parts.uri.authority()?.clone(),
    };
    // A Host header never carries user info; one that does is not a name we serve.
    if authority.as_str().contains('@') {
        return None;
    }
    let name = authority.host();
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    Some(name.to_ascii_lowercase())
}

/// True when the `Host` names this machine (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`),
/// with or without a port. A rebinding attack arrives with the attacker's name.
pub fn is_loopback_host(parts: &Parts) -> bool {
    request_host(parts).is_some_and(|name| crate::net::is_loopback_name(&name))
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
            "[::1",
            "127.0.0.1@evil.example",
            "",
        ] {
            assert!(
                !is_loopback_host(&parts(Method::GET, &[("host", host)])),
                "{host}"
            );
        }
    }

    #[test]
    fn a_request_without_any_host_is_not_loopback() {
        assert!(!is_loopback_host(&parts(Method::GET, &[])));
        let http2 = Request::builder()
            .uri("http://[::1]:8080/api/v1/photos")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(is_loopback_host(&http2));
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
