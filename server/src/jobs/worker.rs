//! The queue consumer: claims job ids, runs each job under a lease that it renews while the job
//! runs, records the outcome in the database, and sweeps up jobs whose worker died or whose
//! push was lost.
//!
//! - A live worker renews its lease every third of the lease, so a slow job is never run twice
//!   at once; a dead worker stops renewing, and its job runs again about one lease later.
//! - Every update names the lease, so a worker that lost its lease changes nothing.
//! - A job that fails, panics or holds bad data ends as `failed` with its reason; a job whose
//!   workers keep dying ends `failed` once its attempts are spent; the worker itself never stops
//!   for one job. Handlers must be idempotent (delivery is at-least-once).
//! - On shutdown the job in hand is finished within a grace period, else handed back.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Finished, JobError, JobKind, album, import, tag, verify};
use crate::app::Deps;
use crate::db::jobs::{self, JobRow, JobStatus, Lease};
use crate::db::photos;
use crate::db::photos::PhotoRow;
use crate::queue::QueueError;
use crate::time::now_ms;

/// Timing knobs of a worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How long a started job stays leased without a renewal.
    pub lease: Duration,
    /// How often the lease of the job in hand is renewed.
    pub renew_every: Duration,
    /// How often to look for jobs whose worker died or whose push was lost.
    pub sweep_every: Duration,
    /// A queued job untouched this long may have lost its push and is pushed again (the queue
    /// ignores ids it already holds).
    pub repush_after: Duration,
    /// How long one claim waits for work before checking for shutdown.
    pub idle_wait: Duration,
    /// How long the job in hand may still run after shutdown is asked for; then it is handed
    /// back to the queue.
    pub shutdown_grace: Duration,
}

impl WorkerConfig {
    /// Timing derived from the lease: renew three times per lease, sweep twice per lease.
    pub fn with_lease(lease: Duration) -> Self {
        let lease = lease.max(Duration::from_millis(300));
        Self {
            lease,
            renew_every: lease / 3,
            sweep_every: (lease / 2).min(Duration::from_secs(30)),
            repush_after: lease * 2,
            idle_wait: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self::with_lease(Duration::from_secs(crate::config::DEFAULT_JOB_LEASE_SECS))
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

/// What one step of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do.
    Idle,
    /// Ran the job; it ended with this status (`Running` when its lease was lost meanwhile
    /// and another worker holds it).
    Ran {
        /// The job.
        job_id: i64,
        /// Its status afterwards.
        status: JobStatus,
    },
    /// The id was a duplicate delivery, the job is someone else's or no longer exists;
    /// acknowledged, not run.
    Skipped {
        /// The job.
        job_id: i64,
    },
    /// Shutdown came before the job finished; it went back to the queue.
    HandedBack {
        /// The job.
        job_id: i64,
    },
}

/// What the sweeper did in one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    /// Jobs whose lease ran out, queued again.
    pub expired: u64,
    /// Queued jobs pushed again in case their push was lost.
    pub repushed: u64,
    /// Jobs failed for good because their workers kept dying.
    pub exhausted: u64,
}

/// A queue consumer.
#[derive(Debug, Clone)]
pub struct Worker {
    deps: Deps,
    config: WorkerConfig,
}

impl Worker {
    /// A worker over these services.
    pub fn new(deps: Deps, config: WorkerConfig) -> Self {
        Self { deps, config }
    }

    fn pool(&self) -> &sqlx::AnyPool {
        self.deps.db.pool()
    }

    fn lease_end(&self) -> i64 {
        now_ms().saturating_add(millis(self.config.lease))
    }

    /// Claims one job (waiting up to `idle_wait`) and runs it to the end.
    pub async fn run_once(&self) -> Result<Outcome, WorkerError> {
        self.run_once_until(&CancellationToken::new()).await
    }

    /// Claims one job and runs it; if `shutdown` fires meanwhile, the job gets the grace period
    /// to finish and is handed back after it.
    pub async fn run_once_until(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<Outcome, WorkerError> {
        let Some(job_id) = self.deps.queue.claim(self.config.idle_wait).await? else {
            return Ok(Outcome::Idle);
        };
        let lease = Lease {
            job_id,
            owner: format!("{:016x}", rand::random::<u64>()),
        };
        let Some(jobs::Started { job, photo }) =
            jobs::start(&self.deps.db, &lease, self.lease_end()).await?
        else {
            self.deps.queue.ack(job_id).await?;
            return Ok(Outcome::Skipped { job_id });
        };
        let kind = JobKind::parse(&job.kind);
        let photo_id = job.photo_id;
        let result = match kind {
            Some(kind) => match self.execute(kind, job, photo, &lease, shutdown).await? {
                Some(result) => result,
                None => {
                    if jobs::release(self.pool(), &lease).await? {
                        self.deps.queue.push(job_id).await?;
                    }
                    tracing::info!(job_id, "shutting down: job handed back to the queue");
                    return Ok(Outcome::HandedBack { job_id });
                }
            },
            // A newer server queued it: fail for good instead of retrying forever.
            None => Err(JobError::Permanent(format!(
                "unknown job kind '{}'",
                job.kind
            ))),
        };
        let status = self.record(kind, photo_id, &lease, result).await?;
        // Acknowledged last: if this worker dies before, the sweeper still finds the job by its
        // lease, and a finished job delivered again is skipped.
        self.deps.queue.ack(job_id).await?;
        Ok(Outcome::Ran { job_id, status })
    }

    /// Stores a job's outcome under its lease; returns the job's status afterwards.
    async fn record(
        &self,
        kind: Option<JobKind>,
        photo_id: Option<i64>,
        lease: &Lease,
        result: Result<Finished, JobError>,
    ) -> Result<JobStatus, WorkerError> {
        let job_id = lease.job_id;
        // `None`: the lease was lost (this worker stalled past it and another took the job
        // over); the outcome is the new holder's to write, so nothing more is written here.
        let (status, failure) = match result {
            Ok(finished) => {
                let held = match finished {
                    Finished::Plain => jobs::finish(&self.deps.db, lease).await?,
                    Finished::Verdict { photo_id, verdict } => {
                        jobs::finish_with_verdict(&self.deps.db, lease, photo_id, &verdict).await?
                    }
                };
                (held.then_some(JobStatus::Done), None)
            }
            Err(JobError::Permanent(reason)) => {
                tracing::warn!(job_id, %reason, "job failed");
                let held = jobs::fail_permanently(self.pool(), lease, &reason).await?;
                (held.then_some(JobStatus::Failed), Some(reason))
            }
            Err(JobError::Retryable(reason)) => {
                let status = jobs::record_failure(self.pool(), lease, &reason).await?;
                tracing::warn!(job_id, %reason, ?status, "job attempt failed");
                if status == Some(JobStatus::Queued) {
                    self.deps.queue.push(job_id).await?;
                }
                (status, Some(reason))
            }
        };
        let Some(status) = status else {
            tracing::warn!(
                job_id,
                "lease lost before the outcome was stored; left to its new holder"
            );
            return Ok(JobStatus::Running);
        };
        if let (JobStatus::Failed, Some(reason)) = (status, failure) {
            self.note_photo_failure(kind, photo_id, &reason).await?;
        }
        Ok(status)
    }

    /// For kinds whose photo follows the job, the photo says why it failed, so the gallery can
    /// show it without looking up jobs.
    async fn note_photo_failure(
        &self,
        kind: Option<JobKind>,
        photo_id: Option<i64>,
        reason: &str,
    ) -> Result<(), WorkerError> {
        if kind.is_some_and(|k| k.policy().tracks_photo_status)
            && let Some(photo_id) = photo_id
        {
            photos::store_failure(self.pool(), photo_id, reason).await?;
        }
        Ok(())
    }

    /// Runs the handler in its own task (a panic on hostile data becomes this job's failure,
    /// not the worker's), renewing the lease while it runs. `None` when shutdown's grace ran
    /// out first.
    async fn execute(
        &self,
        kind: JobKind,
        job: JobRow,
        photo: Option<PhotoRow>,
        lease: &Lease,
        shutdown: &CancellationToken,
    ) -> Result<Option<Result<Finished, JobError>>, WorkerError> {
        let mut handle = tokio::spawn(handle(self.deps.clone(), kind, job, photo));
        let mut renew = tokio::time::interval(self.config.renew_every);
        renew.tick().await; // the first tick is immediate; the lease is fresh
        let grace = async {
            shutdown.cancelled().await;
            tokio::time::sleep(self.config.shutdown_grace).await;
        };
        tokio::pin!(grace);
        loop {
            tokio::select! {
                joined = &mut handle => {
                    return Ok(Some(match joined {
                        Ok(result) => result,
                        Err(e) if e.is_panic() => {
                            Err(JobError::Permanent("the job handler panicked".into()))
                        }
                        Err(_) => Err(JobError::Retryable("the job was cancelled".into())),
                    }));
                }
                _ = renew.tick() => {
                    match jobs::renew(&self.deps.db, lease, self.lease_end()).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job_id = lease.job_id, "lease lost while running"),
                        // The database is down: keep going; if it stays down past the lease,
                        // another worker may take the job over, and this one's outcome is
                        // refused by the lease check.
                        Err(e) => tracing::warn!(job_id = lease.job_id, error = %e, "could not renew the lease"),
                    }
                }
                () = &mut grace => {
                    handle.abort();
                    return Ok(None);
                }
            }
        }
    }

    /// One sweep: fails jobs whose workers kept dying, queues again jobs whose lease ran out,
    /// and pushes again queued jobs that sat untouched (a lost push). The queue ignores ids it
    /// already holds, so a long backlog is never pushed twice.
    pub async fn sweep(&self) -> Result<Swept, WorkerError> {
        let now = now_ms();
        let mut swept = Swept::default();
        for job in jobs::fail_exhausted(self.pool(), now).await? {
            swept.exhausted += 1;
            let reason = job.error.unwrap_or_default();
            tracing::warn!(job_id = job.id, %reason, "job failed for good");
            let kind = JobKind::parse(&job.kind);
            self.note_photo_failure(kind, job.photo_id, &reason).await?;
            if kind == Some(JobKind::Album) {
                album::job_exhausted(&self.deps, job.id, &reason).await?;
            }
        }
        let expired = jobs::lease_expired(self.pool(), now, 1000).await?;
        swept.expired = self.deps.queue.push_many(&expired).await?;
        // When the ready list holds at least as many ids as there are queued jobs, no push was
        // lost, and a long backlog costs one count instead of a walk over it. (A queued job
        // claimed by a worker that died before starting it sits in flight, not ready: it is
        // found here.)
        let depth = self.deps.queue.depth().await?;
        if depth.ready < jobs::count_queued(self.pool()).await? {
            let before = now - millis(self.config.repush_after);
            let quiet = jobs::queued_since(self.pool(), before, 1000).await?;
            swept.repushed = self.deps.queue.push_many(&quiet).await?;
            jobs::touch(self.pool(), &quiet).await?;
        }
        // In-flight entries of finished jobs whose worker died before acknowledging: back to
        // the ready list, where the next claim finds the job finished and drops the id.
        self.deps.queue.requeue_expired(STRANDED_AFTER).await?;
        // Albums paused by the Library quota whose Google day has turned.
        match album::resume_due(&self.deps).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(albums = n, "resumed albums paused by the daily quota"),
            Err(e) => tracing::warn!(error = %e, "could not resume paused albums"),
        }
        if swept != Swept::default() {
            tracing::info!(?swept, "swept unfinished jobs");
        }
        Ok(swept)
    }

    /// Runs until `shutdown` fires, finishing (or handing back) the job in hand first. Errors
    /// (a dependency down) are logged and retried with a pause; they never end the loop.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut next_sweep = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(e) = self.sweep().await {
                    tracing::warn!(error = %e, "sweep failed");
                }
                next_sweep = tokio::time::Instant::now() + self.config.sweep_every;
            }
            // The claim (idle wait) is short, and a claimed job is seen through: shutdown is
            // handled inside by the grace period, never by dropping the job mid-way.
            if let Err(e) = self.run_once_until(&shutdown).await {
                tracing::warn!(error = %e, "worker step failed; retrying shortly");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// How long a claimed id may sit unacknowledged in the queue before the sweeper returns it to
/// the ready list. Not what brings a dead worker's job back (its lease does); only tidies ids
/// whose worker died after finishing the job but before acknowledging it.
const STRANDED_AFTER: Duration = Duration::from_secs(600);

/// Dispatches a job to the handler of its kind.
async fn handle(
    deps: Deps,
    kind: JobKind,
    job: JobRow,
    photo: Option<PhotoRow>,
) -> Result<Finished, JobError> {
    let plain = |()| Finished::Plain;
    match kind {
        JobKind::VerifyPhoto => verify::run(&deps, &job, photo).await,
        JobKind::PickerImport => import::run(&deps, &job).await.map(plain),
        JobKind::TagPhoto => tag::run(&deps, &job).await.map(plain),
        JobKind::Album => album::run(&deps, &job).await.map(plain),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
