//! `/api/v1/auth/google/*` and `/api/v1/account`: signing in with Google in the browser
//! (redirect to Google's consent page, callback), disconnecting Google, and deleting the
//! account with everything it holds.
//!
//! The `state` and the PKCE verifier live in the browser's session between the redirect and
//! the callback, so a callback from another browser (login CSRF) or a replayed one finds no
//! match. A successful sign-in gets a fresh session id (no session fixation).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::extract::ApiQuery;
use super::state::AppState;
use crate::auth::{AuthMode, CurrentUser, SESSION_USER_KEY, tokens};
use crate::error::AppError;
use crate::google::{Google, GoogleError, account, scopes};
use crate::photos::keys;
use crate::time::now_ms;

/// The session key of a sign-in in progress.
const PENDING_KEY: &str = "google_oauth";
/// How long the consent page may take.
const PENDING_TTL_MS: i64 = 10 * 60 * 1000;

/// A sign-in between the redirect to Google and the callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    consent: bool,
    created_at: i64,
    /// Where the browser goes after a successful callback (the album screen after the
    /// Library grant); `/` when absent.
    #[serde(default)]
    return_to: Option<String>,
}

fn google(state: &AppState) -> Result<&Google, AppError> {
    state.deps.google.as_deref().ok_or(AppError::NotFound(
        "Google sign-in (not configured on this server)",
    ))
}

fn session_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("session store: {e}"))
}

/// Query of `GET /api/v1/auth/google/start`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// Show Google's consent screen again (to grant a scope that was unticked, or to get a new
    /// refresh token).
    #[serde(default)]
    pub consent: bool,
    /// Ask for more than sign-in: `albums` adds the Google Photos Library scopes (upload, create
    /// albums, read back what Classify made), incrementally, and returns to the album screen.
    #[serde(default)]
    pub grant: Option<Grant>,
}

/// A set of scopes asked for after sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// What albums need.
    Albums,
}

/// Where the page shows albums (the client's `#/albums` tab).
const ALBUM_SCREEN: &str = "/#/albums";

/// Starts signing in: redirects the browser to Google's consent page (authorization code
/// flow, PKCE S256, `state` bound to this browser's session, offline access, incremental
/// scopes: sign-in and the Photos Picker only).
#[utoipa::path(get, path = "/auth/google/start", tag = "auth", params(StartQuery), security(()),
    responses((status = 303, description = "To Google's consent page"),
        (status = 404, body = shared::api::ErrorResponse, description = "Google sign-in is not configured")))]
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> Result<Response, AppError> {
    let google = google(&state)?;
    let (wanted, return_to): (Vec<&str>, Option<String>) = match query.grant {
        None => (scopes::SIGN_IN.to_vec(), None),
        Some(Grant::Albums) => (
            scopes::SIGN_IN
                .iter()
                .chain(scopes::ALBUMS.iter())
                .copied()
                .collect(),
            Some(ALBUM_SCREEN.to_string()),
        ),
    };
    let request = google.authorization_url(&wanted, query.consent)?;
    session
        .insert(
            PENDING_KEY,
            Pending {
                state: request.state,
                verifier: request.verifier,
                consent: query.consent,
                created_at: now_ms(),
                return_to,
            },
        )
        .await
        .map_err(session_error)?;
    Ok(no_store(Redirect::to(request.url.as_str()).into_response()))
}

/// Query of the callback: Google's documented parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` sent with the request.
    pub state: Option<String>,
    /// Why Google did not grant (`access_denied`, ...).
    pub error: Option<String>,
}

/// Where Google sends the browser back. Checks `state`, exchanges the code with the PKCE
/// verifier, creates or updates the user, stores their tokens encrypted and signs the browser
/// in with a fresh session; any failure lands on a page that says what happened.
#[utoipa::path(get, path = "/auth/google/callback", tag = "auth", params(CallbackQuery), security(()),
    responses((status = 303, description = "Signed in: to the app"),
        (status = 404, body = shared::api::ErrorResponse, description = "Google sign-in is not configured"),
        (status = 400, description = "A page explaining what went wrong", content_type = "text/html"),
        (status = 403, description = "Consent was refused", content_type = "text/html")))]
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> Result<Response, AppError> {
    let google = google(&state)?;
    let pending: Option<Pending> = session.remove(PENDING_KEY).await.map_err(session_error)?;
    let Some(pending) = pending.filter(|p| p.created_at + PENDING_TTL_MS > now_ms()) else {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "This sign-in link has expired",
            "The sign-in was started too long ago, in another browser, or already finished. Start again.",
        ));
    };
    if !query
        .state
        .as_deref()
        .is_some_and(|s| constant_time_eq(s.as_bytes(), pending.state.as_bytes()))
    {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "This sign-in could not be verified",
            "The answer from Google does not belong to the sign-in this browser started (state mismatch), so it was refused. Start again.",
        ));
    }
    if let Some(error) = query.error.as_deref() {
        return Ok(if error == "access_denied" {
            page(
                StatusCode::FORBIDDEN,
                "Sign-in cancelled",
                "You chose not to let Classify use your Google account. Nothing was stored.",
            )
        } else {
            page(
                StatusCode::BAD_REQUEST,
                "Google could not sign you in",
                &format!("Google answered \u{201c}{error}\u{201d}. Try again in a moment."),
            )
        });
    }
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Google sent no sign-in code",
            "Start again.",
        ));
    };
    let signed_in = match account::complete_sign_in(
        google,
        &state.deps.db,
        code,
        &pending.verifier,
        None,
    )
    .await
    {
        Ok(signed_in) => signed_in,
        Err(GoogleError::Api { code, .. }) => {
            return Ok(page(
                StatusCode::BAD_REQUEST,
                "Google did not accept the sign-in",
                &format!(
                    "Google refused the sign-in code ({code}): it may have expired or been used already. Start again."
                ),
            ));
        }
        Err(e) if e.is_transient() => {
            return Ok(page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Google is not answering",
                "Google could not be reached or asked us to slow down. Try again in a minute.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(SESSION_USER_KEY, signed_in.user_id)
        .await
        .map_err(session_error)?;
    // Google sends a refresh token only with the first consent; without one stored, workers
    // could not act for the user after an hour, so ask once more with the consent screen.
    if !signed_in.has_refresh_token && !pending.consent {
        return Ok(no_store(
            Redirect::to("/api/v1/auth/google/start?consent=true").into_response(),
        ));
    }
    let to = pending.return_to.as_deref().unwrap_or("/");
    Ok(no_store(Redirect::to(to).into_response()))
}

/// Revokes Classify's access at Google and deletes the stored tokens. The user stays signed
/// in to Classify (their scores and uploads stay); Google photos cannot be picked, verified or
/// shown until they sign in with Google again.
#[utoipa::path(post, path = "/auth/google/disconnect", tag = "auth",
    responses((status = 204), (status = 401, body = shared::api::ErrorResponse),
        (status = 404, body = shared::api::ErrorResponse, description = "Google sign-in is not configured")))]
pub async fn disconnect(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<StatusCode, AppError> {
    let google = google(&state)?;
    account::disconnect(google, &state.deps.db, user.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the account: Google access revoked, every photo, stored file, cached Google
/// image, score, job, token and session of the user. Irreversible.
#[utoipa::path(delete, path = "/account", tag = "auth",
    responses((status = 204), (status = 401, body = shared::api::ErrorResponse),
        (status = 409, body = shared::api::ErrorResponse, description = "Local mode has one built-in user: delete photos instead")))]
pub async fn delete_account(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
) -> Result<StatusCode, AppError> {
    if let AuthMode::Local { .. } = state.auth.mode {
        return Err(AppError::Conflict(
            "local mode has one built-in user and no account to delete; delete photos instead"
                .into(),
        ));
    }
    if let Some(google) = state.deps.google.as_deref() {
        account::disconnect(google, &state.deps.db, user.id()).await?;
    }
    tokens::revoke_all(state.deps.db.pool(), user.id()).await?;
    crate::db::google::delete_user(state.deps.db.pool(), user.id()).await?;
    state.auth.versions.forget(user.id());
    // The rows are gone, so nothing is reachable; files left by a failed delete are only
    // wasted space, and are logged.
    for folder in keys::user_folders(user.id()) {
        if let Err(e) = state.deps.blobs.delete(&folder).await {
            tracing::warn!(error = %e, folder, "could not delete a deleted user's files");
        }
    }
    session.flush().await.map_err(session_error)?;
    Ok(StatusCode::NO_CONTENT)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A small page for the end of a failed sign-in: what happened, and the way on.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · Classify</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}}\
         a{{margin-right:1.5rem}}</style></head><body>\
         <h1 id=\"auth-title\">{title}</h1><p id=\"auth-message\">{message}</p>\
         <p><a id=\"auth-retry\" href=\"/api/v1/auth/google/start\">Sign in with Google again</a>\
         <a href=\"/\">Back to Classify</a></p></body></html>",
        title = escape(title),
        message = escape(message),
    );
    no_store((status, Html(body)).into_response())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_comparison_needs_equal_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn error_pages_escape_what_google_sent() {
        let response = page(StatusCode::BAD_REQUEST, "t", "<script>x</script>");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
