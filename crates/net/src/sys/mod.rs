//! Backends: the part of the engine that talks to the kernel.
//!
//! Contract every backend fulfils (both pass the same test suite):
//! - one backend instance per I/O thread, created on that thread, owning its
//!   ring or poller, its copy of the listener and a [`Shard`];
//! - accept: every accepted socket is admitted against `max_sessions`
//!   ([`crate::shard::Shared::admit`]) or closed at once and counted as
//!   refused; accept errors (EMFILE, ENFILE…) back off and are logged once
//!   per burst, never spin;
//! - receive: bytes go to [`Shard::on_recv`] only after
//!   [`Shard::room_for`] said yes, otherwise they are held back (kernel-side
//!   when possible) until the application returns a batch;
//! - send: sessions on `shard.dirty` get at most one send in flight, built
//!   from their [`crate::buf::send_queue::SendQueue`]: the send takes the
//!   queue's flight ([`SendQueue::lend`]) and gives it back with what was
//!   sent ([`SendQueue::give_back`]) once the kernel is done with it; a
//!   drained session in `Draining` state is closed once its queue is empty;
//! - close: sessions on `shard.closing` are torn down and released with
//!   [`Shard::release`] only when no operation of theirs is in flight; the
//!   socket of a session closed after its queue was flushed goes to the
//!   thread's [`Linger`] list instead of being closed;
//! - the [`Waker`](crate::waker::Waker) wakes the thread's wait; the loop applies the inbox,
//!   sweeps timers, ships events, and on shutdown stops accepting, drains
//!   every session and returns when none is left.
//!
//! [`Shard`]: crate::shard::Shard
//! [`Shard::on_recv`]: crate::shard::Shard::on_recv
//! [`Shard::room_for`]: crate::shard::Shard::room_for
//! [`Shard::release`]: crate::shard::Shard::release
//! [`SendQueue::lend`]: crate::buf::send_queue::SendQueue::lend
//! [`SendQueue::give_back`]: crate::buf::send_queue::SendQueue::give_back

use std::time::{Duration, Instant};

use crate::framing::Framing;
use crate::linger::{self, Linger};
use crate::shard::Shard;

pub(crate) mod poll;
// The only module of the crate allowed to hold `unsafe` code: the ring,
// the memory shared with the kernel, descriptors from completions.
#[allow(unsafe_code)]
pub(crate) mod uring;

/// How often an I/O thread looks at its timers (idle timeouts, drain
/// deadlines) when nothing else wakes it.
pub(crate) const TICK: Duration = Duration::from_millis(250);

/// How long accepting pauses after EMFILE/ENFILE/ENOMEM before retrying.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What a backend provides to the shared I/O loop ([`run`]).
pub(crate) trait Driver {
    type Framing: Framing;
    type Io;

    fn shard(&mut self) -> &mut Shard<Self::Framing, Self::Io>;
    /// The thread's lingering sockets (sessions closed after their queue
    /// was flushed hand theirs over in `teardown`).
    fn linger(&mut self) -> &mut Linger;
    /// When a paused accept should be retried (after EMFILE and friends).
    fn accept_retry_at(&self) -> Option<Instant>;
    /// Retries accepting now (clears the retry time).
    fn retry_accept(&mut self);
    /// Stops accepting for good (shutdown).
    fn stop_accepting(&mut self);
    /// Delivers input held back until the application had room for it.
    fn pump(&mut self);
    /// Starts sends for the sessions on `shard.dirty`.
    fn flush_dirty(&mut self);
    /// Tears down the sessions on `shard.closing`.
    fn teardown(&mut self);
    /// Whether held-back input is waiting for room.
    fn has_backlog(&self) -> bool;
    /// Whether the kernel may still use memory of this driver outside any
    /// session (a pending accept): the loop does not exit until it has not.
    fn kernel_busy(&self) -> bool;
    /// Waits for readiness or completions up to `timeout` and handles them.
    /// Re-stamps `shard.now` once the wait is over, so what it handles is
    /// timed when it happened, not when the loop turn began.
    fn wait_and_handle(&mut self, timeout: Duration);
    /// Last call before the thread exits.
    fn finish(&mut self);
}

/// The I/O thread's loop, the same for every backend: requests from the
/// application, held-back input, sends, timers, teardown, events to the
/// application, then wait. On shutdown: stop accepting, drain every session,
/// and return once none is left and no socket lingers (each lingers at most
/// `linger_timeout`; they are checked every [`linger::EXIT_CHECK`] then).
pub(crate) fn run<D: Driver>(mut d: D) {
    let mut next_sweep = Instant::now() + TICK;
    let mut draining = false;
    let mut next_linger_check = Instant::now();
    loop {
        let now = Instant::now();
        d.shard().now = now;
        if !draining && d.shard().shared.shutting_down() {
            draining = true;
            d.stop_accepting();
            d.shard().drain_all();
        }
        if d.accept_retry_at().is_some_and(|at| now >= at) {
            d.retry_accept();
        }
        d.shard().apply_inbox();
        d.pump();
        d.flush_dirty();
        if now >= next_sweep {
            d.shard().sweep();
            d.linger().check(now);
            next_sweep = now + TICK;
        }
        d.teardown();
        let shipped = d.shard().ship();
        // A hosted application takes the turn's events at once, and what it
        // queued is applied and sent in this same turn.
        if d.shard().host_turn() {
            d.pump();
            d.flush_dirty();
            d.teardown();
        }
        let mut last_lingering = false;
        if draining && d.shard().live() == 0 && !d.kernel_busy() {
            if now >= next_linger_check {
                d.linger().check(now);
                next_linger_check = now + linger::EXIT_CHECK;
            }
            if d.linger().is_empty() {
                break;
            }
            last_lingering = true;
        }
        let busy = !d.shard().dirty.is_empty()
            || (d.has_backlog() && shipped)
            || d.shard().host_events_waiting();
        let mut timeout = next_sweep.saturating_duration_since(now);
        if let Some(wait) = d.shard().host_wait(now) {
            timeout = timeout.min(wait);
        }
        if last_lingering {
            timeout = timeout.min(next_linger_check.saturating_duration_since(now));
        }
        if let Some(at) = d.accept_retry_at() {
            timeout = timeout.min(at.saturating_duration_since(now));
        }
        d.wait_and_handle(if busy { Duration::ZERO } else { timeout });
    }
    d.shard().ship_final();
    d.shard().host_stopped();
    d.finish();
}

/// Is this accept error a resource shortage (back off and retry later)
/// rather than a problem of one connection (skip it)?
pub(crate) fn is_resource_shortage(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Logs accept failures once per burst, not once per failure.
#[derive(Debug, Default)]
pub(crate) struct AcceptTrouble {
    in_burst: bool,
    failures: u64,
}

impl AcceptTrouble {
    pub(crate) fn failed(&mut self, thread: usize, err: &std::io::Error) {
        self.failures += 1;
        if !self.in_burst {
            self.in_burst = true;
            tracing::warn!(
                thread,
                error = %err,
                "accept failed; backing off (raise the open-file limit if this repeats)"
            );
        }
    }

    pub(crate) fn succeeded(&mut self, thread: usize) {
        if self.in_burst {
            tracing::info!(thread, failures = self.failures, "accepting again");
            self.in_burst = false;
            self.failures = 0;
        }
    }
}
