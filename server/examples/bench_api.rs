//! Throughput and latency of the photos API on this machine (a benchmark, not a test).
//!
//! ```sh
//! cargo build --release -p server            # the `classify` binary the worker mode starts
//! cargo run --release -p server --example bench_api -- verify 1000 embedded
//! cargo run --release -p server --example bench_api -- verify 1000 redis   # 2 worker processes
//! cargo run --release -p server --example bench_api -- pushes 10000
//! cargo run --release -p server --example bench_api -- gallery 100000 postgres
//! cargo run --release -p server --example bench_api -- gallery 100000 embedded
//! ```
//!
//! - `verify N MODE [DIR]`: uploads N distinct 2048×1536 JPEGs (read from DIR when `photos DIR
//!   N` wrote them there, else made anew), queues one batch, and reports photos verified per
//!   second from the batch request until the last job's `finished_at` (stored with its verdict).
//!   The end is noticed by a progress poll every `BENCH_POLL_MS` (default 1000). `embedded`: SQLite, the
//!   in-process queue and 2 embedded workers. `redis`: PostgreSQL + Redis with the server
//!   running no worker and `BENCH_PROCESSES` (default 2) `classify worker` processes (their
//!   default consumers, or `BENCH_CONSUMERS` each).
//! - `photos DIR N`: writes the same N photos that `verify N` uploads into DIR, so
//!   `classify scan` can be timed on exactly those files (bench/verify_vs_scan.sh).
//! - `pushes N`: PostgreSQL + Redis, N small distinct photos in one batch, two `classify worker`
//!   processes with default settings; one is killed with SIGKILL after a fifth of the batch and
//!   a third one started. Reports how many ids were pushed onto the queue per job (1.0 = no
//!   duplicate pushes) and how long the batch took. `CLASSIFY_JOB_TIMEOUT_SECS=2` makes the
//!   sweepers run every second over a backlog older than their re-push age.
//! - `gallery-vs-pgbench N`: the gallery load on PostgreSQL (blurred/clear pages only) from the
//!   in-process generator, then from wrk (when installed), then `pgbench -M prepared -c 32` on
//!   the same database running the keyset query the goal was set against, and the API's own
//!   page statement; prints the rates and ratios (bench/gallery_vs_pgbench.sh).
//! - `gallery N BACKEND [CLIENTS]`: inserts N verified photos for one user straight into the
//!   database, then CLIENTS (default 32) concurrent clients fetch random gallery pages (random
//!   filter, random cursor, 50 per page) for 20 s; reports p50/p90/p99 latency and requests/s.
//!
//! PostgreSQL and Redis come from `CLASSIFY_TEST_DATABASE_URL` / `CLASSIFY_TEST_REDIS_URL`
//! (defaults: the local servers); each run uses a fresh database and key prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{DynamicImage, Rgb, RgbImage};
use server::app::Deps;
use server::cli::serve::Server;
use server::config::{ServeArgs, StorageArgs};
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

fn admin_url() -> String {
    std::env::var("CLASSIFY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn redis_url() -> String {
    std::env::var("CLASSIFY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn fresh_database() -> String {
    sqlx::any::install_default_drivers();
    let name = format!("classify_bench_{}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(&admin_url()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url()).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// A photo-like scene: gradient, rectangles, lines; `seed` makes each one distinct.
fn scene(seed: u64) -> Vec<u8> {
    scene_sized(seed, 2048, 1536)
}

fn scene_sized(seed: u64, w: u32, h: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = |n: u32| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as u32) % n.max(1)
    };
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let v = (x * 96 / w + y * 64 / h) as u8 + 40;
        Rgb([v, v / 2 + 60, 200 - v / 2])
    });
    for _ in 0..150 {
        let (x0, y0, rw, rh) = (next(w), next(h), next(w / 6) + 8, next(h / 6) + 8);
        let c = Rgb([next(256) as u8, next(256) as u8, next(256) as u8]);
        for y in y0..(y0 + rh).min(h) {
            for x in x0..(x0 + rw).min(w) {
                img.put_pixel(x, y, c);
            }
        }
    }
    let img = if seed.is_multiple_of(3) {
        image::imageops::blur(&img, 5.0)
    } else {
        img
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    DynamicImage::ImageRgb8(img)
        .write_with_encoder(encoder)
        .unwrap();
    out
}

struct Running {
    base: String,
    services: Deps,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    token: String,
    _dir: tempfile::TempDir,
}

async fn start(storage_kind: &str, workers: usize) -> (Running, StorageArgs) {
    let dir = tempfile::tempdir().unwrap();
    let mut storage = StorageArgs::embedded(dir.path().to_path_buf());
    if storage_kind != "embedded" {
        storage.database_url = Some(fresh_database().await.into());
        storage.database_max_connections = 40;
    }
    if storage_kind == "redis" {
        storage.redis_url = Some(redis_url().into());
        storage.redis_prefix = format!("classify_bench_{}", std::process::id());
    }
    let mut args = ServeArgs::new(storage.clone());
    args.workers = workers;
    args.client_dir = Some(dir.path().join("none"));
    let services = Deps::connect(&storage).await.unwrap();
    let server = Server::with_deps(&args, services.clone()).await.unwrap();
    let base = format!("http://{}", server.local_addr().unwrap());
    let server::auth::AuthMode::Local { user_id } = server.state().auth.mode else {
        unreachable!("benchmarks run in local mode")
    };
    let token = server.state().auth.keys.access_token(user_id, 0).unwrap();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(server.run(shutdown.clone()));
    (
        Running {
            base,
            services,
            shutdown,
            handle,
            token,
            _dir: dir,
        },
        storage,
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The N photos `verify` uploads: read from `dir` when `photos DIR N` wrote them there (the
/// same bytes), else made here.
fn bench_photos(count: u64, dir: Option<&str>) -> Vec<Vec<u8>> {
    if let Some(dir) = dir.map(PathBuf::from)
        && (0..count).all(|i| dir.join(format!("{i:05}.jpg")).is_file())
    {
        eprintln!("reading {count} photos from {}", dir.display());
        return (0..count)
            .map(|i| std::fs::read(dir.join(format!("{i:05}.jpg"))).unwrap())
            .collect();
    }
    eprintln!("making {count} distinct 2048x1536 JPEGs ...");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                (0..count)
                    .filter(|i| i % threads == t)
                    .map(|i| (i, scene(i)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<(u64, Vec<u8>)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, b)| b).collect()
}

async fn verify(count: u64, mode: &str, photos_dir: Option<&str>) {
    let files = bench_photos(count, photos_dir);
    let embedded_workers = if mode == "embedded" { 2 } else { 0 };
    let (app, storage) = start(mode, embedded_workers).await;
    let http = reqwest::Client::new();
    eprintln!("uploading ...");
    for chunk in files.chunks(16) {
        let mut form = reqwest::multipart::Form::new();
        for (i, bytes) in chunk.iter().enumerate() {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(format!("{i}.jpg")),
            );
        }
        let r = http
            .post(format!("{}/api/v1/photos", app.base))
            .bearer_auth(&app.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let mut children = Vec::new();
    if mode == "redis" {
        // Worker processes (BENCH_PROCESSES, default 2: one per core here) and consumers per
        // process: `classify worker`'s default unless BENCH_CONSUMERS says otherwise.
        let consumers = std::env::var("BENCH_CONSUMERS").ok();
        let processes: usize = std::env::var("BENCH_PROCESSES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2);
        for _ in 0..processes {
            children.push(worker_process(&storage, consumers.as_deref()));
        }
        // Let them connect before the clock starts.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!("verifying ...");
    // The clock starts as the batch is asked for and stops at the last job's `finished_at`,
    // written in the same statement as its verdict. The progress poll only notices the end, so
    // it runs rarely (BENCH_POLL_MS, default 1000): every poll is a query on the same cores.
    let poll = Duration::from_millis(
        std::env::var("BENCH_POLL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000),
    );
    let started_ms = server::time::now_ms();
    let started = Instant::now();
    let accepted: serde_json::Value = http
        .post(format!("{}/api/v1/blur/analyze-batch", app.base))
        .bearer_auth(&app.token)
        .json(&serde_json::json!({"filter": "all"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = accepted["batch_id"].as_i64().unwrap();
    loop {
        tokio::time::sleep(poll).await;
        let p: serde_json::Value = http
            .get(format!("{}/api/v1/blur/jobs/{job}", app.base))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if p["status"] == "done" || p["status"] == "failed" {
            let seen = started.elapsed().as_secs_f64();
            let (last,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(finished_at) FROM jobs WHERE batch_id = $1")
                    .bind(job)
                    .fetch_one(app.services.db.pool())
                    .await
                    .unwrap();
            let secs = (last.unwrap() - started_ms) as f64 / 1000.0;
            // Where the time went: queueing the batch until the first job started, and the
            // last job's own run (the tail when fewer jobs than consumers are left).
            let (first_start, last_start): (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT MIN(started_at), MAX(started_at) FROM jobs WHERE batch_id = $1",
            )
            .bind(job)
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
            println!(
                "verify mode={mode} photos={count} done={} failed={} poll_ms={} first_start_ms={} last_start_ms={} seen_after={seen:.2} seconds={secs:.2} photos_per_s={:.1}",
                p["done"],
                p["failed"],
                poll.as_millis(),
                first_start.unwrap_or(started_ms) - started_ms,
                last_start.unwrap_or(started_ms) - started_ms,
                count as f64 / secs
            );
            break;
        }
    }
    for mut c in children {
        let _ = c.start_kill();
        let _ = c.wait().await;
    }
    stop(app).await;
}

fn worker_process(storage: &StorageArgs, consumers: Option<&str>) -> tokio::process::Child {
    let exe = std::env::current_exe().unwrap();
    let classify: PathBuf = exe.parent().unwrap().parent().unwrap().join("classify");
    assert!(
        classify.exists(),
        "build it first: cargo build --release -p server"
    );
    let mut command = tokio::process::Command::new(&classify);
    command.arg("worker");
    if let Some(consumers) = consumers {
        command.args(["--workers", consumers]);
    }
    command
        .env(
            "DATABASE_URL",
            storage.database_url.as_ref().unwrap().expose(),
        )
        .env("REDIS_URL", storage.redis_url.as_ref().unwrap().expose())
        .env("CLASSIFY_REDIS_PREFIX", &storage.redis_prefix)
        .env("CLASSIFY_DATA_DIR", storage.data_dir())
        // Passed through when set, so the sweeper can be made aggressive (a 2 s lease sweeps
        // every second and re-pushes jobs queued for over 4 s).
        .env(
            "CLASSIFY_JOB_TIMEOUT_SECS",
            std::env::var("CLASSIFY_JOB_TIMEOUT_SECS").unwrap_or_else(|_| "10".into()),
        )
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn pushes(count: u64) {
    let (app, storage) = start("redis", 0).await;
    let http = reqwest::Client::new();
    eprintln!("uploading {count} small photos ...");
    let seeds: Vec<u64> = (0..count).collect();
    for chunk in seeds.chunks(16) {
        let mut form = reqwest::multipart::Form::new();
        for i in chunk {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(scene_sized(*i, 160, 120))
                    .file_name(format!("{i}.jpg")),
            );
        }
        let r = http
            .post(format!("{}/api/v1/photos", app.base))
            .bearer_auth(&app.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let pushes_before = app.services.queue.pushes().await.unwrap();
    let mut first = worker_process(&storage, Some("1"));
    let second = worker_process(&storage, Some("1"));
    let started = Instant::now();
    let accepted: serde_json::Value = http
        .post(format!("{}/api/v1/blur/analyze-batch", app.base))
        .bearer_auth(&app.token)
        .json(&serde_json::json!({"filter": "all"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let batch = accepted["batch_id"].as_i64().unwrap();
    let progress = |http: reqwest::Client| {
        let url = format!("{}/api/v1/blur/jobs/{batch}", app.base);
        let token = app.token.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let mut third = None;
    loop {
        let p = progress(http.clone()).await;
        let done = p["done"].as_u64().unwrap_or(0) + p["failed"].as_u64().unwrap_or(0);
        if third.is_none() && done >= count / 5 {
            first.start_kill().unwrap();
            first.wait().await.unwrap();
            eprintln!("killed a worker at {done}/{count}");
            third = Some(worker_process(&storage, Some("1")));
        }
        if p["status"] == "done" || p["status"] == "failed" {
            let secs = started.elapsed().as_secs_f64();
            let pushed = app.services.queue.pushes().await.unwrap() - pushes_before;
            println!(
                "pushes jobs={count} done={} failed={} pushes={pushed} pushes_per_job={:.4} seconds={secs:.1}",
                p["done"],
                p["failed"],
                pushed as f64 / count as f64
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for mut c in [Some(second), third].into_iter().flatten() {
        let _ = c.start_kill();
        let _ = c.wait().await;
    }
    stop(app).await;
}

async fn gallery(count: i64, backend: &str, clients: u64) {
    gallery_run(count, backend, clients, false).await;
}

/// pgbench's rate (transactions per second) running `script` on the database, 32 clients,
/// prepared statements, with `options` (PGOPTIONS) for its sessions.
fn pgbench_tps(database_url: &str, script: &str, clients: u64, options: &str) -> f64 {
    let file = std::env::temp_dir().join(format!("classify_gallery_{}.sql", std::process::id()));
    std::fs::write(&file, script).unwrap();
    let out = std::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-T", "18", "-j", "2"])
        .args(["-c", &clients.to_string(), "-f"])
        .arg(&file)
        .arg(database_url)
        .env("PGOPTIONS", options)
        .output()
        .expect("pgbench (Debian: postgresql-client)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = std::fs::remove_file(&file);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"))
}

/// The gallery's keyset query as the goal was set (19 columns, no tags, the user and the page
/// size written in), run by pgbench: the ceiling the API is compared with.
fn pgbench_reference(database_url: &str, user_id: i64, max_id: i64, clients: u64) -> f64 {
    let script = format!(
        "\\set cursor random(1, {max_id})\n\\set f random(0, 1)\n\
         SELECT id, user_id, source, filename, mime_type, size_bytes, width, height, \
         content_sha256, blob_key, blur_score, blur_type, motion_angle_deg, preview_score, status, \
         error, processed_at, created_at, is_blurred FROM photos WHERE user_id = {user_id} \
         AND id < :cursor AND is_blurred = :f ORDER BY id DESC LIMIT 50;\n"
    );
    pgbench_tps(database_url, &script, clients, "")
}

/// The very statement the API runs for a blurred or clear page (31 columns and the tags, the
/// user, cursor and page size bound), run by pgbench with the session setting the server's
/// typed pool uses.
fn pgbench_api_statement(database_url: &str, user_id: i64, max_id: i64, clients: u64) -> f64 {
    let bound = |filter| {
        server::db::photos::page_sql(filter)
            .replace("$1", ":user")
            .replace("$2", ":cursor")
            .replace("$3", ":limit")
            .replace('\n', " ")
    };
    let script = format!(
        "\\set cursor random(1, {max_id})\n\\set f random(0, 1)\n\\set user {user_id}\n\
         \\set limit 51\n\\if :f\n{};\n\\else\n{};\n\\endif\n",
        bound(shared::api::PhotoFilter::Blurred),
        bound(shared::api::PhotoFilter::NotBlurred)
    );
    pgbench_tps(
        database_url,
        &script,
        clients,
        "-c plan_cache_mode=force_generic_plan",
    )
}

/// wrk (Debian's package) asking for the same random pages as the in-process generator, 32
/// connections on 2 threads for 18 s. Returns its report line, or why it did not run.
fn wrk_rate(base: &str, token: &str, max_id: i64, clients: u64) -> Result<WrkReport, String> {
    let script = format!(
        "local n = 0\n\
         setup = function(thread) n = n + 1; thread:set(\"seed\", n) end\n\
         init = function() math.randomseed(seed) end\n\
         wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
         local filters = {{\"blurred\", \"not_blurred\"}}\n\
         request = function()\n\
           local path = \"/api/v1/photos?filter=\" .. filters[math.random(1, 2)] ..\n\
             \"&limit=50&cursor=\" .. math.random(1, {max_id})\n\
           return wrk.format(\"GET\", path)\n\
         end\n"
    );
    let file = std::env::temp_dir().join(format!("classify_wrk_{}.lua", std::process::id()));
    std::fs::write(&file, script).unwrap();
    let out = std::process::Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            &clients.to_string(),
            "-d",
            "18s",
            "--latency",
            "-s",
        ])
        .arg(&file)
        .arg(base)
        .output()
        .map_err(|e| format!("wrk did not run ({e}); Debian: apt-get install wrk"))?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if let Some(line) = text.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!("wrk saw errors: {line}"));
    }
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.trim().to_string())
    };
    let ms = |v: Option<String>| -> Option<f64> {
        let v = v?;
        if let Some(us) = v.strip_suffix("us") {
            return us.parse::<f64>().ok().map(|x| x / 1000.0);
        }
        if let Some(ms) = v.strip_suffix("ms") {
            return ms.parse().ok();
        }
        v.strip_suffix('s')
            .and_then(|s| s.parse::<f64>().ok())
            .map(|x| x * 1000.0)
    };
    Ok(WrkReport {
        req_per_s: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no rate in wrk's output: {text}"))?,
        p50_ms: ms(field("50%")).unwrap_or(f64::NAN),
        p99_ms: ms(field("99%")).unwrap_or(f64::NAN),
    })
}

/// What wrk measured.
struct WrkReport {
    req_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn gallery_run(count: i64, backend: &str, clients: u64, against_pgbench: bool) {
    let (app, storage) = start(backend, 0).await;
    let pool = app.services.db.pool();
    let (user_id,): (i64,) = sqlx::query_as("SELECT id FROM users ORDER BY id LIMIT 1")
        .fetch_one(pool)
        .await
        .unwrap();
    eprintln!("inserting {count} photos ...");
    let now = server::time::now_ms();
    let mut i = 0;
    while i < count {
        let n = (count - i).min(500);
        let mut sql = String::from(
            "INSERT INTO photos (user_id, source, content_sha256, blob_key, filename, mime_type, size_bytes, width, height, blur_score, blur_type, is_blurred, status, processed_at, created_at, updated_at) VALUES ",
        );
        for k in 0..n {
            let j = i + k;
            // Every 10th photo unverified, the rest spread over the score range.
            let (score, blurred, status) = if j % 10 == 0 {
                ("NULL".to_string(), "NULL", "'unprocessed'")
            } else {
                let s = ((j * 7919) % 1000) as f64 / 1000.0;
                (format!("{s}"), if s >= 0.5 { "1" } else { "0" }, "'done'")
            };
            if k > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({user_id}, 'local', 'sha{j}', 'originals/x/{j}', 'IMG_{j}.jpg', 'image/jpeg', 2000000, 4032, 3024, {score}, 'defocus', {blurred}, {status}, {now}, {now}, {now})"
            ));
        }
        sqlx::query(&sql).execute(pool).await.unwrap();
        i += n;
    }
    if app.services.db.backend() == server::db::Backend::Postgres {
        sqlx::query("ANALYZE photos").execute(pool).await.unwrap();
    }
    let (max_id,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM photos")
        .fetch_one(pool)
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    // Against pgbench: the same query on both sides (a blurred or clear page at a random
    // cursor); otherwise every filter of the gallery.
    let filters: &'static [&'static str] = if against_pgbench {
        &["blurred", "not_blurred"]
    } else {
        &["all", "blurred", "not_blurred", "unprocessed"]
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let warmup = Instant::now() + Duration::from_secs(2);
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, token, latencies) = (
            http.clone(),
            app.base.clone(),
            app.token.clone(),
            latencies.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut state = c + 1;
            while Instant::now() < deadline {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let filter = filters[(state >> 40) as usize % filters.len()];
                let cursor = (state >> 20) as i64 % max_id + 1;
                let t = Instant::now();
                let r = http
                    .get(format!(
                        "{base}/api/v1/photos?filter={filter}&limit=50&cursor={cursor}"
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await.unwrap();
                if t > warmup {
                    latencies
                        .lock()
                        .unwrap()
                        .push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut l = latencies.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    println!(
        "gallery backend={backend} photos={count} clients={clients} requests={} req_per_s={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2}",
        l.len(),
        l.len() as f64 / 18.0,
        percentile(&l, 0.5),
        percentile(&l, 0.9),
        percentile(&l, 0.99)
    );
    if against_pgbench {
        let api = l.len() as f64 / 18.0;
        let wrk = {
            let (base, token) = (app.base.clone(), app.token.clone());
            tokio::task::spawn_blocking(move || wrk_rate(&base, &token, max_id, clients))
                .await
                .unwrap()
        };
        match &wrk {
            Ok(w) => println!(
                "gallery wrk clients={clients} req_per_s={:.0} p50_ms={:.2} p99_ms={:.2}",
                w.req_per_s, w.p50_ms, w.p99_ms
            ),
            Err(why) => println!("gallery wrk skipped: {why}"),
        }
        let url = storage.database_url.as_ref().unwrap().expose().to_string();
        let (reference, statement) = tokio::task::spawn_blocking(move || {
            (
                pgbench_reference(&url, user_id, max_id, clients),
                pgbench_api_statement(&url, user_id, max_id, clients),
            )
        })
        .await
        .unwrap();
        println!(
            "gallery-vs-pgbench api_req_per_s={api:.0} pgbench_tps={reference:.0} ratio={:.2} \
             pgbench_api_statement_tps={statement:.0} ratio_same_statement={:.2}",
            api / reference,
            api / statement
        );
        if let Ok(w) = wrk {
            println!(
                "gallery-vs-pgbench wrk_req_per_s={:.0} pgbench_tps={reference:.0} ratio={:.2} \
                 ratio_same_statement={:.2}",
                w.req_per_s,
                w.req_per_s / reference,
                w.req_per_s / statement
            );
        }
    }
    stop(app).await;
}

async fn stop(app: Running) {
    app.shutdown.cancel();
    let _ = app.handle.await;
    app.services.db.close().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("verify") => {
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
            let mode = args.get(2).map_or("embedded", String::as_str);
            verify(n, mode, args.get(3).map(String::as_str)).await;
        }
        Some("photos") => {
            let dir = PathBuf::from(args.get(1).map_or("target/bench-photos", String::as_str));
            let n: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                std::fs::write(dir.join(format!("{i:05}.jpg")), scene(i)).unwrap();
            }
            eprintln!("wrote {n} photos to {}", dir.display());
        }
        Some("pushes") => {
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
            pushes(n).await;
        }
        Some("gallery-vs-pgbench") => {
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
            gallery_run(n, "postgres", 32, true).await;
        }
        Some("gallery") => {
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
            let clients = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(32);
            gallery(n, args.get(2).map_or("postgres", String::as_str), clients).await;
        }
        _ => eprintln!(
            "usage: bench_api verify [N] [embedded|redis] [PHOTOS_DIR] | photos DIR [N] | pushes [N] | gallery [N] [postgres|embedded] | gallery-vs-pgbench [N]"
        ),
    }
}
