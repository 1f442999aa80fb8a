//! Bearer tokens for REST API clients: a short-lived access JWT and a single-use refresh JWT.
//!
//! Both are HS256 JWTs signed with the server's secret. Refresh tokens are also recorded by id
//! (`refresh_tokens`), so each can be used once (rotation), revoked at logout, and a replayed
//! one revokes every refresh token of its user (it was stolen, or the client is confused).
//!
//! Every token carries its user's `token_version` (`ver`). Logout and a replayed refresh token
//! bump the version, so every token issued before stops working at once (an access token would
//! otherwise live on for up to 15 minutes), and a deleted user's tokens find no version at all.
//! `iss` and `aud` name this service, so a JWT minted for something else with the same secret
//! is not taken for ours.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shared::api::TokenResponse;
use sqlx::AnyPool;

use crate::db::Database;
use crate::db::typed::Arg;
use crate::time::now_ms;

/// Lifetime of an access token.
pub const ACCESS_TTL_S: i64 = 15 * 60;
/// Lifetime of a refresh token.
pub const REFRESH_TTL_S: i64 = 30 * 24 * 3600;
/// The `iss` of every token: this service.
pub const ISSUER: &str = "classify";
/// The `aud` of every token: this service's API.
pub const AUDIENCE: &str = "classify-api";

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
    /// The user's `token_version` when the token was issued.
    pub ver: i64,
    /// Issuer: [`ISSUER`].
    pub iss: String,
    /// Audience: [`AUDIENCE`].
    pub aud: String,
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
    /// A spent refresh token came back: every token of its user was revoked.
    #[error("invalid or expired token")]
    Replayed {
        /// Whose tokens were revoked.
        user_id: i64,
    },
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

    fn sign(
        &self,
        user_id: i64,
        version: i64,
        typ: &str,
        ttl_s: i64,
    ) -> Result<(String, Claims), TokenError> {
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: user_id.to_string(),
            exp: now + ttl_s,
            iat: now,
            typ: typ.to_string(),
            jti: hex::encode(rand::random::<[u8; 16]>()),
            ver: version,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)?;
        Ok((token, claims))
    }

    /// The user id of a token of kind `typ` whose signature, lifetime, issuer and audience
    /// hold. Its version is the caller's to compare ([`current_version`]): that needs the
    /// database.
    pub fn verify(&self, token: &str, typ: &str) -> Result<(i64, Claims), TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.typ != typ {
            return Err(TokenError::Invalid);
        }
        let user_id = data.claims.sub.parse().map_err(|_| TokenError::Invalid)?;
        Ok((user_id, data.claims))
    }

    /// A short-lived access token alone, for a user at `version` (tests and tools).
    pub fn access_token(&self, user_id: i64, version: i64) -> Result<String, TokenError> {
        Ok(self.sign(user_id, version, "access", ACCESS_TTL_S)?.0)
    }

    /// A new access + refresh pair at the user's current version; the refresh token is
    /// recorded. A user that no longer exists gets none.
    pub async fn issue(&self, db: &Database, user_id: i64) -> Result<TokenResponse, TokenError> {
        let version = current_version(db, user_id)
            .await?
            .ok_or(TokenError::Invalid)?;
        let access_token = self.access_token(user_id, version)?;
        let (refresh_token, claims) = self.sign(user_id, version, "refresh", REFRESH_TTL_S)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (jti, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&claims.jti)
        .bind(user_id)
        .bind(claims.exp * 1000)
        .bind(now_ms())
        .execute(db.pool())
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
    pub async fn refresh(&self, db: &Database, token: &str) -> Result<TokenResponse, TokenError> {
        let (user_id, claims) = self.verify(token, "refresh")?;
        if current_version(db, user_id).await? != Some(claims.ver) {
            return Err(TokenError::Invalid);
        }
        let now = now_ms();
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $3
             WHERE jti = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(&claims.jti)
        .bind(user_id)
        .bind(now)
        .execute(db.pool())
        .await?;
        if spent.rows_affected() != 1 {
            // A replay: whoever holds the user's tokens may not be the user.
            revoke_all(db.pool(), user_id).await?;
            return Err(TokenError::Replayed { user_id });
        }
        self.issue(db, user_id).await
    }
}

/// Ends every token of a user (logout, or a replay was seen): spends the unspent refresh tokens
/// and bumps the version, so access tokens already out stop working too.
pub async fn revoke_all(pool: &AnyPool, user_id: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The user's token version; `None` when the user no longer exists.
pub async fn current_version(db: &Database, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<(i64,)> = db
        .fetch_optional(
            "SELECT token_version FROM users WHERE id = $1",
            &[Arg::Int(user_id)],
        )
        .await?;
    Ok(row.map(|(v,)| v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_token_names_its_user_and_only_verifies_as_access() {
        let keys = TokenKeys::new(&[7u8; 32]);
        let token = keys.access_token(42, 3).unwrap();
        let (id, claims) = keys.verify(&token, "access").unwrap();
        assert_eq!((id, claims.ver), (42, 3));
        assert!(keys.verify(&token, "refresh").is_err());
    }

    #[test]
    fn a_token_signed_with_another_secret_or_tampered_is_refused() {
        let keys = TokenKeys::new(&[7u8; 32]);
        let other = TokenKeys::new(&[8u8; 32]);
        let token = other.access_token(42, 0).unwrap();
        assert!(keys.verify(&token, "access").is_err());
        let mut tampered = keys.access_token(42, 0).unwrap();
        tampered.push('x');
        assert!(keys.verify(&tampered, "access").is_err());
        assert!(keys.verify("not a jwt", "access").is_err());
    }

    #[test]
    fn a_jwt_for_another_issuer_or_audience_with_our_secret_is_refused() {
        let secret = [7u8; 32];
        let keys = TokenKeys::new(&secret);
        let now = now_ms() / 1000;
        let forge = |iss: Option<&str>, aud: Option<&str>| {
            let mut claims = serde_json::json!({
                "sub": "42", "exp": now + 600, "iat": now, "typ": "access",
                "jti": "x", "ver": 0,
            });
            if let Some(iss) = iss {
                claims["iss"] = iss.into();
            }
            if let Some(aud) = aud {
                claims["aud"] = aud.into();
            }
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(&secret),
            )
            .unwrap()
        };
        assert!(
            keys.verify(&forge(Some(ISSUER), Some(AUDIENCE)), "access")
                .is_ok()
        );
        for (iss, aud) in [
            (None, Some(AUDIENCE)),
            (Some(ISSUER), None),
            (Some("other-app"), Some(AUDIENCE)),
            (Some(ISSUER), Some("other-api")),
        ] {
            assert!(
                keys.verify(&forge(iss, aud), "access").is_err(),
                "{iss:?} {aud:?} passed"
            );
        }
    }
}
