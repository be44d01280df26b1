//! The admin listener: a deliberately tiny HTTP/1.1 server on its own
//! thread, serving `GET /metrics`, `/health/live` and `/health/ready`.
//!
//! It must never become a way to hurt the server: one thread handles one
//! connection at a time (others wait in the kernel's backlog), a request may
//! be at most `admin.max_request` bytes and must arrive within
//! `admin.request_timeout`, every answer closes the connection, and nothing
//! a peer sends can make it panic or allocate more than the request limit.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::AdminSection;
use crate::health::Health;
use crate::metrics::Metrics;

/// The admin listener's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request (request line and headers) read; more is refused
    /// with 431.
    pub max_request: usize,
    /// Time a client has to send its whole request, and to take the answer.
    pub timeout: Duration,
}

impl From<&AdminSection> for Limits {
    fn from(admin: &AdminSection) -> Limits {
        Limits {
            max_request: admin.max_request,
            timeout: Duration::from_secs(admin.request_timeout),
        }
    }
}

/// Binds the admin listener (so a taken port fails at start, before the
/// engine runs).
///
/// # Errors
/// The address cannot be bound.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// Serves `listener` on a new thread for as long as the process runs.
///
/// # Errors
/// The thread cannot be spawned.
pub fn spawn(
    listener: TcpListener,
    limits: Limits,
    metrics: Metrics,
    health: Arc<Health>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("ringport-admin".into())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(stream) => {
                        if let Err(e) = handle(stream, limits, &metrics, &health) {
                            tracing::debug!(error = %e, "admin request failed");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "admin accept failed");
                        // EMFILE and friends: do not spin.
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        })?;
    Ok(())
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request<'a> {
    Get(&'a str),
    OtherMethod,
    Malformed,
}

fn parse(head: &[u8]) -> Request<'_> {
    let line = head
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or(&[]);
    let Ok(line) = std::str::from_utf8(line) else {
        return Request::Malformed;
    };
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            if method == "GET" {
                Request::Get(target.split('?').next().unwrap_or(target))
            } else {
                Request::OtherMethod
            }
        }
        _ => Request::Malformed,
    }
}

/// Reads the request head: `Ok(None)` when it is too large.
fn read_head(stream: &mut TcpStream, limits: Limits) -> std::io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + limits.timeout;
    let mut buf = vec![0u8; limits.max_request];
    let mut len = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        if len == buf.len() {
            return Ok(None);
        }
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        len += n;
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n")
            || buf[..len].windows(2).any(|w| w == b"\n\n")
        {
            buf.truncate(len);
            return Ok(Some(buf));
        }
    }
}

fn handle(
    mut stream: TcpStream,
    limits: Limits,
    metrics: &Metrics,
    health: &Health,
) -> std::io::Result<()> {
    stream.set_write_timeout(Some(limits.timeout))?;
    let head = read_head(&mut stream, limits)?;
    let (status, content_type, body) = match head.as_deref().map(parse) {
        None => (431, "text/plain", "request too large\n".to_string()),
        Some(Request::Malformed) => (400, "text/plain", "bad request\n".to_string()),
        Some(Request::OtherMethod) => (405, "text/plain", "only GET\n".to_string()),
        Some(Request::Get("/metrics")) => (
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        Some(Request::Get("/health/live")) => (200, "text/plain", "live\n".to_string()),
        Some(Request::Get("/health/ready")) => match health.not_ready_because() {
            None => (200, "text/plain", "ready\n".to_string()),
            Some(why) => (503, "text/plain", format!("not ready: {why}\n")),
        },
        Some(Request::Get(_)) => (404, "text/plain", "not found\n".to_string()),
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 405 {
        response.push_str("Allow: GET\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&body);
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_lines_without_trusting_them() {
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Request::Get("/metrics")
        );
        assert_eq!(
            parse(b"GET /health/ready?x=1 HTTP/1.0\r\n\r\n"),
            Request::Get("/health/ready")
        );
        assert_eq!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Request::OtherMethod
        );
        for bad in [
            &b""[..],
            b"\r\n\r\n",
            b"GET\r\n\r\n",
            b"GET /metrics\r\n\r\n",
            b"GET /metrics SPDY/9\r\n\r\n",
            b"\xff\xfe / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(parse(bad), Request::Malformed, "{bad:?}");
        }
    }
}
