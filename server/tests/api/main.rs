//! The server's integration tests, in one binary (it links once). Each test runs against the
//! embedded default (SQLite + in-process queue) and against the real PostgreSQL and Redis
//! (`CLASSIFY_TEST_DATABASE_URL`, `CLASSIFY_TEST_REDIS_URL`), each in its own database and
//! key prefix so tests run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod albums;
mod bounds;
mod browser;
mod browser_a11y;
mod browser_google;
mod browser_pwa;
mod cli;
mod contract;
mod fixtures;
mod google;
mod google_harness;
mod health;
mod helpers;
mod hostile;
mod memory;
mod outage;
mod photos;
mod queue;
mod resilience;
mod scan;
mod security;
mod tags;
mod tokens;
mod uploads;
mod users;
mod worker;
