//! The worker over a real database and queue: outcomes are recorded in the jobs table, a job it
//! cannot run ends `failed` with its reason, duplicates are skipped, a dead worker's job comes
//! back when its lease runs out, a job whose workers keep dying ends failed, and the sweeper
//! pushes again only what the queue does not hold.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use server::db::jobs::{self, JobStatus, Lease, NewJob};
use server::jobs::{Outcome, Worker, WorkerConfig};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_job_of_unknown_kind_ends_failed_with_its_reason_and_the_worker_goes_on,
    a_duplicate_delivery_is_acknowledged_without_running_twice,
    a_job_held_by_a_dead_worker_comes_back_when_its_lease_runs_out,
    a_job_whose_workers_keep_dying_ends_failed_with_the_reason,
    the_sweeper_pushes_again_only_what_the_queue_lost,
    a_slow_job_whose_worker_is_alive_is_never_run_twice,
    a_verdict_whose_lease_was_lost_is_not_stored,
);

fn worker(app: &TestApp, lease: Duration) -> Worker {
    let mut config = WorkerConfig::with_lease(lease);
    config.idle_wait = Duration::from_millis(200);
    config.repush_after = Duration::from_millis(300);
    Worker::new(app.deps.clone(), config)
}

async fn insert_job(app: &TestApp, kind: &str) -> i64 {
    jobs::insert(
        app.deps.db.pool(),
        &NewJob {
            kind,
            payload: "{}",
            max_attempts: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn queue_job(app: &TestApp, kind: &str) -> i64 {
    let id = insert_job(app, kind).await;
    assert!(app.deps.queue.push(id).await.unwrap());
    id
}

/// A worker that claims `id`, starts it under a lease of `lease_ms`, and dies.
async fn start_and_die(app: &TestApp, id: i64, lease_ms: i64) {
    assert_eq!(app.deps.queue.try_claim().await.unwrap(), Some(id));
    let lease = Lease {
        job_id: id,
        owner: "dead-worker".into(),
    };
    let until = server::time::now_ms() + lease_ms;
    assert!(
        jobs::start(&app.deps.db, &lease, until)
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_job_of_unknown_kind_ends_failed_with_its_reason_and_the_worker_goes_on(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let w = worker(&app, Duration::from_secs(10));
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

    let row = jobs::get(app.deps.db.pool(), first).await.unwrap().unwrap();
    assert_eq!(row.status(), Some(JobStatus::Failed));
    assert_eq!(row.attempts, 1, "a permanent failure is not retried");
    assert!(
        row.error
            .unwrap()
            .contains("unknown job kind 'no_such_kind'")
    );
    let depth = app.deps.queue.depth().await.unwrap();
    assert_eq!((depth.ready, depth.in_flight), (0, 0));
    app.stop().await;
}

async fn a_duplicate_delivery_is_acknowledged_without_running_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = worker(&app, Duration::from_secs(10));
    let id = queue_job(&app, "no_such_kind").await;
    // A second push of an id already waiting adds nothing.
    assert!(!app.deps.queue.push(id).await.unwrap());
    assert_eq!(app.deps.queue.depth().await.unwrap().ready, 1);

    assert!(matches!(w.run_once().await.unwrap(), Outcome::Ran { .. }));
    // Delivered again after it finished (a sweeper raced the worker): skipped.
    assert!(app.deps.queue.push(id).await.unwrap());
    assert_eq!(w.run_once().await.unwrap(), Outcome::Skipped { job_id: id });
    let row = jobs::get(app.deps.db.pool(), id).await.unwrap().unwrap();
    assert_eq!(row.attempts, 1);
    app.stop().await;
}

async fn a_job_held_by_a_dead_worker_comes_back_when_its_lease_runs_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = queue_job(&app, "no_such_kind").await;
    start_and_die(&app, id, 400).await;

    // While the dead worker's lease is fresh, nobody else may run the job.
    let w = worker(&app, Duration::from_secs(10));
    let swept = w.sweep().await.unwrap();
    assert_eq!(swept.expired, 0, "{swept:?}");
    assert_eq!(w.run_once().await.unwrap(), Outcome::Idle);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let swept = w.sweep().await.unwrap();
    assert_eq!(swept.expired, 1, "{swept:?}");
    assert_eq!(
        w.run_once().await.unwrap(),
        Outcome::Ran {
            job_id: id,
            status: JobStatus::Failed
        }
    );
    let row = jobs::get(app.deps.db.pool(), id).await.unwrap().unwrap();
    assert_eq!(row.attempts, 2, "the dead worker's attempt counts");
    // The dead worker cannot change the outcome any more: its lease is gone.
    let stale = Lease {
        job_id: id,
        owner: "dead-worker".into(),
    };
    assert!(!jobs::finish(&app.deps.db, &stale).await.unwrap());
    app.stop().await;
}

async fn a_job_whose_workers_keep_dying_ends_failed_with_the_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = queue_job(&app, "no_such_kind").await;
    let w = worker(&app, Duration::from_secs(10));
    for attempt in 1..=3 {
        start_and_die(&app, id, 1).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let swept = w.sweep().await.unwrap();
        if attempt < 3 {
            assert_eq!(swept.expired, 1, "attempt {attempt}: {swept:?}");
        } else {
            assert_eq!((swept.expired, swept.exhausted), (0, 1), "{swept:?}");
        }
    }
    let row = jobs::get(app.deps.db.pool(), id).await.unwrap().unwrap();
    assert_eq!(row.status(), Some(JobStatus::Failed));
    assert_eq!(row.attempts, 3);
    assert!(
        row.error.as_deref().unwrap_or("").contains("3 times"),
        "{:?}",
        row.error
    );
    // Not started a fourth time, whatever delivers it.
    app.deps.queue.push(id).await.unwrap();
    assert_eq!(w.run_once().await.unwrap(), Outcome::Skipped { job_id: id });
    app.stop().await;
}

async fn the_sweeper_pushes_again_only_what_the_queue_lost(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let waiting: Vec<i64> = {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(queue_job(&app, "no_such_kind").await);
        }
        ids
    };
    // Committed but never pushed: the queue was down when it was queued.
    let lost = insert_job(&app, "no_such_kind").await;
    let pushes_before = app.deps.queue.pushes().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;

    let w = worker(&app, Duration::from_secs(10));
    let swept = w.sweep().await.unwrap();
    assert_eq!(swept.repushed, 1, "only the lost job is pushed: {swept:?}");
    assert_eq!(app.deps.queue.pushes().await.unwrap(), pushes_before + 1);
    assert_eq!(app.deps.queue.depth().await.unwrap().ready, 6);
    // A second sweep finds nothing new to push.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(w.sweep().await.unwrap().repushed, 0);

    let mut ran = Vec::new();
    while let Outcome::Ran { job_id, .. } = w.run_once().await.unwrap() {
        ran.push(job_id);
    }
    ran.sort_unstable();
    let mut expected = waiting.clone();
    expected.push(lost);
    assert_eq!(ran, expected);
    app.stop().await;
}

/// A photo big enough that verifying it spans many short leases: the worker's renewals must
/// keep a second worker, sweeping all the while, from taking it over.
async fn a_slow_job_whose_worker_is_alive_is_never_run_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let side = 8000;
    let big = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(side, side, |x, y| {
        image::Luma([((x / 7 + y / 5 + (x * y) % 3) % 256) as u8])
    }));
    let (status, body) = app
        .upload(&[("big.png".to_string(), crate::fixtures::png(&big))], None)
        .await;
    assert_eq!(status, 201, "{body}");
    let photo = body["items"][0]["id"].as_i64().unwrap();
    let lease = Duration::from_millis(50);
    let shutdown = CancellationToken::new();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut config = WorkerConfig::with_lease(lease);
        config.lease = lease;
        config.renew_every = lease / 4;
        config.sweep_every = lease / 2;
        config.idle_wait = Duration::from_millis(50);
        workers.push(tokio::spawn(
            Worker::new(app.deps.clone(), config).run(shutdown.clone()),
        ));
    }
    let started = tokio::time::Instant::now();
    let (status, accepted) = app
        .call(
            Method::POST,
            &format!("/api/v1/photos/{photo}/analyze"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let done = app
        .wait_for_batch(accepted["batch_id"].as_i64().unwrap(), None, 120)
        .await;
    let took = started.elapsed();
    assert_eq!(done["done"], 1, "{done}");
    assert!(
        took > lease * 3,
        "the job took {took:?}, too quick to span three leases of {lease:?}"
    );
    let (attempts, status): (i64, String) =
        sqlx::query_as("SELECT attempts, status FROM jobs WHERE photo_id = $1")
            .bind(photo)
            .fetch_one(app.deps.db.pool())
            .await
            .unwrap();
    assert_eq!((attempts, status.as_str()), (1, "done"), "took {took:?}");
    shutdown.cancel();
    for w in workers {
        w.await.unwrap();
    }
    app.stop().await;
}

/// A verification's verdict and its job's end are one write: a worker whose lease was taken over
/// stores neither, and the new holder stores both. The job's photo comes with its start.
async fn a_verdict_whose_lease_was_lost_is_not_stored(backend: Backend) {
    use server::db::photos::{Verdict, get_any, get_detail, insert};
    let app = TestApp::spawn(backend).await;
    let sha = format!("{:064}", 7);
    let photo = crate::helpers::bare_photo(app.local_user(), &sha);
    let mut conn = app.deps.db.pool().acquire().await.unwrap();
    let photo_id = insert(&mut conn, &photo).await.unwrap().0.id;
    drop(conn);
    let job_id = jobs::insert(
        app.deps.db.pool(),
        &NewJob {
            kind: "verify_photo",
            payload: "{}",
            user_id: Some(app.local_user()),
            photo_id: Some(photo_id),
            max_attempts: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let lease = |owner: &str| Lease {
        job_id,
        owner: owner.into(),
    };
    let now = server::time::now_ms();
    // The first worker's lease has already run out when the second one starts the job.
    let started = jobs::start(&app.deps.db, &lease("first"), now - 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(started.photo.map(|p| p.id), Some(photo_id));
    let taken_over = jobs::start(&app.deps.db, &lease("second"), now + 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken_over.job.attempts, 2);
    let verdict = Verdict {
        blur_score: 0.75,
        blur_kind: "motion",
        motion_angle_deg: Some(30.0),
        sharpness_map: Some(vec![1, 1, 80]),
    };
    let (first, second) = (lease("first"), lease("second"));
    let stale = jobs::finish_with_verdict(&app.deps.db, &first, photo_id, &verdict);
    assert!(!stale.await.unwrap());
    let row = get_any(&app.deps.db, photo_id).await.unwrap().unwrap();
    assert_eq!((row.blur_score, row.status.as_str()), (None, "unprocessed"));
    let map = || async {
        get_detail(app.deps.db.pool(), app.local_user(), photo_id)
            .await
            .unwrap()
            .unwrap()
            .sharpness_map
    };
    assert_eq!(
        map().await,
        None,
        "the stale worker's map is not stored either"
    );
    let job_status = || async {
        jobs::get(app.deps.db.pool(), job_id)
            .await
            .unwrap()
            .unwrap()
            .status()
    };
    assert_eq!(job_status().await, Some(JobStatus::Running));

    let held = jobs::finish_with_verdict(&app.deps.db, &second, photo_id, &verdict);
    assert!(held.await.unwrap());
    let row = get_any(&app.deps.db, photo_id).await.unwrap().unwrap();
    assert_eq!(row.blur_score, Some(0.75));
    assert_eq!(row.motion_angle_deg, Some(30.0));
    assert_eq!(
        map().await,
        Some(vec![1, 1, 80]),
        "the map goes with the verdict"
    );
    assert_eq!(row.status, "done");
    assert_eq!(job_status().await, Some(JobStatus::Done));
    app.stop().await;
}
