//! The process's decode threads: one per core, fed by one queue, for the workers' verifications.
//!
//! A verification is ~8 ms of pure CPU. Run through tokio's blocking pool, each one ended with a
//! hop back through the runtime (wake the task, release, wake the next task, wake a blocking
//! thread) before the next could start, and with a verification backlog on two cores the
//! machine sat 7–12 % idle (`docs/api-benchmarks.md`). Here a thread that finishes takes the next
//! queued decode at once. Memory stays bounded by the decode budget, which every caller reserves
//! before it queues work.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Work = Box<dyn FnOnce() + Send>;

/// The work panicked (hostile data that tripped a bug); the thread lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the analysis panicked")]
pub struct Panicked;

/// A fixed set of decode threads. Cheap to clone; the threads end when the last clone is dropped
/// and the queue has drained.
#[derive(Debug, Clone)]
pub struct DecodeThreads {
    queue: Sender<Work>,
    threads: usize,
}

impl DecodeThreads {
    /// One thread per core of the machine (its CPU quota in a container).
    pub fn per_core() -> Self {
        Self::new(super::cores())
    }

    /// `threads` threads (at least 1).
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (queue, receiver) = channel::<Work>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("decode-{n}"))
                .spawn(move || serve(&receiver));
            if let Err(e) = spawned {
                // Fewer threads only means less parallelism; with none at all, `run` reports
                // every job as failed rather than hanging (its sender is dropped unrun).
                tracing::error!(error = %e, "could not start a decode thread");
            }
        }
        Self { queue, threads }
    }

    /// How many threads serve the queue.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `work` on a decode thread, after the work queued before it.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Panicked>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Work = Box::new(move || {
            let _ = answer.send(catch_unwind(AssertUnwindSafe(work)).map_err(|_| Panicked));
        });
        // A send fails only when no thread is left to receive; the dropped answer says so.
        let _ = self.queue.send(job);
        answered.await.map_err(|_| Panicked)?
    }
}

/// One thread's loop: the next job, until every sender is gone.
fn serve(receiver: &Mutex<Receiver<Work>>) {
    loop {
        // The lock is held only while waiting, so one idle thread waits and the rest wait for it.
        let next = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match next {
            Ok(work) => work(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::time::Duration;

    #[tokio::test]
    async fn work_runs_and_answers() {
        let threads = DecodeThreads::new(2);
        assert_eq!(threads.threads(), 2);
        assert_eq!(threads.run(|| 6 * 7).await, Ok(42));
    }

    #[tokio::test]
    async fn a_panic_fails_its_own_work_and_the_threads_go_on() {
        let threads = DecodeThreads::new(1);
        let failed = threads.run(|| -> u8 { panic!("hostile data") }).await;
        assert_eq!(failed, Err(Panicked));
        // The one thread survived and serves the next job.
        let next = tokio::time::timeout(Duration::from_secs(10), threads.run(|| 1))
            .await
            .expect("the thread died with the panic");
        assert_eq!(next, Ok(1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_run_in_parallel_on_every_thread() {
        // Both jobs must be inside at once to pass the barrier: with one thread they would
        // wait for each other forever, and the timeout fails the test.
        let threads = DecodeThreads::new(2);
        let barrier = Arc::new(Barrier::new(2));
        let (a, b) = (Arc::clone(&barrier), Arc::clone(&barrier));
        let both =
            async { tokio::join!(threads.run(move || a.wait()), threads.run(move || b.wait())) };
        let (a, b) = tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .expect("the two jobs never ran at the same time");
        assert!(a.is_ok() && b.is_ok());
    }

    #[tokio::test]
    async fn work_queued_beyond_the_threads_waits_its_turn() {
        let threads = DecodeThreads::new(1);
        let answers = futures_util::future::join_all((0..20).map(|i| threads.run(move || i)));
        let answers: Vec<_> = answers.await.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, (0..20).collect::<Vec<_>>());
    }
}
