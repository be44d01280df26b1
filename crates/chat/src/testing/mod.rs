//! The deterministic in-memory test harness (feature `testing`): no sockets,
//! no threads, no real clock.
//!
//! - [`Recorder`]: an [`crate::Outbound`] that records every call and
//!   decodes every packet sent with `ServerPacket::decode` (a packet that
//!   does not decode is a server bug: it panics).
//! - [`Harness`]: a [`crate::Chat`] with a fake clock, fake sessions,
//!   per-session inboxes of [`Received`] packets, and an account checker
//!   ([`AuthMode`]) that answers at once or waits for the test.
//! - A presence model, kept by the harness from what each session received
//!   (207/209/208/217/216) and the requests it sent; [`Harness::check`]
//!   compares it with what every member should see, and with the machine's
//!   own bookkeeping ([`crate::Chat::check_invariants`]).
//! - [`Operation`]: one step of a random session script, shared by the
//!   proptest and the `chat_ops` fuzz target.
//!
//! Harness methods panic when the machine breaks the protocol: they are
//! assertions.

mod harness;
mod invariants;
mod model;
mod operation;
mod recorder;

pub use harness::{AuthMode, Harness};
pub use operation::{FuzzConfig, Operation, RoomPick};
pub use recorder::{Action, Received, Recorder, RoomEntry};

/// A well-framed packet: header (length, `id`, type 0) then `body`.
///
/// # Panics
///
/// If the frame would be longer than `u16::MAX` bytes.
pub fn frame(id: u16, body: &[u8]) -> Vec<u8> {
    let len = ringport_proto::HEADER_LEN + body.len();
    let Ok(len16) = u16::try_from(len) else {
        panic!("test frame of {len} bytes");
    };
    let mut buf = Vec::with_capacity(len);
    ringport_proto::Header::new(id, len16).write(&mut buf);
    buf.extend_from_slice(body);
    buf
}
