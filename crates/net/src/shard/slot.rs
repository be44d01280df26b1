//! The slab of one I/O thread: [`Slot`]s, their [`State`]s and
//! generations, taking a slot for a new session and releasing it.

use std::net::SocketAddr;
use std::time::Instant;

use super::Shard;
use crate::buf::send_queue::SendQueue;
use crate::framing::Framing;
use crate::id::{SessionId, SlotRef};
use crate::read_pause::ReadPause;
use crate::stats::ThreadStats;
use crate::tls::{TlsFailure, TlsSession};
use crate::wire::Wire;

/// Life of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// No session.
    Free,
    /// Receiving and sending.
    Open,
    /// Closed for the application (its `Closed` event is out); flushing what
    /// is queued until empty or the deadline.
    Draining,
    /// The backend is tearing the socket down.
    Closing,
}

/// One session slot. `io` is the backend's own per-session state.
#[derive(Debug)]
pub(crate) struct Slot<S> {
    pub(crate) generation: u32,
    pub(crate) state: State,
    /// A trailing partial frame (a pooled buffer, only while there is one).
    pub(crate) rx: Vec<u8>,
    pub(crate) sendq: SendQueue,
    pub(crate) last_rx: Instant,
    pub(crate) deadline: Option<Instant>,
    /// On `Shard::dirty` already.
    pub(crate) dirty: bool,
    /// Why the socket is not read, if it is not.
    pub(crate) pause: ReadPause,
    /// On `Shard::read_changes` already.
    pub(super) pause_listed: bool,
    /// When the send queue last made progress (bytes taken by the socket),
    /// or when it last went from empty to non-empty: the stall clock.
    pub(crate) send_progress: Instant,
    /// The peer's address (for the per-address admission count).
    pub(crate) peer: SocketAddr,
    /// The listener it came from (an index into the shard's transports).
    pub(crate) listener: u8,
    /// Where its wire format stands (plain frames, or WebSocket).
    pub(crate) wire: Wire,
    /// TLS under the wire, for sessions of a TLS listener.
    pub(crate) tls: Option<Box<TlsSession>>,
    pub(crate) io: S,
}

impl<F: Framing, S> Shard<F, S> {
    /// Sessions in this shard that are not yet released.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    pub(crate) fn id_of(&self, slot: usize) -> SessionId {
        SessionId::new(self.thread, SlotRef::new(slot, self.slots[slot].generation))
    }

    /// Slot of `id` if it names a session that may still send.
    pub(super) fn lookup(&self, id: SessionId) -> Option<usize> {
        let at = id.slot_ref();
        let slot = at.index();
        let s = self.slots.get(slot)?;
        (id.thread() == self.thread
            && s.generation == at.generation
            && matches!(s.state, State::Open | State::Draining))
        .then_some(slot)
    }

    /// Places an admitted connection in a slot and announces it; the backend
    /// then fills in the slot's `io` (a reused slot keeps what the backend
    /// left there, so per-slot allocations are reused). `None` when the slab
    /// is full (cannot happen while admission is honoured). `listener` is
    /// the index of the listener that accepted it.
    pub(crate) fn open(&mut self, peer: SocketAddr, listener: usize) -> Option<usize>
    where
        S: Default,
    {
        if self.free.is_empty() && self.slots.len() >= self.max_slots {
            return None;
        }
        let tls = match &self.tls_configs[listener] {
            None => None,
            Some(config) => {
                if !self.shared.tls_handshakes.begin() {
                    self.stats.tls_failed(TlsFailure::Busy);
                    return None;
                }
                match TlsSession::new(config) {
                    Ok(tls) => Some(Box::new(tls)),
                    Err(e) => {
                        self.shared.tls_handshakes.end();
                        self.stats.tls_failed(TlsFailure::Other);
                        tracing::warn!(error = %e, "cannot start a TLS session");
                        return None;
                    }
                }
            }
        };
        let slot = if let Some(slot) = self.free.pop() {
            slot as usize
        } else if self.slots.len() < self.max_slots {
            self.slots.push(Slot {
                generation: 0,
                state: State::Free,
                rx: Vec::new(),
                sendq: SendQueue::default(),
                last_rx: self.now,
                deadline: None,
                dirty: false,
                pause: ReadPause::default(),
                pause_listed: false,
                send_progress: self.now,
                peer,
                listener: 0,
                wire: Wire::Tcp,
                tls: None,
                io: S::default(),
            });
            self.slots.len() - 1
        } else {
            return None;
        };
        let s = &mut self.slots[slot];
        s.state = State::Open;
        s.peer = peer;
        s.last_rx = self.now;
        s.deadline = None;
        s.dirty = false;
        s.pause = ReadPause::default();
        s.pause_listed = false;
        s.send_progress = self.now;
        s.listener = listener as u8;
        s.wire = Wire::new(&self.transports[listener]);
        s.tls = tls;
        self.live += 1;
        let kind = self.kinds[listener].index();
        ThreadStats::add(&self.stats.accepted, 1);
        ThreadStats::add(&self.stats.accepted_by[kind], 1);
        ThreadStats::add(&self.stats.open_by[kind], 1);
        let id = self.id_of(slot);
        self.delivery.opened(id, peer);
        Some(slot)
    }

    /// The backend has torn the socket down and no operation of the session
    /// is in flight (the send queue's flight is back: see
    /// [`SendQueue::discard`]): free the slot for the next connection.
    pub(crate) fn release(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        debug_assert_eq!(s.state, State::Closing);
        s.sendq.discard(&mut self.tx_pool);
        if s.rx.capacity() > 0 {
            self.rx_pool.give(std::mem::take(&mut s.rx));
        }
        let kind = self.kinds[usize::from(s.listener)].index();
        ThreadStats::sub(&self.stats.open_by[kind], 1);
        if let Some(tls) = s.tls.take() {
            if tls.holds_handshake() {
                // Ended before its handshake completed or failed.
                self.shared.tls_handshakes.end();
                self.stats.tls_failed(TlsFailure::Closed);
            }
        }
        s.generation = s.generation.wrapping_add(1);
        s.state = State::Free;
        s.wire = Wire::Tcp; // frees a WebSocket decoder's buffers
        s.dirty = false;
        s.deadline = None;
        self.free.push(slot as u32);
        self.live -= 1;
        self.shared.unadmit(s.peer);
    }
}
