//! The test harness: a real server on port 0 over a fresh database, and a switchable TCP proxy
//! that makes a dependency "go away" and "come back" without touching the shared services.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use server::app::Deps;
use server::cli::serve::Server;
use server::config::{ServeArgs, StorageArgs};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A photo row for tests that write the database directly: a 1 × 1 local JPEG with no camera
/// data; fill in what a test is about with `..bare_photo(user, sha)`.
pub fn bare_photo(user_id: i64, sha256: &str) -> server::db::photos::NewPhoto<'_> {
    server::db::photos::NewPhoto {
        user_id,
        source: server::db::photos::Source::Local,
        sha256,
        blob_key: "originals/x",
        filename: "x.jpg",
        mime_type: "image/jpeg",
        size_bytes: 1,
        width: 1,
        height: 1,
        exposure_time_s: None,
        focal_length_mm: None,
        taken_at: None,
        camera_make: None,
        camera_model: None,
        aperture_f_number: None,
        iso: None,
    }
}

/// Which storage a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file + in-process queue: what a fresh `classify serve` uses.
    Embedded,
    /// The real PostgreSQL and Redis of this machine.
    Services,
}

/// Generates one `#[tokio::test]` per backend from an `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Embedded).await;
                }
            )*
        }
        mod postgres_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Services).await;
                }
            )*
        }
    };
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn test_database_admin_url() -> String {
    std::env::var("CLASSIFY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn test_redis_url() -> String {
    std::env::var("CLASSIFY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Creates an empty PostgreSQL database for one test and returns its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let admin = test_database_admin_url();
    let name = unique("classify_test");
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed for this test ({admin}): {e}. Start it with \
             `docker compose -f docker-compose.services.yml up -d` or set CLASSIFY_TEST_DATABASE_URL"
            )
        });
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// Drops a database made by [`fresh_postgres_database`] (best effort: a leftover is harmless).
pub async fn drop_postgres_database(url: &str) {
    use sqlx::{Connection, Executor};
    let name = url::Url::parse(url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_string();
    if !name.starts_with("classify_test_") {
        return;
    }
    if let Ok(mut conn) = sqlx::AnyConnection::connect(&test_database_admin_url()).await {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
    }
}

/// Storage options for a backend: a temp folder always, plus Postgres + Redis when asked.
pub async fn storage(backend: Backend, data_dir: PathBuf) -> StorageArgs {
    let mut storage = StorageArgs::embedded(data_dir);
    if backend == Backend::Services {
        storage.database_url = Some(fresh_postgres_database().await.into());
        storage.redis_url = Some(test_redis_url().into());
        storage.redis_prefix = unique("classify_test");
    }
    storage
}

/// A running server and what the test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub deps: Deps,
    /// Signs bearer tokens exactly as the server checks them.
    pub auth: Arc<server::auth::Auth>,
    pub database_url: Option<String>,
    storage: StorageArgs,
    shutdown: CancellationToken,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts a server with no embedded workers (tests drive workers themselves).
    pub async fn spawn(backend: Backend) -> TestApp {
        let data_dir = tempfile::tempdir().unwrap();
        let storage = storage(backend, data_dir.path().to_path_buf()).await;
        Self::spawn_with(storage, data_dir, |_| {}).await
    }

    /// Starts a server over `storage`, after `tweak` adjusts its options.
    pub async fn spawn_with(
        storage: StorageArgs,
        data_dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut ServeArgs),
    ) -> TestApp {
        let mut args = ServeArgs::new(storage);
        args.workers = 0;
        args.client_dir = Some(data_dir.path().join("no-client"));
        tweak(&mut args);
        let database_url = args
            .storage
            .database_url
            .as_ref()
            .map(|u| u.expose().to_string())
            .filter(|u| u.starts_with("postgres"));
        let storage = args.storage.clone();
        let deps = Deps::connect(&args.storage).await.unwrap();
        let server = Server::with_deps(&args, deps.clone()).await.unwrap();
        let addr = server.local_addr().unwrap();
        let auth = server.state().auth.clone();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(server.run(shutdown.clone()));
        TestApp {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            deps,
            auth,
            database_url,
            storage,
            shutdown,
            handle: Some(handle),
            _data_dir: data_dir,
        }
    }

    /// Starts a server whose embedded workers verify photos.
    pub async fn spawn_with_workers(backend: Backend, workers: usize) -> TestApp {
        let data_dir = tempfile::tempdir().unwrap();
        let storage = storage(backend, data_dir.path().to_path_buf()).await;
        Self::spawn_with(storage, data_dir, |args| args.workers = workers).await
    }

    /// The PostgreSQL URL of this test's database.
    pub fn services_database_url(&self) -> String {
        self.database_url.clone().expect("a PostgreSQL-backed app")
    }

    /// The Redis URL this app's queue uses.
    pub fn redis_url(&self) -> String {
        self.storage
            .redis_url
            .as_ref()
            .map(|u| u.expose().to_string())
            .expect("a Redis-backed app")
    }

    /// The Redis key prefix of this app.
    pub fn redis_prefix(&self) -> String {
        self.storage.redis_prefix.clone()
    }

    /// The server's data folder (blobs live in `blobs/` under it).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// The local user of local mode.
    pub fn local_user(&self) -> i64 {
        match self.auth.mode {
            server::auth::AuthMode::Local { user_id } => user_id,
            server::auth::AuthMode::Accounts => panic!("not in local mode"),
        }
    }

    /// A new user (as Google sign-in will create them) and an access token for them.
    pub async fn new_user(&self, name: &str) -> (i64, String) {
        let id = server::db::users::create(self.deps.db.pool(), Some(&unique(name)), Some(name))
            .await
            .unwrap();
        (id, self.auth.keys.access_token(id, 0).unwrap())
    }

    /// A request to `path`, with a bearer token when given.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    /// Sends a request and returns its status and JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut builder = self.request(method, path, token);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("{path} answered {status} with a non-JSON body: {bytes:?}")
            })
        };
        (status, json)
    }

    /// Uploads files as one multipart request.
    pub async fn upload(
        &self,
        files: &[(String, Vec<u8>)],
        token: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.clone()),
            );
        }
        let response = self
            .request(reqwest::Method::POST, "/api/v1/photos", token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Queues verification of every photo of the local user and waits up to `secs` for the
    /// batch to finish, returning its last progress.
    pub async fn verify_all(&self, secs: u64) -> serde_json::Value {
        let (status, batch) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/blur/analyze-batch",
                None,
                Some(serde_json::json!({"filter": "all"})),
            )
            .await;
        assert_eq!(status, 202, "{batch}");
        self.wait_for_batch(batch["batch_id"].as_i64().unwrap(), None, secs)
            .await
    }

    /// Waits until batch `job_id` has finished, returning its last progress.
    pub async fn wait_for_batch(
        &self,
        job_id: i64,
        token: Option<&str>,
        secs: u64,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let (status, body) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/blur/jobs/{job_id}"),
                    token,
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            if body["status"] == "done" || body["status"] == "failed" {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "batch {job_id} did not finish in {secs} s: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Stops the server gracefully, waits for it, and drops the test's PostgreSQL database.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
        self.deps.db.close().await;
        if let Some(url) = self.database_url.take() {
            drop_postgres_database(&url).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A TCP proxy in front of a real service. `set_up(false)` cuts every open connection and
/// refuses new ones (the service "went away"); `set_up(true)` brings it back.
#[derive(Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let proxy = Proxy {
            addr,
            up: up.clone(),
            generation: generation.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = generation.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        proxy
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            self.generation.send_modify(|g| *g += 1);
        }
    }
}

/// The socket address in a `scheme://[user@]host:port/...` URL.
pub fn socket_of(url: &str) -> SocketAddr {
    let parsed = url::Url::parse(url).unwrap();
    let host = parsed.host_str().unwrap();
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{}", parsed.port_or_known_default().unwrap())
        .parse()
        .unwrap()
}

/// The same URL pointing at `addr` instead.
pub fn with_socket(url: &str, addr: SocketAddr) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_host(Some(&addr.ip().to_string())).unwrap();
    parsed.set_port(Some(addr.port())).unwrap();
    parsed.to_string()
}

/// Polls `check` every 200 ms until it returns true or `secs` pass.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    false
}

/// A free TCP port on loopback (bound and released, so a child process can take it).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `classify serve` as its own process on the embedded default (SQLite file + in-process queue),
/// with `workers` embedded workers and every timing at its default.
pub fn serve_process(data_dir: &std::path::Path, port: u16, workers: u16) -> tokio::process::Child {
    serve_process_with(data_dir, port, workers, &[])
}

/// [`serve_process`] with `envs` set on top.
pub fn serve_process_with(
    data_dir: &std::path::Path,
    port: u16,
    workers: u16,
    envs: &[(&str, &str)],
) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_classify"));
    command
        .args([
            "serve",
            "--workers",
            &workers.to_string(),
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("CLASSIFY_DATA_DIR", data_dir)
        .env("CLASSIFY_CLIENT_DIR", data_dir.join("no-client"))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("CLASSIFY_JOB_TIMEOUT_SECS")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

/// Uploads one file to the server at `base` (local mode, no token) and returns its photo id.
pub async fn upload_one(http: &reqwest::Client, base: &str, bytes: Vec<u8>, name: &str) -> i64 {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let uploaded: serde_json::Value = http
        .post(format!("{base}/api/v1/photos"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    uploaded["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no photo id in {uploaded}"))
}

/// A process's peak resident memory, in MiB, from the kernel's own accounting (`VmHWM` in
/// /proc/PID/status, Linux).
pub fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

pub async fn wait_healthy(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server at {base} did not come up");
}
