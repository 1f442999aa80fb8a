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
    // A gallery page leaves a connection in the typed pool, which the outage cuts.
    assert_eq!(app.get_json("/api/v1/photos").await.0, 200);
    assert_outage_is_reported_and_recovered(&app, &proxy, "database").await;
    let (status, body) = app.get_json("/api/v1/photos").await;
    assert_eq!(
        status, 200,
        "the first page after the outage failed: {body}"
    );
    app.stop().await;
}

/// Ends every other backend of the database at `url`, as a PostgreSQL restart would.
async fn terminate_backends_of(url: &str) {
    use sqlx::Connection;
    let name = url::Url::parse(url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_string();
    let mut admin = sqlx::PgConnection::connect(&crate::helpers::test_database_admin_url())
        .await
        .unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&name)
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
}

/// The typed pool skips the check around each statement, so a connection that died while
/// it sat in the pool must be replaced before use after a pause, and run again on a checked
/// connection when it is reused at once: neither costs a statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_ended_by_the_database_fails_no_statement() {
    use server::db::{Database, pg_pool::CHECK_AFTER_IDLE};
    let url = fresh_postgres_database().await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut storage =
        crate::helpers::storage(crate::helpers::Backend::Embedded, data_dir.path().into()).await;
    storage.database_url = Some(url.clone().into());
    storage.database_max_connections = 4; // two typed connections
    let db = Database::connect(&storage).await.unwrap();
    let one = || db.fetch_optional::<(i64,)>("SELECT 1::BIGINT", &[]);
    // Both typed connections open, so the second must be found dead too.
    let (a, b) = tokio::join!(
        db.fetch_optional::<(i64,)>("SELECT 1::BIGINT FROM pg_sleep(0.1)", &[]),
        db.fetch_optional::<(i64,)>("SELECT 1::BIGINT FROM pg_sleep(0.1)", &[])
    );
    assert_eq!((a.unwrap(), b.unwrap()), (Some((1,)), Some((1,))));

    terminate_backends_of(&url).await;
    // The pause a restart takes: the connection is checked before use and replaced.
    tokio::time::sleep(CHECK_AFTER_IDLE + std::time::Duration::from_millis(200)).await;
    assert_eq!(
        one().await.unwrap(),
        Some((1,)),
        "used a dead connection after a pause"
    );

    for round in 0..3 {
        terminate_backends_of(&url).await;
        // Reused at once, unchecked: the statement that finds it dead runs again.
        for _ in 0..3 {
            let result = one().await;
            assert_eq!(result.unwrap(), Some((1,)), "round {round}");
        }
    }
    db.close().await;
    crate::helpers::drop_postgres_database(&url).await;
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
