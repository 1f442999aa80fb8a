//! The queue consumer: claims job ids, runs each job once per delivery, records the outcome in
//! the database, and sweeps up jobs whose worker died or whose push was lost.
//!
//! A job that fails, panics or holds bad data ends as `failed` with its reason; the worker
//! itself never stops for one job. Handlers must be idempotent (delivery is at-least-once).

pub mod verify;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::blobs::SharedBlobStore;
use crate::db::{Database, jobs, photos};
use crate::decode::DecodeLimits;
use crate::queue::{QueueError, SharedQueue};
use crate::startup::Services;
use crate::time::now_ms;

/// Timing knobs of a worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// A job claimed and not finished for this long is taken to have lost its worker.
    pub visibility: Duration,
    /// How often to look for such jobs.
    pub sweep_every: Duration,
    /// How long one claim waits for work before checking for shutdown.
    pub idle_wait: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            visibility: Duration::from_secs(300),
            sweep_every: Duration::from_secs(30),
            idle_wait: Duration::from_secs(1),
        }
    }
}

/// Why a worker step could not run (the database or queue is down); the loop retries.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The queue failed.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
}

/// Why one job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (a dependency hiccup).
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help (bad input, unknown kind).
    #[error("{0}")]
    Permanent(String),
}

/// What one step of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do.
    Idle,
    /// Ran the job; it ended with this status.
    Ran {
        /// The job.
        job_id: i64,
        /// Its status afterwards.
        status: jobs::JobStatus,
    },
    /// The id was a duplicate delivery or the job no longer exists; acknowledged, not run.
    Skipped {
        /// The job.
        job_id: i64,
    },
}

/// What job handlers may use.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The database.
    pub db: Database,
    /// Stored photos.
    pub blobs: SharedBlobStore,
    /// Decode limits.
    pub limits: DecodeLimits,
}

/// A queue consumer.
#[derive(Debug, Clone)]
pub struct Worker {
    ctx: JobContext,
    queue: SharedQueue,
    config: WorkerConfig,
}

impl Worker {
    /// A worker over these services.
    pub fn new(services: &Services, config: WorkerConfig) -> Self {
        Self {
            ctx: JobContext {
                db: services.db.clone(),
                blobs: services.blobs.clone(),
                limits: services.limits,
            },
            queue: services.queue.clone(),
            config,
        }
    }

    fn pool(&self) -> &sqlx::AnyPool {
        self.ctx.db.pool()
    }

    /// Claims one job (waiting up to `idle_wait`) and runs it.
    pub async fn run_once(&self) -> Result<Outcome, WorkerError> {
        let Some(job_id) = self.queue.claim(self.config.idle_wait).await? else {
            return Ok(Outcome::Idle);
        };
        let stale_before = now_ms() - millis(self.config.visibility);
        let Some(job) = jobs::start(self.pool(), job_id, stale_before).await? else {
            self.queue.ack(job_id).await?;
            return Ok(Outcome::Skipped { job_id });
        };
        let photo_id = job.photo_id.filter(|_| job.kind == verify::KIND);
        let result = self.execute(job).await;
        let failure = match &result {
            Err(JobError::Permanent(reason) | JobError::Retryable(reason)) => Some(reason.clone()),
            Ok(()) => None,
        };
        let status = match result {
            Ok(()) => {
                jobs::finish(self.pool(), job_id).await?;
                jobs::JobStatus::Done
            }
            Err(JobError::Permanent(reason)) => {
                tracing::warn!(job_id, %reason, "job failed");
                jobs::fail_permanently(self.pool(), job_id, &reason).await?;
                jobs::JobStatus::Failed
            }
            Err(JobError::Retryable(reason)) => {
                let status = jobs::record_failure(self.pool(), job_id, &reason)
                    .await?
                    .unwrap_or(jobs::JobStatus::Failed);
                tracing::warn!(job_id, %reason, ?status, "job attempt failed");
                if status == jobs::JobStatus::Queued {
                    self.queue.push(job_id).await?;
                }
                status
            }
        };
        if let (jobs::JobStatus::Failed, Some(photo_id), Some(reason)) = (status, photo_id, failure)
        {
            // The photo says why, so the gallery can show it without looking up jobs.
            photos::store_failure(self.pool(), photo_id, &reason).await?;
        }
        self.queue.ack(job_id).await?;
        Ok(Outcome::Ran { job_id, status })
    }

    /// Runs the job's handler in its own task, so that even a panic on hostile data becomes
    /// this job's failure instead of the worker's.
    async fn execute(&self, job: jobs::JobRow) -> Result<(), JobError> {
        let handle = tokio::spawn(handle(self.ctx.clone(), job));
        match handle.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(JobError::Permanent("the job handler panicked".into())),
            Err(_) => Err(JobError::Retryable("the job was cancelled".into())),
        }
    }

    /// Brings back jobs whose worker died (queue visibility timeout) and jobs the database
    /// says are unfinished but that sat untouched too long (a lost push, a queue restart).
    pub async fn sweep(&self) -> Result<u64, WorkerError> {
        let mut recovered = self.queue.requeue_expired(self.config.visibility).await?;
        let before = now_ms() - millis(self.config.visibility);
        for job_id in jobs::stale(self.pool(), before, 1000).await? {
            self.queue.push(job_id).await?;
            jobs::touch(self.pool(), job_id).await?;
            recovered += 1;
        }
        if recovered > 0 {
            tracing::info!(recovered, "re-queued unfinished jobs");
        }
        Ok(recovered)
    }

    /// Runs until `shutdown` fires, finishing the job in hand first. Errors (a dependency
    /// down) are logged and retried with a pause; they never end the loop.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut next_sweep = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(e) = self.sweep().await {
                    tracing::warn!(error = %e, "sweep failed");
                }
                next_sweep = tokio::time::Instant::now() + self.config.sweep_every;
            }
            let step = tokio::select! {
                _ = shutdown.cancelled() => break,
                step = self.run_once() => step,
            };
            if let Err(e) = step {
                tracing::warn!(error = %e, "worker step failed; retrying shortly");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Dispatches a job to the handler of its kind. A kind this worker does not know (a newer
/// server queued it) fails for good with that reason instead of being retried forever.
async fn handle(ctx: JobContext, job: jobs::JobRow) -> Result<(), JobError> {
    match job.kind.as_str() {
        verify::KIND => verify::run(&ctx, &job).await,
        other => Err(JobError::Permanent(format!("unknown job kind '{other}'"))),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
