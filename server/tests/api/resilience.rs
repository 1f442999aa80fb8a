//! The verification queue loses nothing: a worker process killed with SIGKILL mid-batch, or
//! Redis restarted mid-batch, and every photo still ends verified exactly once.
//! These need PostgreSQL and Redis (a `classify worker` process needs a shared queue).

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::fixtures::{blurred_jpeg, sharp_jpeg};
use crate::helpers::{Backend, TestApp, free_port, serve_process, storage, wait_healthy};

/// A job held this long by a silent worker is given to another (seconds).
const JOB_TIMEOUT: u64 = 3;

async fn app_with(workers: usize, redis_url: Option<String>) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage = storage(Backend::Services, data_dir.path().to_path_buf()).await;
    storage.job_timeout_secs = JOB_TIMEOUT;
    if let Some(url) = redis_url {
        storage.redis_url = Some(url.into());
    }
    TestApp::spawn_with(storage, data_dir, |args| args.workers = workers).await
}

async fn upload_many(app: &TestApp, count: u64) {
    let files: Vec<(String, Vec<u8>)> = (0..count)
        .map(|i| {
            let bytes = if i % 3 == 0 {
                blurred_jpeg(i)
            } else {
                sharp_jpeg(i)
            };
            (format!("p{i:03}.jpg"), bytes)
        })
        .collect();
    for chunk in files.chunks(16) {
        let (status, body) = app.upload(chunk, None).await;
        assert_eq!(status, 201, "{body}");
    }
}

/// Queues verification of every photo; returns the batch id and its size.
async fn verify_all(app: &TestApp) -> (i64, i64) {
    let (status, accepted) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    (
        accepted["batch_id"].as_i64().unwrap(),
        accepted["total"].as_i64().unwrap(),
    )
}

async fn progress(app: &TestApp, job: i64) -> serde_json::Value {
    app.call(Method::GET, &format!("/api/v1/blur/jobs/{job}"), None, None)
        .await
        .1
}

/// Every photo verified, by exactly one job that is done; nothing queued or running.
async fn assert_all_verified_once(app: &TestApp, count: i64) {
    let pool = app.deps.db.pool();
    let (done,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM photos WHERE status = 'done' AND blur_score IS NOT NULL",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(done, count);
    let unfinished: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM jobs WHERE status <> 'done'")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(unfinished.is_empty(), "{unfinished:?}");
    let doubled: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT photo_id, COUNT(*) FROM jobs GROUP BY photo_id HAVING COUNT(*) <> 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(doubled.is_empty(), "{doubled:?}");
}

/// A `classify worker` process of two consumers on the app's database and queue, with this
/// job lease (`None`: the default).
fn worker_process_with(app: &TestApp, lease_secs: Option<u64>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_classify"));
    match lease_secs {
        Some(secs) => command.env("CLASSIFY_JOB_TIMEOUT_SECS", secs.to_string()),
        None => command.env_remove("CLASSIFY_JOB_TIMEOUT_SECS"),
    };
    command
        .args(["worker", "--workers", "2"])
        .env("DATABASE_URL", app.services_database_url())
        .env("REDIS_URL", app.redis_url())
        .env("CLASSIFY_REDIS_PREFIX", app.redis_prefix())
        .env("CLASSIFY_DATA_DIR", app.data_dir())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn worker_process(app: &TestApp) -> Child {
    worker_process_with(app, Some(JOB_TIMEOUT))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_nothing_and_runs_nothing_twice() {
    // The server runs no worker: separate worker processes do all the work.
    let app = app_with(0, None).await;
    upload_many(&app, 200).await;
    let mut first = worker_process(&app);
    let (job, total) = verify_all(&app).await;
    assert_eq!(total, 200);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let p = progress(&app, job).await;
        if p["done"].as_i64().unwrap() >= 10 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no progress: {p}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.start_kill().unwrap(); // SIGKILL: no chance to finish or acknowledge anything
    first.wait().await.unwrap();
    let at_kill = progress(&app, job).await;
    assert!(
        at_kill["done"].as_i64().unwrap() < 200,
        "the batch finished before the kill: {at_kill}"
    );

    let mut second = worker_process(&app);
    let last = app.wait_for_batch(job, None, 240).await;
    assert_eq!(last["done"], 200, "{last}");
    assert_eq!(last["failed"], 0, "{last}");
    assert_all_verified_once(&app, 200).await;
    second.start_kill().unwrap();
    let _ = second.wait().await;
    app.stop().await;
}

/// A private redis-server on a free port, so the test can stop and restart it.
struct OwnRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for this test");
        Self {
            port,
            child: Some(child),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn wait_up(&self) {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_batch_loses_nothing() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut redis = OwnRedis::start(port);
    redis.wait_up().await;
    let app = app_with(2, Some(redis.url())).await;
    upload_many(&app, 120).await;
    let (job, _) = verify_all(&app).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while progress(&app, job).await["done"].as_i64().unwrap() < 5 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Redis dies with every queued id (it keeps nothing on disk), then comes back empty.
    redis.kill();
    let at_kill = progress(&app, job).await;
    assert!(at_kill["done"].as_i64().unwrap() < 120, "{at_kill}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut redis = OwnRedis::start(port);
    redis.wait_up().await;

    let last = app.wait_for_batch(job, None, 240).await;
    assert_eq!(last["done"], 120, "{last}");
    assert_all_verified_once(&app, 120).await;
    app.stop().await;
    redis.kill();
}

/// Seconds from `since_ms` until every job in `ids` has been started again after it (or has
/// finished), polling the database; panics after `limit`.
async fn seconds_until_restarted(
    pool: &sqlx::AnyPool,
    ids: &[i64],
    since_ms: i64,
    limit: Duration,
) -> f64 {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let started = tokio::time::Instant::now();
    loop {
        let (again,): (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM jobs WHERE id IN ({list})
               AND (status = 'done' OR started_at > {since_ms})"
        ))
        .fetch_one(pool)
        .await
        .unwrap();
        if again == ids.len() as i64 {
            return started.elapsed().as_secs_f64();
        }
        assert!(
            started.elapsed() < limit,
            "jobs {ids:?} not running again within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn running_jobs(pool: &sqlx::AnyPool) -> Vec<i64> {
    sqlx::query_as::<_, (i64,)>("SELECT id FROM jobs WHERE status = 'running'")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(id,)| id)
        .collect()
}

/// With default settings (no job timeout set), a worker process killed with SIGKILL mid-job
/// on PostgreSQL + Redis has its jobs running again on another worker within 30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_jobs_run_again_within_30_s_with_default_settings_on_redis() {
    let data_dir = tempfile::tempdir().unwrap();
    let storage = storage(Backend::Services, data_dir.path().to_path_buf()).await;
    let app = TestApp::spawn_with(storage, data_dir, |args| args.workers = 0).await;
    upload_many(&app, 60).await;
    let worker = |app: &TestApp| worker_process_with(app, None);
    let mut first = worker(&app);
    let (batch, _) = verify_all(&app).await;
    let pool = app.deps.db.pool().clone();
    // Kill it while it holds jobs.
    while running_jobs(&pool).await.is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let killed_at = server::time::now_ms();
    // The jobs the dead process still holds (normally those seen a moment before).
    let held = running_jobs(&pool).await;
    assert!(
        !held.is_empty(),
        "the worker finished its jobs before it was killed"
    );

    let mut second = worker(&app);
    let secs = seconds_until_restarted(&pool, &held, killed_at, Duration::from_secs(30)).await;
    eprintln!("recovery after SIGKILL (postgres+redis, default settings): {secs:.1} s");
    let last = app.wait_for_batch(batch, None, 120).await;
    assert_eq!(last["done"], 60, "{last}");
    assert_all_verified_once(&app, 60).await;
    second.start_kill().unwrap();
    let _ = second.wait().await;
    app.stop().await;
}

/// The embedded default: the in-process queue dies with `classify serve`; after a restart on
/// the same data folder, with default settings, the jobs the dead process held run again
/// within 30 s and the batch finishes, every photo verified once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_resumes_its_batch_within_30_s_on_the_embedded_default() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut serve = serve_process(data_dir.path(), port, 2);
    wait_healthy(&base).await;
    let http = reqwest::Client::new();
    for chunk in 0..4u64 {
        let mut form = reqwest::multipart::Form::new();
        for i in 0..15 {
            let seed = chunk * 100 + i;
            let bytes = if i % 3 == 0 {
                blurred_jpeg(seed)
            } else {
                sharp_jpeg(seed)
            };
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(format!("p{seed}.jpg")),
            );
        }
        let r = http
            .post(format!("{base}/api/v1/photos"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let accepted: serde_json::Value = http
        .post(format!("{base}/api/v1/blur/analyze-batch"))
        .json(&json!({"filter": "all"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let batch = accepted["batch_id"].as_i64().unwrap();
    sqlx::any::install_default_drivers();
    let db = data_dir.path().join("classify.db");
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    while running_jobs(&pool).await.is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    serve.start_kill().unwrap();
    serve.wait().await.unwrap();
    let held = running_jobs(&pool).await;
    assert!(
        !held.is_empty(),
        "the server finished its jobs before it was killed"
    );

    let restarted_at = server::time::now_ms();
    let mut again = serve_process(data_dir.path(), port, 2);
    wait_healthy(&base).await;
    let secs = seconds_until_restarted(&pool, &held, restarted_at, Duration::from_secs(30)).await;
    eprintln!("recovery after SIGKILL (embedded, default settings): {secs:.1} s after restart");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let p: serde_json::Value = http
            .get(format!("{base}/api/v1/blur/jobs/{batch}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if p["done"] == 60 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (twice,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM (SELECT photo_id FROM jobs GROUP BY photo_id HAVING COUNT(*) <> 1) t",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(twice, 0);
    pool.close().await;
    again.start_kill().unwrap();
    let _ = again.wait().await;
}
