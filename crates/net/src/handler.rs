//! Running the application on the I/O threads themselves.
//!
//! For per-session protocols with no shared state (an echo server, a
//! stateless request/response service, a proxy), handing every frame to
//! another thread costs more than the work itself. A [`Handler`] is called on
//! the I/O thread that owns the session, in the order frames arrive, and
//! answers through a [`Reply`] that appends straight to that session's send
//! queue: no hand-off, no wake-up, no copy beyond the send queue's own.
//!
//! Applications with shared state (the chat server) use the
//! [`crate::Endpoint`] instead and run on their own thread.

use std::net::SocketAddr;

use crate::buf::pool::Pool;
use crate::buf::send_queue::{SendBuf, SendQueue};
use crate::event::CloseReason;
use crate::id::SessionId;

/// An application run on the I/O threads. Each I/O thread gets its own
/// clone (see [`crate::Engine::start_inline`]), so a handler needs no locks.
/// Handlers must not block: they hold up every session of their thread.
pub trait Handler: Send + 'static {
    /// A connection was accepted.
    fn on_open(&mut self, _session: SessionId, _peer: SocketAddr) {}

    /// A whole frame arrived on `session`; answer through `reply`.
    fn on_frame(&mut self, session: SessionId, frame: &[u8], reply: &mut Reply<'_>);

    /// The session closed; no call for it follows.
    fn on_close(&mut self, _session: SessionId, _reason: CloseReason) {}
}

/// The answering side of one session, valid during one [`Handler::on_frame`].
pub struct Reply<'a> {
    queue: &'a mut SendQueue,
    pool: &'a mut Pool<SendBuf>,
    limit: usize,
    over_limit: bool,
    close: bool,
    queued: u64,
}

impl<'a> Reply<'a> {
    /// The answering side of the session whose send queue is `queue`, for
    /// the frames of one receive.
    pub(crate) fn new(queue: &'a mut SendQueue, pool: &'a mut Pool<SendBuf>, limit: usize) -> Self {
        Reply {
            queue,
            pool,
            limit,
            over_limit: false,
            close: false,
            queued: 0,
        }
    }

    /// Whether the handler asked to close (later frames are not delivered).
    pub(crate) fn closing(&self) -> bool {
        self.close
    }

    /// Whether a reply would have passed the send-queue limit.
    pub(crate) fn over_limit(&self) -> bool {
        self.over_limit
    }

    /// Payloads queued through this reply.
    pub(crate) fn queued(&self) -> u64 {
        self.queued
    }

    /// Queues bytes of the session's wire itself (an HTTP answer, a pong, a
    /// close frame), under the same limit, not counted as a payload.
    pub(crate) fn send_raw(&mut self, bytes: &[u8]) {
        self.push(bytes);
    }

    /// Queues a copy of `bytes` unless that passes the send-queue limit
    /// (then the session is closed as a slow consumer after this receive).
    fn push(&mut self, bytes: &[u8]) -> bool {
        if self.over_limit {
            return false;
        }
        if self.queue.pending_bytes() + bytes.len() > self.limit {
            self.over_limit = true;
            return false;
        }
        self.queue.push_copy(bytes, self.pool);
        true
    }
}

impl Reply<'_> {
    /// Queues a copy of `bytes` for this session. Past the send-queue limit
    /// the session is closed as a slow consumer (after this frame).
    pub fn send(&mut self, bytes: &[u8]) {
        if self.push(bytes) {
            self.queued += 1;
        }
    }

    /// Sends what is queued, then closes the session
    /// ([`CloseReason::ServerClose`]); later frames are not delivered.
    pub fn close(&mut self) {
        self.close = true;
    }
}
