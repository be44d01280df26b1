//! Wire formats of the room fan-out load (`chat`).
//!
//! * The message text: fixed-width lowercase hex fields that say who sent a
//!   message, its sequence number and its scheduled send time, padded to the
//!   message size, so every delivery can be checked and timed without any
//!   lookup: `SSSSSSSS:QQQQQQQQQQQQ:TTTTTTTTTTTTTTTT:....` (sender, sequence,
//!   nanoseconds since the run's base instant).
//! * ringport: the packets of `docs/PROTOCOL.md` (login 201, enter 206,
//!   chat 221; 222 and 223 come back). Setup uses `ringport-proto`'s
//!   decoders; the hot path checks a frame's header and reads the 223's
//!   message field in place.
//! * Redis: RESP3 (`HELLO 3`), `SUBSCRIBE` and `PUBLISH` on one connection;
//!   pushes (`>3 message CHANNEL PAYLOAD`) are deliveries, integers are the
//!   `PUBLISH` replies. An incremental parser walks any RESP3 value, so a
//!   reply of an unexpected shape is skipped rather than misread.
//! * NATS: the core text protocol, `CONNECT`, `SUB` and `PUB` on one
//!   connection; `MSG` is a delivery, `PING` is answered with `PONG`.
//!
//! * ringport over WebSocket (`--transport ws`): the same packets, one per
//!   binary message, after an upgrade to `/ws` ([`websocket`]).
//!
//! [`stamp`] is the message text; [`ringport`], [`redis`] and [`nats`] are
//! the three servers' framings and parsers, all reporting what arrived as
//! one [`Incoming`].

mod nats;
mod redis;
mod ringport;
mod stamp;
mod websocket;

pub use self::nats::{nats_setup, nats_subject, parse_nats, parse_nats_setup, NatsSetup};
pub use self::redis::{parse_redis, parse_redis_setup, redis_channel, redis_command, RedisSetup};
#[cfg(test)]
pub(crate) use self::ringport::fixtures;
pub use self::ringport::parse_ringport;
pub use self::stamp::{read_text, write_text, Stamp, MAX_SIZE, MIN_SIZE};
pub use self::websocket::{
    frame_packet, messages, parse_ringport_ws, upgrade_answer, upgrade_request,
};

/// How one message is framed for one connection: bytes before the text and
/// after it. The text itself is written by [`write_text`] in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Bytes before the text.
    pub prefix: Vec<u8>,
    /// Bytes after the text.
    pub suffix: Vec<u8>,
}

impl Envelope {
    /// Total bytes of one message with a `size`-byte text.
    pub fn len(&self, size: usize) -> usize {
        self.prefix.len() + size + self.suffix.len()
    }
}

/// What the server sent, as the load sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A chat message delivered to this connection: its text (ringport: the
    /// whole 257-byte field, text first).
    Delivery(&'a [u8]),
    /// The answer to one of this connection's messages: ringport's 222, or
    /// the integer reply to a Redis `PUBLISH`. `ok` is false for a refusal
    /// (a non-zero result, a Redis or NATS error).
    Ack {
        /// Whether the message was accepted.
        ok: bool,
        /// ringport's result code (0 when accepted); [`FOREIGN_ERROR`] for a
        /// Redis or NATS error.
        code: u16,
    },
    /// ringport's 217: a member left this connection's room.
    Left,
    /// A NATS `PING`: the server closes connections that do not answer it.
    Ping,
    /// Anything else (presence notifies, subscribe confirmations, ...).
    Other,
}

/// The result code an error answer of Redis or NATS is counted under.
pub const FOREIGN_ERROR: u16 = u16::MAX;
