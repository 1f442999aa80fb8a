//! The answers hyper writes itself, in the JSON error shape.
//!
//! A request head hyper cannot parse never reaches the router: hyper answers it with a bare
//! status and an empty body (414 for a URL over 64 KiB, 431 for a head over its buffer, 400 for
//! a malformed one) and closes the connection. This wrapper of the connection's stream
//! recognises such an answer as hyper writes it (an error status with an empty body and none of
//! the headers every answer of ours carries, see `headers.rs`) and writes the same status with
//! a `{"error": {"code", "message"}}` body instead.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use shared::api::{ErrorBody, ErrorCode, ErrorResponse};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose bare error answers from hyper are rewritten; see the module doc.
#[derive(Debug)]
pub struct JsonParseErrors<S> {
    inner: S,
    /// A rewritten answer still being written, and how much of it is out.
    pending: Vec<u8>,
    written: usize,
}

impl<S> JsonParseErrors<S> {
    /// Wraps a connection's stream.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> JsonParseErrors<S> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonParseErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<S> {
    // Not vectored (the default): hyper then writes each answer from the start of one buffer,
    // so its head is at the start of a write.
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = rewrite(buf) {
            self.pending = answer;
            // Written now or by the flush hyper makes next; hyper's bytes count as taken.
            if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The JSON answer replacing `buf`, when `buf` is a bare error answer of hyper's own.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let status: u16 = std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()?;
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let ours = head.contains("\r\nx-content-type-options:");
    let empty = head.contains("\r\ncontent-length: 0\r\n") && buf.len() == head_end;
    if status < 400 || ours || !empty {
        return None;
    }
    let status = axum::http::StatusCode::from_u16(status).ok()?;
    let (code, message) = match status.as_u16() {
        414 => (
            ErrorCode::UriTooLong,
            "the URL is longer than the server reads (64 KiB)".to_string(),
        ),
        500.. => (ErrorCode::Internal, "internal error".to_string()),
        _ => (
            ErrorCode::BadRequest,
            format!(
                "the request could not be read: {}",
                status
                    .canonical_reason()
                    .unwrap_or("bad request")
                    .to_lowercase()
            ),
        ),
    };
    let body = serde_json::to_vec(&ErrorResponse {
        error: ErrorBody::new(code, message),
    })
    .ok()?;
    let mut answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         x-content-type-options: nosniff\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn only_hyper_s_bare_error_answers_are_rewritten() {
        let bare = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(rewrite(bare).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "uri_too_long");
        // Ours (security headers), a success, and a body are left alone.
        assert!(rewrite(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nx-content-type-options: nosniff\r\n\r\n").is_none());
        assert!(rewrite(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\nhi").is_none());
        assert!(rewrite(b"\xff\xd8 a photo's bytes").is_none());
    }
}
