//! The deployment's token budget for the vision model: a token bucket whose state (tokens
//! left, when last counted) is one row of `rate_budgets`, so every worker process of the
//! deployment, on any machine, spends from the same budget.
//!
//! Taking is one conditional UPDATE (refill by the time passed, capped, then subtract when
//! enough is there), atomic on both PostgreSQL and SQLite; a taker that finds too little waits
//! for exactly the refill it lacks (plus jitter, so waiters do not stampede) and tries again.
//! It waits; it never fails a job for want of tokens.
//!
//! Sizing: the bucket holds `capacity` and refills `(per_window - capacity)` per window, so no
//! window of that length ever sees more than `per_window` tokens taken (a full bucket plus one
//! window's refill). OpenAI counts a request's prompt plus its `max_tokens` against TPM, and
//! so does the caller's cost.

use std::time::Duration;

use sqlx::AnyPool;

use crate::time::now_ms;

/// A token bucket kept in the database.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    name: String,
    capacity: f64,
    /// Tokens added per millisecond.
    refill_per_ms: f64,
}

/// The bucket cannot ever hold what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// More than the bucket holds.
    #[error("a request of {cost} tokens is larger than the whole budget of {capacity}")]
    TooLarge {
        /// Asked.
        cost: u64,
        /// Held at most.
        capacity: u64,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl TokenBucket {
    /// A bucket for `per_window` tokens every `window`, letting through bursts of up to a tenth
    /// of it (at least `largest_cost`, so the biggest request fits).
    pub fn new(name: &str, per_window: u64, window: Duration, largest_cost: u64) -> Self {
        let per_window = per_window.max(1) as f64;
        let capacity = (per_window / 10.0).max(largest_cost as f64).min(per_window);
        // When one request is the whole budget, the bucket is the window's refill alone.
        let refill = if per_window > capacity {
            per_window - capacity
        } else {
            per_window
        };
        let window_ms = (window.as_secs_f64() * 1000.0).max(1.0);
        Self {
            name: name.to_string(),
            capacity,
            refill_per_ms: refill / window_ms,
        }
    }

    /// Most tokens it holds.
    pub fn capacity(&self) -> u64 {
        self.capacity as u64
    }

    /// Takes `cost` tokens, waiting until the bucket has them. Returns how long it waited.
    pub async fn take(&self, pool: &AnyPool, cost: u64) -> Result<Duration, BudgetError> {
        let cost_f = cost as f64;
        if cost_f > self.capacity {
            return Err(BudgetError::TooLarge {
                cost,
                capacity: self.capacity(),
            });
        }
        let started = tokio::time::Instant::now();
        loop {
            let now = now_ms();
            if self.try_take(pool, cost_f, now).await? {
                return Ok(started.elapsed());
            }
            let available = match self.level(pool, now).await? {
                Some(level) => level,
                None => {
                    self.create(pool, now).await?;
                    continue;
                }
            };
            let missing = (cost_f - available).max(0.0);
            let wait_ms = (missing / self.refill_per_ms).ceil().max(1.0);
            let jitter = rand::random::<f64>() * (wait_ms * 0.1).min(50.0);
            tokio::time::sleep(Duration::from_secs_f64((wait_ms + jitter) / 1000.0)).await;
        }
    }

    /// The refilled level at `now`, capped, as SQL over the stored row (clocks of different
    /// machines may disagree a little: time never runs backwards here).
    fn refilled_sql() -> &'static str {
        "CASE WHEN tokens + (CASE WHEN $2 > updated_at THEN $2 - updated_at ELSE 0 END) * $3 > $4
              THEN $4
              ELSE tokens + (CASE WHEN $2 > updated_at THEN $2 - updated_at ELSE 0 END) * $3 END"
    }

    async fn try_take(&self, pool: &AnyPool, cost: f64, now: i64) -> Result<bool, sqlx::Error> {
        let refilled = Self::refilled_sql();
        let done = sqlx::query(&format!(
            "UPDATE rate_budgets
             SET tokens = ({refilled}) - $5,
                 updated_at = CASE WHEN $2 > updated_at THEN $2 ELSE updated_at END
             WHERE name = $1 AND ({refilled}) >= $5"
        ))
        .bind(&self.name)
        .bind(now)
        .bind(self.refill_per_ms)
        .bind(self.capacity)
        .bind(cost)
        .execute(pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn level(&self, pool: &AnyPool, now: i64) -> Result<Option<f64>, sqlx::Error> {
        let refilled = Self::refilled_sql();
        let row: Option<(f64,)> = sqlx::query_as(&format!(
            "SELECT CAST({refilled} AS DOUBLE PRECISION) FROM rate_budgets WHERE name = $1"
        ))
        .bind(&self.name)
        .bind(now)
        .bind(self.refill_per_ms)
        .bind(self.capacity)
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|(level,)| level))
    }

    /// The row, full, if no process made it yet.
    async fn create(&self, pool: &AnyPool, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO rate_budgets (name, tokens, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&self.name)
        .bind(self.capacity)
        .bind(now)
        .execute(pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_bursts_a_tenth_and_refills_the_rest_of_the_window() {
        let b = TokenBucket::new("t", 200_000, Duration::from_secs(60), 3_100);
        assert_eq!(b.capacity(), 20_000);
        // 180,000 tokens over 60,000 ms.
        assert!((b.refill_per_ms - 3.0).abs() < 1e-9);
        // A budget smaller than ten requests still lets the largest one through.
        let b = TokenBucket::new("t", 10_000, Duration::from_secs(60), 3_100);
        assert_eq!(b.capacity(), 3_100);
        // A budget of one request: the bucket is the whole budget, refilled each window.
        let b = TokenBucket::new("t", 3_000, Duration::from_secs(60), 3_100);
        assert_eq!(b.capacity(), 3_000);
    }
}
