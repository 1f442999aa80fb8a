//! Verification throughput of Google photos against the fake Google, beside the same photos
//! uploaded locally, in one run (a benchmark, not a test).
//!
//! ```sh
//! cargo run --release -p server --example bench_google -- 180
//! ```
//!
//! N photos with identical pixels per scene (the nine real photos of `server/tests/photos`,
//! each copy made distinct by trailing bytes that decoders ignore) are put in the fake's
//! library. Google: sign in through the redirect flow, create a Picker session, pick all, sync,
//! and time from the sync request until the verification batch is done (import included).
//! Local: upload the same N files, queue one batch, time until it is done. Embedded backend,
//! 2 embedded workers; prints photos/s for both and their ratio, and what the fake alone
//! serves (it decodes and re-encodes every image, as Google does, but on the same two cores).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use fake_google::{FakeGoogle, Options, Photo, Pick};
use server::app::Deps;
use server::cli::serve::Server;
use server::config::{ServeArgs, StorageArgs};
use tokio_util::sync::CancellationToken;

fn photos(n: usize) -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/photos");
    let mut sources: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    sources.sort();
    let bytes: Vec<Vec<u8>> = sources.iter().map(|p| std::fs::read(p).unwrap()).collect();
    (0..n)
        .map(|i| {
            let mut b = bytes[i % bytes.len()].clone();
            b.extend_from_slice(format!("copy-{i}").as_bytes());
            (format!("IMG_{i:05}.jpg"), b)
        })
        .collect()
}

/// The fake's options with `files` as its library.
fn library(files: &[(String, Vec<u8>)]) -> Options {
    Options {
        photos: files
            .iter()
            .map(|(name, b)| Photo::from_bytes(name, b.clone()).unwrap())
            .collect(),
        ..Options::default()
    }
}

async fn wait_batch(http: &reqwest::Client, base: &str, batch: i64, total: usize) {
    loop {
        let p: serde_json::Value = http
            .get(format!("{base}/api/v1/blur/jobs/{batch}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if p["status"] == "done" || p["status"] == "failed" {
            assert_eq!(p["done"], total as i64, "{p}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn server(args: ServeArgs) -> (String, CancellationToken) {
    let deps = Deps::connect(&args.storage).await.unwrap();
    let server = Server::with_deps(&args, deps).await.unwrap();
    let base = format!("http://{}", server.local_addr().unwrap());
    let stop = CancellationToken::new();
    tokio::spawn(server.run(stop.clone()));
    (base, stop)
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

async fn google_rate(files: &[(String, Vec<u8>)]) -> f64 {
    let options = library(files);
    let fake = FakeGoogle::start(options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::new(StorageArgs::embedded(dir.path().to_path_buf()));
    args.workers = 2;
    let e = fake.endpoints();
    let g = &mut args.google;
    g.google_client_id = Some(fake.client_id().into());
    g.google_client_secret = Some(fake.client_secret().to_string().into());
    g.google_auth_url = e.auth_url.parse().unwrap();
    g.google_token_url = e.token_url.parse().unwrap();
    g.google_revoke_url = e.revoke_url.parse().unwrap();
    g.google_userinfo_url = e.userinfo_url.parse().unwrap();
    g.google_picker_url = e.picker_url.parse().unwrap();
    g.google_media_hosts = vec![e.media_host.clone()];
    let (base, stop) = server(args).await;
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = http
        .get(format!("{base}/api/v1/auth/google/start"))
        .send()
        .await
        .unwrap();
    let callback = fake
        .state()
        .approve(&location(&start), "alice@example.com", None)
        .unwrap();
    let signed = http.get(&callback).send().await.unwrap();
    assert_eq!(location(&signed), "/");
    let session: serde_json::Value = http
        .post(format!("{base}/api/v1/picker/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = session["id"].as_str().unwrap().to_string();
    fake.state().pick(&id, Pick::All).unwrap();
    http.get(format!("{base}/api/v1/picker/sessions/{id}"))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    let sync = http
        .post(format!("{base}/api/v1/picker/sessions/{id}/sync"))
        .send()
        .await
        .unwrap();
    assert_eq!(sync.status().as_u16(), 202);
    let batch = loop {
        let s: serde_json::Value = http
            .get(format!("{base}/api/v1/picker/sessions/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(b) = s["verify_batch_id"].as_i64() {
            break b;
        }
        assert_ne!(s["status"], "failed", "{s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    wait_batch(&http, &base, batch, files.len()).await;
    let secs = started.elapsed().as_secs_f64();
    stop.cancel();
    files.len() as f64 / secs
}

/// What the fake alone costs: every photo fetched at the working size, two at a time (it
/// decodes and re-encodes each, as Google does, on the same cores as the server).
async fn fake_only_rate(files: &[(String, Vec<u8>)]) -> f64 {
    let options = library(files);
    let fake = FakeGoogle::start(options).await.unwrap();
    let token = fake
        .state()
        .mint_tokens(
            "alice@example.com",
            &["https://www.googleapis.com/auth/photospicker.mediaitems.readonly"],
            false,
        )
        .unwrap()
        .access_token;
    let http = reqwest::Client::new();
    let auth = format!("Bearer {token}");
    let session: serde_json::Value = http
        .post(format!("{}/v1/sessions", fake.url()))
        .header("authorization", &auth)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = session["id"].as_str().unwrap().to_string();
    fake.state().pick(&id, Pick::All).unwrap();
    let mut urls = Vec::new();
    let mut page_token = String::new();
    loop {
        let page: serde_json::Value = http
            .get(format!(
                "{}/v1/mediaItems?sessionId={id}&pageSize=100&pageToken={page_token}",
                fake.url()
            ))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["mediaItems"].as_array().into_iter().flatten() {
            urls.push(item["mediaFile"]["baseUrl"].as_str().unwrap().to_string());
        }
        match page["nextPageToken"].as_str() {
            Some(t) if !t.is_empty() => page_token = t.to_string(),
            _ => break,
        }
    }
    let started = Instant::now();
    let halves: Vec<Vec<String>> = vec![
        urls.iter().step_by(2).cloned().collect(),
        urls.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let mut tasks = Vec::new();
    for half in halves {
        let (http, auth) = (http.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            for url in half {
                let r = http
                    .get(format!("{url}=w1024-h1024"))
                    .header("authorization", &auth)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    urls.len() as f64 / started.elapsed().as_secs_f64()
}

async fn local_rate(files: &[(String, Vec<u8>)]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::new(StorageArgs::embedded(dir.path().to_path_buf()));
    args.workers = 2;
    let (base, stop) = server(args).await;
    let http = reqwest::Client::new();
    for chunk in files.chunks(16) {
        let mut form = reqwest::multipart::Form::new();
        for (name, b) in chunk {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(b.clone()).file_name(name.clone()),
            );
        }
        let r = http
            .post(format!("{base}/api/v1/photos"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let started = Instant::now();
    let accepted: serde_json::Value = http
        .post(format!("{base}/api/v1/blur/analyze-batch"))
        .json(&serde_json::json!({"filter": "unprocessed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    wait_batch(
        &http,
        &base,
        accepted["batch_id"].as_i64().unwrap(),
        files.len(),
    )
    .await;
    let secs = started.elapsed().as_secs_f64();
    stop.cancel();
    files.len() as f64 / secs
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(180);
    let files = photos(n);
    let mut google = Vec::new();
    let mut local = Vec::new();
    let mut fake = Vec::new();
    for _ in 0..3 {
        google.push(google_rate(&files).await);
        local.push(local_rate(&files).await);
        fake.push(fake_only_rate(&files).await);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (g, l, f) = (median(&mut google), median(&mut local), median(&mut fake));
    println!("photos: {n} (1024-px JPEGs), embedded backend, 2 workers, median of 3 runs");
    println!("google (sync -> verified, via fake Google): {g:.1} photos/s  runs {google:.1?}");
    println!("local upload (batch -> verified):          {l:.1} photos/s  runs {local:.1?}");
    println!("the fake alone (=w1024-h1024, 2 at a time): {f:.1} photos/s  runs {fake:.1?}");
    println!("ratio google/local: {:.2}", g / l);
}
