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
//! - In a backlog (the job in hand was claimed without waiting), a consumer claims and starts
//!   the next job while a verification decodes, so its queue and database round trips overlap
//!   the decode instead of following it (`prefetch`). The next job is started under its own
//!   lease, renewed with the running job's until its turn comes, so a worker that dies holding
//!   it gives it back about one lease later like any job it holds; on shutdown it is handed
//!   back unrun (its attempt not counted) once the job in hand ends. Only behind a
//!   verification: its decode is short, so the next job never waits long while another worker
//!   idles.

use std::future::Future;
use std::pin::Pin;
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
    /// In a backlog, claim and start the next job while a verification decodes (see the
    /// module docs). Only [`Worker::run`] prefetches; [`Worker::run_once`] never does.
    pub prefetch: bool,
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
            prefetch: true,
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
    /// to finish and is handed back after it. Never prefetches.
    pub async fn run_once_until(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<Outcome, WorkerError> {
        match self.claim_and_start(Some(self.config.idle_wait)).await? {
            Claim::Idle => Ok(Outcome::Idle),
            Claim::Skipped(job_id) => Ok(Outcome::Skipped { job_id }),
            Claim::Started { claimed, .. } => self.run_claimed(claimed, shutdown, false).await.0,
        }
    }

    /// Claims an id (waiting up to `wait` for one when it is `Some`, else only taking one that
    /// is ready) and starts its job under a new lease. A job that cannot start (a duplicate
    /// delivery, finished, another worker's) is acknowledged and skipped.
    async fn claim_and_start(&self, wait: Option<Duration>) -> Result<Claim, WorkerError> {
        let (job_id, waited) = match self.deps.queue.try_claim().await? {
            Some(id) => (id, false),
            None => match wait {
                None => return Ok(Claim::Idle),
                Some(wait) => match self.deps.queue.claim(wait).await? {
                    Some(id) => (id, true),
                    None => return Ok(Claim::Idle),
                },
            },
        };
        let lease = Lease {
            job_id,
            owner: format!("{:016x}", rand::random::<u64>()),
        };
        match jobs::start(&self.deps.db, &lease, self.lease_end()).await? {
            Some(started) => Ok(Claim::Started {
                claimed: Claimed { lease, started },
                waited,
            }),
            None => {
                self.deps.queue.ack(job_id).await?;
                Ok(Claim::Skipped(job_id))
            }
        }
    }

    /// Runs a started job to the end: handler, outcome, acknowledgement. With `prefetch` (and a
    /// verification in hand) the next job is claimed and started meanwhile; it comes back with
    /// the outcome, its lease held and fresh, also when this job failed to record.
    async fn run_claimed(
        &self,
        claimed: Claimed,
        shutdown: &CancellationToken,
        prefetch: bool,
    ) -> (Result<Outcome, WorkerError>, Option<Claimed>) {
        let Claimed {
            lease,
            started: jobs::Started { job, photo },
        } = claimed;
        let job_id = lease.job_id;
        let kind = JobKind::parse(&job.kind);
        let photo_id = job.photo_id;
        let prefetch = prefetch && kind == Some(JobKind::VerifyPhoto) && !shutdown.is_cancelled();
        let mut next = None;
        let ahead = prefetch.then_some(&mut next);
        let result = match kind {
            Some(kind) => {
                let ran = self
                    .execute(kind, job, photo, &lease, shutdown, ahead)
                    .await;
                match ran {
                    Some(result) => result,
                    None => {
                        let handed = self.hand_back(&lease).await;
                        tracing::info!(job_id, "shutting down: job handed back to the queue");
                        return (handed.map(|()| Outcome::HandedBack { job_id }), next);
                    }
                }
            }
            // A newer server queued it: fail for good instead of retrying forever.
            None => Err(JobError::Permanent(format!(
                "unknown job kind '{}'",
                job.kind
            ))),
        };
        let status = match self.record(kind, photo_id, &lease, result).await {
            Ok(status) => status,
            Err(e) => return (Err(e), next),
        };
        // Acknowledged last: if this worker dies before, the sweeper still finds the job by its
        // lease, and a finished job delivered again is skipped.
        if let Err(e) = self.deps.queue.ack(job_id).await {
            return (Err(e.into()), next);
        }
        (Ok(Outcome::Ran { job_id, status }), next)
    }

    /// Gives a started job back unrun: queued again, its attempt not counted.
    async fn hand_back(&self, lease: &Lease) -> Result<(), WorkerError> {
        if jobs::release(self.pool(), lease).await? {
            self.deps.queue.push(lease.job_id).await?;
        }
        Ok(())
    }

    /// Hands back a prefetched job that will not run here (shutdown, or the worker's step
    /// failed); if even that fails, its lease runs out and the sweeper brings it back.
    async fn hand_back_unrun(&self, claimed: Claimed) {
        let job_id = claimed.lease.job_id;
        match self.hand_back(&claimed.lease).await {
            Ok(()) => tracing::info!(job_id, "prefetched job handed back to the queue"),
            Err(e) => {
                tracing::warn!(job_id, error = %e, "could not hand back a prefetched job; its lease will run out")
            }
        }
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
    /// out first. With `prefetch` (`Some`), claims and starts the next job meanwhile and leaves
    /// it there, its lease renewed with this one's.
    async fn execute(
        &self,
        kind: JobKind,
        job: JobRow,
        photo: Option<PhotoRow>,
        lease: &Lease,
        shutdown: &CancellationToken,
        prefetch: Option<&mut Option<Claimed>>,
    ) -> Option<Result<Finished, JobError>> {
        let mut unused = None;
        let want = prefetch.is_some();
        let next = prefetch.unwrap_or(&mut unused);
        let mut handle = tokio::spawn(handle(self.deps.clone(), kind, job, photo));
        let mut renew = tokio::time::interval(self.config.renew_every);
        renew.tick().await; // the first tick is immediate; the lease is fresh
        let grace = async {
            shutdown.cancelled().await;
            tokio::time::sleep(self.config.shutdown_grace).await;
        };
        tokio::pin!(grace);
        // The claim of the next job in progress. Never dropped halfway (an id claimed but not
        // started would sit in flight until the sweeper's re-push age): awaited to the end
        // before this returns.
        let mut claiming: Option<ClaimFuture<'_>> =
            want.then(|| Box::pin(self.claim_and_start(None)) as ClaimFuture<'_>);
        let result = loop {
            tokio::select! {
                joined = &mut handle => {
                    break Some(match joined {
                        Ok(result) => result,
                        Err(e) if e.is_panic() => {
                            Err(JobError::Permanent("the job handler panicked".into()))
                        }
                        Err(_) => Err(JobError::Retryable("the job was cancelled".into())),
                    });
                }
                claim = pending_claim(&mut claiming) => {
                    claiming = None;
                    if self.prefetched(claim, next) {
                        claiming = Some(Box::pin(self.claim_and_start(None)));
                    }
                }
                _ = renew.tick() => {
                    self.renew(lease, "running").await;
                    if let Some(held) = next.as_ref()
                        && !self.renew(&held.lease, "prefetched").await
                    {
                        // Taken over: its new holder runs it; nothing of it is ours to ack.
                        *next = None;
                    }
                }
                () = &mut grace => {
                    handle.abort();
                    break None;
                }
            }
        };
        if let Some(claim) = claiming.take() {
            self.prefetched(claim.await, next);
        }
        result
    }

    /// Keeps a prefetched job in `next`; true when the claim found a job it could not start
    /// (a duplicate delivery: worth claiming again).
    fn prefetched(&self, claim: Result<Claim, WorkerError>, next: &mut Option<Claimed>) -> bool {
        match claim {
            Ok(Claim::Started { claimed, .. }) => {
                *next = Some(claimed);
                false
            }
            Ok(Claim::Skipped(_)) => true,
            Ok(Claim::Idle) => false,
            Err(e) => {
                tracing::warn!(error = %e, "could not prefetch the next job");
                false
            }
        }
    }

    /// Renews a lease; false when it is no longer held.
    async fn renew(&self, lease: &Lease, which: &'static str) -> bool {
        match jobs::renew(&self.deps.db, lease, self.lease_end()).await {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(job_id = lease.job_id, which, "lease lost");
                false
            }
            // The database is down: keep going; if it stays down past the lease, another
            // worker may take the job over, and this one's outcome is refused by the lease
            // check.
            Err(e) => {
                tracing::warn!(job_id = lease.job_id, which, error = %e, "could not renew the lease");
                true
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
        // A job started ahead while the previous one ran (see the module docs).
        let mut next: Option<Claimed> = None;
        while !shutdown.is_cancelled() {
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(e) = self.sweep().await {
                    tracing::warn!(error = %e, "sweep failed");
                }
                next_sweep = tokio::time::Instant::now() + self.config.sweep_every;
            }
            // The claim (idle wait) is short, and a claimed job is seen through: shutdown is
            // handled inside by the grace period, never by dropping the job mid-way.
            let claimed = match next.take() {
                Some(claimed) => Ok(Some((claimed, false))),
                None => match self.claim_and_start(Some(self.config.idle_wait)).await {
                    Ok(Claim::Started { claimed, waited }) => Ok(Some((claimed, waited))),
                    Ok(Claim::Idle | Claim::Skipped(_)) => Ok(None),
                    Err(e) => Err(e),
                },
            };
            let step = match claimed {
                // A job that had to be waited for is not part of a backlog: another worker may
                // be idle, so nothing is taken ahead of it.
                Ok(Some((claimed, waited))) => {
                    let prefetch = self.config.prefetch && !waited;
                    let (outcome, prefetched) =
                        self.run_claimed(claimed, &shutdown, prefetch).await;
                    next = prefetched;
                    outcome.map(|_| ())
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                tracing::warn!(error = %e, "worker step failed; retrying shortly");
                if let Some(claimed) = next.take() {
                    self.hand_back_unrun(claimed).await;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
        if let Some(claimed) = next.take() {
            self.hand_back_unrun(claimed).await;
        }
    }
}

/// A job this consumer claimed and started (its lease taken), not yet run.
#[derive(Debug)]
struct Claimed {
    lease: Lease,
    started: jobs::Started,
}

/// What one claim found.
#[derive(Debug)]
enum Claim {
    /// Nothing ready.
    Idle,
    /// An id whose job could not start (acknowledged).
    Skipped(i64),
    /// A started job; `waited` when the queue was empty at first (no backlog).
    Started { claimed: Claimed, waited: bool },
}

/// A claim of the next job in progress.
type ClaimFuture<'a> = Pin<Box<dyn Future<Output = Result<Claim, WorkerError>> + Send + 'a>>;

/// The claim in progress, or never when there is none.
async fn pending_claim(claiming: &mut Option<ClaimFuture<'_>>) -> Result<Claim, WorkerError> {
    match claiming {
        Some(claim) => claim.await,
        None => std::future::pending().await,
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
