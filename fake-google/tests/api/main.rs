//! Integration tests: the fake over real HTTP on loopback, as a client of Google would see it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod control;
mod helpers;
mod media;
mod oauth;
mod picker;
