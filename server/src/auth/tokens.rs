//! Bearer tokens for REST API clients: a short-lived access JWT and a single-use refresh JWT.
//!
//! Both are HS256 JWTs signed with the server's secret. Refresh tokens are also recorded by id
//! (`refresh_tokens`), so each can be used once (rotation), revoked at logout, and a replayed
//! one revokes every refresh token of its user (it was stolen, or the client is confused).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shared::api::TokenResponse;
use sqlx::AnyPool;

use crate::time::now_ms;

/// Lifetime of an access token.
pub const ACCESS_TTL_S: i64 = 15 * 60;
/// Lifetime of a refresh token.
pub const REFRESH_TTL_S: i64 = 30 * 24 * 3600;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (JWT convention).
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// `access` or `refresh`.
    pub typ: String,
    /// Unique id (recorded for refresh tokens).
    pub jti: String,
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, expired, malformed, or the wrong kind of token.
    #[error("invalid or expired token")]
    Invalid,
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl TokenKeys {
    /// Keys from the server's secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    fn sign(&self, user_id: i64, typ: &str, ttl_s: i64) -> Result<(String, Claims), TokenError> {
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: user_id.to_string(),
            exp: now + ttl_s,
            iat: now,
            typ: typ.to_string(),
            jti: hex::encode(rand::random::<[u8; 16]>()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)?;
        Ok((token, claims))
    }

    /// The user id of a valid token of kind `typ`.
    pub fn verify(&self, token: &str, typ: &str) -> Result<(i64, Claims), TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.typ != typ {
            return Err(TokenError::Invalid);
        }
        let user_id = data.claims.sub.parse().map_err(|_| TokenError::Invalid)?;
        Ok((user_id, data.claims))
    }

    /// A short-lived access token alone (tests and tools).
    pub fn access_token(&self, user_id: i64) -> Result<String, TokenError> {
        Ok(self.sign(user_id, "access", ACCESS_TTL_S)?.0)
    }

    /// A new access + refresh pair; the refresh token is recorded.
    pub async fn issue(&self, pool: &AnyPool, user_id: i64) -> Result<TokenResponse, TokenError> {
        let access_token = self.access_token(user_id)?;
        let (refresh_token, claims) = self.sign(user_id, "refresh", REFRESH_TTL_S)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (jti, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&claims.jti)
        .bind(user_id)
        .bind(claims.exp * 1000)
        .bind(now_ms())
        .execute(pool)
        .await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: ACCESS_TTL_S,
            refresh_token,
        })
    }

    /// Exchanges a refresh token for a new pair. The old one is spent; spending it twice
    /// revokes every refresh token of the user.
    pub async fn refresh(&self, pool: &AnyPool, token: &str) -> Result<TokenResponse, TokenError> {
        let (user_id, claims) = self.verify(token, "refresh")?;
        let now = now_ms();
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $3
             WHERE jti = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(&claims.jti)
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await?;
        if spent.rows_affected() != 1 {
            revoke_all(pool, user_id).await?;
            return Err(TokenError::Invalid);
        }
        self.issue(pool, user_id).await
    }
}

/// Spends every unspent refresh token of a user (logout, or a replay was seen).
pub async fn revoke_all(pool: &AnyPool, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .bind(now_ms())
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_token_names_its_user_and_only_verifies_as_access() {
        let keys = TokenKeys::new(&[7u8; 32]);
        let token = keys.access_token(42).unwrap();
        assert_eq!(keys.verify(&token, "access").unwrap().0, 42);
        assert!(keys.verify(&token, "refresh").is_err());
    }

    #[test]
    fn a_token_signed_with_another_secret_or_tampered_is_refused() {
        let keys = TokenKeys::new(&[7u8; 32]);
        let other = TokenKeys::new(&[8u8; 32]);
        let token = other.access_token(42).unwrap();
        assert!(keys.verify(&token, "access").is_err());
        let mut tampered = keys.access_token(42).unwrap();
        tampered.push('x');
        assert!(keys.verify(&tampered, "access").is_err());
        assert!(keys.verify("not a jwt", "access").is_err());
    }
}
