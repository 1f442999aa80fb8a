//! Shared steps: an HTTP client that does not follow redirects, PKCE, consent and sign-in.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fake_google::{FakeGoogle, Options, TokenResponse};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Client, Response, StatusCode, redirect};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

pub const REDIRECT: &str = "http://127.0.0.1:1/auth/callback";
pub const ALICE: &str = "alice@example.com";
pub const BOB: &str = "bob@example.com";
pub const PICKER: &str = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly";

pub async fn start() -> FakeGoogle {
    start_with(Options::default()).await
}

pub async fn start_with(options: Options) -> FakeGoogle {
    FakeGoogle::start(options).await.expect("fake starts")
}

pub fn client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn post_form(url: &str, pairs: &[(&str, &str)]) -> Response {
    client()
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .expect("post")
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-fake-verifier".to_string();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The authorization URL with the given scopes and extra parameters.
pub fn auth_url(fake: &FakeGoogle, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&fake.endpoints().auth_url).expect("auth url");
    url.query_pairs_mut()
        .append_pair("client_id", fake.client_id())
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("state", "st-123")
        .extend_pairs(extra);
    url.to_string()
}

/// Drives the consent page over HTTP as a browser would: picks `email`, keeps the scope
/// checkboxes except the `untick` indices, and presses Allow. Returns the redirect.
pub async fn consent_html(auth_url: &str, email: &str, untick: &[usize]) -> Url {
    let page = client().get(auth_url).send().await.expect("auth page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    let req = attr_after(&html, "name=\"req\" value=\"").expect("req field");
    let mut pairs = vec![("req".to_string(), req), ("user".into(), email.into())];
    for n in 0.. {
        let marker = format!("id=\"scope-{n}\" value=\"");
        let Some(scope) = attr_after(&html, &marker) else {
            break;
        };
        if !untick.contains(&n) {
            pairs.push(("scope".into(), scope));
        }
    }
    pairs.push(("action".into(), "allow".into()));
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let base = Url::parse(auth_url).expect("url");
    let decide = base.join("/o/oauth2/v2/auth/decide").expect("join");
    let resp = post_form(decide.as_str(), &refs).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    location(&resp)
}

pub fn location(resp: &Response) -> Url {
    let loc = resp.headers()[LOCATION].to_str().expect("location");
    Url::parse(loc).expect("absolute location")
}

pub fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

/// Exchanges a code with HTTP Basic client authentication.
pub async fn exchange(fake: &FakeGoogle, code: &str, verifier: Option<&str>) -> Response {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        pairs.push(("code_verifier", v));
    }
    client()
        .post(fake.endpoints().token_url)
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&pairs))
        .send()
        .await
        .expect("token request")
}

/// Signs `email` in through the consent page with PKCE S256 and offline access.
pub async fn sign_in(fake: &FakeGoogle, email: &str, scope: &str) -> TokenResponse {
    let (verifier, challenge) = pkce();
    let url = auth_url(
        fake,
        scope,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("access_type", "offline"),
        ],
    );
    let back = consent_html(&url, email, &[]).await;
    let code = query(&back, "code").expect("code");
    let resp = exchange(fake, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("token json")
}

/// Tokens for `email` with the picker scope, minted without the consent page.
pub fn picker_token(fake: &FakeGoogle, email: &str) -> String {
    fake.state()
        .mint_tokens(email, &["openid", "email", PICKER], true)
        .expect("mint")
        .access_token
}

pub async fn json_of(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let body = resp.json().await.expect("json body");
    (status, body)
}

pub async fn api_get(url: &str, token: &str) -> Response {
    client()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
}
