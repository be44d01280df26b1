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
    pub(crate) queue: &'a mut SendQueue,
    pub(crate) pool: &'a mut Pool<SendBuf>,
    pub(crate) limit: usize,
    pub(crate) over_limit: &'a mut bool,
    pub(crate) close: &'a mut bool,
    pub(crate) queued: &'a mut u64,
}

impl Reply<'_> {
    /// Queues a copy of `bytes` for this session. Past the send-queue limit
    /// the session is closed as a slow consumer (after this frame).
    pub fn send(&mut self, bytes: &[u8]) {
        if *self.over_limit {
            return;
        }
        if self.queue.pending_bytes() + bytes.len() > self.limit {
            *self.over_limit = true;
            return;
        }
        self.queue.push_copy(bytes, self.pool);
        *self.queued += 1;
    }

    /// Sends what is queued, then closes the session
    /// ([`CloseReason::ServerClose`]); later frames are not delivered.
    pub fn close(&mut self) {
        *self.close = true;
    }
}
