//! The token endpoint (`/token`), revocation (`/revoke`) and OpenID userinfo (`/v1/userinfo`).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::errors::OAuthError;
use crate::faults::Detail;
use crate::state::{AppState, EMAIL_SCOPE, PROFILE_SCOPE};
use crate::wire::{self, FormPairs};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/token", post(token))
        .route("/revoke", post(revoke).get(revoke))
        .route("/v1/userinfo", get(userinfo).post(userinfo))
}

async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormPairs::parse(&body);
    let grant_type = form.get("grant_type").unwrap_or_default().to_string();
    let mut response = match exchange(&state, &headers, &form) {
        Ok(ok) => {
            let mut r = Json(ok).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) => e.into_response(),
    };
    response
        .extensions_mut()
        .insert(Detail(format!("grant_type={grant_type}")));
    response
}

fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    form: &FormPairs,
) -> Result<crate::grants::TokenResponse, OAuthError> {
    let (client_id, secret) = match wire::basic_credentials(headers) {
        Some(pair) => pair,
        None => {
            let id = form.non_empty("client_id").ok_or_else(|| {
                OAuthError::invalid_request("Could not determine client ID from request.")
            })?;
            (
                id.to_string(),
                form.get("client_secret").unwrap_or_default().to_string(),
            )
        }
    };
    if client_id != state.opts.client_id {
        return Err(OAuthError::new(
            401,
            "invalid_client",
            "The OAuth client was not found.",
        ));
    }
    if secret != state.opts.client_secret {
        return Err(OAuthError::new(401, "invalid_client", "Unauthorized"));
    }
    match form.get("grant_type") {
        Some("authorization_code") => {
            let code = form
                .non_empty("code")
                .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: code"))?;
            state.exchange_code(
                code,
                &client_id,
                form.get("redirect_uri"),
                form.non_empty("code_verifier"),
            )
        }
        Some("refresh_token") => {
            let refresh = form.non_empty("refresh_token").ok_or_else(|| {
                OAuthError::invalid_request("Missing required parameter: refresh_token")
            })?;
            state.refresh(refresh, &client_id)
        }
        None | Some("") => Err(OAuthError::new(
            400,
            "unsupported_grant_type",
            "Invalid grant_type: ",
        )),
        Some(other) => Err(OAuthError::new(
            400,
            "unsupported_grant_type",
            format!("Invalid grant_type: {other}"),
        )),
    }
}

async fn revoke(State(state): State<AppState>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    let form = FormPairs::parse(&body);
    let from_query = FormPairs::parse(query.unwrap_or_default().as_bytes());
    let token = form
        .non_empty("token")
        .or_else(|| from_query.non_empty("token"));
    match token {
        Some(t) if state.revoke_token(t) => {
            let mut r = Json(json!({})).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            r
        }
        Some(_) => {
            OAuthError::new(400, "invalid_token", "Token expired or revoked").into_response()
        }
        None => OAuthError::invalid_request("Missing required parameter: token").into_response(),
    }
}

async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let invalid = || OAuthError::new(401, "invalid_request", "Invalid Credentials").into_response();
    let Ok(caller) = state.authenticate(wire::bearer(&headers)) else {
        return invalid();
    };
    let Some(user) = state.user(caller.user) else {
        return invalid();
    };
    let mut body = json!({ "sub": user.sub });
    if caller.scopes.contains(PROFILE_SCOPE) {
        body["name"] = json!(user.name);
        body["given_name"] = json!(user.given_name);
        body["family_name"] = json!(user.family_name);
        body["picture"] = json!(user.picture);
    }
    if caller.scopes.contains(EMAIL_SCOPE) {
        body["email"] = json!(user.email);
        body["email_verified"] = json!(user.email_verified);
    }
    Json(body).into_response()
}
