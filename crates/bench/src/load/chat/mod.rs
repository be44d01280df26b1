//! The room fan-out load (`chat`): `rooms × members` connections, an
//! open-loop stream of chat messages at a fixed total rate, and every
//! delivery checked and timed.
//!
//! Setup is plain blocking I/O, phase by phase over all connections (connect
//! all; with `--tls` the handshakes; ringport: log all in, then enter all
//! rooms; Redis: `HELLO 3` and `SUBSCRIBE` all), so when the load starts
//! every member is in its room.
//!
//! The load itself runs on this one thread with mio (edge-triggered epoll),
//! built to cost as little CPU per delivery as possible:
//!
//! * **Schedule.** Message `g` (0, 1, 2, ...) is due at `g / rate` seconds
//!   after the base instant and is sent by member `g mod N` as its sequence
//!   number `g div N`: every member sends at `rate / N` on a fixed grid,
//!   never waiting for answers, so a slow server cannot slow the offered load
//!   (no coordinated omission). Each loop turn queues every message that has
//!   come due on its sender's buffer, then writes each touched connection
//!   once (and looks again every 32 events while it works through a long
//!   batch of reads). How late a message was queued is the *send lag*.
//! * **Timer.** A periodic timerfd on the message grid (period: the
//!   message interval rounded up, at least 50 µs) wakes the loop when the
//!   next message is due, to the microsecond; the poller's own timeout has
//!   millisecond resolution and would add up to 1 ms of send lag at low
//!   rates. Without timerfd the loop falls back to that timeout (reported).
//! * **Text.** The message text carries sender, sequence number and the
//!   scheduled time (see [`wire`]); latency is receive time minus
//!   scheduled time, so generator lateness counts against the server, never
//!   for it.
//! * **Receive.** One shared 64 KiB read buffer; a connection's unparsed
//!   tail (part of a packet) is kept in its own small buffer and put back in
//!   front of the next read. One clock read per `read`, many packets per
//!   read; a short read means the socket is drained (no extra `EAGAIN` call).
//! * **TLS** (`--tls`, [`crate::load::tls`]): a connection's socket is
//!   read into a second shared 64 KiB buffer, decrypted into the read
//!   buffer and parsed there as above; what is due is queued as plaintext
//!   as above, then encrypted and written once per turn. Connections
//!   without TLS take the paths above, untouched.
//! * **Checks.** For every (receiver, sender) pair the next expected
//!   sequence number: a jump is counted as missing messages, a step back as a
//!   duplicate; a sender outside the receiver's room is foreign, a stamp
//!   that does not match the schedule is corrupt.
//!
//! Messages scheduled in the warmup are sent and checked but not counted;
//! those scheduled in the measured window are. After the last send the load
//! waits up to `drain` for deliveries still on their way (leaving early
//! once all have arrived). CPU use of the generator (and of `--server-pid`)
//! is sampled over the measured window.
//!
//! The source, by concept: this module holds the plan and the entry
//! points; [`setup`] sets the connections up; [`schedule`] says when each
//! message is due and who sends it ([`send_order`] the order within a
//! round); [`conn`] is one connection's state; [`tracker`] checks and
//! counts deliveries; [`runner`] is the event loop, [`send`] and
//! [`receive`] its two halves; [`outcome`] is what a run measured; [`wire`]
//! the wire formats.

mod conn;
mod outcome;
mod receive;
mod runner;
mod schedule;
mod send;
pub mod send_order;
mod setup;
mod tracker;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ringport_proto::DEFAULT_MAX_FRAME;

pub use self::outcome::{ChatOutcome, Progress, SlowOutcome};
use self::send_order::SendOrder;
pub use self::setup::{login_hint, prepare};
use crate::cli::{ChatSystem, ChatTransport};
use crate::load::tls::TlsClient;

/// Bytes asked of one `read`.
const READ_CHUNK: usize = 64 * 1024;

/// Unsent bytes one connection may hold; a message that would go beyond is
/// not sent (counted as unsent): the server is not reading.
const OUT_LIMIT: usize = 256 * 1024;

/// Largest ringport frame accepted.
const MAX_FRAME: usize = DEFAULT_MAX_FRAME;

/// What to run.
#[derive(Debug, Clone)]
pub struct ChatPlan {
    /// Server address.
    pub addr: SocketAddr,
    /// What the server speaks.
    pub system: ChatSystem,
    /// How ringport is reached (TCP or WebSocket).
    pub transport: ChatTransport,
    /// TLS under the transport (`--tls`).
    pub tls: Option<Arc<TlsClient>>,
    /// Number of rooms.
    pub rooms: u32,
    /// Members per room.
    pub members: u32,
    /// Number of the first room.
    pub room_start: i32,
    /// Messages per second, all members together.
    pub rate: f64,
    /// Message text size in bytes.
    pub size: usize,
    /// Time run before measuring.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Longest wait for late deliveries after the last send.
    pub drain: Duration,
    /// ringport user id prefix.
    pub user_prefix: String,
    /// Server process whose CPU time to sample over the window.
    pub server_pid: Option<u32>,
    /// One member that stops reading (the `slow-consumer` scenario).
    pub slow: Option<SlowPlan>,
    /// Which member sends next within each round.
    pub order: SendOrder,
    /// Seed of [`SendOrder::Random`].
    pub seed: u64,
}

/// A member that stops reading part-way (and sends nothing).
#[derive(Debug, Clone, Copy)]
pub struct SlowPlan {
    /// Index of the member.
    pub member: usize,
    /// When it stops reading, from the start of the load.
    pub stop_at: Duration,
    /// Longest wait, after the load, for its connection to end while its
    /// socket is read empty.
    pub drain: Duration,
}

impl ChatPlan {
    /// Number of connections.
    pub fn connections(&self) -> usize {
        self.rooms as usize * self.members as usize
    }

    /// Deliveries per second the plan asks for: every message goes to every
    /// member of its room.
    pub fn deliveries_per_sec(&self) -> f64 {
        self.rate * f64::from(self.members)
    }

    /// The room (number) of a member.
    pub(super) fn room_of(&self, member: usize) -> i64 {
        i64::from(self.room_start) + (member / self.members as usize) as i64
    }
}

/// Runs the load and returns what it measured.
///
/// # Errors
///
/// When `--server-pid` names no readable process, or the setup fails: a
/// connection cannot be opened, a login or enter is refused, Redis refuses
/// RESP3 or the subscription, or a phase times out. Once the load runs,
/// errors of single connections are counted in the outcome instead.
pub fn run(plan: &ChatPlan, observer: &mut dyn FnMut(&Progress)) -> anyhow::Result<ChatOutcome> {
    prepare(plan)?.run(plan, observer)
}
