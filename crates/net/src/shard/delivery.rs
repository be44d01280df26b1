//! [`Delivery`]: where a shard's events go, decided once. Either the
//! application runs on its own thread and gets them in batches
//! ([`Batcher`]), or it runs on this I/O thread and gets them as calls of
//! its inline [`Handler`]. The rest of the shard announces what happened and
//! does not ask which.

use std::net::SocketAddr;

use super::batch::Batcher;
use crate::event::{CloseReason, RawKind};
use crate::handler::{Handler, Reply};
use crate::id::SessionId;

/// Where a shard's events go.
pub(crate) enum Delivery {
    /// Into event batches for the application's thread.
    Batches(Batcher),
    /// Straight to the application's handler, on this thread.
    Inline(Box<dyn Handler>),
}

impl Delivery {
    pub(super) fn opened(&mut self, id: SessionId, peer: SocketAddr) {
        match self {
            Delivery::Batches(b) => b.batch.push(id, RawKind::Opened(peer)),
            Delivery::Inline(h) => h.on_open(id, peer),
        }
    }

    /// A whole frame of `id`. An inline handler answers through `reply`
    /// (the session's send queue) and gets no frame after it asked to close.
    pub(super) fn frame(&mut self, id: SessionId, frame: &[u8], reply: &mut Reply<'_>) {
        match self {
            Delivery::Batches(b) => b.batch.push_frame(id, frame),
            Delivery::Inline(h) if !reply.closing() => h.on_frame(id, frame, reply),
            Delivery::Inline(_) => {} // closing: later frames are not delivered
        }
    }

    pub(super) fn closed(&mut self, id: SessionId, reason: CloseReason) {
        match self {
            Delivery::Batches(b) => b.batch.push(id, RawKind::Closed(reason)),
            Delivery::Inline(h) => h.on_close(id, reason),
        }
    }

    /// Room for `need` more bytes of frames (see [`Batcher::room_for`]); a
    /// handler always has room.
    pub(super) fn room_for(&mut self, need: usize) -> bool {
        match self {
            Delivery::Batches(b) => b.room_for(need),
            Delivery::Inline(_) => true,
        }
    }

    /// See [`Batcher::ship`]; nothing to ship for a handler.
    pub(super) fn ship(&mut self) -> bool {
        match self {
            Delivery::Batches(b) => b.ship(),
            Delivery::Inline(_) => true,
        }
    }

    /// See [`Batcher::has_waiting`]; a handler has been called already.
    pub(super) fn has_waiting(&self) -> bool {
        match self {
            Delivery::Batches(b) => b.has_waiting(),
            Delivery::Inline(_) => false,
        }
    }

    /// See [`Batcher::ship_final`].
    pub(super) fn ship_final(&mut self) {
        if let Delivery::Batches(b) = self {
            b.ship_final();
        }
    }
}
