//! The verification queue loses nothing: a worker process killed with SIGKILL mid-batch, or
//! Redis restarted mid-batch, and every photo still ends verified exactly once.
//! These need PostgreSQL and Redis (a `classify worker` process needs a shared queue).

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::fixtures::{blurred_jpeg, sharp_jpeg};
use crate::helpers::{Backend, TestApp, storage};

/// A job held this long by a silent worker is given to another (seconds).
const JOB_TIMEOUT: u64 = 3;

async fn app_with(workers: usize, redis_url: Option<String>) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage = storage(Backend::Services, data_dir.path().to_path_buf()).await;
    storage.job_timeout_secs = JOB_TIMEOUT;
    if let Some(url) = redis_url {
        storage.redis_url = Some(url);
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

async fn progress(app: &TestApp, job: i64) -> serde_json::Value {
    app.call(Method::GET, &format!("/api/v1/blur/jobs/{job}"), None, None)
        .await
        .1
}

/// Every photo verified, by exactly one job that is done; nothing queued or running.
async fn assert_all_verified_once(app: &TestApp, count: i64) {
    let pool = app.services.db.pool();
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

fn worker_process(app: &TestApp) -> Child {
    let url = app.services_database_url();
    Command::new(env!("CARGO_BIN_EXE_classify"))
        .args(["worker", "--workers", "2"])
        .env("DATABASE_URL", url)
        .env("REDIS_URL", app.redis_url())
        .env("CLASSIFY_REDIS_PREFIX", app.redis_prefix())
        .env("CLASSIFY_DATA_DIR", app.data_dir())
        .env("CLASSIFY_JOB_TIMEOUT_SECS", JOB_TIMEOUT.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_nothing_and_runs_nothing_twice() {
    // The server runs no worker: separate worker processes do all the work.
    let app = app_with(0, None).await;
    upload_many(&app, 200).await;
    let mut first = worker_process(&app);
    let (status, accepted) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(accepted["total"], 200);
    let job = accepted["job_id"].as_i64().unwrap();

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
    let (status, accepted) = app
        .call(
            Method::POST,
            "/api/v1/blur/analyze-batch",
            None,
            Some(json!({"filter": "all"})),
        )
        .await;
    assert_eq!(status, 202);
    let job = accepted["job_id"].as_i64().unwrap();
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
