//! Users' token versions, kept in the process while PostgreSQL can announce every change.
//!
//! A bearer request must not outlive a logout or a deleted account, so each one compares its
//! token's version with the user's current one. Reading it from the database doubled the
//! round trips of a gallery page. On PostgreSQL a trigger (migration 0009) announces every
//! change of a user's version and every deleted user on [`CHANNEL`], and each server process
//! listens: it keeps a version only while its listener is connected, and drops it when the
//! announcement arrives (milliseconds after the change commits; the process that made the
//! change drops its own copy before it answers). Without a listener (SQLite, or PostgreSQL
//! while the listening connection is down or its probes do not come back) every request reads
//! the database, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::tokens;
use crate::db::Database;
use crate::db::typed::Arg;

/// The notification channel the users table's trigger announces changes on.
pub const CHANNEL: &str = "classify_token_version";

/// How long a kept version is trusted even with no announcement: a bound on what a lost
/// announcement could cost, not the way changes are learnt.
const KEEP_FOR: Duration = Duration::from_secs(30);

/// The most users kept at once; past it the cache starts over, so memory stays bounded.
const MAX_USERS: usize = 100_000;

/// How often the listener checks, by a notification of its own, that announcements still
/// arrive; one that has not come back by the next check ends the keeping.
const PROBE_EVERY: Duration = Duration::from_secs(10);

/// How long the listener waits before connecting again after losing its connection.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The versions this process has read, and whether it may keep them.
#[derive(Debug, Default)]
pub struct TokenVersions {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// True while the listener is connected and listening: only then is anything kept.
    listening: bool,
    /// Counts announcements and listener changes, so a read that raced one is not kept.
    generation: u64,
    /// User id → the version (`None`: no such user) and when it was read.
    users: HashMap<i64, (Option<i64>, Instant)>,
}

impl State {
    fn forget_all(&mut self) {
        self.generation += 1;
        self.users.clear();
    }
}

impl TokenVersions {
    /// The user's token version; `None` when the user no longer exists.
    pub async fn current(&self, db: &Database, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
        let generation = {
            let state = self.lock();
            if state.listening
                && let Some((version, read_at)) = state.users.get(&user_id)
                && read_at.elapsed() < KEEP_FOR
            {
                return Ok(*version);
            }
            state.generation
        };
        let version = tokens::current_version(db, user_id).await?;
        let mut state = self.lock();
        // An announcement since the read may be about this user: the read may predate it.
        if state.listening && state.generation == generation {
            if state.users.len() >= MAX_USERS {
                state.users.clear();
            }
            state.users.insert(user_id, (version, Instant::now()));
        }
        Ok(version)
    }

    /// Drops what is kept of one user (an announcement, or this process changed them).
    pub fn forget(&self, user_id: i64) {
        let mut state = self.lock();
        state.generation += 1;
        state.users.remove(&user_id);
    }

    /// Drops everything kept.
    fn forget_all(&self) {
        self.lock().forget_all();
    }

    /// Whether anything may be kept from now on; everything kept so far is dropped.
    fn set_listening(&self, listening: bool) {
        let mut state = self.lock();
        state.forget_all();
        state.listening = listening;
    }

    /// Whether versions are being kept (the listener hears its own probes).
    pub fn is_listening(&self) -> bool {
        self.lock().listening
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is valid after any panic: at worst a version is read again.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Listens for announcements until `shutdown` fires, connecting again whenever the
    /// connection drops. Returns at once on SQLite, where nothing is kept.
    pub async fn listen(self: Arc<Self>, db: Database, shutdown: CancellationToken) {
        loop {
            let Some(connected) = db.listener().await else {
                return;
            };
            match connected {
                Ok(mut listener) => match listener.listen(CHANNEL).await {
                    Ok(()) => {
                        tokio::select! {
                            _ = shutdown.cancelled() => {}
                            why = self.hear(&db, &mut listener) => tracing::warn!(
                                why,
                                "token-version announcements stopped; reading versions from the database until they are back"
                            ),
                        }
                        self.set_listening(false);
                        if shutdown.is_cancelled() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for token-version changes"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot connect the token-version listener"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(RECONNECT_AFTER) => {}
            }
        }
    }

    /// Acts on announcements until they stop arriving; returns why. Versions are kept only
    /// once this listener has heard a probe of its own, and only while each probe comes back
    /// before the next is due: a listener that stays connected but hears nothing (a
    /// transaction-mode pooler between us and PostgreSQL does not carry LISTEN) keeps nothing.
    async fn hear(&self, db: &Database, listener: &mut PgListener) -> &'static str {
        let mut probes = tokio::time::interval(PROBE_EVERY);
        let mut awaited: Option<String> = None;
        loop {
            tokio::select! {
                _ = probes.tick() => {
                    if awaited.is_some() {
                        return "a probe did not come back";
                    }
                    let probe = format!("probe-{:016x}", rand::random::<u64>());
                    let sent = db
                        .execute("SELECT pg_notify($1, $2)", &[Arg::Text(CHANNEL), Arg::Text(&probe)])
                        .await;
                    if sent.is_err() {
                        return "a probe could not be sent";
                    }
                    awaited = Some(probe);
                }
                heard = listener.try_recv() => match heard {
                    Ok(Some(note)) => {
                        if awaited.as_deref() == Some(note.payload()) {
                            awaited = None;
                            if !self.is_listening() {
                                self.set_listening(true);
                            }
                        } else if let Ok(user_id) = note.payload().parse::<i64>() {
                            self.forget(user_id);
                        } else if !note.payload().starts_with("probe-") {
                            // Not ours to read: start over rather than guess.
                            self.forget_all();
                        }
                    }
                    Ok(None) | Err(_) => return "the listening connection was lost",
                },
            }
        }
    }
}
