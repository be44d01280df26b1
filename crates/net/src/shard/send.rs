//! The output side of a session as the shard sees it: payloads queued
//! (with the send-queue limit), the dirty list the backend sends from, and
//! the progress it reports back.

use bytes::Bytes;

use super::Shard;
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::id::SessionId;
use crate::stats::ThreadStats;
use ringport_ws::encode;

/// A payload for one session: copied into its queue, or shared.
pub(super) enum Payload<'a> {
    Copy(&'a [u8]),
    Shared(Bytes),
}

impl Payload<'_> {
    fn len(&self) -> usize {
        match self {
            Payload::Copy(b) => b.len(),
            Payload::Shared(b) => b.len(),
        }
    }
}

impl<F: Framing, S> Shard<F, S> {
    /// Queues `payload` for `session`, or closes the session as a slow
    /// consumer if that would pass the send-queue limit.
    pub(super) fn enqueue(&mut self, session: SessionId, payload: Payload<'_>) {
        let Some(slot) = self.lookup(session) else {
            ThreadStats::add(&self.stats.stale_requests, 1);
            return;
        };
        // A WebSocket session sends each payload as one binary message, a
        // header in front of it.
        let wire = &self.slots[slot].wire;
        let (header, payload) = match payload {
            // A shared payload is framed once per I/O thread and the framed
            // bytes shared in turn, as the payload is for TCP members.
            Payload::Shared(b) if wire.exchanges_messages() => {
                (None, Payload::Shared(self.framed(b)))
            }
            payload => match wire.frame_header(payload.len()) {
                Ok(header) => (header, payload),
                Err(()) => {
                    // Not (or no longer) exchanging messages: nothing may
                    // be sent.
                    ThreadStats::add(&self.stats.stale_requests, 1);
                    return;
                }
            },
        };
        let head = header.as_ref().map_or(&[][..], |h| h.as_bytes());
        let len = head.len() + payload.len();
        let s = &mut self.slots[slot];
        let pending = s.sendq.pending_bytes();
        if pending + len > self.send_queue_limit {
            self.close(slot, CloseReason::SlowConsumer);
            return;
        }
        if pending == 0 {
            s.send_progress = self.now; // the stall clock starts now
        }
        match payload {
            Payload::Copy(b) => s.sendq.push_copy_framed(head, b, &mut self.tx_pool),
            Payload::Shared(b) => s.sendq.push_shared(b, &mut self.tx_pool),
        }
        ThreadStats::add(&self.stats.frames_out, 1);
        self.mark_dirty(slot);
        if pending + len > self.high_water {
            self.check_high_water(slot);
        }
    }

    /// `payload` as one WebSocket binary message (its header in front), made
    /// once: a broadcast reaches the members of a room in consecutive
    /// requests, so the last one framed is kept with its original (holding
    /// the original keeps its address from being reused, so an equal
    /// address and length mean the same bytes).
    fn framed(&mut self, payload: Bytes) -> Bytes {
        if let Some((original, framed)) = &self.ws_framed {
            if original.as_ptr() == payload.as_ptr() && original.len() == payload.len() {
                return framed.clone();
            }
        }
        let header = encode::binary_header(payload.len());
        let mut bytes = Vec::with_capacity(header.as_bytes().len() + payload.len());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&payload);
        let framed = Bytes::from(bytes);
        self.ws_framed = Some((payload, framed.clone()));
        framed
    }

    /// Puts `slot` on the dirty list: the backend starts a send for it (or,
    /// for a drained session, closes it).
    pub(crate) fn mark_dirty(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(slot as u32);
        }
    }

    /// The socket took `sent` bytes of `slot`'s queue (the backend has
    /// given the flight back): the stall clock restarts, and a session
    /// paused for its output is read again once its queue is at the
    /// low-water mark.
    pub(crate) fn on_sent(&mut self, slot: usize, sent: usize) {
        let s = &mut self.slots[slot];
        if sent > 0 {
            s.send_progress = self.now;
        }
        if s.pause.by_output()
            && s.sendq.pending_bytes() <= self.low_water
            && s.pause.set_by_output(false)
        {
            self.note_read_change(slot);
        }
    }
}
