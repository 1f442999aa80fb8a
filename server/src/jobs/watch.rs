//! Batch progress for open event streams: one poller per process, however many streams are open.
//!
//! Each stream used to poll the database itself (two queries every 250 ms, so 300 idle streams
//! cost a tenth of a core). Now a stream subscribes here and sleeps until its batch's counts
//! change; one task reads the counts of every watched batch in a single query per tick, and
//! only while something is watched (it exits when the last stream closes). Streams per user are
//! capped, and [`BatchWatch::close`] ends them all at shutdown so a draining server is not held
//! open by a browser tab. Streams of other progress (an album's) take a [`StreamSlot`]: the
//! same cap, the same end at shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::Database;
use crate::db::batches::{self, BatchCounts};

/// How often the poller reads the watched batches' counts.
pub const TICK: Duration = Duration::from_millis(250);

/// Why a stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The user already has the most streams allowed open.
    #[error(
        "at most {0} progress streams may be open at once; close one (or poll the progress instead)"
    )]
    TooMany(usize),
}

/// The per-process hub of batch progress. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BatchWatch {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    per_user: usize,
    closing: CancellationToken,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Watched batches, keyed by batch id.
    batches: HashMap<i64, Watched>,
    /// Open streams per user.
    streams: HashMap<i64, usize>,
    /// True while the poller task runs.
    polling: bool,
}

#[derive(Debug)]
struct Watched {
    counts: watch::Sender<BatchCounts>,
    subscribers: usize,
}

/// One open stream's view of its batch; dropping it gives the stream's slot back.
#[derive(Debug)]
pub struct Subscription {
    /// The batch's counts; changes wake the receiver.
    counts: watch::Receiver<BatchCounts>,
    /// Cancelled when the server shuts down.
    closing: CancellationToken,
    batch_id: i64,
    _guard: Guard,
}

#[derive(Debug)]
struct Guard {
    inner: Arc<Inner>,
    user_id: i64,
    /// The watched batch; `None` for a [`StreamSlot`].
    batch_id: Option<i64>,
}

/// One of a user's stream slots, held by a stream that follows something other than a batch
/// (an album, which its own stream polls): counted against the same per-user cap, and told
/// when the server shuts down. Dropping it gives the slot back.
#[derive(Debug)]
pub struct StreamSlot {
    closing: CancellationToken,
    _guard: Guard,
}

impl StreamSlot {
    /// Resolves when the stream must end (shutdown).
    pub async fn closed(&self) {
        self.closing.cancelled().await;
    }
}

impl BatchWatch {
    /// A hub over `db` allowing `per_user` open streams per user.
    pub fn new(db: Database, per_user: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                per_user: per_user.max(1),
                closing: CancellationToken::new(),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Starts watching `batch_id` for `user_id` (whose ownership the caller checked), starting
    /// from `first`.
    pub fn subscribe(
        &self,
        user_id: i64,
        batch_id: i64,
        first: BatchCounts,
    ) -> Result<Subscription, WatchError> {
        let mut state = self.inner.lock();
        self.inner.take_slot(&mut state, user_id)?;
        let watched = state.batches.entry(batch_id).or_insert_with(|| Watched {
            counts: watch::channel(first).0,
            subscribers: 0,
        });
        // `first` was just read: newer than what the poller last saw, so the other streams of
        // this batch get it too, and this one starts from it.
        watched.counts.send_if_modified(|old| {
            let changed = *old != first;
            *old = first;
            changed
        });
        watched.subscribers += 1;
        let counts = watched.counts.subscribe();
        if !state.polling {
            state.polling = true;
            tokio::spawn(poll(self.inner.clone()));
        }
        Ok(Subscription {
            counts,
            closing: self.inner.closing.clone(),
            batch_id,
            _guard: Guard {
                inner: self.inner.clone(),
                user_id,
                batch_id: Some(batch_id),
            },
        })
    }

    /// Takes one of `user_id`'s stream slots for a stream that is not a batch's.
    pub fn slot(&self, user_id: i64) -> Result<StreamSlot, WatchError> {
        self.inner.take_slot(&mut self.inner.lock(), user_id)?;
        Ok(StreamSlot {
            closing: self.inner.closing.clone(),
            _guard: Guard {
                inner: self.inner.clone(),
                user_id,
                batch_id: None,
            },
        })
    }

    /// Ends every open stream (shutdown) and refuses none afterwards: a stream opened later
    /// ends at once.
    pub fn close(&self) {
        self.inner.closing.cancel();
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few counters: a panic elsewhere cannot leave it half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one more open stream of `user_id`, unless the user is at the cap.
    fn take_slot(&self, state: &mut State, user_id: i64) -> Result<(), WatchError> {
        let open = state.streams.entry(user_id).or_default();
        if *open >= self.per_user {
            return Err(WatchError::TooMany(self.per_user));
        }
        *open += 1;
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        if let Some(open) = state.streams.get_mut(&self.user_id) {
            *open -= 1;
            if *open == 0 {
                state.streams.remove(&self.user_id);
            }
        }
        if let Some(batch_id) = self.batch_id
            && let Some(watched) = state.batches.get_mut(&batch_id)
        {
            watched.subscribers -= 1;
            if watched.subscribers == 0 {
                state.batches.remove(&batch_id);
            }
        }
    }
}

/// The poller: one query per tick for every watched batch; exits when nothing is watched.
async fn poll(inner: Arc<Inner>) {
    loop {
        tokio::select! {
            () = inner.closing.cancelled() => break,
            () = tokio::time::sleep(TICK) => {}
        }
        let ids: Vec<i64> = {
            let mut state = inner.lock();
            if state.batches.is_empty() {
                state.polling = false;
                return;
            }
            state.batches.keys().copied().collect()
        };
        match batches::counts_of(inner.db.pool(), &ids).await {
            Ok(all) => {
                let state = inner.lock();
                for id in ids {
                    if let Some(watched) = state.batches.get(&id) {
                        let counts = all.get(&id).copied().unwrap_or_default();
                        // Wakes the streams only when something changed.
                        watched.counts.send_if_modified(|old| {
                            let changed = *old != counts;
                            *old = counts;
                            changed
                        });
                    }
                }
            }
            // The database is away: keep the streams open and try again next tick.
            Err(e) => tracing::debug!(error = %e, "batch progress poll failed"),
        }
    }
    inner.lock().polling = false;
}

impl Subscription {
    /// The next counts that differ from the last ones seen; `None` when the stream should end
    /// (shutdown).
    pub async fn changed(&mut self) -> Option<BatchCounts> {
        tokio::select! {
            () = self.closing.cancelled() => None,
            changed = self.counts.changed() => match changed {
                Ok(()) => Some(*self.counts.borrow_and_update()),
                Err(_) => None,
            },
        }
    }

    /// The batch this subscription follows.
    pub fn batch_id(&self) -> i64 {
        self.batch_id
    }
}
