//! The application's requests ([`Request`]s in [`Outbox`]es) applied to the
//! shard's sessions; requests for sessions that are gone are counted and
//! dropped.

use super::send::Payload;
use super::Shard;
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::outbox::{Outbox, Request};
use crate::stats::ThreadStats;

impl<F: Framing, S> Shard<F, S> {
    /// Applies every outbox the application has handed over, and returns
    /// each one for reuse.
    pub(crate) fn apply_inbox(&mut self) {
        while let Ok(mut outbox) = self.wiring.inbox.try_recv() {
            self.apply(&mut outbox);
            outbox.clear();
            let _ = self.wiring.outbox_return.try_send(outbox);
        }
    }

    fn apply(&mut self, outbox: &mut Outbox) {
        for request in outbox.requests.drain(..) {
            match request {
                Request::Send {
                    session,
                    start,
                    len,
                } => {
                    let bytes = &outbox.data[start as usize..start as usize + len as usize];
                    self.enqueue(session, Payload::Copy(bytes));
                }
                Request::Shared { session, payload } => {
                    self.enqueue(session, Payload::Shared(payload));
                }
                Request::Close { session } => match self.lookup(session) {
                    Some(slot) => self.drain(slot, CloseReason::ServerClose),
                    None => ThreadStats::add(&self.stats.stale_requests, 1),
                },
                Request::PauseReading { session, pause } => match self.lookup(session) {
                    Some(slot) => {
                        if self.slots[slot].pause.set_by_application(pause) {
                            self.note_read_change(slot);
                        }
                    }
                    None => ThreadStats::add(&self.stats.stale_requests, 1),
                },
            }
        }
    }
}
