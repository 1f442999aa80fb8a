//! Wire types of the REST API under `/api/v1` and the health endpoints.

pub mod error;
pub mod health;

pub use error::{ErrorBody, ErrorCode, ErrorResponse};
pub use health::{Readiness, ServiceHealth, ServiceStatus, ServicesReport};
