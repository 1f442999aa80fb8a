//! One test suite for both queue implementations: the in-process queue and Redis.

use std::sync::Arc;
use std::time::Duration;

use server::queue::{JobQueue, MemoryQueue, QueueDepth, RedisQueue};

use crate::helpers::{test_redis_url, unique};

async fn redis_queue() -> Arc<dyn JobQueue> {
    Arc::new(
        RedisQueue::connect(&test_redis_url(), &unique("classify_test"))
            .await
            .expect("Redis is needed for this test (CLASSIFY_TEST_REDIS_URL)"),
    )
}

fn memory_queue() -> Arc<dyn JobQueue> {
    Arc::new(MemoryQueue::new())
}

macro_rules! queue_suite {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::memory_queue()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::redis_queue().await).await;
                }
            )*
        }
    };
}

queue_suite!(
    ids_come_out_in_the_order_they_went_in,
    an_empty_queue_claims_nothing_after_waiting,
    a_claimed_id_is_in_flight_until_acknowledged,
    an_unacknowledged_id_comes_back_after_the_visibility_timeout,
    a_fresh_claim_is_not_requeued_early,
    a_waiting_claim_wakes_up_when_an_id_arrives,
    a_push_of_an_id_already_waiting_adds_nothing,
    a_push_of_an_id_in_flight_makes_it_ready_once,
    ping_answers,
);

async fn a_push_of_an_id_already_waiting_adds_nothing(q: Arc<dyn JobQueue>) {
    assert_eq!(q.pushes().await.unwrap(), 0);
    assert!(q.push(1).await.unwrap());
    assert!(!q.push(1).await.unwrap());
    assert_eq!(q.push_many(&[1, 2, 2, 3]).await.unwrap(), 2);
    assert_eq!(q.depth().await.unwrap().ready, 3);
    assert_eq!(q.pushes().await.unwrap(), 3);
    let mut got = Vec::new();
    while let Some(id) = q.try_claim().await.unwrap() {
        got.push(id);
    }
    assert_eq!(got, vec![1, 2, 3]);
}

async fn a_push_of_an_id_in_flight_makes_it_ready_once(q: Arc<dyn JobQueue>) {
    q.push(9).await.unwrap();
    assert_eq!(q.try_claim().await.unwrap(), Some(9));
    // Its worker died; the sweeper pushes it twice (two sweepers, say): one delivery.
    assert!(q.push(9).await.unwrap());
    assert!(!q.push(9).await.unwrap());
    assert_eq!(
        q.depth().await.unwrap(),
        QueueDepth {
            ready: 1,
            in_flight: 0
        }
    );
    assert_eq!(q.try_claim().await.unwrap(), Some(9));
    assert_eq!(q.try_claim().await.unwrap(), None);
}

async fn ids_come_out_in_the_order_they_went_in(q: Arc<dyn JobQueue>) {
    for id in [3, 1, 2] {
        q.push(id).await.unwrap();
    }
    let mut got = Vec::new();
    while let Some(id) = q.try_claim().await.unwrap() {
        got.push(id);
    }
    assert_eq!(got, vec![3, 1, 2]);
}

async fn an_empty_queue_claims_nothing_after_waiting(q: Arc<dyn JobQueue>) {
    let started = std::time::Instant::now();
    assert_eq!(q.claim(Duration::from_millis(300)).await.unwrap(), None);
    assert!(started.elapsed() >= Duration::from_millis(250));
}

async fn a_claimed_id_is_in_flight_until_acknowledged(q: Arc<dyn JobQueue>) {
    q.push(7).await.unwrap();
    q.push(8).await.unwrap();
    assert_eq!(q.try_claim().await.unwrap(), Some(7));
    assert_eq!(
        q.depth().await.unwrap(),
        QueueDepth {
            ready: 1,
            in_flight: 1
        }
    );
    q.ack(7).await.unwrap();
    assert_eq!(
        q.depth().await.unwrap(),
        QueueDepth {
            ready: 1,
            in_flight: 0
        }
    );
}

async fn an_unacknowledged_id_comes_back_after_the_visibility_timeout(q: Arc<dyn JobQueue>) {
    q.push(42).await.unwrap();
    assert_eq!(q.try_claim().await.unwrap(), Some(42));
    assert_eq!(q.try_claim().await.unwrap(), None);
    // The worker that claimed it "dies": it never acknowledges.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let back = q.requeue_expired(Duration::from_millis(10)).await.unwrap();
    assert_eq!(back, 1);
    assert_eq!(q.try_claim().await.unwrap(), Some(42));
}

async fn a_fresh_claim_is_not_requeued_early(q: Arc<dyn JobQueue>) {
    q.push(5).await.unwrap();
    assert_eq!(q.try_claim().await.unwrap(), Some(5));
    assert_eq!(q.requeue_expired(Duration::from_secs(60)).await.unwrap(), 0);
    assert_eq!(q.try_claim().await.unwrap(), None);
}

async fn a_waiting_claim_wakes_up_when_an_id_arrives(q: Arc<dyn JobQueue>) {
    let pusher = q.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        pusher.push(99).await.unwrap();
    });
    let got = q.claim(Duration::from_secs(5)).await.unwrap();
    assert_eq!(got, Some(99));
}

async fn ping_answers(q: Arc<dyn JobQueue>) {
    q.ping().await.unwrap();
}
