//! Base URLs: size parameters, originals, bearer checks and expiry.

use fake_google::{FakeGoogle, Options, Pick, Sharpness};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};

use crate::helpers::*;

/// A session of `email` with `photos` picked; returns the token and base URLs in order.
async fn picked(fake: &FakeGoogle, email: &str, photos: Vec<usize>) -> (String, Vec<String>) {
    let token = picker_token(fake, email);
    let resp = client()
        .post(format!("{}/v1/sessions", fake.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (_, s) = json_of(resp).await;
    let id = s["id"].as_str().unwrap();
    fake.state().pick(id, Pick::Items(photos)).unwrap();
    let (_, body) = json_of(
        api_get(
            &format!("{}/v1/mediaItems?sessionId={id}", fake.url()),
            &token,
        )
        .await,
    )
    .await;
    let urls = body["mediaItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["mediaFile"]["baseUrl"].as_str().unwrap().to_string())
        .collect();
    (token, urls)
}

#[tokio::test]
async fn sized_and_original_downloads() {
    let fake = start().await;
    let (token, urls) = picked(&fake, ALICE, vec![0]).await;
    let base = &urls[0];
    assert!(base.starts_with(&format!("{}/media/", fake.url())));

    let resp = api_get(&format!("{base}=w200-h200"), &token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CONTENT_TYPE], "image/jpeg");
    let len: usize = resp.headers()[CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(bytes.len(), len);
    let img = image::load_from_memory(&bytes).unwrap();
    assert!(img.width() <= 200 && img.height() <= 200);
    assert_eq!((img.width(), img.height()), (200, 150), "aspect ratio kept");

    let resp = api_get(&format!("{base}=w120-h120-c"), &token).await;
    let img = image::load_from_memory(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (120, 120));

    let resp = api_get(&format!("{base}=w4000-h4000"), &token).await;
    let img = image::load_from_memory(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (1600, 1200), "never upscaled");

    let original = Options::default().photos[0].bytes().unwrap();
    let resp = api_get(&format!("{base}=d"), &token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), original.as_slice());

    let resp = api_get(base, &token).await;
    let img = image::load_from_memory(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(
        img.width().max(img.height()),
        512,
        "bare base URL gives a small image"
    );

    let sizes: Vec<String> = fake
        .state()
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| p.starts_with("/media/"))
        .collect();
    assert!(sizes.iter().any(|p| p.ends_with("=w200-h200")));
}

#[tokio::test]
async fn base_urls_need_the_owners_bearer_and_expire_with_403() {
    let fake = start().await;
    let (token, urls) = picked(&fake, ALICE, vec![1]).await;
    let url = format!("{}=w64-h64", urls[0]);

    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let bob = picker_token(&fake, BOB);
    assert_eq!(api_get(&url, &bob).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api_get(&url, &token).await.status(), StatusCode::OK);

    fake.state().expire_base_urls();
    assert_eq!(api_get(&url, &token).await.status(), StatusCode::FORBIDDEN);
    let (token2, fresh) = picked(&fake, ALICE, vec![1]).await;
    assert_eq!(
        api_get(&format!("{}=w64-h64", fresh[0]), &token2)
            .await
            .status(),
        StatusCode::OK
    );
    let missing = format!("{}/media/nope=w10-h10", fake.url());
    assert_eq!(
        api_get(&missing, &token).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn base_urls_expire_after_their_ttl() {
    let fake = start_with(Options {
        base_url_ttl: std::time::Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let (token, urls) = picked(&fake, ALICE, vec![8]).await;
    let url = format!("{}=w32-h32", urls[0]);
    assert_eq!(api_get(&url, &token).await.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(api_get(&url, &token).await.status(), StatusCode::FORBIDDEN);
}

#[test]
fn builtin_set_has_sharp_blurred_and_one_video() {
    let photos = Options::default().photos;
    assert_eq!(photos.len(), 12);
    let count = |s: Sharpness| photos.iter().filter(|p| p.sharpness == s).count();
    assert!(count(Sharpness::Sharp) >= 5 && count(Sharpness::Blurred) >= 5);
    assert_eq!(
        photos
            .iter()
            .filter(|p| p.media_type == fake_google::MediaType::Video)
            .count(),
        1
    );
    // Blurred versions really have less high-frequency energy than their sharp scene.
    let energy = |i: usize| {
        let img = image::load_from_memory(&photos[i].bytes().unwrap())
            .unwrap()
            .to_luma8();
        let width = img.width() as usize;
        // Squared horizontal differences on every 4th row: blur lowers it, shifts do not.
        img.as_raw()
            .chunks(width)
            .step_by(4)
            .flat_map(|row| row.windows(2))
            .map(|w| (i64::from(w[1]) - i64::from(w[0])).pow(2))
            .sum::<i64>()
    };
    for (sharp, blurred) in [(0, 1), (2, 3)] {
        assert_eq!(photos[sharp].sharpness, Sharpness::Sharp);
        assert_eq!(photos[blurred].sharpness, Sharpness::Blurred);
        assert!(
            energy(sharp) > 3 * energy(blurred),
            "sample {blurred} is not clearly blurred"
        );
    }
}

/// Behind a published port (the compose demo) the fake is reached by a name other than its
/// listening address: every URL it hands out, and the settings it prints, carry that name.
#[tokio::test]
async fn a_public_origin_names_every_url_the_fake_hands_out() {
    let public = "http://fake-google.localhost:9876";
    let fake = start_with(Options {
        public_origin: Some(format!("{public}/")),
        ..Options::default()
    })
    .await;
    assert_eq!(fake.url(), public);
    let e = fake.endpoints();
    assert_eq!(e.auth_url, format!("{public}/o/oauth2/v2/auth"));
    assert_eq!(e.media_host, "fake-google.localhost");
    let env: std::collections::HashMap<_, _> = fake.env_vars().into_iter().collect();
    assert_eq!(env["GOOGLE_TOKEN_URL"], format!("{public}/token"));
    assert_eq!(env["CLASSIFY_GOOGLE_MEDIA_HOSTS"], "fake-google.localhost");

    // Requests still go to the listening address.
    let direct = format!("http://{}", fake.addr());
    let token = picker_token(&fake, "alice@example.com");
    let resp = client()
        .post(format!("{direct}/v1/sessions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, session) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK);
    let id = session["id"].as_str().unwrap();
    assert_eq!(
        session["pickerUri"].as_str().unwrap(),
        format!("{public}/picker/{id}")
    );
    fake.state().pick(id, Pick::Items(vec![0])).unwrap();
    let (_, body) =
        json_of(api_get(&format!("{direct}/v1/mediaItems?sessionId={id}"), &token).await).await;
    let base_url = body["mediaItems"][0]["mediaFile"]["baseUrl"]
        .as_str()
        .unwrap();
    assert!(
        base_url.starts_with(&format!("{public}/media/")),
        "{base_url}"
    );
}
