//! What a `chat` run measured ([`ChatOutcome`], with the slow member's
//! [`SlowOutcome`]) and where a running load is ([`Progress`]).

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::cpu::CpuUse;
use crate::load::tls::Negotiated;

/// What happened to the slow member.
#[derive(Debug, Clone)]
pub struct SlowOutcome {
    /// Seconds into the load it stopped reading.
    pub stopped_at_secs: f64,
    /// Deliveries it read before it stopped.
    pub read_before_stop: u64,
    /// 217s (a member left) the other members of its room received.
    pub leave_notices: u64,
    /// Seconds into the load the first such 217 arrived.
    pub first_leave_notice_secs: Option<f64>,
    /// Deliveries still in its socket, read after the load.
    pub drained_deliveries: u64,
    /// Bytes read after the load (as read from the socket: records, with
    /// TLS).
    pub drained_bytes: u64,
    /// How its connection ended when read empty: `closed` (end of stream),
    /// `reset`, `error: ...`, or `open` (the server never cut it off).
    pub end: String,
}

impl SlowOutcome {
    /// Whether the server cut the slow member off.
    pub fn cut_off(&self) -> bool {
        self.end != "open"
    }
}

/// Where a running load is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Time since the load started (after setup).
    pub elapsed: Duration,
    /// Messages sent so far.
    pub sent: u64,
    /// Deliveries received so far.
    pub delivered: u64,
}

/// What a run measured.
#[derive(Debug)]
pub struct ChatOutcome {
    /// Connections set up (all of them, or the run fails).
    pub connected: u64,
    /// Seconds the setup (connect, TLS handshake, login, enter /
    /// subscribe) took.
    pub setup_secs: f64,
    /// What the first connection's TLS handshake agreed on (`--tls`).
    pub tls: Option<Negotiated>,
    /// Messages scheduled in the measured window.
    pub scheduled: u64,
    /// Of those, messages written (queued) on their sender's connection.
    pub sent: u64,
    /// Messages of the whole run not sent: the sender's connection was
    /// closed, or held [`OUT_LIMIT`](super::OUT_LIMIT) bytes the server had not read.
    pub unsent: u64,
    /// Deliveries expected for the measured window: `scheduled × members`.
    pub expected: u64,
    /// Deliveries of measured messages received (each once).
    pub delivered: u64,
    /// Messages skipped in some receiver's sequence (whole run; unsent
    /// messages show up here too, once per member).
    pub gaps: u64,
    /// Deliveries whose sequence number went backwards (duplicates).
    pub duplicates: u64,
    /// Deliveries from a sender outside the receiver's room.
    pub foreign: u64,
    /// Deliveries whose text is not a stamp of this run.
    pub corrupt: u64,
    /// Answers to sent messages (ringport 222, Redis `PUBLISH` replies).
    pub acks: u64,
    /// Of those, refusals (non-zero result, Redis or NATS error).
    pub rejected: u64,
    /// Refusals by result code ([`crate::load::chat::wire::FOREIGN_ERROR`] for
    /// Redis and NATS errors), ascending.
    pub rejected_codes: Vec<(u16, u64)>,
    /// 217s (a member left) received, whole run.
    pub leave_notices: u64,
    /// The slow member, when the plan has one.
    pub slow: Option<SlowOutcome>,
    /// Connections the server closed.
    pub closed_by_server: u64,
    /// Connections that failed with another I/O error.
    pub io_errors: u64,
    /// Connections dropped because the server sent what cannot be parsed.
    pub protocol_errors: u64,
    /// The first such error.
    pub first_error: Option<String>,
    /// Delivery latencies from the scheduled send time, in ns.
    pub latency_ns: Histogram<u64>,
    /// How late measured messages were queued, in ns.
    pub lag_ns: Histogram<u64>,
    /// Seconds waited after the measured window for late deliveries.
    pub drain_secs: f64,
    /// Whether sends were woken by the precise timer (timerfd); otherwise
    /// by the poller's millisecond timeout.
    pub precise_timer: bool,
    /// This process's CPU use over the measured window.
    pub generator_cpu: CpuUse,
    /// The server's CPU use over the window, or why it could not be read.
    pub server_cpu: Option<Result<CpuUse, String>>,
    /// CPU time other processes took over the window (all cores), known
    /// when the server's was measured: a noisy neighbour shows up here even
    /// on the server's core, where run-queue waits cannot tell it from the
    /// server's own threads waiting for one another.
    pub others_cpu: Option<CpuUse>,
}
