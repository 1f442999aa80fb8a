//! The HTTP/1 accept loop: a header-read timeout, a cap on open connections, and graceful
//! shutdown.
//!
//! `axum::serve` runs hyper without a timer, so a client that sends half a header keeps its
//! connection (and a task) forever: a few hundred such clients (slowloris) hold the server.
//! Here hyper gets Tokio's timer and closes a connection whose request head has not arrived
//! within the timeout, and no more than `max_connections` connections are served at once
//! (further clients wait in the kernel's accept queue). The server speaks HTTP/1 only, as it
//! did under `axum::serve` (axum's `http2` feature is off), so hyper's HTTP/1 builder is enough.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Connection limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A request head (line and headers) must arrive within this, counted from its first byte.
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` fires, then stops accepting and waits for the
/// open connections to finish their requests (idle ones close at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        // A slot first: at the limit, new clients wait in the accept queue, not in memory.
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin (as
                    // axum::serve does); the slot is given back by the drop.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Small responses (JSON, events) should leave at once.
        let _ = stream.set_nodelay(true);
        let connection = graceful.watch(builder.serve_connection(
            // hyper's own error answers (a URL over 64 KiB) in our JSON shape.
            TokioIo::new(super::parse_errors::JsonParseErrors::new(stream)),
            TowerToHyperService::new(app.clone()),
        ));
        tokio::spawn(async move {
            // A failed connection is the client's doing (a reset, a header timeout): the
            // server has nothing to report about it.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
