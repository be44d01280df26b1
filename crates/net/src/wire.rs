//! A session's wire: how its bytes become the application's frames and
//! the application's frames become its bytes, for the listener's
//! [`Transport`]: as they are (TCP), or after an HTTP upgrade as WebSocket
//! messages (over `ringport-ws`). The shard calls [`Wire::input`] with what
//! a session received, [`Wire::frame_header`] for each payload it queues,
//! and [`Wire::closing`] when the server ends the session.
//!
//! One file of about 510 lines, nearly half of it the unit tests of the
//! handshake and message paths, which share their fixtures.

use ringport_ws::encode::{self, Header};
use ringport_ws::http::{Method, StatusCode};
use ringport_ws::response;
use ringport_ws::{head, CloseCode, Decoder, Event, ProtocolError};

use crate::event::CloseReason;
use crate::framing::Framing;
use crate::transport::{Transport, WebSocketConfig};

/// Where a session's wire format stands.
#[derive(Debug, Default)]
pub(crate) enum Wire {
    /// The application's frames as they are.
    #[default]
    Tcp,
    /// Reading the HTTP request head.
    Handshake,
    /// Exchanging WebSocket frames.
    WebSocket(Decoder),
    /// Ending: an HTTP answer or a close frame is queued; input is ignored
    /// and the application's later frames are dropped.
    Done,
}

/// Where a session's wire puts what it produces.
pub(crate) trait WireSink {
    /// A whole application frame arrived.
    fn deliver(&mut self, frame: &[u8]);
    /// Bytes for the socket, ahead of nothing the application queues later.
    fn send_raw(&mut self, bytes: &[u8]);
}

/// Why a session ends, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireEnd {
    /// What the application is told.
    pub(crate) reason: CloseReason,
    /// Send what is queued first (an answer, a close frame).
    pub(crate) flush: bool,
}

impl Wire {
    /// The wire of a new session on a listener speaking `transport`.
    pub(crate) fn new(transport: &Transport) -> Wire {
        match transport {
            Transport::Tcp => Wire::Tcp,
            Transport::WebSocket(_) => Wire::Handshake,
        }
    }

    /// The most bytes to buffer for one incomplete unit of input.
    pub(crate) fn max_buffered(&self, transport: &Transport, max_frame: usize) -> usize {
        match (self, transport) {
            (Wire::Handshake, Transport::WebSocket(ws)) => ws.max_head,
            (Wire::WebSocket(decoder), _) => decoder.max_frame_len(),
            (Wire::Done, _) => usize::MAX,
            _ => max_frame,
        }
    }

    /// Whether the session exchanges WebSocket messages now.
    pub(crate) fn exchanges_messages(&self) -> bool {
        matches!(self, Wire::WebSocket(_))
    }

    /// The header to put in front of an application frame of `len` bytes:
    /// `Ok(None)` to send it as it is, `Err(())` to drop it (the session is
    /// not, or no longer, exchanging messages).
    pub(crate) fn frame_header(&self, len: usize) -> Result<Option<Header>, ()> {
        match self {
            Wire::Tcp => Ok(None),
            Wire::WebSocket(_) => Ok(Some(encode::binary_header(len))),
            Wire::Handshake | Wire::Done => Err(()),
        }
    }

    /// The server is closing the session (for `reason`): the bytes to send
    /// last (a WebSocket close frame), appended to `out`. Later input is
    /// ignored.
    pub(crate) fn closing(&mut self, reason: CloseReason, out: &mut Vec<u8>) {
        if let Wire::WebSocket(_) = self {
            let (code, text) = match reason {
                CloseReason::Shutdown => (CloseCode::GOING_AWAY, "server shutting down"),
                CloseReason::IdleTimeout => (CloseCode::POLICY, "idle"),
                _ => (CloseCode::NORMAL, ""),
            };
            encode::close(code, text, out);
            *self = Wire::Done;
        } else if let Wire::Handshake = self {
            *self = Wire::Done;
        }
    }

    /// Uses the whole units at the start of `buf`: frames delivered, answers
    /// sent. Returns how many bytes were used, or how the session ends.
    pub(crate) fn input<F: Framing>(
        &mut self,
        transport: &Transport,
        framing: &F,
        buf: &[u8],
        scratch: &mut Vec<u8>,
        sink: &mut impl WireSink,
    ) -> Result<usize, WireEnd> {
        match (&mut *self, transport) {
            (Wire::Tcp, _) => split_frames(framing, buf, sink).map_err(|()| WireEnd {
                reason: CloseReason::BadFrame,
                flush: false,
            }),
            (Wire::Handshake, Transport::WebSocket(ws)) => {
                let (used, answer) = answer_head(ws, framing, buf, sink);
                match answer {
                    Answer::NeedMore => Ok(0),
                    Answer::Upgraded => {
                        *self = Wire::WebSocket(Decoder::new(framing.max_frame_len()));
                        // Frames may follow the head at once.
                        let more = self.input(transport, framing, &buf[used..], scratch, sink)?;
                        Ok(used + more)
                    }
                    Answer::Answered => {
                        *self = Wire::Done;
                        Err(WireEnd {
                            reason: CloseReason::ServerClose,
                            flush: true,
                        })
                    }
                }
            }
            (Wire::Handshake, Transport::Tcp) => Err(WireEnd {
                reason: CloseReason::BadFrame,
                flush: false,
            }),
            (Wire::WebSocket(decoder), _) => {
                let result = messages(decoder, framing, buf, scratch, sink);
                match result {
                    Ok(_) if decoder.is_closed() => {
                        // The peer's close, answered.
                        *self = Wire::Done;
                        Err(WireEnd {
                            reason: CloseReason::PeerClosed,
                            flush: true,
                        })
                    }
                    Ok(used) => Ok(used),
                    Err(e) => {
                        let mut close = Vec::with_capacity(4 + e.reason.len());
                        encode::close(e.code, e.reason, &mut close);
                        sink.send_raw(&close);
                        *self = Wire::Done;
                        Err(WireEnd {
                            reason: CloseReason::BadFrame,
                            flush: true,
                        })
                    }
                }
            }
            (Wire::Done, _) => Ok(buf.len()),
        }
    }
}

/// What became of a request head.
enum Answer {
    /// Not whole yet.
    NeedMore,
    /// `101` sent: WebSocket frames follow.
    Upgraded,
    /// A page or an error sent: the session ends once it is flushed.
    Answered,
}

/// Answers the request head at the start of `buf`; returns the head's
/// length (when whole) and what was answered.
fn answer_head<F: Framing>(
    ws: &WebSocketConfig,
    _framing: &F,
    buf: &[u8],
    sink: &mut impl WireSink,
) -> (usize, Answer) {
    let mut out = Vec::new();
    let head = match head::parse(buf, ws.max_head) {
        Ok(Some(head)) => head,
        Ok(None) => return (0, Answer::NeedMore),
        Err(e) => {
            response::error(StatusCode::BAD_REQUEST, &e.to_string(), &mut out);
            sink.send_raw(&out);
            return (0, Answer::Answered);
        }
    };
    let answer = if !ws.http.host_allowed(head.header("host")) {
        response::error(StatusCode::MISDIRECTED_REQUEST, "unknown host", &mut out);
        Answer::Answered
    } else if response::wants_upgrade(&head) {
        if head.path() != ws.path {
            response::error(StatusCode::NOT_FOUND, "no WebSocket here", &mut out);
            Answer::Answered
        } else if head.request.headers().contains_key("origin")
            && !head
                .header("origin")
                .is_some_and(|origin| ws.http.origin_allowed(origin, head.header("host")))
        {
            // A browser's origin that is not allowed, or one that is not
            // even readable text.
            response::error(StatusCode::FORBIDDEN, "origin not allowed", &mut out);
            Answer::Answered
        } else if let Err(e) = response::switching_protocols(&head, &mut out) {
            out.clear();
            response::error(StatusCode::BAD_REQUEST, &e.to_string(), &mut out);
            Answer::Answered
        } else {
            Answer::Upgraded
        }
    } else if head.request.method() != Method::GET {
        response::error(StatusCode::METHOD_NOT_ALLOWED, "only GET", &mut out);
        Answer::Answered
    } else {
        match ws.http.page(head.path()) {
            Some(page) => response::page(page.content_type, page.body, &mut out),
            None => response::error(StatusCode::NOT_FOUND, "no such page", &mut out),
        }
        Answer::Answered
    };
    sink.send_raw(&out);
    (head.len, answer)
}

/// Decodes WebSocket frames: each binary message must hold exactly one
/// whole frame of the application's framing; pings are answered; the
/// peer's close is answered with its code.
fn messages<F: Framing>(
    decoder: &mut Decoder,
    framing: &F,
    buf: &[u8],
    scratch: &mut Vec<u8>,
    sink: &mut impl WireSink,
) -> Result<usize, ProtocolError> {
    decoder.decode(buf, scratch, |event| {
        match event {
            Event::Message(m) => match framing.frame_len(m) {
                Ok(Some(n)) if n == m.len() => sink.deliver(m),
                _ => {
                    return Err(ProtocolError::protocol(
                        "a message must hold exactly one packet",
                    ))
                }
            },
            Event::Ping(payload) => {
                sink.send_raw(encode::pong_header(payload.len()).as_bytes());
                sink.send_raw(payload);
            }
            Event::Pong => {}
            Event::Close(code) => {
                let mut close = Vec::with_capacity(4);
                encode::close(code.unwrap_or(CloseCode::NORMAL), "", &mut close);
                sink.send_raw(&close);
            }
        }
        Ok(())
    })
}

/// Cuts whole frames off the front of `buf`, delivering each. Returns how
/// many bytes were used, or `Err` on a frame the framing refuses.
pub(crate) fn split_frames<F: Framing>(
    framing: &F,
    buf: &[u8],
    sink: &mut impl WireSink,
) -> Result<usize, ()> {
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        match framing.frame_len(rest) {
            Ok(Some(n)) if n >= 1 && n <= rest.len() => {
                sink.deliver(&rest[..n]);
                pos += n;
            }
            Ok(Some(_)) | Err(_) => return Err(()),
            Ok(None) => break,
        }
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::framing::test_framing::Len16;
    use crate::transport::{HttpPolicy, Page};

    #[derive(Default)]
    struct Sink {
        frames: Vec<Vec<u8>>,
        raw: Vec<u8>,
    }

    impl WireSink for Sink {
        fn deliver(&mut self, frame: &[u8]) {
            self.frames.push(frame.to_vec());
        }
        fn send_raw(&mut self, bytes: &[u8]) {
            self.raw.extend_from_slice(bytes);
        }
    }

    struct Policy;

    impl HttpPolicy for Policy {
        fn origin_allowed(&self, origin: &str, _host: Option<&str>) -> bool {
            origin == "http://ok"
        }
        fn host_allowed(&self, host: Option<&str>) -> bool {
            host != Some("rebound.example")
        }
        fn page(&self, path: &str) -> Option<Page> {
            (path == "/").then_some(Page {
                content_type: "text/html",
                body: b"<p>page</p>",
            })
        }
    }

    fn ws() -> Transport {
        Transport::WebSocket(WebSocketConfig {
            path: "/ws".into(),
            max_head: 1024,
            http: Arc::new(Policy),
        })
    }

    const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n";

    fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut out = vec![first, 0x80 | payload.len() as u8];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn feed(
        wire: &mut Wire,
        t: &Transport,
        bytes: &[u8],
        sink: &mut Sink,
    ) -> Result<usize, WireEnd> {
        wire.input(t, &Len16, bytes, &mut Vec::new(), sink)
    }

    #[test]
    fn upgrade_then_messages_in_the_same_read() {
        let t = ws();
        let mut wire = Wire::new(&t);
        let mut input = format!("{UPGRADE}\r\n").into_bytes();
        input.extend(masked(0x82, &[4, 0, b'h', b'i']));
        input.extend(masked(0x89, b"p"));
        input.extend(&masked(0x82, &[3, 0, b'x'])[..3]); // incomplete
        let mut sink = Sink::default();
        let used = feed(&mut wire, &t, &input, &mut sink).unwrap();
        assert_eq!(used, input.len() - 3);
        assert_eq!(sink.frames, vec![vec![4, 0, b'h', b'i']]);
        let raw = String::from_utf8_lossy(&sink.raw);
        assert!(raw.starts_with("HTTP/1.1 101 "), "{raw}");
        assert!(sink.raw.ends_with(&[0x8a, 1, b'p']), "pong after the 101");
        assert!(matches!(wire, Wire::WebSocket(_)));
        assert_eq!(
            wire.frame_header(295).unwrap().unwrap().as_bytes(),
            &[0x82, 126, 1, 39]
        );
    }

    #[test]
    fn a_partial_head_waits_and_the_bound_holds() {
        let t = ws();
        let mut wire = Wire::new(&t);
        let mut sink = Sink::default();
        assert_eq!(feed(&mut wire, &t, UPGRADE.as_bytes(), &mut sink), Ok(0));
        assert!(
            wire.frame_header(5).is_err(),
            "nothing is sent before the 101"
        );
        assert_eq!(wire.max_buffered(&t, 64), 1024);
        let long = format!("{UPGRADE}X: {}\r\n\r\n", "a".repeat(1100));
        let end = feed(&mut wire, &t, long.as_bytes(), &mut sink).unwrap_err();
        assert_eq!(
            end,
            WireEnd {
                reason: CloseReason::ServerClose,
                flush: true
            }
        );
        assert!(String::from_utf8_lossy(&sink.raw).starts_with("HTTP/1.1 400 "));
        assert!(matches!(wire, Wire::Done));
    }

    #[test]
    fn pages_origins_and_methods() {
        let t = ws();
        let cases = [
            ("GET / HTTP/1.1\r\n\r\n".to_string(), "HTTP/1.1 200 "),
            ("GET /x HTTP/1.1\r\n\r\n".to_string(), "HTTP/1.1 404 "),
            ("PUT / HTTP/1.1\r\n\r\n".to_string(), "HTTP/1.1 405 "),
            (
                format!("{UPGRADE}Origin: http://evil\r\n\r\n"),
                "HTTP/1.1 403 ",
            ),
            (
                format!("{UPGRADE}Origin: http://ok\r\n\r\n"),
                "HTTP/1.1 101 ",
            ),
            (UPGRADE.replace("/ws", "/other") + "\r\n", "HTTP/1.1 404 "),
            (
                "GET / HTTP/1.1\r\nHost: rebound.example\r\n\r\n".to_string(),
                "HTTP/1.1 421 ",
            ),
            (
                UPGRADE.replace("Host: x", "Host: rebound.example") + "\r\n",
                "HTTP/1.1 421 ",
            ),
            (UPGRADE.replace("13", "12") + "\r\n", "HTTP/1.1 400 "),
        ];
        for (request, want) in cases {
            let mut wire = Wire::new(&t);
            let mut sink = Sink::default();
            let _ = feed(&mut wire, &t, request.as_bytes(), &mut sink);
            let raw = String::from_utf8_lossy(&sink.raw);
            assert!(raw.starts_with(want), "{request:?}: {raw}");
        }
    }

    #[test]
    fn bad_messages_close_with_a_frame_and_the_peers_close_is_answered() {
        let t = ws();
        let open = || {
            let mut wire = Wire::new(&t);
            feed(
                &mut wire,
                &t,
                format!("{UPGRADE}\r\n").as_bytes(),
                &mut Sink::default(),
            )
            .unwrap();
            wire
        };
        // Two frames of the application in one message.
        let mut wire = open();
        let mut sink = Sink::default();
        let end = feed(&mut wire, &t, &masked(0x82, &[2, 0, 2, 0]), &mut sink).unwrap_err();
        assert_eq!(
            end,
            WireEnd {
                reason: CloseReason::BadFrame,
                flush: true
            }
        );
        assert_eq!(&sink.raw[..4], &[0x88, sink.raw[1], 0x03, 0xea], "1002");
        assert!(
            wire.frame_header(5).is_err(),
            "nothing after the close frame"
        );
        // The peer closes with 4000: answered with 4000.
        let mut wire = open();
        let mut sink = Sink::default();
        let end = feed(&mut wire, &t, &masked(0x88, &[0x0f, 0xa0]), &mut sink).unwrap_err();
        assert_eq!(
            end,
            WireEnd {
                reason: CloseReason::PeerClosed,
                flush: true
            }
        );
        assert_eq!(sink.raw, [0x88, 2, 0x0f, 0xa0]);
        // The server closes: a close frame, once.
        let mut wire = open();
        let mut out = Vec::new();
        wire.closing(CloseReason::Shutdown, &mut out);
        assert_eq!(&out[..4], &[0x88, out[1], 0x03, 0xe9], "1001");
        out.clear();
        wire.closing(CloseReason::Shutdown, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn tcp_frames_pass_through() {
        let mut wire = Wire::new(&Transport::Tcp);
        let mut sink = Sink::default();
        let used = feed(&mut wire, &Transport::Tcp, &[3, 0, 9, 2], &mut sink).unwrap();
        assert_eq!((used, sink.frames), (3, vec![vec![3, 0, 9]]));
        assert_eq!(wire.frame_header(3), Ok(None));
        let end = feed(&mut wire, &Transport::Tcp, &[1, 0], &mut Sink::default()).unwrap_err();
        assert_eq!(
            end,
            WireEnd {
                reason: CloseReason::BadFrame,
                flush: false
            }
        );
    }
}
