//! The typed PostgreSQL pool behind `db::typed`: sqlx connections in a `deadpool` pool that
//! checks a connection only when it may have gone bad, not around every statement.
//!
//! sqlx's own pool sends a round trip of its own (a `Sync`) when it hands a connection out and
//! another when it takes one back, so a one-statement gallery read or job step cost three round
//! trips instead of one, each waking this process and a PostgreSQL backend. Here a connection is
//! checked before use only when it sat unused for longer than [`CHECK_AFTER_IDLE`] (a database
//! restart or a dropped link takes longer than that, the same bypass window HikariCP uses), or
//! when its last statement failed or never finished (a request cancelled mid-statement leaves
//! replies unread; the check reads them off before the connection is reused). A connection that
//! fails its check is closed and replaced.
//!
//! A connection lost within that window (the database restarted in less time, or a link cut)
//! fails the statement that finds it so. When that connection had not been checked for this
//! use, `db::typed` counts a loss, which makes every pooled connection checked before its next
//! use, and runs the statement once more: so an outage fails no more statements than sqlx's
//! check on every use would have. Only failures that show the connection gone are retried,
//! once (see [`lost_before_running`] for why a repeat is safe for this pool's statements).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

/// How long a connection may sit unused before it is checked again before use.
pub const CHECK_AFTER_IDLE: Duration = Duration::from_millis(500);

/// How long a statement waits for a free connection, and a new connection for PostgreSQL.
const WAIT: Duration = Duration::from_secs(5);

/// One pooled connection and whether its last use ended cleanly.
#[derive(Debug)]
pub struct PooledConnection {
    /// The connection.
    pub raw: PgConnection,
    /// Set while a statement runs and kept when it fails: the connection may hold unread
    /// replies or be broken, so it is checked before anyone uses it again.
    pub suspect: bool,
    /// Whether it was opened or checked for this use.
    pub checked: bool,
    /// The pool's count of lost connections when this one was last checked.
    losses_seen: u64,
}

/// Opens and checks the pool's connections.
pub struct Manager {
    options: PgConnectOptions,
    /// Connections found lost on unchecked use; a change makes every connection checked.
    losses: AtomicU64,
}

impl Manager {
    /// Notes that a connection was found lost: every pooled one is checked before its next use.
    pub fn count_loss(&self) {
        self.losses.fetch_add(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Manager {
    // The options hold the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("host", &self.options.get_host())
            .field("database", &self.options.get_database())
            .finish_non_exhaustive()
    }
}

impl managed::Manager for Manager {
    type Type = PooledConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PooledConnection, sqlx::Error> {
        let mut raw = self.options.connect().await?;
        // A page binds its LIMIT, and PostgreSQL rates a generic plan of an unknown LIMIT as
        // reading a tenth of the table, so by default it plans every execution anew (a custom
        // plan), which cost a third of its time per page here. Every statement on this pool is
        // a primary-key or keyset read or write whose plan does not depend on the values bound.
        sqlx::query("SET plan_cache_mode = force_generic_plan")
            .execute(&mut raw)
            .await?;
        Ok(PooledConnection {
            raw,
            suspect: false,
            checked: true,
            losses_seen: self.losses.load(Ordering::Relaxed),
        })
    }

    async fn recycle(
        &self,
        conn: &mut PooledConnection,
        metrics: &Metrics,
    ) -> RecycleResult<sqlx::Error> {
        let losses = self.losses.load(Ordering::Relaxed);
        conn.checked = needs_check(conn.suspect, metrics.last_used()) || conn.losses_seen != losses;
        if conn.checked {
            conn.raw.ping().await.map_err(RecycleError::Backend)?;
            conn.suspect = false;
            conn.losses_seen = losses;
        }
        Ok(())
    }
}

/// Whether a connection is checked before its next use.
fn needs_check(suspect: bool, since_last_use: Duration) -> bool {
    suspect || since_last_use > CHECK_AFTER_IDLE
}

/// The pool.
pub type PgPool = managed::Pool<Manager>;

/// A pool of at most `size` connections to `url`, opened as they are needed.
pub fn build(url: &str, size: u32) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    managed::Pool::builder(Manager {
        options,
        losses: AtomicU64::new(0),
    })
    .max_size(usize::try_from(size.max(1)).unwrap_or(1))
    .runtime(deadpool::Runtime::Tokio1)
    .wait_timeout(Some(WAIT))
    .create_timeout(Some(WAIT))
    .recycle_timeout(Some(WAIT))
    .build()
    .map_err(|e| sqlx::Error::Configuration(e.into()))
}

/// A connection of its own on the pool's database that listens for notifications.
pub async fn listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let options = pool.manager().options.clone();
    let one = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(WAIT)
        .connect_lazy_with(options);
    PgListener::connect_with(&one).await
}

/// Whether `error` shows the connection was gone before the statement could run: the socket
/// failed, or PostgreSQL had already ended the backend (SQLSTATE class 57P: shut down or
/// terminated) or the link (class 08). A statement that fails so never ran, so running it again
/// on another connection cannot apply it twice. `Io` is included because a write to a
/// connection the server already closed fails that way; a link that breaks halfway through a
/// statement fails the same way, and the statements on this pool are single, guarded
/// statements, so a repeat changes nothing that already happened.
pub fn lost_before_running(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        _ => false,
    }
}

/// A free connection, checked when it needs to be. It counts as suspect until its user says
/// the statement ended cleanly (`conn.suspect = result.is_err()`), so one dropped mid-statement
/// is checked before its next use.
pub async fn get(pool: &PgPool) -> Result<managed::Object<Manager>, sqlx::Error> {
    let mut conn = pool.get().await.map_err(|e| match e {
        managed::PoolError::Backend(e) => e,
        managed::PoolError::Closed => sqlx::Error::PoolClosed,
        managed::PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
        // No hooks and a runtime are configured, so these would be a setup mistake: say which.
        other => sqlx::Error::Configuration(other.to_string().into()),
    })?;
    conn.suspect = true;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_checked_only_when_idle_long_or_interrupted() {
        assert!(!needs_check(false, Duration::from_millis(3)));
        assert!(!needs_check(false, CHECK_AFTER_IDLE));
        assert!(needs_check(
            false,
            CHECK_AFTER_IDLE + Duration::from_millis(1)
        ));
        assert!(needs_check(true, Duration::ZERO));
    }
}
