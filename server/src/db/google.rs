//! SQL for the Google side of a user: their account row by Google's `sub`, their encrypted
//! tokens (`oauth_tokens`), and the "sign in again" mark that `invalid_grant` sets.

use sqlx::{AnyPool, FromRow};

use crate::time::now_ms;

/// What Google's userinfo says about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleProfile {
    /// Google's stable account id (`sub`).
    pub sub: String,
    /// Email address.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub picture: Option<String>,
}

/// Creates the user of this Google account, or refreshes its profile, and clears any "sign in
/// again" mark (they just did). Returns the user's id.
pub async fn upsert_user(pool: &AnyPool, profile: &GoogleProfile) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (google_id, email, name, picture, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (google_id) DO UPDATE SET email = excluded.email, name = excluded.name,
             picture = excluded.picture, needs_reauth = 0, updated_at = excluded.updated_at
         RETURNING id",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(&profile.sub)
    .bind(profile.email.as_deref())
    .bind(profile.name.as_deref())
    .bind(profile.picture.as_deref())
    .bind(now_ms())
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// A user's stored Google tokens, still encrypted.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TokenRow {
    /// The owner.
    pub user_id: i64,
    /// The encrypted access token.
    pub access_token_enc: Vec<u8>,
    /// The encrypted refresh token, when Google gave one.
    pub refresh_token_enc: Option<Vec<u8>>,
    /// When the access token expires (Unix ms).
    pub expires_at: Option<i64>,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// Tokens to store (already encrypted).
#[derive(Debug, Clone)]
pub struct NewTokens<'a> {
    /// The encrypted access token.
    pub access_token_enc: &'a [u8],
    /// The encrypted refresh token; `None` keeps the stored one (Google sends a refresh token
    /// only with the first consent, never with a refresh).
    pub refresh_token_enc: Option<&'a [u8]>,
    /// When the access token expires (Unix ms).
    pub expires_at: i64,
    /// The scopes granted, space-separated.
    pub scope: &'a str,
}

/// Stores a user's tokens, keeping the refresh token when none is given.
pub async fn save_tokens(
    pool: &AnyPool,
    user_id: i64,
    tokens: &NewTokens<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_tokens (user_id, access_token_enc, refresh_token_enc, expires_at,
             scope, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO UPDATE SET access_token_enc = excluded.access_token_enc,
             refresh_token_enc = COALESCE(excluded.refresh_token_enc,
                                          oauth_tokens.refresh_token_enc),
             expires_at = excluded.expires_at, scope = excluded.scope,
             updated_at = excluded.updated_at",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(user_id)
    .bind(tokens.access_token_enc.to_vec())
    .bind(tokens.refresh_token_enc.map(<[u8]>::to_vec))
    .bind(tokens.expires_at)
    .bind(tokens.scope)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

/// A user's stored tokens.
pub async fn tokens(pool: &AnyPool, user_id: i64) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, access_token_enc, refresh_token_enc, expires_at, scope
         FROM oauth_tokens WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// Forgets a user's tokens (disconnect, or Google refused them).
pub async fn delete_tokens(pool: &AnyPool, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM oauth_tokens WHERE user_id = $1")
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Marks (or clears) "sign in again" on a user.
pub async fn set_needs_reauth(
    pool: &AnyPool,
    user_id: i64,
    needed: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET needs_reauth = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(i64::from(needed))
        .bind(now_ms())
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether the user must sign in again, and the scopes their stored tokens carry (`None`: no
/// tokens stored).
pub async fn connection(
    pool: &AnyPool,
    user_id: i64,
) -> Result<(bool, Option<String>), sqlx::Error> {
    let row: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT u.needs_reauth, t.scope FROM users u
         LEFT JOIN oauth_tokens t ON t.user_id = u.id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or((false, None), |(reauth, scope)| (reauth != 0, scope)))
}

/// Deletes a user and, through the foreign keys, everything of theirs in the database:
/// photos, jobs, batches, tags, albums, tokens, Picker sessions, cache entries. Browser
/// sessions hold only the user's id and die at the next request (the user no longer exists).
pub async fn delete_user(pool: &AnyPool, user_id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Session rows name the user only inside their JSON, so they are matched by text.
    sqlx::query("DELETE FROM sessions WHERE data LIKE $1 OR data LIKE $2")
        .bind(format!("%\"user_id\":{user_id}}}%"))
        .bind(format!("%\"user_id\":{user_id},%"))
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(deleted == 1)
}
