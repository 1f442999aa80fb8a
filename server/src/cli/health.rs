//! `classify health`: one `GET /health` to a running server over plain HTTP/1.1, so a container
//! image can check itself with its own binary (no curl, no shell).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::HealthArgs;

/// Asks the server and prints what it answered; exit 0 on 200, 1 otherwise.
pub async fn run(args: &HealthArgs) -> ExitCode {
    let addr = local_target(args.addr);
    let deadline = Duration::from_secs(args.timeout_secs.max(1));
    match tokio::time::timeout(deadline, status_of(addr)).await {
        Ok(Ok(200)) => {
            println!("healthy: {addr} answered 200");
            ExitCode::SUCCESS
        }
        Ok(Ok(status)) => {
            eprintln!("unhealthy: {addr} answered {status}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("unhealthy: {addr}: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("unhealthy: {addr} did not answer within {deadline:?}");
            ExitCode::FAILURE
        }
    }
}

/// A listening address as something to connect to: 0.0.0.0 and [::] mean this machine.
fn local_target(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// The status code of `GET /health`.
async fn status_of(addr: SocketAddr) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(addr).await?;
    // A loopback Host, which local mode's host check accepts.
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        let n = stream.read(&mut head[read..]).await?;
        if n == 0 {
            break;
        }
        read += n;
    }
    parse_status(&head[..read])
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer"))
}

/// The code of an HTTP/1.x status line.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(head.get(..12)?).ok()?;
    let rest = line.strip_prefix("HTTP/1.")?;
    rest.get(2..5)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_and_junk_is_not() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.0 503 Service"), Some(503));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status(b"HTTP/1.1"), None);
    }

    #[test]
    fn an_unspecified_address_means_this_machine() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(local_target(any).to_string(), "127.0.0.1:8080");
        let v6: SocketAddr = "[::]:9".parse().unwrap();
        assert_eq!(local_target(v6).to_string(), "[::1]:9");
        let named: SocketAddr = "10.0.0.5:80".parse().unwrap();
        assert_eq!(local_target(named), named);
    }
}
