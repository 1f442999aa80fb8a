//! The OAuth 2.0 calls, through the `oauth2` crate: the authorization URL (code flow, PKCE
//! S256, state, offline access, incremental scopes), the code exchange, refresh, revocation,
//! and the OpenID userinfo call that says who signed in.

use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    RevocationUrl, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;
use url::Url;

use super::{Google, GoogleError, transport};
use crate::db::google::GoogleProfile;

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet>;

/// Where to send the browser, and what to keep (in the session) to check its return.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// Google's consent page with every parameter.
    pub url: Url,
    /// The `state` value the callback must bring back.
    pub state: String,
    /// The PKCE verifier of the challenge in `url`.
    pub verifier: String,
}

/// What Google granted.
#[derive(Debug, Clone)]
pub struct Granted {
    /// The access token.
    pub access_token: String,
    /// A refresh token (first consent, or `prompt=consent`).
    pub refresh_token: Option<String>,
    /// The access token's life.
    pub expires_in: Option<Duration>,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// An OAuth error body (`{"error": "invalid_token", "error_description": "..."}`).
#[derive(Debug, Deserialize)]
struct OauthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Google's userinfo answer (OpenID Connect standard claims).
#[derive(Debug, Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}

impl Google {
    fn oauth_client(&self, redirect: &Url) -> Result<Client, GoogleError> {
        let bad = |e: url::ParseError| GoogleError::Protocol(e.to_string());
        Ok(BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.expose().to_string()))
            .set_auth_uri(AuthUrl::from_url(self.endpoints.auth.clone()))
            .set_token_uri(TokenUrl::from_url(self.endpoints.token.clone()))
            .set_revocation_url(RevocationUrl::from_url(self.endpoints.revoke.clone()))
            .set_redirect_uri(RedirectUrl::new(redirect.to_string()).map_err(bad)?))
    }

    /// The consent URL for `scopes`, with a fresh state and PKCE verifier. `consent` forces
    /// Google's consent screen, which is the only way to get a new refresh token for an
    /// account that granted access before.
    pub fn authorization_url(
        &self,
        scopes: &[&str],
        consent: bool,
    ) -> Result<AuthRequest, GoogleError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.oauth_client(&self.redirect_uri)?;
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(scopes.iter().map(|s| Scope::new((*s).to_string())))
            .set_pkce_challenge(challenge)
            .add_extra_param("access_type", "offline")
            .add_extra_param("include_granted_scopes", "true");
        if consent {
            request = request.add_extra_param("prompt", "consent");
        }
        let (url, state) = request.url();
        Ok(AuthRequest {
            url,
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    fn oauth_http(&self) -> transport::OauthHttp {
        transport::OauthHttp {
            client: self.http().clone(),
            policy: self.retry,
        }
    }

    /// Exchanges an authorization code (with its PKCE verifier) for tokens. `redirect_uri` is
    /// the one the authorization request named (the server's own unless an API client made it).
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: Option<&Url>,
    ) -> Result<Granted, GoogleError> {
        let client = self.oauth_client(redirect_uri.unwrap_or(&self.redirect_uri))?;
        let http = self.oauth_http();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&http)
            .await
            .map_err(|e| token_error(e, false))?;
        Ok(granted(&response, ""))
    }

    /// A new access token from a refresh token. `invalid_grant` (revoked, expired) is
    /// [`GoogleError::ReauthRequired`].
    pub async fn refresh(
        &self,
        refresh_token: &str,
        old_scope: &str,
    ) -> Result<Granted, GoogleError> {
        let client = self.oauth_client(&self.redirect_uri)?;
        let http = self.oauth_http();
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
            .request_async(&http)
            .await
            .map_err(|e| token_error(e, true))?;
        Ok(granted(&response, old_scope))
    }

    /// Revokes the grant behind `token` (access or refresh: Google revokes every scope of the
    /// grant either way). A token Google no longer knows is already revoked: not an error.
    /// Sent by hand (RFC 7009 form body) because the `oauth2` crate refuses revocation URLs
    /// that are not https, and the offline fake is plain http on loopback.
    pub async fn revoke(&self, token: &str) -> Result<(), GoogleError> {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .finish();
        let response = transport::send(self.retry, || {
            self.http()
                .post(self.endpoints.revoke.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone())
        })
        .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let error: Option<OauthError> = serde_json::from_str(&text).ok();
        match error {
            Some(e) if e.error == "invalid_token" => Ok(()),
            Some(e) => Err(GoogleError::Api {
                status: status.as_u16(),
                code: e.error,
                message: e.error_description.unwrap_or_default(),
            }),
            None => Err(GoogleError::Api {
                status: status.as_u16(),
                code: String::new(),
                message: status.canonical_reason().unwrap_or("").to_string(),
            }),
        }
    }

    /// Who the access token belongs to.
    pub async fn userinfo(&self, access_token: &str) -> Result<GoogleProfile, GoogleError> {
        let response = transport::send(self.retry, || {
            self.http()
                .get(self.endpoints.userinfo.clone())
                .bearer_auth(access_token)
        })
        .await?;
        let info: UserInfo = transport::json(transport::check(response).await?).await?;
        if info.sub.trim().is_empty() {
            return Err(GoogleError::Protocol("userinfo without `sub`".into()));
        }
        Ok(GoogleProfile {
            sub: info.sub,
            email: info.email,
            name: info.name,
            picture: info.picture,
        })
    }
}

fn granted(response: &oauth2::basic::BasicTokenResponse, old_scope: &str) -> Granted {
    // A response without `scope` grants what was asked (RFC 6749 §5.1); on refresh, what the
    // grant already had.
    let scope = response.scopes().map_or_else(
        || old_scope.to_string(),
        |s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
    );
    Granted {
        access_token: response.access_token().secret().clone(),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        expires_in: response.expires_in(),
        scope,
    }
}

fn token_error(
    e: RequestTokenError<GoogleError, oauth2::basic::BasicErrorResponse>,
    refreshing: bool,
) -> GoogleError {
    match e {
        RequestTokenError::ServerResponse(body) => {
            let code = body.error().as_ref().to_string();
            if refreshing && *body.error() == BasicErrorResponseType::InvalidGrant {
                return GoogleError::ReauthRequired;
            }
            GoogleError::Api {
                status: 400,
                code,
                message: body.error_description().cloned().unwrap_or_default(),
            }
        }
        RequestTokenError::Request(e) => e,
        RequestTokenError::Parse(e, _) => GoogleError::Protocol(e.to_string()),
        RequestTokenError::Other(m) => GoogleError::Protocol(m),
    }
}
