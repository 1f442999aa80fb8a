//! The preview Web Worker. It runs off the page's main thread so the UI never freezes; the
//! blur kernel from `shared` runs here once it lands (issue 3). Today it answers a handshake
//! that proves the worker pool starts, which the Debug tab shows.

use gloo_worker::{HandlerId, Worker, WorkerScope};
use serde::{Deserialize, Serialize};

/// What the page asks a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PreviewRequest {
    /// Are you running? Carries a number to echo, so replies can be matched to requests.
    Ping(u32),
}

/// What a worker answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PreviewResponse {
    /// The worker runs; echoes the ping's number and names the crate version it was built from.
    Pong {
        /// The ping's number.
        seq: u32,
        /// The client crate's version.
        version: String,
    },
}

/// Answers a request; pure, so it is tested natively.
pub fn respond(request: PreviewRequest) -> PreviewResponse {
    match request {
        PreviewRequest::Ping(seq) => PreviewResponse::Pong {
            seq,
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
    }
}

/// The worker itself (registered by `src/bin/worker.rs`, spawned from `/worker.js`).
#[derive(Debug)]
pub struct PreviewWorker;

impl Worker for PreviewWorker {
    type Message = ();
    type Input = PreviewRequest;
    type Output = PreviewResponse;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {}

    fn received(&mut self, scope: &WorkerScope<Self>, msg: Self::Input, id: HandlerId) {
        scope.respond(id, respond(msg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_is_answered_with_its_own_number() {
        match respond(PreviewRequest::Ping(7)) {
            PreviewResponse::Pong { seq, version } => {
                assert_eq!(seq, 7);
                assert!(!version.is_empty());
            }
        }
    }
}
