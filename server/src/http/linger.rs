//! Lingering close: when an answer leaves before its request body was read (an upload refused
//! at its first over-size file, a body over its limit), the rest of the body is read and dropped
//! for a while before the connection closes.
//!
//! Closing a socket with unread data makes the kernel send a TCP reset, and a client still
//! sending its body (most do: they read the answer only after the body, or while sending) then
//! sees "connection reset" instead of our 413. Reading on, up to [`LINGER_BYTES`] or
//! [`LINGER_TIME`], gives the answer time to arrive; a body that ends within the bound even
//! leaves the connection open for the next request. Past the bound the connection closes
//! anyway, so a client cannot make the server read an endless body.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use tokio::sync::oneshot;

/// Bytes of an unread body read and dropped after the answer, at most.
pub const LINGER_BYTES: u64 = 8 * 1024 * 1024;
/// How long the rest of an unread body is read after the answer, at most.
pub const LINGER_TIME: Duration = Duration::from_secs(5);

/// Hands the handler a body that, when dropped unfinished, gives the rest back here to be
/// drained in the background while the answer is sent.
pub async fn linger(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let (back, rest) = oneshot::channel();
    let body = Body::new(GivesBack {
        inner: Some(body),
        back: Some(back),
    });
    let response = next.run(Request::from_parts(parts, body)).await;
    let mut rest = rest;
    match rest.try_recv() {
        Ok(body) => {
            tokio::spawn(drain(body));
        }
        // A handler that still holds the body (a response streaming while it reads).
        Err(oneshot::error::TryRecvError::Empty) => {
            tokio::spawn(async move {
                if let Ok(body) = rest.await {
                    drain(body).await;
                }
            });
        }
        // Read to its end: the common case, nothing to do.
        Err(oneshot::error::TryRecvError::Closed) => {}
    }
    response
}

/// Reads and drops what is left of a body, within the bounds.
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut read = 0u64;
    let _ = tokio::time::timeout(LINGER_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len() as u64;
            if read >= LINGER_BYTES {
                break;
            }
        }
    })
    .await;
}

/// A request body that sends its unread remainder back when dropped.
struct GivesBack {
    inner: Option<Body>,
    back: Option<oneshot::Sender<Body>>,
}

impl HttpBody for GivesBack {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            // Read to the end: nothing to give back.
            self.inner = None;
            self.back = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for GivesBack {
    fn drop(&mut self) {
        if let (Some(inner), Some(back)) = (self.inner.take(), self.back.take())
            && !inner.is_end_stream()
        {
            let _ = back.send(inner);
        }
    }
}
