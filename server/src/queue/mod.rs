//! The job queue: carries job ids from whoever queues work to the workers.
//!
//! Two implementations behind one trait: Redis for production (shared by every replica) and an
//! in-process queue for the embedded default. Both follow the reliable-queue pattern: a claimed
//! id stays "in flight" until it is acknowledged. Pushing is idempotent: an id already waiting is
//! not added again, and an id in flight is moved back to the ready list, so the sweeper can push
//! whatever it suspects lost without ever doubling the queue. Delivery is at-least-once; handlers
//! must be idempotent. The database, not the queue, is the source of truth for job state (a dead
//! worker's job comes back through its lease there).

pub mod memory;
pub mod redis;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::memory::MemoryQueue;
pub use self::redis::RedisQueue;

/// A queue failure (only the Redis queue has any).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Redis refused, dropped the connection or answered something unexpected. (The cause is
    /// in the message rather than `source()`, so error chains do not print it twice.)
    #[error("redis: {0}")]
    Redis(::redis::RedisError),
    /// Redis did not answer in time.
    #[error("the queue did not answer within {0:?}")]
    Timeout(Duration),
}

impl From<::redis::RedisError> for QueueError {
    fn from(e: ::redis::RedisError) -> Self {
        QueueError::Redis(e)
    }
}

/// How many ids wait and how many are held by workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueDepth {
    /// Ids waiting for a worker.
    pub ready: u64,
    /// Ids claimed and not yet acknowledged.
    pub in_flight: u64,
}

/// A reliable queue of job ids.
#[async_trait]
pub trait JobQueue: Send + Sync + Debug {
    /// The implementation's name for health reports (`redis` or `memory`).
    fn kind(&self) -> &'static str;

    /// Makes an id ready: appends it unless it is already waiting; an id in flight (its worker
    /// gave it back or died) moves back to the ready list. True when the ready list grew.
    async fn push(&self, job_id: i64) -> Result<bool, QueueError>;

    /// [`JobQueue::push`] for many ids, oldest first (one round trip per chunk where the queue
    /// allows). Returns how many were added.
    async fn push_many(&self, job_ids: &[i64]) -> Result<u64, QueueError> {
        let mut added = 0;
        for id in job_ids {
            added += u64::from(self.push(*id).await?);
        }
        Ok(added)
    }

    /// How many ids pushes have added to the ready list since the queue began (a push of an id
    /// already waiting does not count): the measure of duplicate work.
    async fn pushes(&self) -> Result<u64, QueueError>;

    /// Takes the oldest id, if any, marking it in flight. Does not wait.
    async fn try_claim(&self) -> Result<Option<i64>, QueueError>;

    /// Takes the oldest id, waiting up to `max_wait` for one to arrive.
    async fn claim(&self, max_wait: Duration) -> Result<Option<i64>, QueueError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            if let Some(id) = self.try_claim().await? {
                return Ok(Some(id));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep((deadline - now).min(POLL_INTERVAL)).await;
        }
    }

    /// Removes a claimed id for good (its job finished or failed).
    async fn ack(&self, job_id: i64) -> Result<(), QueueError>;

    /// Returns to the ready list every id claimed longer ago than `visibility` and never
    /// acknowledged. Returns how many came back.
    async fn requeue_expired(&self, visibility: Duration) -> Result<u64, QueueError>;

    /// Counts waiting and in-flight ids.
    async fn depth(&self) -> Result<QueueDepth, QueueError>;

    /// Checks that the queue answers.
    async fn ping(&self) -> Result<(), QueueError>;
}

/// How often an idle consumer looks for work when the queue cannot wake it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A shared handle to whichever queue is configured.
pub type SharedQueue = Arc<dyn JobQueue>;
