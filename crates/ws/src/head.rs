//! The HTTP request head that opens every WebSocket session (RFC 6455
//! section 4.2.1), or asks for a page. Check-then-parse, as the engine's
//! framing: "not yet" is a normal answer; a head longer than the caller's
//! bound, or one that is not HTTP, is an error the caller answers with 400
//! and a close.

use tungstenite::http;

/// Headers read from one request; more is a bad request.
pub const MAX_HEADERS: usize = 32;

/// Why a request head is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// The head did not end within the allowed length.
    #[error("request head longer than {0} bytes")]
    TooLong(usize),
    /// More than [`MAX_HEADERS`] headers.
    #[error("more than {MAX_HEADERS} headers")]
    TooManyHeaders,
    /// Not an HTTP/1.x request head.
    #[error("malformed request head: {0}")]
    Malformed(&'static str),
    /// The request has a body (a `Content-Length` other than 0, or
    /// `Transfer-Encoding`): neither the upgrade nor a page request has one.
    #[error("request with a body")]
    Body,
}

/// A complete request head.
#[derive(Debug)]
pub struct Head {
    /// Its length in bytes, the blank line included: what follows belongs to
    /// the WebSocket session.
    pub len: usize,
    /// The request (method, target, version, headers).
    pub request: http::Request<()>,
}

impl Head {
    /// The path of the request target, without its query.
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// A header's value as text, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.headers().get(name)?.to_str().ok()
    }
}

/// Looks at the start of `buf`: `Ok(Some(head))` when a whole request head is
/// there, `Ok(None)` when more bytes are needed (and fewer than `max_len`
/// are buffered), `Err` otherwise.
///
/// # Errors
/// See [`HeadError`].
pub fn parse(buf: &[u8], max_len: usize) -> Result<Option<Head>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = match req.parse(buf) {
        Ok(status) => status,
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
        Err(e) => return Err(HeadError::Malformed(error_text(e))),
    };
    let len = match status {
        httparse::Status::Partial if buf.len() >= max_len => {
            return Err(HeadError::TooLong(max_len))
        }
        httparse::Status::Partial => return Ok(None),
        httparse::Status::Complete(len) if len > max_len => {
            return Err(HeadError::TooLong(max_len))
        }
        httparse::Status::Complete(len) => len,
    };
    let method = req.method.ok_or(HeadError::Malformed("no method"))?;
    let target = req.path.ok_or(HeadError::Malformed("no target"))?;
    let version = match req.version {
        Some(0) => http::Version::HTTP_10,
        Some(1) => http::Version::HTTP_11,
        _ => return Err(HeadError::Malformed("unknown HTTP version")),
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(target)
        .version(version);
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding")
            || (h.name.eq_ignore_ascii_case("content-length") && h.value.trim_ascii() != b"0")
        {
            return Err(HeadError::Body);
        }
        builder = builder.header(h.name, h.value);
    }
    let request = builder
        .body(())
        .map_err(|_| HeadError::Malformed("invalid method, target or header"))?;
    Ok(Some(Head { len, request }))
}

fn error_text(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &[u8] = b"GET /ws?x=1 HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\nOrigin: http://localhost\r\n\r\n";

    #[test]
    fn a_whole_head_and_its_length() {
        let mut bytes = UPGRADE.to_vec();
        bytes.extend_from_slice(&[0x82, 0x85]); // a frame right behind it
        let head = parse(&bytes, 8192).unwrap().unwrap();
        assert_eq!(head.len, UPGRADE.len());
        assert_eq!(head.path(), "/ws");
        assert_eq!(head.header("origin"), Some("http://localhost"));
        assert_eq!(head.request.method(), http::Method::GET);
    }

    #[test]
    fn partial_heads_wait_until_the_bound() {
        for cut in [0, 1, 10, UPGRADE.len() - 1] {
            assert!(parse(&UPGRADE[..cut], 8192).unwrap().is_none(), "{cut}");
        }
        assert_eq!(
            parse(&UPGRADE[..50], 50).unwrap_err(),
            HeadError::TooLong(50)
        );
        assert_eq!(parse(UPGRADE, 60).unwrap_err(), HeadError::TooLong(60));
    }

    #[test]
    fn bad_heads() {
        assert!(matches!(
            parse(b"\x16\x03\x01\x00\xa5\x01\x00", 8192),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 8192),
            Err(HeadError::Malformed(_))
        ));
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        let req = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(
            parse(req.as_bytes(), 8192).unwrap_err(),
            HeadError::TooManyHeaders
        );
        let body = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(parse(body, 8192).unwrap_err(), HeadError::Body);
        let none = b"DELETE / HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert!(parse(none, 8192).unwrap().is_some());
    }
}
