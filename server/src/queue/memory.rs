//! The in-process queue of the embedded default: no Redis, consumers in the same process.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{JobQueue, QueueDepth, QueueError};

#[derive(Debug, Default)]
struct Inner {
    ready: VecDeque<i64>,
    /// The ids in `ready`, so a push of one already waiting is a no-op.
    waiting: HashSet<i64>,
    in_flight: HashMap<i64, Instant>,
    pushes: u64,
}

impl Inner {
    fn make_ready(&mut self, id: i64) -> bool {
        self.in_flight.remove(&id);
        if !self.waiting.insert(id) {
            return false;
        }
        self.ready.push_back(id);
        self.pushes += 1;
        true
    }
}

/// A reliable queue held in memory. Lost when the process exits, which is harmless: the
/// sweeper re-pushes unfinished jobs from the database at the next start.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    inner: Mutex<Inner>,
    arrived: Notify,
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the queue inconsistent (every critical
        // section is a single collection operation), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn push(&self, job_id: i64) -> Result<bool, QueueError> {
        let added = self.lock().make_ready(job_id);
        if added {
            self.arrived.notify_one();
        }
        Ok(added)
    }

    async fn pushes(&self) -> Result<u64, QueueError> {
        Ok(self.lock().pushes)
    }

    async fn try_claim(&self) -> Result<Option<i64>, QueueError> {
        let mut inner = self.lock();
        let id = inner.ready.pop_front();
        if let Some(id) = id {
            inner.waiting.remove(&id);
            inner.in_flight.insert(id, Instant::now());
        }
        Ok(id)
    }

    async fn claim(&self, max_wait: Duration) -> Result<Option<i64>, QueueError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            // Register interest before looking, so a push between the look and the wait wakes us.
            let arrived = self.arrived.notified();
            if let Some(id) = self.try_claim().await? {
                return Ok(Some(id));
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.try_claim().await;
            }
        }
    }

    async fn ack(&self, job_id: i64) -> Result<(), QueueError> {
        self.lock().in_flight.remove(&job_id);
        Ok(())
    }

    async fn requeue_expired(&self, visibility: Duration) -> Result<u64, QueueError> {
        let mut inner = self.lock();
        let now = Instant::now();
        let expired: Vec<i64> = inner
            .in_flight
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= visibility)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            inner.make_ready(*id);
        }
        drop(inner);
        for _ in &expired {
            self.arrived.notify_one();
        }
        Ok(expired.len() as u64)
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let inner = self.lock();
        Ok(QueueDepth {
            ready: inner.ready.len() as u64,
            in_flight: inner.in_flight.len() as u64,
        })
    }

    async fn ping(&self) -> Result<(), QueueError> {
        Ok(())
    }
}
