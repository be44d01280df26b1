//! Engine counters. Each I/O thread updates its own block of counters
//! (relaxed atomics, no sharing on the hot path); [`crate::Engine::stats`]
//! adds them up.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::BackendKind;
use crate::event::CloseReason;
use crate::tls::TlsFailure;
use crate::transport::ListenerKind;

/// Counters of one I/O thread.
#[derive(Debug, Default)]
pub(crate) struct ThreadStats {
    pub(crate) accepted: AtomicU64,
    /// Of `accepted`: by the kind of listener.
    pub(crate) accepted_by: [AtomicU64; ListenerKind::ALL.len()],
    /// Gauge: sessions open now (this thread's), by the kind of listener.
    pub(crate) open_by: [AtomicU64; ListenerKind::ALL.len()],
    /// TLS handshakes completed.
    pub(crate) tls_handshakes: AtomicU64,
    /// TLS handshakes that failed, by reason.
    pub(crate) tls_failures: [AtomicU64; TlsFailure::ALL.len()],
    /// WebSocket upgrades answered 101.
    pub(crate) ws_upgrades: AtomicU64,
    /// Requests on WebSocket listeners answered with a page or an error.
    pub(crate) http_answers: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) refused_per_ip: AtomicU64,
    pub(crate) accept_errors: AtomicU64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) sends: AtomicU64,
    pub(crate) coalesced_frames: AtomicU64,
    pub(crate) stale_requests: AtomicU64,
    pub(crate) read_pauses: AtomicU64,
    pub(crate) recv_rearms: AtomicU64,
    pub(crate) output_pauses: AtomicU64,
    pub(crate) send_stalls: AtomicU64,
    pub(crate) closes: [AtomicU64; CloseReason::ALL.len()],
    /// Gauge, refreshed by the periodic sweep: bytes waiting in this
    /// thread's send queues.
    pub(crate) queued_bytes: AtomicU64,
    /// Gauge, refreshed by the periodic sweep: the longest send queue.
    pub(crate) max_queued_bytes: AtomicU64,
    /// Gauge: sockets of this thread lingering after their close now.
    pub(crate) lingering: AtomicU64,
    /// Sockets handed over to linger after their session's close.
    pub(crate) lingered: AtomicU64,
    /// Lingering sockets closed at `linger_timeout` without the peer's FIN.
    pub(crate) linger_timeouts: AtomicU64,
    /// Lingering sockets closed early because `linger_max` was reached.
    pub(crate) linger_evicted: AtomicU64,
}

impl ThreadStats {
    #[inline]
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        // Only the owning I/O thread writes its counters, so a load and a
        // store are enough and cheaper than an atomic read-modify-write.
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    /// Lowers a gauge (only the owning I/O thread writes it).
    #[inline]
    pub(crate) fn sub(counter: &AtomicU64, n: u64) {
        counter.store(
            counter.load(Ordering::Relaxed).saturating_sub(n),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn closed(&self, reason: CloseReason) {
        Self::add(&self.closes[reason.index()], 1);
    }

    pub(crate) fn tls_failed(&self, reason: TlsFailure) {
        Self::add(&self.tls_failures[reason.index()], 1);
    }
}

/// A snapshot of the engine's counters (totals since start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Backend in use.
    pub backend: Option<BackendKind>,
    /// Sessions open now.
    pub sessions_open: u64,
    /// Connections accepted and turned into sessions.
    pub accepted: u64,
    /// Connections accepted and closed at once because `max_sessions` was reached.
    pub refused: u64,
    /// Of `refused`: connections refused because their address already had
    /// `max_sessions_per_ip` sessions open.
    pub refused_per_ip: u64,
    /// Failed accept calls (EMFILE, ENFILE, ENOMEM…), after which accepting backs off.
    pub accept_errors: u64,
    /// Frames received and delivered to the application.
    pub frames_in: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Frames (payloads) queued for sending by the application.
    pub frames_out: u64,
    /// Bytes written to sockets.
    pub bytes_out: u64,
    /// Send operations (one gathered send can carry many frames).
    pub sends: u64,
    /// Frames that left in a send together with at least one other frame.
    pub coalesced_frames: u64,
    /// Requests (send, close) for sessions that were already closed: dropped.
    pub stale_requests: u64,
    /// Times an I/O thread paused reading because the application held all
    /// its event batches.
    pub read_pauses: u64,
    /// io_uring: multishot receives that ended while their session lived
    /// (mostly the provided-buffer ring running dry) and were re-armed.
    /// Many of them mean `recv_buffers` is too small for the load.
    pub recv_rearms: u64,
    /// Times a session's reading was paused because its own send queue
    /// passed `send_queue_high_water` (it resumes at `send_queue_low_water`).
    pub output_pauses: u64,
    /// Of the `slow_consumer` closes: sessions whose socket took nothing for
    /// `send_stall_timeout` (the others went past `send_queue_limit`).
    pub send_stalls: u64,
    /// Of `accepted`: by the kind of listener, indexed like
    /// [`ListenerKind::ALL`].
    pub accepted_by: [u64; ListenerKind::ALL.len()],
    /// Of `sessions_open`: by the kind of listener, indexed like
    /// [`ListenerKind::ALL`] (WebSocket sessions count from their accept,
    /// upgraded or not yet; TLS sessions from theirs, in the handshake or
    /// past it).
    pub open_by: [u64; ListenerKind::ALL.len()],
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
    /// Gauge: TLS handshakes in progress now (bounded by
    /// `max_tls_handshakes`).
    pub tls_handshakes_in_progress: u64,
    /// TLS handshakes that failed, by reason, indexed like
    /// [`TlsFailure::ALL`]. A session whose TLS fails after its handshake
    /// is counted only under the close reason `tls_error`.
    pub tls_failures: [u64; TlsFailure::ALL.len()],
    /// WebSocket upgrades answered `101 Switching Protocols`.
    pub ws_upgrades: u64,
    /// Requests on WebSocket listeners answered with a page (the web
    /// client) or an HTTP error (400, 403, 404, 405), each ending its
    /// connection.
    pub http_answers: u64,
    /// Closes by reason, indexed like [`CloseReason::ALL`].
    pub closes: [u64; CloseReason::ALL.len()],
    /// Gauge: bytes waiting in send queues, summed over sessions, as of each
    /// I/O thread's last sweep (every 250 ms).
    pub queued_bytes: u64,
    /// Gauge: the longest single send queue in bytes, as of the last sweep
    /// (compare with `send_queue_limit`).
    pub max_queued_bytes: u64,
    /// Gauge: sockets lingering now (sessions closed after flushing their
    /// queue: writing shut down, the peer's input read and dropped until its
    /// FIN or `linger_timeout`). Their sessions are already released.
    pub lingering: u64,
    /// Sockets that lingered after their close (each one also counted under
    /// its close reason).
    pub lingered: u64,
    /// Of `lingered`: closed at `linger_timeout` without the peer's FIN (a
    /// peer still sending then gets a reset).
    pub linger_timeouts: u64,
    /// Of `lingered`: closed early because `linger_max` sockets of their
    /// I/O thread were lingering already.
    pub linger_evicted: u64,
}

impl Stats {
    /// Closes with the given reason.
    pub fn closes_by(&self, reason: CloseReason) -> u64 {
        self.closes[reason.index()]
    }

    /// Sessions accepted on listeners of `kind`.
    pub fn accepted_on(&self, kind: ListenerKind) -> u64 {
        self.accepted_by[kind.index()]
    }

    /// Sessions from listeners of `kind` open now.
    pub fn open_on(&self, kind: ListenerKind) -> u64 {
        self.open_by[kind.index()]
    }

    /// TLS handshakes that failed for `reason`.
    pub fn tls_failures_by(&self, reason: TlsFailure) -> u64 {
        self.tls_failures[reason.index()]
    }

    pub(crate) fn absorb(&mut self, t: &ThreadStats) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        self.accepted += get(&t.accepted);
        for (sum, c) in self.accepted_by.iter_mut().zip(t.accepted_by.iter()) {
            *sum += get(c);
        }
        for (sum, c) in self.open_by.iter_mut().zip(t.open_by.iter()) {
            *sum += get(c);
        }
        self.tls_handshakes += get(&t.tls_handshakes);
        for (sum, c) in self.tls_failures.iter_mut().zip(t.tls_failures.iter()) {
            *sum += get(c);
        }
        self.ws_upgrades += get(&t.ws_upgrades);
        self.http_answers += get(&t.http_answers);
        self.refused += get(&t.refused);
        self.refused_per_ip += get(&t.refused_per_ip);
        self.accept_errors += get(&t.accept_errors);
        self.frames_in += get(&t.frames_in);
        self.bytes_in += get(&t.bytes_in);
        self.frames_out += get(&t.frames_out);
        self.bytes_out += get(&t.bytes_out);
        self.sends += get(&t.sends);
        self.coalesced_frames += get(&t.coalesced_frames);
        self.stale_requests += get(&t.stale_requests);
        self.read_pauses += get(&t.read_pauses);
        self.recv_rearms += get(&t.recv_rearms);
        self.output_pauses += get(&t.output_pauses);
        self.send_stalls += get(&t.send_stalls);
        for (sum, c) in self.closes.iter_mut().zip(t.closes.iter()) {
            *sum += get(c);
        }
        self.queued_bytes += get(&t.queued_bytes);
        self.max_queued_bytes = self.max_queued_bytes.max(get(&t.max_queued_bytes));
        self.lingering += get(&t.lingering);
        self.lingered += get(&t.lingered);
        self.linger_timeouts += get(&t.linger_timeouts);
        self.linger_evicted += get(&t.linger_evicted);
    }
}
