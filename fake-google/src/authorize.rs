//! The authorization endpoint (`/o/oauth2/v2/auth`), its consent form, and the same decision
//! made programmatically for tests without a browser.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use url::Url;

use crate::pages;
use crate::state::{AppState, AuthRequest, PkceMethod, Shared, normalize_scope};
use crate::wire::{self, FormPairs};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/o/oauth2/v2/auth", get(authorize))
        .route("/o/oauth2/v2/auth/decide", post(decide))
}

/// Why an authorization request is refused with an error page (Google does not redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

fn refuse(status: u16, error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal {
        status,
        error,
        description: description.into(),
    }
}

impl Shared {
    /// Validates the query of an authorization request as Google would.
    pub(crate) fn parse_auth_request(&self, q: &FormPairs) -> Result<AuthRequest, Refusal> {
        let missing = |p: &str| {
            refuse(
                400,
                "invalid_request",
                format!("Missing required parameter: {p}"),
            )
        };
        let client_id = q
            .non_empty("client_id")
            .ok_or_else(|| missing("client_id"))?;
        if client_id != self.opts.client_id {
            return Err(refuse(
                401,
                "invalid_client",
                "The OAuth client was not found.",
            ));
        }
        let redirect_uri = q
            .non_empty("redirect_uri")
            .ok_or_else(|| missing("redirect_uri"))?;
        let parsed = Url::parse(redirect_uri).map_err(|e| {
            refuse(
                400,
                "invalid_request",
                format!("Invalid parameter value for redirect_uri: {e}"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(refuse(
                400,
                "redirect_uri_mismatch",
                format!("The redirect URI in the request, {redirect_uri}, is not an http(s) URL."),
            ));
        }
        let response_type = q
            .non_empty("response_type")
            .ok_or_else(|| missing("response_type"))?;
        if response_type != "code" {
            return Err(refuse(
                400,
                "unsupported_response_type",
                format!("Invalid response_type: {response_type} (this fake supports code)"),
            ));
        }
        let raw_scope = q.non_empty("scope").ok_or_else(|| missing("scope"))?;
        let mut scopes: Vec<String> = Vec::new();
        let mut invalid = Vec::new();
        for s in raw_scope.split_whitespace() {
            match normalize_scope(s) {
                Some(n) if !scopes.contains(&n) => scopes.push(n),
                Some(_) => {}
                None => invalid.push(s),
            }
        }
        if !invalid.is_empty() {
            return Err(refuse(
                400,
                "invalid_scope",
                format!(
                    "Some requested scopes were invalid. {{invalid=[{}]}}",
                    invalid.join(", ")
                ),
            ));
        }
        if !scopes.iter().any(|s| s == "openid") {
            return Err(refuse(
                400,
                "invalid_scope",
                "This fake requires the openid scope.",
            ));
        }
        let method = match q.non_empty("code_challenge_method") {
            None | Some("plain") => PkceMethod::Plain,
            Some("S256") => PkceMethod::S256,
            Some(other) => {
                return Err(refuse(
                    400,
                    "invalid_request",
                    format!("Invalid code_challenge_method value: {other}"),
                ));
            }
        };
        let challenge = q
            .non_empty("code_challenge")
            .map(|c| (c.to_string(), method));
        if challenge.is_none() && q.non_empty("code_challenge_method").is_some() {
            return Err(missing("code_challenge"));
        }
        let access_type = q.non_empty("access_type").unwrap_or("online");
        if !matches!(access_type, "online" | "offline") {
            return Err(refuse(
                400,
                "invalid_request",
                format!("Invalid access_type: {access_type}"),
            ));
        }
        let prompt = q.get("prompt").unwrap_or_default();
        Ok(AuthRequest {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scopes,
            state: q.get("state").map(str::to_string),
            challenge,
            offline: access_type == "offline",
            include_granted_scopes: q.get("include_granted_scopes") == Some("true"),
            prompt_consent: prompt.split_whitespace().any(|p| p == "consent"),
            login_hint: q.non_empty("login_hint").map(str::to_string),
            nonce: q.non_empty("nonce").map(str::to_string),
        })
    }

    /// The redirect after the user chose: a code on Allow, `error=access_denied` on Cancel.
    pub(crate) fn decision_redirect(
        &self,
        request: AuthRequest,
        decision: Option<(usize, &[String])>,
    ) -> String {
        let mut url = match Url::parse(&request.redirect_uri) {
            Ok(u) => u,
            Err(_) => return request.redirect_uri,
        };
        let state = request.state.clone();
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(state) = &state {
                pairs.append_pair("state", state);
            }
            match decision {
                Some((user, chosen)) => {
                    let code = self.consent(request.clone(), user, chosen);
                    let granted = self
                        .lock()
                        .codes
                        .get(&code)
                        .map(|c| c.scopes.iter().cloned().collect::<Vec<_>>().join(" "));
                    pairs.append_pair("code", &code);
                    pairs.append_pair("scope", &granted.unwrap_or_default());
                    pairs.append_pair("authuser", &user.to_string());
                    pairs.append_pair("prompt", "consent");
                }
                None => {
                    pairs.append_pair("error", "access_denied");
                }
            }
        }
        url.to_string()
    }
}

async fn authorize(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let q = FormPairs::parse(query.unwrap_or_default().as_bytes());
    let request = match state.parse_auth_request(&q) {
        Ok(r) => r,
        Err(r) => return pages::auth_error(r.status, r.error, &r.description),
    };
    if q.get("prompt")
        .is_some_and(|p| p.split_whitespace().any(|p| p == "none"))
    {
        // No browser session exists in the fake, so a silent request always needs interaction.
        let mut url = match Url::parse(&request.redirect_uri) {
            Ok(u) => u,
            Err(_) => return pages::auth_error(400, "invalid_request", "bad redirect_uri"),
        };
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(s) = &request.state {
                pairs.append_pair("state", s);
            }
            pairs.append_pair("error", "interaction_required");
        }
        return see_other(url.as_str());
    }
    let id = wire::random_token(18);
    let html = pages::consent(&id, &request, &state.opts.users);
    state.lock().pending.insert(id, request);
    Html(html).into_response()
}

async fn decide(State(state): State<AppState>, body: Bytes) -> Response {
    let form = FormPairs::parse(&body);
    let pending = form
        .get("req")
        .and_then(|id| state.lock().pending.remove(id));
    let Some(request) = pending else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "This request has expired",
            "Start signing in again from the app.",
        );
    };
    if form.get("action") == Some("deny") {
        return see_other(&state.decision_redirect(request, None));
    }
    let user = form.get("user").and_then(|e| state.user_by_email(e));
    let Some(user) = user else {
        state
            .lock()
            .pending
            .insert(form.get("req").unwrap_or_default().into(), request);
        return pages::message(
            StatusCode::BAD_REQUEST,
            "Choose an account",
            "No account was chosen.",
        );
    };
    let chosen: Vec<String> = form.all("scope").map(str::to_string).collect();
    see_other(&state.decision_redirect(request, Some((user, &chosen))))
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}
