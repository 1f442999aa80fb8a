//! A bounded load test (issue 10): many concurrent clients, each its own user, run a mix of
//! reads and writes against a real server on loopback for a fixed time; then every user's
//! writes are checked against what the server holds. A benchmark run by hand, not a test.
//!
//! ```sh
//! cargo run --release -p server --example load_test -- embedded 200 60
//! cargo run --release -p server --example load_test -- postgres 200 60   # PostgreSQL + Redis
//! ```
//!
//! Each client loops over: a gallery page (random filter; 45 %), statistics (10 %), a thumbnail
//! of one of its photos (10 %), an upload of a new distinct photo (15 %), a threshold change
//! (5 %), a verification request (5 %), a photo's details (5 %) and a deletion (5 %). Two embedded
//! workers verify meanwhile. Any answer other than the expected 2xx is an error. At the end
//! the server must hold, for every user, exactly the photos uploaded and not deleted, the last
//! threshold written, and a verdict for each photo queued once the queue drains ("lost
//! writes").
//! PostgreSQL and Redis come from `CLASSIFY_TEST_DATABASE_URL` / `CLASSIFY_TEST_REDIS_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use image::{DynamicImage, Rgb, RgbImage};
use server::app::Deps;
use server::cli::serve::Server;
use server::config::{ServeArgs, StorageArgs};
use sqlx::Connection;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// A small distinct photo (256×192 JPEG) for upload number `seed`.
fn photo(seed: u64) -> Vec<u8> {
    let (w, h) = (256u32, 192u32);
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let v = ((x * 3 + y * 5) as u64 ^ seed.wrapping_mul(2654435761)) as u8;
        Rgb([v, v.wrapping_mul(3), v / 2])
    });
    let (sx, sy) = ((seed % 200) as u32, (seed / 200 % 150) as u32);
    for y in sy..(sy + 40).min(h) {
        for x in sx..(sx + 50).min(w) {
            img.put_pixel(x, y, Rgb([255, 255, 255]));
        }
    }
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    DynamicImage::ImageRgb8(img)
        .write_with_encoder(encoder)
        .unwrap();
    out
}

async fn fresh_database() -> String {
    sqlx::any::install_default_drivers();
    let admin = std::env::var("CLASSIFY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("classify_load_{}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// What one user wrote, as the client saw it acknowledged.
#[derive(Default)]
struct Written {
    photos: BTreeSet<i64>,
    threshold: Option<f64>,
}

#[derive(Default)]
struct Tally {
    latencies: HashMap<&'static str, Vec<f64>>,
    errors: Vec<String>,
}

struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
    written: Written,
    rng: u64,
}

impl Client {
    fn next(&mut self, n: u64) -> u64 {
        self.rng = self
            .rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.rng >> 33) % n.max(1)
    }

    fn random_photo(&mut self) -> Option<i64> {
        let n = self.written.photos.len() as u64;
        if n == 0 {
            return None;
        }
        let i = self.next(n) as usize;
        self.written.photos.iter().nth(i).copied()
    }

    /// One operation: its name and `Err` with a description when the server's answer was wrong.
    async fn step(&mut self, uploads: &AtomicU64) -> (&'static str, Result<(), String>) {
        let roll = self.next(100);
        let base = self.base.clone();
        let url = |path: &str| format!("{base}{path}");
        let check = |op: &'static str, r: Result<reqwest::Response, reqwest::Error>, want: u16| {
            let outcome = match r {
                Ok(r) if r.status().as_u16() == want => Ok(r),
                Ok(r) => Err(format!("{op}: {} (wanted {want})", r.status())),
                Err(e) => Err(format!("{op}: {e}")),
            };
            (op, outcome)
        };
        match roll {
            0..45 => {
                let filter =
                    ["all", "blurred", "not_blurred", "unprocessed"][self.next(4) as usize];
                let r = self
                    .http
                    .get(url(&format!("/api/v1/photos?filter={filter}&limit=50")))
                    .bearer_auth(&self.token)
                    .send()
                    .await;
                let (op, r) = check("gallery", r, 200);
                (op, drain(r).await)
            }
            45..55 => {
                let r = self
                    .http
                    .get(url("/api/v1/stats"))
                    .bearer_auth(&self.token)
                    .send()
                    .await;
                let (op, r) = check("stats", r, 200);
                (op, drain(r).await)
            }
            55..65 => {
                let Some(id) = self.random_photo() else {
                    return ("thumb", Ok(()));
                };
                let r = self
                    .http
                    .get(url(&format!("/api/v1/photos/{id}/image?size=thumb")))
                    .bearer_auth(&self.token)
                    .send()
                    .await;
                let (op, r) = check("thumb", r, 200);
                (op, drain(r).await)
            }
            65..80 => {
                let seed = uploads.fetch_add(1, Ordering::Relaxed);
                let bytes = photo(seed);
                let form = reqwest::multipart::Form::new().part(
                    "file",
                    reqwest::multipart::Part::bytes(bytes).file_name(format!("{seed}.jpg")),
                );
                let r = self
                    .http
                    .post(url("/api/v1/photos"))
                    .bearer_auth(&self.token)
                    .multipart(form)
                    .send()
                    .await;
                let (op, r) = check("upload", r, 201);
                match r {
                    Ok(r) => match r.json::<serde_json::Value>().await {
                        Ok(body) => match body["items"][0]["id"].as_i64() {
                            Some(id) => {
                                self.written.photos.insert(id);
                                (op, Ok(()))
                            }
                            None => (op, Err(format!("upload: no id in {body}"))),
                        },
                        Err(e) => (op, Err(format!("upload: {e}"))),
                    },
                    Err(e) => (op, Err(e)),
                }
            }
            80..85 => {
                let threshold = self.next(100) as f64 / 100.0;
                let r = self
                    .http
                    .put(url("/api/v1/settings"))
                    .bearer_auth(&self.token)
                    .json(&serde_json::json!({"blur_threshold": threshold}))
                    .send()
                    .await;
                let (op, r) = check("settings", r, 200);
                if r.is_ok() {
                    self.written.threshold = Some(threshold);
                }
                (op, drain(r).await)
            }
            85..90 => {
                let Some(id) = self.random_photo() else {
                    return ("analyze", Ok(()));
                };
                let r = self
                    .http
                    .post(url(&format!("/api/v1/photos/{id}/analyze")))
                    .bearer_auth(&self.token)
                    .send()
                    .await;
                let (op, r) = check("analyze", r, 202);
                (op, drain(r).await)
            }
            90..95 => {
                let Some(id) = self.random_photo() else {
                    return ("photo", Ok(()));
                };
                let r = self
                    .http
                    .get(url(&format!("/api/v1/photos/{id}")))
                    .bearer_auth(&self.token)
                    .send()
                    .await;
                let (op, r) = check("photo", r, 200);
                (op, drain(r).await)
            }
            _ => {
                let Some(id) = self.random_photo() else {
                    return ("delete", Ok(()));
                };
                let r = self
                    .http
                    .delete(url(&format!("/api/v1/photos/{id}")))
                    .bearer_auth(&self.token)
                    .send()
                    .await;
                let (op, r) = check("delete", r, 204);
                if r.is_ok() {
                    self.written.photos.remove(&id);
                }
                (op, drain(r).await)
            }
        }
    }
}

async fn drain(r: Result<reqwest::Response, String>) -> Result<(), String> {
    let r = r?;
    r.bytes().await.map(drop).map_err(|e| e.to_string())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend = args.first().map_or("embedded", String::as_str).to_string();
    let clients: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(60);

    let dir = tempfile::tempdir().unwrap();
    let mut storage = StorageArgs::embedded(dir.path().to_path_buf());
    let mut database_url = None;
    if backend == "postgres" {
        let url = fresh_database().await;
        storage.database_url = Some(url.clone().into());
        storage.database_max_connections = 20;
        storage.redis_url = Some(
            std::env::var("CLASSIFY_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
                .into(),
        );
        storage.redis_prefix = format!("classify_load_{}", std::process::id());
        database_url = Some(url);
    }
    let mut serve_args = ServeArgs::new(storage.clone());
    serve_args.workers = 2;
    serve_args.client_dir = Some(dir.path().join("none"));
    let deps = Deps::connect(&storage).await.unwrap();
    let server = Server::with_deps(&serve_args, deps.clone()).await.unwrap();
    let base = format!("http://{}", server.local_addr().unwrap());
    let keys = server.state().auth.keys.clone();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(server.run(shutdown.clone()));

    let mut users = Vec::new();
    for i in 0..clients {
        let name = format!("load{i}");
        let id = server::db::users::create(deps.db.pool(), Some(&name), Some(&name))
            .await
            .unwrap();
        users.push((id, keys.access_token(id, 0).unwrap()));
    }
    eprintln!("{backend}: {clients} clients for {secs} s ...");
    let uploads = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for (i, (id, token)) in users.iter().cloned().enumerate() {
        let (uploads, tally, http, base) =
            (uploads.clone(), tally.clone(), http.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client {
                base,
                token,
                http,
                written: Written::default(),
                rng: (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            };
            let mut latencies: HashMap<&'static str, Vec<f64>> = HashMap::new();
            let mut errors = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let (op, outcome) = client.step(&uploads).await;
                latencies
                    .entry(op)
                    .or_default()
                    .push(t.elapsed().as_secs_f64() * 1000.0);
                if let Err(e) = outcome {
                    errors.push(e);
                }
            }
            let mut all = tally.lock().await;
            for (op, l) in latencies {
                all.latencies.entry(op).or_default().extend(l);
            }
            all.errors.extend(errors);
            (id, client.written)
        }));
    }
    let mut written = Vec::new();
    for t in tasks {
        written.push(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();

    // Lost writes: what every user was told is stored, against what the server holds.
    let mut lost = Vec::new();
    let mut photos_total = 0;
    for (user, w) in &written {
        let held: BTreeSet<i64> =
            sqlx::query_as::<_, (i64,)>("SELECT id FROM photos WHERE user_id = $1")
                .bind(*user)
                .fetch_all(deps.db.pool())
                .await
                .unwrap()
                .into_iter()
                .map(|(id,)| id)
                .collect();
        photos_total += held.len();
        if held != w.photos {
            lost.push(format!(
                "user {user}: client has {} photos, server {}",
                w.photos.len(),
                held.len()
            ));
        }
        if let Some(t) = w.threshold {
            let row = server::db::users::get(deps.db.pool(), *user)
                .await
                .unwrap()
                .unwrap();
            if (row.blur_threshold - t).abs() > 1e-9 {
                lost.push(format!(
                    "user {user}: threshold {} on the server, {t} written last",
                    row.blur_threshold
                ));
            }
        }
    }
    // Every stored photo gets its verdict once the workers catch up.
    let drain_started = Instant::now();
    let unverified = loop {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM photos WHERE status = 'queued'")
            .fetch_one(deps.db.pool())
            .await
            .unwrap();
        if n == 0 || drain_started.elapsed() > Duration::from_secs(300) {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (failed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM photos WHERE status = 'failed'")
        .fetch_one(deps.db.pool())
        .await
        .unwrap();

    let tally = tally.lock().await;
    let mut total = 0usize;
    println!(
        "backend {backend}, {clients} clients, {elapsed:.1} s; two embedded workers verify meanwhile"
    );
    println!(
        "{:<9} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "op", "count", "per s", "p50 ms", "p99 ms", "max ms"
    );
    let mut ops: Vec<_> = tally.latencies.iter().collect();
    ops.sort_by_key(|(op, _)| **op);
    for (op, l) in ops {
        let mut l = l.clone();
        l.sort_by(f64::total_cmp);
        total += l.len();
        println!(
            "{op:<9} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1}",
            l.len(),
            l.len() as f64 / elapsed,
            percentile(&l, 0.5),
            percentile(&l, 0.99),
            l.last().copied().unwrap_or(f64::NAN)
        );
    }
    println!(
        "all       {total:>8} {:>8.1}   errors {}   lost writes {}   photos held {photos_total}   unverified after drain {unverified} ({:.1} s)   failed verdicts {failed}",
        total as f64 / elapsed,
        tally.errors.len(),
        lost.len(),
        drain_started.elapsed().as_secs_f64()
    );
    for e in tally.errors.iter().take(10) {
        println!("error: {e}");
    }
    for l in lost.iter().take(10) {
        println!("lost: {l}");
    }
    shutdown.cancel();
    let _ = handle.await;
    deps.db.close().await;
    if let Some(url) = database_url {
        let name = url.rsplit('/').next().unwrap_or_default().to_string();
        let admin = std::env::var("CLASSIFY_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
    if !tally.errors.is_empty() || !lost.is_empty() || unverified > 0 {
        std::process::exit(1);
    }
}
