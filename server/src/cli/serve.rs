//! `classify serve` and `classify worker`: connect, migrate, bind, serve, run the queue
//! workers, and stop cleanly on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::Deps;
use crate::auth::{Auth, AuthMode, TokenKeys};
use crate::config::{ServeArgs, StorageArgs, WorkerArgs};
use crate::db::Database;
use crate::google::Google;
use crate::http::state::AppState;
use crate::jobs::{self, Worker, WorkerConfig};
use crate::tagging::Tagging;

/// Worker timing for these storage options (`CLASSIFY_JOB_TIMEOUT_SECS` is the lease).
pub fn worker_config(storage: &StorageArgs) -> WorkerConfig {
    WorkerConfig::with_lease(Duration::from_secs(storage.job_timeout_secs))
}

/// A bound, ready-to-run server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
    client_dir: PathBuf,
    workers: usize,
    worker_config: WorkerConfig,
    secure_cookies: bool,
    limits: crate::http::listener::ConnectionLimits,
}

impl Server {
    /// Connects, migrates and binds; after this returns, the port accepts connections.
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        let deps = Deps::connect(&args.storage).await?;
        Self::with_deps(args, deps).await
    }

    /// Binds a server over already-connected services.
    pub async fn with_deps(args: &ServeArgs, deps: Deps) -> anyhow::Result<Self> {
        // Installed before the first request so that every request is counted.
        crate::telemetry::metrics();
        let listener = TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        if args.workers == 0 && deps.queue.kind() == "memory" {
            tracing::warn!(
                "no embedded workers and no REDIS_URL: queued jobs will wait until a worker runs"
            );
        }
        jobs::recover_memory_queue(&deps).await?;
        let addr = listener.local_addr()?;
        let deps = if deps.google.is_some() {
            deps
        } else {
            let public_url = public_url(args, addr)?;
            deps.with_google(Google::from_args(
                &args.google,
                public_url.as_ref(),
                &args.storage.data_dir(),
            )?)
        };
        let deps = if deps.tagging.enabled() {
            deps
        } else {
            deps.with_tagging(Tagging::from_args(&args.tagging)?)
        };
        log_tagging(&deps.tagging);
        let mode = match &deps.google {
            Some(google) => {
                if args.public_url.is_none() && !addr.ip().is_loopback() {
                    anyhow::bail!(crate::google::ConfigError::NoPublicUrl);
                }
                tracing::info!(redirect_uri = %google.redirect_uri, "Google sign-in is on");
                AuthMode::Accounts
            }
            None => {
                if !addr.ip().is_loopback() {
                    if !args.allow_public_local_mode {
                        anyhow::bail!(
                            "refusing to start local mode (no GOOGLE_CLIENT_ID, so no sign-in) on {addr}, which is not a loopback address: anyone who can reach it would use the local user's photos. Listen on 127.0.0.1, configure Google sign-in, or, for a container whose port is published on loopback only, set CLASSIFY_ALLOW_PUBLIC_LOCAL_MODE=1"
                        );
                    }
                    tracing::warn!(
                        %addr,
                        allowed_hosts = ?args.allowed_hosts,
                        "CLASSIFY_ALLOW_PUBLIC_LOCAL_MODE: local mode (no sign-in) on a non-loopback address. ANYONE WHO CAN REACH THIS PORT USES THE LOCAL USER'S PHOTOS. Publish it on loopback only; requests are still refused unless their Host is a loopback name or in CLASSIFY_ALLOWED_HOSTS"
                    );
                }
                let user_id = crate::db::users::ensure_local(deps.db.pool()).await?;
                AuthMode::Local { user_id }
            }
        };
        let secret = crate::auth::keys::load_or_create(
            args.secret_key.as_ref().map(crate::config::Secret::expose),
            &args.storage.data_dir(),
        )?;
        let deps_db = deps.db.clone();
        let state = AppState {
            deps,
            auth: Arc::new(Auth {
                mode,
                keys: TokenKeys::new(&secret),
                allowed_hosts: args
                    .allowed_hosts
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect(),
                versions: Arc::default(),
            }),
            quota: args.quota.quota(),
            started: Arc::new(Instant::now()),
            watch: crate::jobs::watch::BatchWatch::new(
                deps_db,
                usize::try_from(args.max_streams_per_user).unwrap_or(usize::MAX),
            ),
            stream_max: std::time::Duration::from_secs(args.stream_max_secs),
        };
        Ok(Self {
            listener,
            state,
            worker_config: worker_config(&args.storage),
            secure_cookies: args.secure_cookies,
            limits: crate::http::listener::ConnectionLimits {
                header_read_timeout: args.header_read_timeout,
                max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            },
            client_dir: args.client_dir.clone().unwrap_or_else(default_client_dir),
            workers: args.workers,
        })
    }

    /// The shared state handlers see (tests use it to mint tokens and reach the database).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` fires, then drains requests and workers.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        let deps = self.state.deps.clone();
        let mut workers = spawn_workers(&deps, self.workers, self.worker_config.clone(), &shutdown);
        tracing::info!(
            %addr,
            database = deps.db.backend().name(),
            queue = deps.queue.kind(),
            workers = self.workers,
            client = %self.client_dir.display(),
            "classify is serving on http://{addr}/"
        );
        workers.spawn(purge_expired_sessions(deps.db.clone(), shutdown.clone()));
        workers.spawn(
            self.state
                .auth
                .versions
                .clone()
                .listen(deps.db.clone(), shutdown.clone()),
        );
        if deps.google.is_some() {
            workers.spawn(crate::photos::remote::purge_loop(
                deps.clone(),
                shutdown.clone(),
            ));
        }
        // Open event streams end at shutdown: the listener waits for every connection to
        // finish, and a browser tab's stream would otherwise hold it until the grace period.
        let watch = self.state.watch.clone();
        let closing = shutdown.clone();
        tokio::spawn(async move {
            closing.cancelled().await;
            watch.close();
        });
        let app = crate::http::router(self.state, self.client_dir, self.secure_cookies);
        crate::http::listener::serve(self.listener, app, self.limits, shutdown.clone()).await;
        shutdown.cancel();
        while workers.join_next().await.is_some() {}
        deps.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The origin browsers reach this server at: `CLASSIFY_PUBLIC_URL`, else `http://<addr>` on
/// loopback (the local try-out and tests), else none.
fn public_url(args: &ServeArgs, addr: SocketAddr) -> anyhow::Result<Option<url::Url>> {
    if let Some(url) = &args.public_url {
        return Ok(Some(url.clone()));
    }
    if addr.ip().is_loopback() {
        return Ok(Some(url::Url::parse(&format!("http://{addr}/"))?));
    }
    Ok(None)
}

/// How often expired browser sessions are deleted.
const SESSION_PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Deletes expired sessions now and then, until `shutdown` fires. Every replica runs it; the
/// DELETE is idempotent, so overlapping runs are harmless.
async fn purge_expired_sessions(db: Database, shutdown: CancellationToken) {
    use tower_sessions::session_store::ExpiredDeletion;
    let store = crate::auth::sessions::DbSessionStore::new(db);
    loop {
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SESSION_PURGE_EVERY) => {}
        }
    }
}

/// Starts `count` workers that stop when `shutdown` fires.
pub fn spawn_workers(
    deps: &Deps,
    count: usize,
    config: WorkerConfig,
    shutdown: &CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for _ in 0..count {
        let worker = Worker::new(deps.clone(), config.clone());
        set.spawn(worker.run(shutdown.clone()));
    }
    set
}

/// Runs queue consumers only, until SIGTERM or Ctrl-C (`classify worker`).
pub async fn run_worker_process(
    args: &WorkerArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let storage = &args.storage;
    let count = args.workers;
    if storage
        .redis_url
        .as_ref()
        .is_none_or(|u| u.expose().trim().is_empty())
    {
        anyhow::bail!(
            "`classify worker` needs REDIS_URL: without Redis the queue lives inside `classify serve`, which runs its own workers"
        );
    }
    let deps = Deps::connect(storage)
        .await?
        .with_google(Google::from_args(&args.google, None, &storage.data_dir())?)
        .with_tagging(Tagging::from_args(&args.tagging)?);
    log_tagging(&deps.tagging);
    tracing::info!(
        workers = count,
        database = deps.db.backend().name(),
        "classify worker started"
    );
    let mut set = spawn_workers(&deps, count.max(1), worker_config(storage), &shutdown);
    if deps.google.is_some() {
        set.spawn(crate::photos::remote::purge_loop(
            deps.clone(),
            shutdown.clone(),
        ));
    }
    while set.join_next().await.is_some() {}
    deps.db.close().await;
    Ok(())
}

/// Says at start whether photos may leave the server, and for where.
fn log_tagging(tagging: &Tagging) {
    if tagging.enabled() {
        let cost = tagging.photo_cost();
        tracing::info!(
            provider = %tagging.provider,
            model = %tagging.model,
            detail = tagging.detail.as_str(),
            tokens_per_minute = tagging.tokens_per_minute,
            tokens_per_photo = cost.tokens,
            usd_per_photo = cost.usd,
            "AI tagging is on: photos the users tag are sent to {}",
            tagging.provider
        );
    } else {
        tracing::info!(
            "AI tagging is off (no OPENAI_API_KEY or OPENAI_BASE_URL, or CLASSIFY_TAGGING=false)"
        );
    }
}

/// `client/dist` under the current folder if it is there, else next to the executable.
fn default_client_dir() -> PathBuf {
    let local = PathBuf::from("client/dist");
    if local.join("index.html").is_file() {
        return local;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|p| p.join("dist")))
        .filter(|p| p.join("index.html").is_file())
        .unwrap_or(local)
}

/// A token cancelled by SIGTERM or Ctrl-C. The handlers are registered before this returns, so
/// a signal that arrives as soon as the server says it is serving is never missed (the default
/// action would kill the process mid-request).
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let (mut term, mut int) = signals;
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term.take()) => {}
                _ = wait(int.take()) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        // Cancel first: logging can fail (a closed stderr), and shutdown must not depend on it.
        cancel.cancel();
        tracing::info!("shutting down");
    });
    token
}
