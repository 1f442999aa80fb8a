//! Dependency checks: each service answers a trivial request within a deadline, and its latency
//! is measured. Checks run concurrently so a hung dependency costs one timeout, not the sum.

use std::future::Future;
use std::time::{Duration, Instant};

use shared::api::{ServiceHealth, ServiceStatus, ServicesReport};

use crate::app::Deps;

/// How long a dependency may take before it counts as down.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Checks every dependency.
pub async fn check_all(deps: &Deps, started: Instant) -> ServicesReport {
    let db = check("database", deps.db.backend().name(), async {
        deps.db.ping().await.map_err(|e| e.to_string())
    });
    let queue = check("queue", deps.queue.kind(), async {
        deps.queue.ping().await.map_err(|e| e.to_string())
    });
    let (db, queue) = tokio::join!(db, queue);
    let services = vec![db, queue];
    let status = if services.iter().all(|s| s.status == ServiceStatus::Up) {
        ServiceStatus::Up
    } else {
        ServiceStatus::Down
    };
    ServicesReport {
        status,
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_s: started.elapsed().as_secs(),
        services,
    }
}

async fn check<F>(name: &str, kind: &str, probe: F) -> ServiceHealth
where
    F: Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    let outcome = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    };
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    metrics::histogram!("classify_dependency_check_seconds", "service" => name.to_string())
        .record(latency_ms / 1000.0);
    metrics::gauge!("classify_dependency_up", "service" => name.to_string())
        .set(if outcome.is_ok() { 1.0 } else { 0.0 });
    ServiceHealth {
        name: name.to_string(),
        kind: kind.to_string(),
        status: if outcome.is_ok() {
            ServiceStatus::Up
        } else {
            ServiceStatus::Down
        },
        latency_ms: (latency_ms * 100.0).round() / 100.0,
        error: outcome.err(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_probe_is_down_with_its_reason() {
        let report = check("queue", "redis", async { Err("refused".to_string()) }).await;
        assert_eq!(report.status, ServiceStatus::Down);
        assert_eq!(report.error.as_deref(), Some("refused"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_probe_times_out_as_down() {
        let report = check("database", "postgres", std::future::pending()).await;
        assert_eq!(report.status, ServiceStatus::Down);
        assert!(report.error.unwrap().contains("no answer"));
    }
}
