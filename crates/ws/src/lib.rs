//! The server side of WebSocket (RFC 6455), without I/O.
//!
//! ringport runs WebSocket sessions on its own engine: the I/O threads own
//! the sockets and buffers, and this crate only answers questions about
//! bytes, as the engine's framing does for the binary protocol:
//!
//! - [`head`]: is the HTTP request head complete, and what does it ask for?
//!   (parsed with `httparse`, at most [`head::MAX_HEADERS`] headers, bounded
//!   in length by the caller);
//! - [`response`]: the `101 Switching Protocols` answer to a valid upgrade
//!   (validated and keyed by tungstenite's handshake helpers) and the plain
//!   HTTP answers (a page, 400, 404, 405);
//! - [`Decoder`]: client frames in, events out — whole binary messages
//!   (fragments reassembled up to a limit), pings, the peer's close — or the
//!   close code the protocol requires (1002, 1003, 1007, 1009);
//! - [`encode`]: server frames (unmasked): the header of a binary message,
//!   pong, close.
//!
//! # Why not tungstenite's `WebSocket`
//!
//! tungstenite's `WebSocket<Stream>` drives its own `Read + Write` stream
//! and buffers: over the engine it would need an in-memory stream per
//! session, a second copy of every byte, a read buffer per session
//! (128 KiB by default) and one encoding of every broadcast message per
//! recipient. Its frame layer is public and has no I/O
//! (`FrameHeader::parse`/`format`, the opcodes and close codes) and so are
//! its handshake helpers (`create_response`, `derive_accept_key`): this
//! crate uses those and adds the message state machine, so a server frame
//! header is a few bytes written in front of a payload that all members of
//! a room share.

pub mod close;
mod decoder;
pub mod encode;
pub mod head;
pub mod response;

pub use close::CloseCode;
pub use decoder::{Decoder, Event, ProtocolError};
/// The HTTP types of requests and answers (tungstenite's `http`).
pub use tungstenite::http;
