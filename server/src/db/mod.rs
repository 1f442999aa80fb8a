//! The database: one pool over PostgreSQL (production) or an embedded SQLite file (the
//! try-out default), chosen at runtime from `DATABASE_URL`, and the migrations for each.
//!
//! Queries go through sqlx's `Any` driver, so one set of SQL serves both backends; the schema
//! keeps to the types both share (see migrations/README.md). The hot statements (gallery pages,
//! the per-request token check, a job's start and end) run from the same SQL on a typed
//! PostgreSQL pool instead (`typed`); on PostgreSQL the two pools share the process's
//! `DATABASE_MAX_CONNECTIONS` ([`pool_sizes`]).
//!
//! # Nullable binds
//! On PostgreSQL, the `Any` driver prepares a cached statement with the type of the first
//! values bound; when a parameter is first bound as `None`, later binds of `Some(f64)` on the
//! same connection fail ("incorrect binary data format"). Every `Any` query that binds an
//! `Option` therefore calls `.persistent(false)`, so it is prepared with the types of each
//! execution. Statements run through `typed` bind a `None` with its type and stay cached.
//! `tests/api/photos.rs` (`nullable_values_bind_in_any_order`) guards both.

pub mod albums;
pub mod batches;
pub mod gallery;
pub mod google;
pub mod jobs;
pub mod media_cache;
pub mod pg_pool;
pub mod photo_row;
pub mod photos;
pub mod picker;
pub mod sharpness_map;
pub mod tags;
pub mod typed;
pub mod users;

use std::path::Path;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection};

use crate::config::StorageArgs;

/// How long start-up waits for the database to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL, for production.
    Postgres,
    /// An embedded SQLite file, for the local try-out.
    Sqlite,
}

impl Backend {
    /// The name shown in health reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }

    /// The backend a database URL names, if any we support.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme {
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "sqlite" => Ok(Backend::Sqlite),
            _ => Err(DbError::UnsupportedUrl(redact(url))),
        }
    }
}

/// Why the database could not be opened or prepared.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names no backend we support.
    #[error(
        "unsupported DATABASE_URL '{0}': use postgres://user:password@host:5432/database or sqlite://path/to/file.db"
    )]
    UnsupportedUrl(String),
    /// The data folder for the embedded database could not be created.
    #[error("cannot create the data folder {path}")]
    DataDir {
        /// The folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server did not answer or refused the connection.
    #[error("cannot connect to the database at {url}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed")]
    Query(#[source] sqlx::Error),
    /// Migrations are pending and this process was told not to apply them.
    #[error(
        "the database has {0} pending migration(s): run `classify migrate` first (this process does not migrate: CLASSIFY_MIGRATE_AT_START=false)"
    )]
    Pending(usize),
}

/// A connected pool and the backend behind it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    /// The typed pool for the hot statements, on PostgreSQL only (see `typed`).
    pg: Option<pg_pool::PgPool>,
    backend: Backend,
}

impl Database {
    /// Connects to `DATABASE_URL`, or opens (creating it if needed) the embedded database in
    /// the data folder. Fails fast with a clear error when the database is unreachable.
    pub async fn connect(storage: &StorageArgs) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let url = match &storage.database_url {
            Some(url) if !url.expose().trim().is_empty() => url.expose().to_string(),
            _ => embedded_url(&storage.data_dir())?,
        };
        let backend = Backend::from_url(&url)?;
        let connect_error = |source| DbError::Connect {
            url: redact(&url),
            source,
        };
        // One direct connection first: the pool would hide "connection refused" or "database
        // does not exist" behind a generic pool timeout.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(&url))
            .await
            .map_err(|_| connect_error(sqlx::Error::PoolTimedOut))?
            .map_err(connect_error)?;
        let _ = probe.close().await;
        let (any_size, typed_size) = pool_sizes(backend, storage.database_max_connections);
        let pool = AnyPoolOptions::new()
            .max_connections(any_size)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&url)
            .await
            .map_err(connect_error)?;
        let mut pg = None;
        match backend {
            Backend::Sqlite => {
                // WAL lets the gallery read while a worker writes; it persists in the file.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await
                    .map_err(connect_error)?;
            }
            Backend::Postgres => {
                // Opened as needed; the probe above already showed the database answers.
                pg = Some(pg_pool::build(&url, typed_size).map_err(connect_error)?);
            }
        }
        Ok(Self { pool, pg, backend })
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::Postgres => &POSTGRES_MIGRATOR,
            Backend::Sqlite => &SQLITE_MIGRATOR,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// How many of this backend's migrations the database has not applied (all of them when it
    /// was never migrated). Reads only; creates nothing.
    pub async fn pending_migrations(&self) -> Result<usize, DbError> {
        use sqlx::migrate::Migrate;
        let migrator = match self.backend {
            Backend::Postgres => &POSTGRES_MIGRATOR,
            Backend::Sqlite => &SQLITE_MIGRATOR,
        };
        let mut conn = self.pool.acquire().await.map_err(DbError::Query)?;
        // No migrations table yet: nothing is applied.
        let applied = conn.list_applied_migrations().await.unwrap_or_default();
        Ok(migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .filter(|m| !applied.iter().any(|a| a.version == m.version))
            .count())
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A listener for PostgreSQL's notifications on a connection of its own; `None` on SQLite.
    pub async fn listener(&self) -> Option<Result<sqlx::postgres::PgListener, sqlx::Error>> {
        match &self.pg {
            Some(pg) => Some(pg_pool::listener(pg).await),
            None => None,
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(pg) = &self.pg {
            // Idle connections are dropped: PostgreSQL ends a backend whose client left outside
            // a transaction without logging a word.
            pg.close();
        }
    }
}

/// How many connections each pool may open, `Any` then typed, out of the process's budget:
/// the whole budget on SQLite (no typed pool); on PostgreSQL half each, so the documented
/// connections per process still hold (at least one each, so a budget of 1 opens 2).
pub fn pool_sizes(backend: Backend, budget: u32) -> (u32, u32) {
    let budget = budget.max(1);
    match backend {
        Backend::Sqlite => (budget, 0),
        Backend::Postgres => ((budget / 2).max(1), (budget - budget / 2).max(1)),
    }
}

fn embedded_url(data_dir: &Path) -> Result<String, DbError> {
    let data_dir_error = |source| DbError::DataDir {
        path: data_dir.display().to_string(),
        source,
    };
    crate::private_file::ensure_dir(data_dir).map_err(data_dir_error)?;
    // The database holds sessions, token hashes and (encrypted) Google tokens: created 0600
    // here before SQLite opens it, so its journal files inherit the mode; files from before
    // are narrowed.
    let file = data_dir.join("classify.db");
    crate::private_file::ensure_file(&file).map_err(data_dir_error)?;
    for journal in ["classify.db-wal", "classify.db-shm"] {
        let path = data_dir.join(journal);
        if path.exists() {
            crate::private_file::ensure_file(&path).map_err(data_dir_error)?;
        }
    }
    // mode=rwc: an empty file is an empty database, created on first use.
    Ok(format!("sqlite://{}?mode=rwc", file.display()))
}

/// The URL with any password replaced, safe to print.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot have one, which we just ruled out.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend() {
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("sqlite:///tmp/x.db").unwrap(),
            Backend::Sqlite
        );
        assert!(matches!(
            Backend::from_url("mysql://u:secret@h/db"),
            Err(DbError::UnsupportedUrl(u)) if !u.contains("secret")
        ));
    }

    #[test]
    fn the_connection_budget_is_shared_by_the_pools() {
        assert_eq!(pool_sizes(Backend::Sqlite, 10), (10, 0));
        assert_eq!(pool_sizes(Backend::Postgres, 10), (5, 5));
        assert_eq!(pool_sizes(Backend::Postgres, 3), (1, 2));
        assert_eq!(pool_sizes(Backend::Postgres, 1), (1, 1));
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://user:hunter2@db:5432/classify"),
            "postgres://user:***@db:5432/classify"
        );
        assert_eq!(redact("postgres://db/classify"), "postgres://db/classify");
    }

    #[tokio::test]
    async fn the_embedded_database_is_created_and_migrated_on_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let storage = StorageArgs::embedded(dir.path().join("nested"));
        let db = Database::connect(&storage).await.unwrap();
        db.migrate().await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        assert!(dir.path().join("nested/classify.db").exists());
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY name",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        let names: Vec<_> = tables.into_iter().map(|t| t.0).collect();
        for table in [
            "albums",
            "jobs",
            "oauth_tokens",
            "photo_tags",
            "photos",
            "users",
        ] {
            assert!(
                names.iter().any(|n| n == table),
                "missing {table} in {names:?}"
            );
        }
        // A second start finds nothing left to apply.
        db.migrate().await.unwrap();
    }
}
