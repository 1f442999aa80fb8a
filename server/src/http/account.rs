//! `/api/v1/auth/*`, `/api/v1/settings` and `/api/v1/stats`: the user, their tokens, their
//! threshold and their counts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::api::{
    GoogleAccount, GrantType, Me, RefreshRequest, Settings, Stats, TokenRequest, TokenResponse,
};
use tower_sessions::Session;

use super::extract::ApiJson;
use super::state::AppState;
use crate::auth::{AuthMode, CurrentUser, tokens};
use crate::db::{photos, users};
use crate::error::AppError;
use crate::google::{GoogleError, account, scopes};

/// The current user.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = shared::api::ErrorResponse)))]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Me>, AppError> {
    let row = user.row(&state.deps.db).await?;
    let google = match state.auth.mode {
        AuthMode::Local { .. } => None,
        AuthMode::Accounts => {
            let (needs_reauth, scope) =
                crate::db::google::connection(state.deps.db.pool(), user.id()).await?;
            let scope = scope.unwrap_or_default();
            Some(GoogleAccount {
                connected: !scope.is_empty(),
                needs_reauth,
                photos_scope: scopes::has(&scope, scopes::PICKER),
                library_scope: scopes::has(&scope, scopes::LIBRARY_APPEND),
            })
        }
    };
    Ok(Json(Me {
        id: row.id,
        email: row.email,
        name: row.name,
        picture: row.picture,
        mode: state.auth.mode.name().into(),
        settings: Settings {
            blur_threshold: row.blur_threshold,
        },
        google,
    }))
}

/// Issues an access + refresh token pair. In local mode `{"grant_type": "local"}` gives the
/// local user's tokens (the server listens on loopback only, so the caller is on this machine).
/// With Google sign-in, `{"grant_type": "authorization_code", "code", "code_verifier",
/// "redirect_uri"}` exchanges a code the client obtained from Google (with its own PKCE
/// challenge) for the same pair, creating the user on first sign-in.
#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = TokenRequest, security(()),
    responses((status = 200, body = TokenResponse),
        (status = 400, body = shared::api::ErrorResponse, description = "An unknown grant, one this server does not offer, or a missing field")))]
pub async fn token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    let grant = GrantType::parse(&body.grant_type).ok_or_else(|| {
        AppError::BadRequest(format!("unsupported grant_type '{}'", body.grant_type))
    })?;
    match (grant, state.auth.mode) {
        (GrantType::Local, AuthMode::Local { user_id }) => Ok(Json(
            state
                .auth
                .keys
                .issue(&state.deps.db, user_id)
                .await
                .map_err(token_error)?,
        )),
        (GrantType::Local, AuthMode::Accounts) => Err(AppError::BadRequest(
            "the local grant exists only when Google sign-in is not configured".into(),
        )),
        (GrantType::AuthorizationCode, AuthMode::Local { .. }) => Err(AppError::BadRequest(
            "Google sign-in is not configured on this server; use grant_type local".into(),
        )),
        (GrantType::AuthorizationCode, AuthMode::Accounts) => {
            let google = state
                .deps
                .google
                .as_deref()
                .ok_or_else(|| AppError::Unavailable("Google is not configured".into()))?;
            let (Some(code), Some(verifier)) =
                (body.code.as_deref(), body.code_verifier.as_deref())
            else {
                return Err(AppError::BadRequest(
                    "authorization_code needs `code` and `code_verifier`".into(),
                ));
            };
            let redirect = body
                .redirect_uri
                .as_deref()
                .map(url::Url::parse)
                .transpose()
                .map_err(|_| AppError::BadRequest("redirect_uri is not a URL".into()))?;
            let signed_in = account::complete_sign_in(
                google,
                &state.deps.db,
                code,
                verifier,
                redirect.as_ref(),
            )
            .await
            .map_err(|e| match e {
                GoogleError::Api { code, message, .. } => AppError::BadRequest(format!(
                    "Google refused the code ({code}{}{message})",
                    if message.is_empty() { "" } else { ": " }
                )),
                other => AppError::Google(other),
            })?;
            Ok(Json(
                state
                    .auth
                    .keys
                    .issue(&state.deps.db, signed_in.user_id)
                    .await
                    .map_err(token_error)?,
            ))
        }
    }
}

/// Exchanges a refresh token for a new pair (the old refresh token is spent).
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest, security(()),
    responses((status = 200, body = TokenResponse),
        (status = 401, body = shared::api::ErrorResponse, description = "The refresh token is invalid, expired or already used")))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    let refreshed = state
        .auth
        .keys
        .refresh(&state.deps.db, &body.refresh_token)
        .await;
    if let Err(tokens::TokenError::Replayed { user_id }) = &refreshed {
        state.auth.versions.forget(*user_id);
    }
    refreshed.map(Json).map_err(token_error)
}

fn token_error(e: tokens::TokenError) -> AppError {
    match e {
        tokens::TokenError::Invalid | tokens::TokenError::Replayed { .. } => {
            AppError::InvalidToken(crate::error::token_messages::REFRESH)
        }
        tokens::TokenError::Database(e) => AppError::Database(e),
    }
}

/// Ends the browser session and revokes the user's refresh tokens.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = shared::api::ErrorResponse)))]
pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
) -> Result<StatusCode, AppError> {
    tokens::revoke_all(state.deps.db.pool(), user.id()).await?;
    state.auth.versions.forget(user.id());
    end_session(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the browser session, if there is one. A bearer or local-mode logout has none, and
/// flushing an id-less session logs a WARN in tower-sessions: one per call, which any client
/// could turn into log flooding.
async fn end_session(session: &Session) -> Result<(), AppError> {
    if session.id().is_none() {
        return Ok(());
    }
    session
        .flush()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session store: {e}")))
}

/// The user's settings.
#[utoipa::path(get, path = "/settings", tag = "settings",
    responses((status = 200, body = Settings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Settings>, AppError> {
    Ok(Json(Settings {
        blur_threshold: user.row(&state.deps.db).await?.blur_threshold,
    }))
}

/// Sets the blur threshold; every list, count and verdict follows it at once.
#[utoipa::path(put, path = "/settings", tag = "settings", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = shared::api::ErrorResponse)))]
pub async fn put_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Settings>,
) -> Result<Json<Settings>, AppError> {
    if !(0.0..=1.0).contains(&body.blur_threshold) {
        return Err(AppError::BadRequest(
            "blur_threshold must be between 0 and 1".into(),
        ));
    }
    users::set_threshold(state.deps.db.pool(), user.id(), body.blur_threshold).await?;
    Ok(Json(body))
}

/// Counts per category and type, and a histogram of verified scores.
#[utoipa::path(get, path = "/stats", tag = "settings",
    responses((status = 200, body = Stats)))]
pub async fn stats(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Stats>, AppError> {
    Ok(Json(
        photos::stats(
            state.deps.db.pool(),
            user.id(),
            user.row(&state.deps.db).await?.blur_threshold,
        )
        .await?,
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Counts WARN and ERROR events.
    struct Warnings(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if *event.metadata().level() <= tracing::Level::WARN {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    #[derive(Debug, Clone)]
    struct NoStore;

    #[async_trait::async_trait]
    impl tower_sessions::SessionStore for NoStore {
        async fn save(&self, _: &Record) -> session_store::Result<()> {
            Ok(())
        }
        async fn load(&self, _: &Id) -> session_store::Result<Option<Record>> {
            Ok(None)
        }
        async fn delete(&self, _: &Id) -> session_store::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn logging_out_without_a_session_logs_no_warning() {
        let warnings = Arc::new(AtomicUsize::new(0));
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(Warnings(warnings.clone())),
        );
        let session = Session::new(None, Arc::new(NoStore), None);
        for _ in 0..3 {
            end_session(&session).await.unwrap();
        }
        assert_eq!(warnings.load(Ordering::SeqCst), 0);
        // A real session is still deleted.
        let session = Session::new(Some(Id::default()), Arc::new(NoStore), None);
        end_session(&session).await.unwrap();
        assert!(session.id().is_none());
    }
}
