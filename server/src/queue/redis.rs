//! The Redis queue: a list of ready ids, a set mirroring it (so a push of an id already waiting
//! is a no-op), and a sorted set of in-flight ids scored by claim time.
//!
//! Push, claim and requeue are Lua scripts, so an id is never in two places or in none. The
//! connection manager reconnects by itself after Redis restarts.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::{JobQueue, QueueDepth, QueueError};
use crate::time::now_ms;

/// Makes each id in ARGV ready (KEYS: ready list, waiting set, in-flight set, push counter):
/// out of flight, and onto the list unless already waiting. Returns how many were added.
const PUSH: &str = r"
local added = 0
for _, id in ipairs(ARGV) do
  redis.call('ZREM', KEYS[3], id)
  if redis.call('SADD', KEYS[2], id) == 1 then
    redis.call('LPUSH', KEYS[1], id)
    added = added + 1
  end
end
if added > 0 then redis.call('INCRBY', KEYS[4], added) end
return added
";

/// Pops the oldest ready id and records it as in flight since ARGV[1] (ms).
const CLAIM: &str = r"
local id = redis.call('RPOP', KEYS[1])
if id then
  redis.call('SREM', KEYS[3], id)
  redis.call('ZADD', KEYS[2], ARGV[1], id)
end
return id
";

/// Moves every in-flight id claimed at or before ARGV[1] (ms) back to the ready list.
const REQUEUE: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local added = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  if redis.call('SADD', KEYS[3], id) == 1 then
    redis.call('LPUSH', KEYS[1], id)
    added = added + 1
  end
end
if added > 0 then redis.call('INCRBY', KEYS[4], added) end
return #ids
";

/// How long one Redis command may take before we call Redis unreachable. Shorter than the
/// health check's deadline on purpose: the connection manager only reconnects after it sees a
/// command fail, so a check that gives up first would leave a dead connection in place forever.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1500);

/// A reliable queue in Redis, shared by every server and worker replica.
#[derive(Clone)]
pub struct RedisQueue {
    conn: ConnectionManager,
    ready_key: String,
    waiting_key: String,
    in_flight_key: String,
    pushes_key: String,
    push: Script,
    claim: Script,
    requeue: Script,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("ready_key", &self.ready_key)
            .finish_non_exhaustive()
    }
}

impl RedisQueue {
    /// Connects to `url`; every key starts with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, QueueError> {
        let client = redis::Client::open(url)?;
        // A plain connection first, so start-up reports the real cause ("connection refused")
        // instead of the manager's retries running out.
        let probe =
            tokio::time::timeout(RESPONSE_TIMEOUT, client.get_multiplexed_async_connection())
                .await
                .map_err(|_| QueueError::Timeout(RESPONSE_TIMEOUT))??;
        drop(probe);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(RESPONSE_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            // The default back-off grows to a minute between reconnect attempts; while it waits,
            // every command waits with it. Retry quickly so the queue is back within seconds.
            .set_number_of_retries(3)
            .set_max_delay(1000);
        let conn = tokio::time::timeout(
            RESPONSE_TIMEOUT * 3,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| QueueError::Timeout(RESPONSE_TIMEOUT * 3))??;
        Ok(Self {
            conn,
            ready_key: format!("{prefix}:queue:ready"),
            waiting_key: format!("{prefix}:queue:waiting"),
            in_flight_key: format!("{prefix}:queue:in_flight"),
            pushes_key: format!("{prefix}:queue:pushes"),
            push: Script::new(PUSH),
            claim: Script::new(CLAIM),
            requeue: Script::new(REQUEUE),
        })
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn push(&self, job_id: i64) -> Result<bool, QueueError> {
        Ok(self.push_many(&[job_id]).await? == 1)
    }

    async fn push_many(&self, job_ids: &[i64]) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        let mut added = 0;
        // Consumers RPOP, so LPUSH in order keeps the batch first-in first-out.
        for chunk in job_ids.chunks(1000) {
            let n: u64 = self
                .push
                .key(&self.ready_key)
                .key(&self.waiting_key)
                .key(&self.in_flight_key)
                .key(&self.pushes_key)
                .arg(chunk)
                .invoke_async(&mut conn)
                .await?;
            added += n;
        }
        Ok(added)
    }

    async fn pushes(&self) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        let n: Option<u64> = conn.get(&self.pushes_key).await?;
        Ok(n.unwrap_or(0))
    }

    async fn try_claim(&self) -> Result<Option<i64>, QueueError> {
        let mut conn = self.conn.clone();
        let id: Option<i64> = self
            .claim
            .key(&self.ready_key)
            .key(&self.in_flight_key)
            .key(&self.waiting_key)
            .arg(now_ms())
            .invoke_async(&mut conn)
            .await?;
        Ok(id)
    }

    async fn ack(&self, job_id: i64) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.zrem(&self.in_flight_key, job_id).await?;
        Ok(())
    }

    async fn requeue_expired(&self, visibility: Duration) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        let cutoff = now_ms() - i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX);
        let moved: u64 = self
            .requeue
            .key(&self.ready_key)
            .key(&self.in_flight_key)
            .key(&self.waiting_key)
            .key(&self.pushes_key)
            .arg(cutoff)
            .invoke_async(&mut conn)
            .await?;
        Ok(moved)
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let mut conn = self.conn.clone();
        let (ready, in_flight): (u64, u64) = redis::pipe()
            .llen(&self.ready_key)
            .zcard(&self.in_flight_key)
            .query_async(&mut conn)
            .await?;
        Ok(QueueDepth { ready, in_flight })
    }

    async fn ping(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}
