//! OAuth 2.0: consent, code exchange with PKCE, client authentication, refresh, revoke,
//! userinfo.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fake_google::TokenResponse;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::Value;

use crate::helpers::*;

const SCOPE: &str =
    "openid email profile https://www.googleapis.com/auth/photospicker.mediaitems.readonly";

#[tokio::test]
async fn auth_code_with_pkce_s256_yields_tokens_id_token_and_userinfo() {
    let fake = start().await;
    let (verifier, challenge) = pkce();
    let url = auth_url(
        &fake,
        SCOPE,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("access_type", "offline"),
            ("login_hint", BOB),
        ],
    );
    let html = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for id in [
        "id=\"user-alice\"",
        "id=\"user-bob\"",
        "id=\"scope-0\"",
        "id=\"allow\"",
        "id=\"deny\"",
    ] {
        assert!(html.contains(id), "consent page lacks {id}");
    }
    assert!(
        !html.contains("id=\"scope-1\""),
        "sign-in scopes have no checkbox"
    );
    assert!(
        html.contains("value=\"bob@example.com\" checked"),
        "login_hint preselects"
    );

    let back = consent_html(&url, ALICE, &[]).await;
    assert_eq!(back.as_str().split('?').next(), Some(REDIRECT));
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(query(&back, "authuser").as_deref(), Some("0"));
    let scope = query(&back, "scope").unwrap();
    assert!(
        scope.contains(PICKER) && scope.contains("https://www.googleapis.com/auth/userinfo.email")
    );

    let resp = exchange(&fake, &query(&back, "code").unwrap(), Some(&verifier)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(
        resp.headers()[CONTENT_TYPE],
        "application/json; charset=utf-8"
    );
    let tokens: TokenResponse = resp.json().await.unwrap();
    assert!(tokens.access_token.starts_with("ya29."));
    assert_eq!(tokens.expires_in, 3599);
    assert_eq!(tokens.token_type, "Bearer");
    assert!(tokens.refresh_token.as_deref().unwrap().starts_with("1//"));
    let granted: Vec<&str> = tokens.scope.split(' ').collect();
    for s in [
        "openid",
        PICKER,
        "https://www.googleapis.com/auth/userinfo.profile",
    ] {
        assert!(granted.contains(&s), "scope {s} missing from {granted:?}");
    }

    let id_token = tokens.id_token.unwrap();
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "https://accounts.google.com");
    assert_eq!(claims["aud"], fake.client_id());
    assert_eq!(claims["sub"], "1000000000000000000001");
    assert_eq!(claims["email"], ALICE);
    assert_eq!(claims["email_verified"], true);
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());

    let (status, me) =
        json_of(api_get(&fake.endpoints().userinfo_url, &tokens.access_token).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["sub"], "1000000000000000000001");
    assert_eq!(me["email"], ALICE);
    assert_eq!(me["given_name"], "Alice");
    assert!(me["picture"].as_str().unwrap().starts_with("https://"));
}

#[tokio::test]
async fn wrong_or_missing_verifier_and_reused_code_are_invalid_grant() {
    let fake = start().await;
    let (verifier, challenge) = pkce();
    let params = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = auth_url(&fake, SCOPE, &params);

    let code = query(&fake_consent(&fake, &url).await, "code").unwrap();
    let (status, body) = json_of(
        exchange(
            &fake,
            &code,
            Some("not-the-verifier-at-all-0123456789abcdef"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    let code = query(&fake_consent(&fake, &url).await, "code").unwrap();
    let (status, body) = json_of(exchange(&fake, &code, None).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let code = query(&fake_consent(&fake, &url).await, "code").unwrap();
    assert_eq!(
        exchange(&fake, &code, Some(&verifier)).await.status(),
        StatusCode::OK
    );
    let (status, body) = json_of(exchange(&fake, &code, Some(&verifier)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

async fn fake_consent(fake: &fake_google::FakeGoogle, url: &str) -> url::Url {
    url::Url::parse(&fake.state().approve(url, ALICE, None).unwrap()).unwrap()
}

#[tokio::test]
async fn client_authenticates_by_basic_or_form_fields_and_wrong_secret_is_invalid_client() {
    let fake = start().await;
    let token_url = fake.endpoints().token_url;
    let url = auth_url(&fake, SCOPE, &[]);

    // Form fields instead of Basic.
    let code = query(&fake_consent(&fake, &url).await, "code").unwrap();
    let resp = post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", fake.client_id()),
            ("client_secret", fake.client_secret()),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Wrong secret, as form fields and as Basic.
    let code = query(&fake_consent(&fake, &url).await, "code").unwrap();
    let resp = post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", fake.client_id()),
            ("client_secret", "nope"),
        ],
    )
    .await;
    let (status, body) = json_of(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let resp = client()
        .post(&token_url)
        .basic_auth(fake.client_id(), Some("nope"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The code survived both failed client authentications (the client was never identified).
    assert_eq!(exchange(&fake, &code, None).await.status(), StatusCode::OK);

    // Other errors of the token endpoint.
    let code = query(&fake_consent(&fake, &url).await, "code").unwrap();
    let resp = client()
        .post(&token_url)
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/other"),
        ]))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("redirect_uri_mismatch"))
    );
    let resp = client()
        .post(&token_url)
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("grant_type", "password"), ("username", "x")]))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

async fn refresh(fake: &fake_google::FakeGoogle, refresh_token: &str) -> reqwest::Response {
    client()
        .post(fake.endpoints().token_url)
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn refresh_gives_a_new_access_token_and_revoke_kills_the_grant() {
    let fake = start().await;
    let tokens = sign_in(&fake, ALICE, SCOPE).await;
    let refresh_token = tokens.refresh_token.clone().unwrap();

    let (status, body) = json_of(refresh(&fake, &refresh_token).await).await;
    assert_eq!(status, StatusCode::OK);
    let new_access = body["access_token"].as_str().unwrap().to_string();
    assert_ne!(new_access, tokens.access_token);
    assert!(
        body.get("refresh_token").is_none(),
        "Google sends no new refresh token"
    );
    assert_eq!(body["scope"], tokens.scope.as_str());
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(fake.state().refresh_count(), 1);

    // Revoking the (new) access token revokes the whole grant, refresh token included.
    let resp = post_form(&fake.endpoints().revoke_url, &[("token", &new_access)]).await;
    let (status, body) = json_of(resp).await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!({})));
    let (status, body) = json_of(refresh(&fake, &refresh_token).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "Token has been expired or revoked."
    );
    let revoked = fake.state().revoked_tokens();
    assert!(revoked.contains(&refresh_token) && revoked.contains(&tokens.access_token));
    assert_eq!(
        api_get(&fake.endpoints().userinfo_url, &tokens.access_token)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // A second revoke of the same token, by query string this time, is an unknown token.
    let url = format!("{}?token={}", fake.endpoints().revoke_url, refresh_token);
    let (status, body) = json_of(client().post(url).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_token"))
    );
    let logged = fake.state().requests();
    assert!(
        logged.iter().any(|r| r.path == "/revoke?token=…"),
        "secrets are blanked in the log"
    );
}

#[tokio::test]
async fn unticked_photos_scope_is_missing_from_scope_and_picker_answers_403() {
    let fake = start().await;
    let url = auth_url(&fake, SCOPE, &[]);
    let back = consent_html(&url, ALICE, &[0]).await;
    let scope = query(&back, "scope").unwrap();
    assert!(!scope.contains(PICKER), "redirect scope {scope}");
    let (status, tokens) =
        json_of(exchange(&fake, &query(&back, "code").unwrap(), None).await).await;
    assert_eq!(status, StatusCode::OK);
    let scope = tokens["scope"].as_str().unwrap();
    assert!(
        !scope.contains(PICKER) && scope.contains("openid"),
        "token scope {scope}"
    );

    let resp = client()
        .post(format!("{}/v1/sessions", fake.endpoints().picker_url))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(body["error"]["code"], 403);
    assert_eq!(
        body["error"]["message"],
        "Request had insufficient authentication scopes."
    );
}

#[tokio::test]
async fn refresh_tokens_come_on_first_consent_or_prompt_consent_and_scopes_accumulate() {
    let fake = start().await;
    let first = auth_url(&fake, "openid email", &[("access_type", "offline")]);
    let back = fake_consent(&fake, &first).await;
    let t1: TokenResponse = exchange(&fake, &query(&back, "code").unwrap(), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(t1.refresh_token.is_some());
    assert!(!t1.scope.contains(PICKER));

    // Incremental: ask for the picker only, with include_granted_scopes.
    let scope = format!("openid {PICKER}");
    let more = auth_url(
        &fake,
        &scope,
        &[
            ("access_type", "offline"),
            ("include_granted_scopes", "true"),
        ],
    );
    let back = fake_consent(&fake, &more).await;
    let t2: TokenResponse = exchange(&fake, &query(&back, "code").unwrap(), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        t2.refresh_token.is_none(),
        "not the first consent, no prompt=consent"
    );
    assert!(
        t2.scope.contains(PICKER) && t2.scope.contains("userinfo.email"),
        "{}",
        t2.scope
    );

    let again = auth_url(
        &fake,
        &scope,
        &[("access_type", "offline"), ("prompt", "consent")],
    );
    let back = fake_consent(&fake, &again).await;
    let t3: TokenResponse = exchange(&fake, &query(&back, "code").unwrap(), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(t3.refresh_token.is_some());
    assert!(
        !t3.scope.contains("userinfo.email"),
        "without include_granted_scopes: {}",
        t3.scope
    );
}

#[tokio::test]
async fn cancel_redirects_with_access_denied_and_bad_client_gets_an_error_page() {
    let fake = start().await;
    let url = auth_url(&fake, SCOPE, &[]);
    let html = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"req\" value=\"";
    let start_at = html.find(marker).unwrap() + marker.len();
    let req = &html[start_at..start_at + html[start_at..].find('"').unwrap()];
    let decide = format!("{}/o/oauth2/v2/auth/decide", fake.url());
    let resp = post_form(
        &decide,
        &[("req", req), ("user", ALICE), ("action", "deny")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let back = location(&resp);
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
    assert!(query(&back, "code").is_none());

    let bad = url.replace("fake-client-id", "someone-else");
    let resp = client().get(&bad).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Error 401: invalid_client"), "{page}");

    let no_openid = auth_url(&fake, PICKER, &[]);
    assert_eq!(
        client().get(&no_openid).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn userinfo_without_a_valid_bearer_is_401_invalid_credentials() {
    let fake = start().await;
    let resp = client()
        .get(fake.endpoints().userinfo_url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "Invalid Credentials");
    let resp = api_get(&fake.endpoints().userinfo_url, "ya29.made-up").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
