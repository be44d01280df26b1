//! What the engine tells its application: sessions opened, frames received,
//! sessions closed — in batches, in order per I/O thread.
//!
//! An [`EventBatch`] owns a buffer of frame bytes and a list of event records
//! pointing into it. Batches are pooled per I/O thread: dropping a batch hands
//! its buffers back to the thread that filled it, so steady-state operation
//! allocates nothing. Every I/O thread has a fixed number of batches; when the
//! application holds all of them, that thread stops reading its sockets until
//! one comes back (backpressure, never unbounded memory).

use std::net::SocketAddr;
use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::id::SessionId;
use crate::wake_flag::WakeFlag;
use crate::waker::Waker;

/// Why a session closed. Delivered exactly once per session, in
/// [`Event::Closed`], after the session's last [`Event::Frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The peer closed its side (FIN).
    PeerClosed,
    /// The connection was reset or failed (RST, broken pipe, other I/O error).
    Reset,
    /// The framing refused a frame length.
    BadFrame,
    /// Nothing was received for longer than the idle timeout.
    IdleTimeout,
    /// More than the send-queue limit was waiting to be sent.
    SlowConsumer,
    /// The engine is shutting down.
    Shutdown,
    /// The application closed the session.
    ServerClose,
    /// TLS failed: a handshake that did not complete (garbage or plaintext
    /// on a TLS listener, a client that does not trust the certificate, no
    /// version or cipher in common) or a record that did not decrypt.
    TlsError,
}

impl CloseReason {
    /// Every reason, in a fixed order (the index used by stats).
    pub const ALL: [CloseReason; 8] = [
        CloseReason::PeerClosed,
        CloseReason::Reset,
        CloseReason::BadFrame,
        CloseReason::IdleTimeout,
        CloseReason::SlowConsumer,
        CloseReason::Shutdown,
        CloseReason::ServerClose,
        CloseReason::TlsError,
    ];

    /// Stable snake_case name, for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::PeerClosed => "peer_closed",
            CloseReason::Reset => "reset",
            CloseReason::BadFrame => "bad_frame",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::SlowConsumer => "slow_consumer",
            CloseReason::Shutdown => "shutdown",
            CloseReason::ServerClose => "server_close",
            CloseReason::TlsError => "tls_error",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that happened on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A connection was accepted.
    Opened {
        /// The new session.
        session: SessionId,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// A whole frame arrived (as cut by the engine's framing).
    Frame {
        /// The session it arrived on.
        session: SessionId,
        /// The frame's bytes, header included.
        frame: &'a [u8],
    },
    /// The session is closed; no event for it follows.
    Closed {
        /// The session.
        session: SessionId,
        /// Why it closed.
        reason: CloseReason,
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum RawKind {
    Opened(SocketAddr),
    Frame { start: u32, len: u32 },
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEvent {
    pub(crate) session: SessionId,
    pub(crate) kind: RawKind,
}

/// The reusable storage of a batch.
#[derive(Debug, Default)]
pub(crate) struct BatchBuf {
    pub(crate) data: Vec<u8>,
    pub(crate) events: Vec<RawEvent>,
}

impl BatchBuf {
    pub(crate) fn with_capacity(bytes: usize, events: usize) -> Self {
        BatchBuf {
            data: Vec::with_capacity(bytes),
            events: Vec::with_capacity(events),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.events.clear();
    }

    pub(crate) fn push_frame(&mut self, session: SessionId, frame: &[u8]) {
        let start = self.data.len() as u32;
        self.data.extend_from_slice(frame);
        self.events.push(RawEvent {
            session,
            kind: RawKind::Frame {
                start,
                len: frame.len() as u32,
            },
        });
    }

    pub(crate) fn push(&mut self, session: SessionId, kind: RawKind) {
        self.events.push(RawEvent { session, kind });
    }
}

/// Where a batch's buffers go back to: the free list of the I/O thread that
/// filled it, which is woken if it paused reading for want of a batch
/// (the handshake is [`WakeFlag`]'s).
#[derive(Debug)]
pub(crate) struct BatchHome {
    pub(crate) free: Sender<BatchBuf>,
    pub(crate) waker: Arc<Waker>,
    pub(crate) paused: WakeFlag,
}

/// A batch of events from one I/O thread, in the order they happened.
/// Dropping it returns its buffers to that thread.
#[derive(Debug)]
pub struct EventBatch {
    pub(crate) buf: BatchBuf,
    pub(crate) home: Option<Arc<BatchHome>>,
    pub(crate) thread: usize,
}

impl EventBatch {
    /// Index of the I/O thread this batch came from.
    pub fn thread(&self) -> usize {
        self.thread
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.buf.events.len()
    }

    /// True when the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.buf.events.is_empty()
    }

    /// The events, in order.
    pub fn iter(&self) -> impl Iterator<Item = Event<'_>> + '_ {
        let data = &self.buf.data;
        self.buf.events.iter().map(move |ev| match ev.kind {
            RawKind::Opened(peer) => Event::Opened {
                session: ev.session,
                peer,
            },
            RawKind::Frame { start, len } => Event::Frame {
                session: ev.session,
                frame: &data[start as usize..start as usize + len as usize],
            },
            RawKind::Closed(reason) => Event::Closed {
                session: ev.session,
                reason,
            },
        })
    }
}

impl Drop for EventBatch {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            // The I/O thread may be gone (engine stopped): then the buffers
            // are simply freed.
            let _ = home.free.try_send(buf);
            // After the push: if the thread paused, it may have looked at the
            // free list before the push landed.
            if home.paused.take() {
                home.waker.wake();
            }
        }
    }
}
