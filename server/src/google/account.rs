//! A user's Google connection: finishing sign-in (who they are, their encrypted tokens), a
//! valid access token whenever a request or a job needs one (refreshed a minute before it
//! expires; `invalid_grant` marks the user "sign in again"), and disconnecting.

use std::time::Duration;

use url::Url;

use super::{Google, GoogleError, scopes};
use crate::db::Database;
use crate::db::google::{self as store, NewTokens};
use crate::time::now_ms;

/// Refresh this long before Google's expiry, so a token never dies mid-request.
const REFRESH_MARGIN_MS: i64 = 60_000;
/// Assumed life of an access token when Google does not say.
const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(3600);

/// A finished sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The user (created on first sign-in).
    pub user_id: i64,
    /// The Picker scope was granted (the user may untick it).
    pub photos_scope: bool,
    /// A refresh token is stored (offline access works).
    pub has_refresh_token: bool,
}

fn context(user_id: i64, field: &str) -> String {
    format!("oauth_tokens:{user_id}:{field}")
}

/// Exchanges the code, learns who signed in, creates or updates their user, and stores their
/// tokens encrypted.
pub async fn complete_sign_in(
    google: &Google,
    db: &Database,
    code: &str,
    verifier: &str,
    redirect_uri: Option<&Url>,
) -> Result<SignedIn, GoogleError> {
    let granted = google.exchange_code(code, verifier, redirect_uri).await?;
    let profile = google.userinfo(&granted.access_token).await?;
    let user_id = store::upsert_user(db.pool(), &profile).await?;
    save(google, db, user_id, &granted).await?;
    let has_refresh_token = store::tokens(db.pool(), user_id)
        .await?
        .is_some_and(|t| t.refresh_token_enc.is_some());
    Ok(SignedIn {
        user_id,
        photos_scope: scopes::has(&granted.scope, scopes::PICKER),
        has_refresh_token,
    })
}

async fn save(
    google: &Google,
    db: &Database,
    user_id: i64,
    granted: &super::oauth::Granted,
) -> Result<i64, GoogleError> {
    let access = google
        .cipher
        .seal(&granted.access_token, &context(user_id, "access"))?;
    let refresh = granted
        .refresh_token
        .as_deref()
        .map(|t| google.cipher.seal(t, &context(user_id, "refresh")))
        .transpose()?;
    let life = granted.expires_in.unwrap_or(DEFAULT_TOKEN_LIFE);
    let expires_at = now_ms() + i64::try_from(life.as_millis()).unwrap_or(i64::MAX / 2);
    store::save_tokens(
        db.pool(),
        user_id,
        &NewTokens {
            access_token_enc: &access,
            refresh_token_enc: refresh.as_deref(),
            expires_at,
            scope: &granted.scope,
        },
    )
    .await?;
    Ok(expires_at)
}

/// A valid access token for `user_id` that carries `scope`, refreshed first if it expires
/// within a minute. Google refusing the refresh token marks the user "sign in again".
pub async fn access_token(
    google: &Google,
    db: &Database,
    user_id: i64,
    scope: &str,
) -> Result<String, GoogleError> {
    let (needs_reauth, _) = store::connection(db.pool(), user_id).await?;
    if needs_reauth {
        return Err(GoogleError::ReauthRequired);
    }
    let row = store::tokens(db.pool(), user_id)
        .await?
        .ok_or(GoogleError::NotConnected)?;
    if !scopes::has(&row.scope, scope) {
        return Err(GoogleError::ScopeMissing);
    }
    if row
        .expires_at
        .is_some_and(|t| t - REFRESH_MARGIN_MS > now_ms())
    {
        return Ok(google
            .cipher
            .open(&row.access_token_enc, &context(user_id, "access"))?);
    }
    let refresh = row
        .refresh_token_enc
        .as_deref()
        .ok_or(GoogleError::ReauthRequired)
        .and_then(|enc| Ok(google.cipher.open(enc, &context(user_id, "refresh"))?))?;
    match google.refresh(&refresh, &row.scope).await {
        Ok(granted) => {
            save(google, db, user_id, &granted).await?;
            Ok(granted.access_token)
        }
        Err(GoogleError::ReauthRequired) => {
            tracing::info!(
                user_id,
                "Google refused the refresh token; the user must sign in again"
            );
            store::set_needs_reauth(db.pool(), user_id, true).await?;
            Err(GoogleError::ReauthRequired)
        }
        Err(e) => Err(e),
    }
}

/// Revokes the user's grant at Google (best effort: the user asked for their tokens to be
/// gone, so they are deleted here even if Google cannot be reached) and deletes the tokens.
/// Returns whether Google confirmed the revocation.
pub async fn disconnect(google: &Google, db: &Database, user_id: i64) -> Result<bool, GoogleError> {
    let Some(row) = store::tokens(db.pool(), user_id).await? else {
        return Ok(true);
    };
    let token = match row.refresh_token_enc.as_deref() {
        Some(enc) => google.cipher.open(enc, &context(user_id, "refresh")),
        None => google
            .cipher
            .open(&row.access_token_enc, &context(user_id, "access")),
    };
    let revoked = match token {
        Ok(token) => match google.revoke(&token).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(user_id, error = %e, "could not revoke the Google grant");
                false
            }
        },
        Err(e) => {
            tracing::warn!(user_id, error = %e, "stored Google token unreadable; deleting it");
            false
        }
    };
    store::delete_tokens(db.pool(), user_id).await?;
    Ok(revoked)
}
