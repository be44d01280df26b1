//! Answers to a request head: the upgrade's `101 Switching Protocols`, a
//! page, or an error. Every answer other than 101 says `Connection: close`:
//! the listener serves one request per connection that does not upgrade.

use std::io::Write;

use tungstenite::handshake::server::{create_response, write_response};
use tungstenite::http::StatusCode;

use crate::head::Head;

/// Why an upgrade request is refused (answered 400).
#[derive(Debug, thiserror::Error)]
#[error("bad WebSocket upgrade: {0}")]
pub struct UpgradeError(String);

/// Whether the request asks for WebSocket (`Upgrade: websocket`), valid or
/// not: such a request is answered 101 or 400, never with a page.
pub fn wants_upgrade(head: &Head) -> bool {
    head.request
        .headers()
        .get_all("upgrade")
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Appends the `101 Switching Protocols` answer to a valid upgrade request
/// (GET, HTTP/1.1 or later, `Connection: Upgrade`, `Upgrade: websocket`,
/// `Sec-WebSocket-Version: 13`, a 16-byte base64 key).
///
/// # Errors
/// The request is not a valid upgrade: answer it with [`error`] (400).
pub fn switching_protocols(head: &Head, out: &mut Vec<u8>) -> Result<(), UpgradeError> {
    let response = create_response(&head.request).map_err(|e| UpgradeError(e.to_string()))?;
    write_response(&mut *out, &response).map_err(|e| UpgradeError(e.to_string()))
}

/// Appends a `200 OK` answer carrying `body`.
pub fn page(content_type: &str, body: &[u8], out: &mut Vec<u8>) {
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(body);
}

/// Appends an error answer with a one-line text body. 405 names the allowed
/// method; 400 names the WebSocket version this server speaks.
pub fn error(status: StatusCode, detail: &str, out: &mut Vec<u8>) {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!("{} {reason}: {detail}\n", status.as_u16());
    let _ = write!(
        out,
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        status.as_u16(),
        body.len()
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        out.extend_from_slice(b"Allow: GET\r\n");
    }
    if status == StatusCode::BAD_REQUEST {
        out.extend_from_slice(b"Sec-WebSocket-Version: 13\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head;

    fn head(text: &str) -> Head {
        head::parse(text.as_bytes(), 8192).unwrap().unwrap()
    }

    #[test]
    fn the_rfc_example_key() {
        let h = head(
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
        assert!(wants_upgrade(&h));
        let mut out = Vec::new();
        switching_protocols(&h, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{text}"
        );
        // RFC 6455 section 1.3's example.
        assert!(text.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn bad_upgrades_are_refused() {
        for bad in [
            // version 8
            "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
            // no key
            "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n",
            // a key that is not 16 bytes
            "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
            // HTTP/1.0
            "GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            // POST
            "POST /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ] {
            let h = head(bad);
            assert!(wants_upgrade(&h));
            assert!(switching_protocols(&h, &mut Vec::new()).is_err(), "{bad}");
        }
        assert!(!wants_upgrade(&head("GET / HTTP/1.1\r\n\r\n")));
    }

    #[test]
    fn pages_and_errors() {
        let mut out = Vec::new();
        page("text/html; charset=utf-8", b"<p>hi</p>", &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Content-Length: 9\r\n"));
        assert!(text.ends_with("\r\n\r\n<p>hi</p>"));
        let mut out = Vec::new();
        error(StatusCode::METHOD_NOT_ALLOWED, "only GET", &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(text.contains("Allow: GET\r\n"));
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
    }
}
