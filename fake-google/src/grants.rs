//! Consent, codes and tokens: what the authorization server decides, apart from HTTP.

use std::collections::BTreeSet;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::errors::OAuthError;
use crate::state::{
    AccessToken, AuthCode, AuthRequest, EMAIL_SCOPE, Grant, Inner, PROFILE_SCOPE, PkceMethod,
    RefreshToken, Shared, is_sign_in_scope,
};
use crate::wire;

/// The token endpoint's success body.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refresh_token: Option<String>,
    pub scope: String,
    pub token_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id_token: Option<String>,
}

impl Shared {
    /// Records a consent of `user` to `request`, granting the sign-in scopes and the `chosen`
    /// ones among the others, and returns a fresh authorization code.
    pub(crate) fn consent(&self, request: AuthRequest, user: usize, chosen: &[String]) -> String {
        let granted: BTreeSet<String> = request
            .scopes
            .iter()
            .filter(|s| is_sign_in_scope(s) || chosen.contains(s))
            .cloned()
            .collect();
        let mut inner = self.lock();
        let live = inner
            .grants
            .iter()
            .position(|g| g.user == user && g.client_id == request.client_id && !g.revoked);
        let first = live.is_none();
        let grant = live.unwrap_or_else(|| {
            inner.grants.push(Grant {
                user,
                client_id: request.client_id.clone(),
                scopes: BTreeSet::new(),
                revoked: false,
            });
            inner.grants.len() - 1
        });
        let all = match inner.grants.get_mut(grant) {
            Some(g) => {
                g.scopes.extend(granted.iter().cloned());
                g.scopes.clone()
            }
            None => granted.clone(),
        };
        let code = format!("4/0A{}", wire::random_token(40));
        let issue_refresh = request.offline && (first || request.prompt_consent);
        let scopes = if request.include_granted_scopes {
            all
        } else {
            granted
        };
        inner.codes.insert(
            code.clone(),
            AuthCode {
                request,
                grant,
                scopes,
                issue_refresh,
                expires: SystemTime::now() + self.opts.code_ttl,
            },
        );
        code
    }

    /// `grant_type=authorization_code`. The code is spent whatever the outcome.
    pub(crate) fn exchange_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let mut inner = self.lock();
        let spent = inner
            .codes
            .remove(code)
            .filter(|c| c.expires > SystemTime::now() && c.request.client_id == client_id)
            .ok_or_else(|| OAuthError::invalid_grant("Bad Request"))?;
        if redirect_uri != Some(spent.request.redirect_uri.as_str()) {
            return Err(OAuthError::new(400, "redirect_uri_mismatch", "Bad Request"));
        }
        match (&spent.request.challenge, verifier) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier or verifier is not needed.",
                ));
            }
            (Some(_), None) => return Err(OAuthError::invalid_grant("Missing code verifier.")),
            (Some((challenge, method)), Some(verifier)) => {
                let computed = match method {
                    PkceMethod::Plain => verifier.to_string(),
                    PkceMethod::S256 => wire::b64url(&Sha256::digest(verifier.as_bytes())),
                };
                if &computed != challenge {
                    return Err(OAuthError::invalid_grant("Invalid code verifier."));
                }
            }
        }
        if inner.grants.get(spent.grant).is_none_or(|g| g.revoked) {
            return Err(OAuthError::invalid_grant(
                "Token has been expired or revoked.",
            ));
        }
        let refresh = spent.issue_refresh.then(|| {
            let token = format!("1//0{}", wire::random_token(64));
            inner.refresh.insert(
                token.clone(),
                RefreshToken {
                    grant: spent.grant,
                    scopes: spent.scopes.clone(),
                },
            );
            token
        });
        let nonce = spent.request.nonce.as_deref();
        let mut response = self.mint_access(&mut inner, spent.grant, &spent.scopes, nonce);
        response.refresh_token = refresh;
        Ok(response)
    }

    /// `grant_type=refresh_token`: a new access token with the refresh token's scopes.
    pub(crate) fn refresh(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<TokenResponse, OAuthError> {
        let mut inner = self.lock();
        let expired = || OAuthError::invalid_grant("Token has been expired or revoked.");
        let refresh = inner.refresh.get(token).cloned().ok_or_else(expired)?;
        let grant = inner.grants.get(refresh.grant).ok_or_else(expired)?;
        if grant.revoked {
            return Err(expired());
        }
        if grant.client_id != client_id {
            return Err(OAuthError::new(400, "unauthorized_client", "Unauthorized"));
        }
        Ok(self.mint_access(&mut inner, refresh.grant, &refresh.scopes, None))
    }

    fn mint_access(
        &self,
        inner: &mut Inner,
        grant: usize,
        scopes: &BTreeSet<String>,
        nonce: Option<&str>,
    ) -> TokenResponse {
        let token = format!("ya29.a0{}", wire::random_token(96));
        let now = SystemTime::now();
        inner.access.insert(
            token.clone(),
            AccessToken {
                grant,
                scopes: scopes.clone(),
                expires: now + self.opts.access_token_ttl,
            },
        );
        let id_token = scopes
            .contains("openid")
            .then(|| {
                let user = inner.grants.get(grant).map(|g| g.user)?;
                Some(self.id_token(user, scopes, nonce, now))
            })
            .flatten();
        TokenResponse {
            access_token: token,
            expires_in: self.opts.access_token_ttl.as_secs().saturating_sub(1),
            refresh_token: None,
            scope: scopes.iter().cloned().collect::<Vec<_>>().join(" "),
            token_type: "Bearer".into(),
            id_token,
        }
    }

    /// A JWT-shaped ID token. The signature is a placeholder: nothing verifies it.
    fn id_token(
        &self,
        user: usize,
        scopes: &BTreeSet<String>,
        nonce: Option<&str>,
        now: SystemTime,
    ) -> String {
        let iat = wire::unix_secs(now);
        let mut claims = json!({
            "iss": "https://accounts.google.com",
            "azp": self.opts.client_id,
            "aud": self.opts.client_id,
            "sub": "",
            "iat": iat,
            "exp": iat + 3600,
        });
        if let Some(u) = self.user(user) {
            claims["sub"] = json!(u.sub);
            if scopes.contains(EMAIL_SCOPE) {
                claims["email"] = json!(u.email);
                claims["email_verified"] = json!(u.email_verified);
            }
            if scopes.contains(PROFILE_SCOPE) {
                claims["name"] = json!(u.name);
                claims["picture"] = json!(u.picture);
                claims["given_name"] = json!(u.given_name);
                claims["family_name"] = json!(u.family_name);
            }
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = json!({"alg": "RS256", "kid": "fake-google", "typ": "JWT"});
        format!(
            "{}.{}.{}",
            wire::b64url(header.to_string().as_bytes()),
            wire::b64url(claims.to_string().as_bytes()),
            wire::b64url(b"fake-signature-not-verifiable"),
        )
    }

    /// Revokes the grant behind an access or refresh token; `false` if the token is unknown.
    pub(crate) fn revoke_token(&self, token: &str) -> bool {
        let mut inner = self.lock();
        let grant = inner
            .access
            .get(token)
            .map(|a| a.grant)
            .or_else(|| inner.refresh.get(token).map(|r| r.grant));
        match grant {
            Some(g) if inner.grants.get(g).is_some_and(|g| !g.revoked) => {
                revoke_grant(&mut inner, g);
                true
            }
            _ => false,
        }
    }

    /// Revokes every grant of a user; `false` if there is no such user.
    pub(crate) fn revoke_user(&self, email: &str) -> bool {
        let Some(user) = self.user_by_email(email) else {
            return false;
        };
        let mut inner = self.lock();
        let grants: Vec<usize> = (0..inner.grants.len())
            .filter(|&g| inner.grants[g].user == user && !inner.grants[g].revoked)
            .collect();
        for g in grants {
            revoke_grant(&mut inner, g);
        }
        true
    }
}

/// Marks a grant revoked and moves all its tokens to the revoked list.
fn revoke_grant(inner: &mut Inner, grant: usize) {
    if let Some(g) = inner.grants.get_mut(grant) {
        g.revoked = true;
    }
    let mut dead: Vec<String> = inner
        .access
        .iter()
        .filter(|(_, a)| a.grant == grant)
        .map(|(t, _)| t.clone())
        .collect();
    dead.extend(
        inner
            .refresh
            .iter()
            .filter(|(_, r)| r.grant == grant)
            .map(|(t, _)| t.clone()),
    );
    // Revoked tokens stay in the maps (their grant is revoked, so they fail) so that
    // a second revoke of the same token is recognised as unknown-or-revoked.
    inner.revoked.extend(dead);
}
