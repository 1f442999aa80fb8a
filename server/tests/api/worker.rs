//! The worker over a real database and queue: outcomes are recorded in the jobs table, a job it
//! cannot run ends `failed` with its reason, duplicates are skipped, dead workers' jobs return.

use std::time::Duration;

use server::db::jobs::{self, JobStatus, NewJob};
use server::worker::{Outcome, Worker, WorkerConfig};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_job_of_unknown_kind_ends_failed_with_its_reason_and_the_worker_goes_on,
    a_duplicate_delivery_is_acknowledged_without_running_twice,
    a_job_held_by_a_dead_worker_is_swept_back_and_finished,
);

fn worker(app: &TestApp, visibility: Duration) -> Worker {
    Worker::new(
        &app.services,
        WorkerConfig {
            visibility,
            sweep_every: Duration::from_secs(3600),
            idle_wait: Duration::from_millis(200),
        },
    )
}

async fn queue_job(app: &TestApp, kind: &str) -> i64 {
    let id = jobs::insert(
        app.services.db.pool(),
        &NewJob {
            kind,
            payload: "{}",
            max_attempts: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.services.queue.push(id).await.unwrap();
    id
}

async fn a_job_of_unknown_kind_ends_failed_with_its_reason_and_the_worker_goes_on(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let w = worker(&app, Duration::from_secs(300));
    let first = queue_job(&app, "no_such_kind").await;
    let second = queue_job(&app, "another_unknown").await;

    assert_eq!(
        w.run_once().await.unwrap(),
        Outcome::Ran {
            job_id: first,
            status: JobStatus::Failed
        }
    );
    assert_eq!(
        w.run_once().await.unwrap(),
        Outcome::Ran {
            job_id: second,
            status: JobStatus::Failed
        }
    );
    assert_eq!(w.run_once().await.unwrap(), Outcome::Idle);

    let row = jobs::get(app.services.db.pool(), first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status(), Some(JobStatus::Failed));
    assert_eq!(row.attempts, 1, "a permanent failure is not retried");
    assert!(
        row.error
            .unwrap()
            .contains("unknown job kind 'no_such_kind'")
    );
    let depth = app.services.queue.depth().await.unwrap();
    assert_eq!((depth.ready, depth.in_flight), (0, 0));
    app.stop().await;
}

async fn a_duplicate_delivery_is_acknowledged_without_running_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = worker(&app, Duration::from_secs(300));
    let id = queue_job(&app, "no_such_kind").await;
    app.services.queue.push(id).await.unwrap();

    assert!(matches!(w.run_once().await.unwrap(), Outcome::Ran { .. }));
    assert_eq!(w.run_once().await.unwrap(), Outcome::Skipped { job_id: id });
    let row = jobs::get(app.services.db.pool(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.attempts, 1);
    app.stop().await;
}

async fn a_job_held_by_a_dead_worker_is_swept_back_and_finished(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = queue_job(&app, "no_such_kind").await;
    // A worker claims the job and starts it, then dies without a word.
    assert_eq!(app.services.queue.try_claim().await.unwrap(), Some(id));
    let started = jobs::start(app.services.db.pool(), id, 0).await.unwrap();
    assert!(started.is_some());

    // Nothing is ready while the dead worker's claim is still fresh.
    let w = worker(&app, Duration::from_millis(300));
    assert_eq!(w.run_once().await.unwrap(), Outcome::Idle);

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(w.sweep().await.unwrap() >= 1);
    let outcome = w.run_once().await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Ran {
            job_id: id,
            status: JobStatus::Failed
        }
    );
    let row = jobs::get(app.services.db.pool(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.attempts, 2, "the dead worker's attempt counts");
    app.stop().await;
}
