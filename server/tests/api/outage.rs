//! A dependency that goes away while the server runs: readiness names it, and the server
//! recovers by itself when it returns. The outage is a proxy cutting every connection to the
//! real PostgreSQL or Redis, so the shared services are never stopped.

use crate::helpers::{
    Proxy, TestApp, eventually, fresh_postgres_database, socket_of, test_redis_url, unique,
    with_socket,
};

async fn ready_status(app: &TestApp) -> (u16, serde_json::Value) {
    app.get_json("/health/ready").await
}

async fn assert_outage_is_reported_and_recovered(app: &TestApp, proxy: &Proxy, name: &str) {
    let (status, _) = ready_status(app).await;
    assert_eq!(status, 200);

    proxy.set_up(false);
    let last = std::sync::Mutex::new(serde_json::Value::Null);
    let down = eventually(20, || async {
        let (status, body) = ready_status(app).await;
        let reported = status == 503 && body["down"] == serde_json::json!([name]);
        *last.lock().unwrap() = body;
        reported
    })
    .await;
    let last = last.into_inner().unwrap();
    assert!(down, "{name} outage not reported; last body: {last}");
    assert_eq!(last["ready"], false);
    assert_eq!(last["error"]["code"], "unavailable");
    assert!(last["error"]["message"].as_str().unwrap().contains(name));

    let (_, services) = app.get_json("/health/services").await;
    let entry = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    assert_eq!(entry["status"], "down");
    assert!(entry["error"].as_str().is_some_and(|e| !e.is_empty()));

    proxy.set_up(true);
    let recovered = eventually(30, || async { ready_status(app).await.0 == 200 }).await;
    assert!(
        recovered,
        "the server did not recover after {name} returned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_reported_and_the_server_recovers_when_it_returns() {
    let url = fresh_postgres_database().await;
    let proxy = Proxy::start(socket_of(&url)).await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage =
        crate::helpers::storage(crate::helpers::Backend::Embedded, data_dir.path().into()).await;
    storage.database_url = Some(with_socket(&url, proxy.addr).into());
    let app = TestApp::spawn_with(storage, data_dir, |_| {}).await;
    assert_outage_is_reported_and_recovered(&app, &proxy, "database").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_is_reported_and_the_server_recovers_when_it_returns() {
    let redis = test_redis_url();
    let proxy = Proxy::start(socket_of(&redis)).await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage =
        crate::helpers::storage(crate::helpers::Backend::Embedded, data_dir.path().into()).await;
    storage.redis_url = Some(with_socket(&redis, proxy.addr).into());
    storage.redis_prefix = unique("classify_test");
    let app = TestApp::spawn_with(storage, data_dir, |_| {}).await;
    assert_outage_is_reported_and_recovered(&app, &proxy, "queue").await;
    app.stop().await;
}
