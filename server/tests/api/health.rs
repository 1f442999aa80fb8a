//! Health, readiness, metrics and the JSON error shape, on a live server.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    liveness_answers_ok,
    readiness_is_200_when_database_and_queue_answer,
    services_report_each_dependency_with_its_backend_and_latency,
    metrics_count_requests_by_route_in_prometheus_format,
    unknown_api_paths_and_wrong_methods_answer_json_errors,
);

async fn liveness_answers_ok(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app.get_json("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    app.stop().await;
}

async fn readiness_is_200_when_database_and_queue_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app.get_json("/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["down"], serde_json::json!([]));
    app.stop().await;
}

async fn services_report_each_dependency_with_its_backend_and_latency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app.get_json("/health/services").await;
    assert_eq!(status, 200);
    let report: shared::api::ServicesReport = serde_json::from_value(body).unwrap();
    let (db_kind, queue_kind) = match backend {
        Backend::Embedded => ("sqlite", "memory"),
        Backend::Services => ("postgres", "redis"),
    };
    let db = report
        .services
        .iter()
        .find(|s| s.name == "database")
        .unwrap();
    let queue = report.services.iter().find(|s| s.name == "queue").unwrap();
    assert_eq!(db.kind, db_kind);
    assert_eq!(queue.kind, queue_kind);
    assert_eq!(report.status, shared::api::ServiceStatus::Up);
    for s in [db, queue] {
        assert_eq!(s.status, shared::api::ServiceStatus::Up);
        assert!(s.latency_ms >= 0.0 && s.latency_ms < 2000.0, "{s:?}");
        assert!(s.error.is_none());
    }
    app.stop().await;
}

async fn metrics_count_requests_by_route_in_prometheus_format(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.get("/health").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("classify_http_requests_total{")
                && l.contains("route=\"/health\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no request counter for /health in:\n{text}"));
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0);
    assert!(text.contains("# TYPE classify_http_request_duration_seconds histogram"));
    app.stop().await;
}

async fn unknown_api_paths_and_wrong_methods_answer_json_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app.get_json("/api/v1/no-such-thing").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not found")
    );

    let response = app
        .http
        .post(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
    app.stop().await;
}
