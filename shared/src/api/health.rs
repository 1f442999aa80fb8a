//! Health reports: what `/health/ready` and `/health/services` answer.

use serde::{Deserialize, Serialize};

/// Whether one dependency answered its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    /// It answered in time.
    Up,
    /// It failed or timed out.
    Down,
}

/// One dependency's check result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceHealth {
    /// Stable name: `database` or `queue`.
    pub name: String,
    /// Which implementation backs it, e.g. `postgres`, `sqlite`, `redis`, `memory`.
    pub kind: String,
    /// Up or down.
    pub status: ServiceStatus,
    /// How long the check took, in milliseconds.
    pub latency_ms: f64,
    /// Why it is down (absent when up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer of `GET /health/services`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicesReport {
    /// Up when every service is up.
    pub status: ServiceStatus,
    /// The server's version.
    pub version: String,
    /// Seconds since the server started.
    pub uptime_s: u64,
    /// Each dependency.
    pub services: Vec<ServiceHealth>,
}

/// The answer of `GET /health/ready` (503 when `ready` is false).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// True when every dependency is reachable.
    pub ready: bool,
    /// The names of the dependencies that are down.
    #[serde(default)]
    pub down: Vec<String>,
    /// Present when not ready: the usual error object, naming what is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::api::ErrorBody>,
}

impl ServicesReport {
    /// The services that are down, by name.
    pub fn down(&self) -> Vec<String> {
        self.services
            .iter()
            .filter(|s| s.status == ServiceStatus::Down)
            .map(|s| s.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, status: ServiceStatus) -> ServiceHealth {
        ServiceHealth {
            name: name.into(),
            kind: "test".into(),
            status,
            latency_ms: 1.0,
            error: None,
        }
    }

    #[test]
    fn down_lists_only_the_services_that_failed() {
        let report = ServicesReport {
            status: ServiceStatus::Down,
            version: "0".into(),
            uptime_s: 0,
            services: vec![
                service("database", ServiceStatus::Up),
                service("queue", ServiceStatus::Down),
            ],
        };
        assert_eq!(report.down(), vec!["queue".to_string()]);
    }

    #[test]
    fn an_up_service_serializes_without_an_error_field() {
        let json = serde_json::to_value(service("database", ServiceStatus::Up)).unwrap();
        assert_eq!(json["status"], "up");
        assert!(json.get("error").is_none());
    }
}
