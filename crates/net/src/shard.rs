//! One I/O thread's sessions and everything about them that does not depend
//! on the backend: the slab of slots with generations, framing of received
//! bytes, the event batch being filled for the application, the requests
//! coming back from it, timers, and the close-exactly-once rule.
//!
//! A backend (io_uring or poll) owns a `Shard` and drives it: it reports what
//! the kernel did (`on_recv`, `on_eof`, `on_sent`…) and performs what the
//! shard asks for through two work lists: `dirty` (sessions with data to
//! send, or a drained session to close) and `closing` (sessions whose socket
//! must be torn down; the backend calls [`Shard::release`] once no operation
//! of the session is in flight any more).

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};

use crate::admission::{Admission, Refusal};
use crate::buf::pool::Pool;
use crate::buf::send_queue::{SendBuf, SendQueue};
use crate::config::EngineConfig;
use crate::event::{BatchBuf, BatchHome, CloseReason, EventBatch, RawKind};
use crate::framing::Framing;
use crate::handler::{Handler, Reply};
use crate::id::{SessionId, SlotRef};
use crate::outbox::{Op, Outbox};
use crate::read_pause::ReadPause;
use crate::stats::ThreadStats;
use crate::wake_flag::WakeFlag;
use crate::waker::Waker;

/// State shared by all I/O threads (never touched per frame).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) admission: Admission,
    pub(crate) shutdown: AtomicBool,
    pub(crate) stats: Vec<Arc<ThreadStats>>,
}

impl Shared {
    /// Admits a connection from `peer` or counts why not; the backend closes
    /// a refused connection at once.
    pub(crate) fn admit(&self, peer: SocketAddr, stats: &ThreadStats) -> bool {
        match self.admission.admit(peer.ip()) {
            Ok(()) => true,
            Err(refusal) => {
                ThreadStats::add(&stats.refused, 1);
                if refusal == Refusal::PerIp {
                    ThreadStats::add(&stats.refused_per_ip, 1);
                }
                false
            }
        }
    }

    pub(crate) fn unadmit(&self, peer: SocketAddr) {
        self.admission.release(peer.ip());
    }

    pub(crate) fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }
}

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
    pub(crate) rx: Vec<u8>,
    pub(crate) sendq: SendQueue,
    pub(crate) last_rx: Instant,
    pub(crate) deadline: Option<Instant>,
    pub(crate) dirty: bool,
    /// Why the socket is not read, if it is not.
    pub(crate) pause: ReadPause,
    /// On `Shard::read_changes` already.
    pause_listed: bool,
    /// When the send queue last made progress (bytes taken by the socket),
    /// or when it last went from empty to non-empty: the stall clock.
    pub(crate) send_progress: Instant,
    /// The peer's address (for the per-address admission count).
    pub(crate) peer: SocketAddr,
    pub(crate) io: S,
}

/// Channels connecting one I/O thread with the application.
pub(crate) struct Wiring {
    pub(crate) events_tx: Sender<EventBatch>,
    pub(crate) free_batches: Receiver<BatchBuf>,
    pub(crate) batch_home: Arc<BatchHome>,
    pub(crate) inbox: Receiver<Outbox>,
    pub(crate) outbox_home: Sender<Outbox>,
}

/// Everything an I/O thread is started with; the backend creates the
/// thread's waker and builds the shard from both ([`Shard::build`]).
pub(crate) struct ThreadParts<F> {
    pub(crate) index: usize,
    pub(crate) framing: F,
    pub(crate) cfg: EngineConfig,
    pub(crate) shared: Arc<Shared>,
    pub(crate) listener: TcpListener,
    pub(crate) events_tx: Sender<EventBatch>,
    pub(crate) free_batches: Receiver<BatchBuf>,
    pub(crate) free_batches_tx: Sender<BatchBuf>,
    pub(crate) inbox: Receiver<Outbox>,
    pub(crate) outbox_home: Sender<Outbox>,
    pub(crate) inline: Option<Box<dyn Handler>>,
}

/// What became of the bytes handed to [`Shard::on_recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvOutcome {
    /// Delivered (or discarded for a draining session).
    Ok,
    /// The session was closed (bad frame).
    Closed,
}

pub(crate) struct Shard<F: Framing, S> {
    pub(crate) thread: usize,
    framing: F,
    send_queue_limit: usize,
    high_water: usize,
    low_water: usize,
    stall_timeout: Option<Duration>,
    /// `SO_SNDBUF` for accepted sockets (0: the kernel's default).
    socket_send_buffer: usize,
    idle_timeout: Option<Duration>,
    grace: Duration,
    batch_bytes: usize,
    max_slots: usize,
    pub(crate) slots: Vec<Slot<S>>,
    free: Vec<u32>,
    pub(crate) dirty: Vec<u32>,
    pub(crate) closing: Vec<u32>,
    /// Sessions whose [`ReadPause::is_paused`] changed since the backend
    /// last looked (it stops or resumes reading them).
    pub(crate) read_changes: Vec<u32>,
    batch: BatchBuf,
    wiring: Wiring,
    rx_pool: Pool<Vec<u8>>,
    pub(crate) tx_pool: Pool<SendBuf>,
    pub(crate) stats: Arc<ThreadStats>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) now: Instant,
    live: usize,
    /// The application, when it runs on this I/O thread instead of
    /// receiving event batches.
    inline: Option<Box<dyn Handler>>,
}

impl<F: Framing, S> Shard<F, S> {
    /// Builds the shard of an I/O thread whose backend wakes it with
    /// `waker`; returns the listener for the backend to accept on.
    pub(crate) fn build(parts: ThreadParts<F>, waker: Arc<Waker>) -> (Self, TcpListener) {
        let home = Arc::new(BatchHome {
            free: parts.free_batches_tx,
            waker,
            paused: WakeFlag::new(),
        });
        let wiring = Wiring {
            events_tx: parts.events_tx,
            free_batches: parts.free_batches,
            batch_home: home,
            inbox: parts.inbox,
            outbox_home: parts.outbox_home,
        };
        let shard = Shard::new(
            parts.index,
            parts.framing,
            &parts.cfg,
            wiring,
            parts.shared,
            parts.inline,
        );
        (shard, parts.listener)
    }

    fn new(
        thread: usize,
        framing: F,
        cfg: &EngineConfig,
        wiring: Wiring,
        shared: Arc<Shared>,
        inline: Option<Box<dyn Handler>>,
    ) -> Self {
        let stats = shared.stats[thread].clone();
        let batch = wiring.free_batches.try_recv().unwrap_or_default();
        Shard {
            thread,
            framing,
            send_queue_limit: cfg.send_queue_limit,
            high_water: cfg.send_queue_high_water,
            low_water: cfg.send_queue_low_water,
            stall_timeout: cfg.send_stall_timeout,
            socket_send_buffer: cfg.socket_send_buffer,
            idle_timeout: cfg.idle_timeout,
            grace: cfg.shutdown_grace,
            batch_bytes: cfg.batch_bytes,
            max_slots: cfg.max_sessions,
            slots: Vec::with_capacity(cfg.max_sessions),
            free: Vec::with_capacity(cfg.max_sessions),
            dirty: Vec::with_capacity(1024),
            closing: Vec::with_capacity(256),
            read_changes: Vec::with_capacity(256),
            batch,
            wiring,
            rx_pool: Pool::new(1024, 64 * 1024),
            tx_pool: Pool::new(1024, 1024 * 1024),
            stats,
            shared,
            now: Instant::now(),
            live: 0,
            inline,
        }
    }

    /// Sessions in this shard that are not yet released.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    pub(crate) fn id_of(&self, slot: usize) -> SessionId {
        SessionId::new(self.thread, SlotRef::new(slot, self.slots[slot].generation))
    }

    /// Slot of `id` if it names a session that may still send.
    fn lookup(&self, id: SessionId) -> Option<usize> {
        let at = id.slot_ref();
        let slot = at.index();
        let s = self.slots.get(slot)?;
        (id.thread() == self.thread
            && s.generation == at.generation
            && matches!(s.state, State::Open | State::Draining))
        .then_some(slot)
    }

    /// Socket options every accepted socket gets, on either backend:
    /// `TCP_NODELAY` (replies are whole frames; latency matters) and the
    /// configured kernel send buffer. Failures are ignored: both are tuning.
    pub(crate) fn tune_socket(&self, sock: socket2::SockRef<'_>) {
        let _ = sock.set_nodelay(true);
        if self.socket_send_buffer > 0 {
            let _ = sock.set_send_buffer_size(self.socket_send_buffer);
        }
    }

    /// Places an admitted connection in a slot and announces it; the backend
    /// then fills in the slot's `io` (a reused slot keeps what the backend
    /// left there, so per-slot allocations are reused). `None` when the slab
    /// is full (cannot happen while admission is honoured).
    pub(crate) fn open(&mut self, peer: SocketAddr) -> Option<usize>
    where
        S: Default,
    {
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
        self.live += 1;
        ThreadStats::add(&self.stats.accepted, 1);
        let id = self.id_of(slot);
        match self.inline.as_mut() {
            Some(h) => h.on_open(id, peer),
            None => self.batch.push(id, RawKind::Opened(peer)),
        }
        Some(slot)
    }

    /// Is there room in the event batch for up to `n` more bytes of frames for
    /// `slot`? Ships the current batch if that makes room. False means the
    /// application holds every batch: the caller must hold the bytes back.
    pub(crate) fn room_for(&mut self, slot: usize, n: usize) -> bool {
        if self.inline.is_some() {
            return true;
        }
        let need = n + self.slots.get(slot).map_or(0, |s| s.rx.len());
        if self.batch.data.is_empty() || self.batch.data.len() + need <= self.batch_bytes {
            return true;
        }
        self.ship()
    }

    /// Bytes arrived for `slot`: cut them into frames and queue the frames
    /// for the application. The caller has checked [`Shard::room_for`].
    pub(crate) fn on_recv(&mut self, slot: usize, data: &[u8]) -> RecvOutcome {
        ThreadStats::add(&self.stats.bytes_in, data.len() as u64);
        let id = self.id_of(slot);
        let Slot {
            state,
            rx,
            sendq,
            last_rx,
            ..
        } = &mut self.slots[slot];
        if *state != State::Open {
            return RecvOutcome::Ok; // draining: the application is done with it
        }
        *last_rx = self.now;
        let max = self.framing.max_frame_len();
        let mut frames = 0u64;
        let (mut over_limit, mut close, mut queued) = (false, false, 0u64);
        let batch = &mut self.batch;
        let mut inline = self.inline.as_deref_mut();
        let pool = &mut self.tx_pool;
        let limit = self.send_queue_limit;
        let mut deliver = |f: &[u8]| {
            frames += 1;
            match inline.as_mut() {
                Some(h) if !close => h.on_frame(
                    id,
                    f,
                    &mut Reply {
                        queue: sendq,
                        pool,
                        limit,
                        over_limit: &mut over_limit,
                        close: &mut close,
                        queued: &mut queued,
                    },
                ),
                Some(_) => {} // closing: later frames are not delivered
                None => batch.push_frame(id, f),
            }
        };
        let result = if rx.is_empty() {
            match split_frames(&self.framing, data, &mut deliver) {
                Ok(used) if used < data.len() => {
                    let rest = &data[used..];
                    if rest.len() > max {
                        Err(())
                    } else {
                        *rx = self.rx_pool.take();
                        rx.extend_from_slice(rest);
                        Ok(())
                    }
                }
                Ok(_) => Ok(()),
                Err(()) => Err(()),
            }
        } else {
            rx.extend_from_slice(data);
            match split_frames(&self.framing, rx, &mut deliver) {
                Ok(used) => {
                    rx.drain(..used);
                    if rx.is_empty() {
                        self.rx_pool.give(std::mem::take(rx));
                        Ok(())
                    } else if rx.len() > max {
                        Err(())
                    } else {
                        Ok(())
                    }
                }
                Err(()) => Err(()),
            }
        };
        ThreadStats::add(&self.stats.frames_in, frames);
        if queued > 0 {
            ThreadStats::add(&self.stats.frames_out, queued);
            self.mark_dirty(slot);
            self.check_high_water(slot);
        }
        if over_limit {
            self.close(slot, CloseReason::SlowConsumer);
            return RecvOutcome::Closed;
        }
        match result {
            Ok(()) => {
                if close {
                    self.drain(slot, CloseReason::ServerClose);
                }
                RecvOutcome::Ok
            }
            Err(()) => {
                self.close(slot, CloseReason::BadFrame);
                RecvOutcome::Closed
            }
        }
    }

    /// Closes `slot` now (queued data is dropped). Emits `Closed` if the
    /// application has not been told yet. Idempotent.
    pub(crate) fn close(&mut self, slot: usize, reason: CloseReason) {
        let state = self.slots[slot].state;
        match state {
            State::Open => self.emit_closed(slot, reason),
            State::Draining => {}
            State::Closing | State::Free => return,
        }
        self.slots[slot].state = State::Closing;
        self.closing.push(slot as u32);
    }

    /// Stops delivering frames for `slot`, flushes what is queued (up to the
    /// grace period), then closes. Emits `Closed` now.
    pub(crate) fn drain(&mut self, slot: usize, reason: CloseReason) {
        if self.slots[slot].state != State::Open {
            return;
        }
        self.emit_closed(slot, reason);
        let s = &mut self.slots[slot];
        s.state = State::Draining;
        s.deadline = Some(self.now + self.grace);
        // Let the backend see it: it flushes, then closes once empty.
        self.mark_dirty(slot);
    }

    /// Tells the application (once per session: callers check the state).
    fn emit_closed(&mut self, slot: usize, reason: CloseReason) {
        let id = self.id_of(slot);
        match self.inline.as_mut() {
            Some(h) => h.on_close(id, reason),
            None => self.batch.push(id, RawKind::Closed(reason)),
        }
        self.stats.closed(reason);
    }

    /// Whether the backend must hold back `slot`'s input for now.
    pub(crate) fn reading_paused(&self, slot: usize) -> bool {
        let s = &self.slots[slot];
        s.state == State::Open && s.pause.is_paused()
    }

    fn note_read_change(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if !s.pause_listed {
            s.pause_listed = true;
            self.read_changes.push(slot as u32);
        }
    }

    /// Takes the list of sessions whose reading was paused or resumed; the
    /// backend checks [`Shard::reading_paused`] for each (a session can
    /// be listed although it ended up as it was).
    pub(crate) fn take_read_changes(&mut self, into: &mut Vec<u32>) {
        into.clear();
        std::mem::swap(into, &mut self.read_changes);
        for &slot in into.iter() {
            self.slots[slot as usize].pause_listed = false;
        }
    }

    /// Pauses reading `slot` if its queue is past the high-water mark.
    fn check_high_water(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if !s.pause.by_output() && s.sendq.pending_bytes() > self.high_water {
            ThreadStats::add(&self.stats.output_pauses, 1);
            if s.pause.set_by_output(true) {
                self.note_read_change(slot);
            }
        }
    }

    /// The socket took `sent` bytes of `slot`'s queue (the backend has
    /// advanced the queue): the stall clock restarts, and a session paused
    /// for its output is read again once its queue is at the low-water mark.
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

    pub(crate) fn mark_dirty(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(slot as u32);
        }
    }

    /// The backend has torn the socket down and no operation of the session
    /// is in flight: free the slot for the next connection.
    pub(crate) fn release(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        debug_assert_eq!(s.state, State::Closing);
        s.sendq.discard(&mut self.tx_pool);
        if s.rx.capacity() > 0 {
            self.rx_pool.give(std::mem::take(&mut s.rx));
        }
        s.generation = s.generation.wrapping_add(1);
        s.state = State::Free;
        s.dirty = false;
        s.deadline = None;
        self.free.push(slot as u32);
        self.live -= 1;
        self.shared.unadmit(s.peer);
    }

    /// Applies every request the application has handed over.
    pub(crate) fn apply_inbox(&mut self) {
        while let Ok(mut outbox) = self.wiring.inbox.try_recv() {
            for op in outbox.ops.drain(..) {
                match op {
                    Op::Send {
                        session,
                        start,
                        len,
                    } => {
                        let bytes = &outbox.data[start as usize..start as usize + len as usize];
                        self.enqueue(session, Payload::Copy(bytes));
                    }
                    Op::Shared { session, payload } => {
                        self.enqueue(session, Payload::Shared(payload));
                    }
                    Op::Close { session } => match self.lookup(session) {
                        Some(slot) => self.drain(slot, CloseReason::ServerClose),
                        None => ThreadStats::add(&self.stats.stale_requests, 1),
                    },
                    Op::PauseReading { session, pause } => match self.lookup(session) {
                        Some(slot) => {
                            if self.slots[slot].pause.set_by_application(pause) {
                                self.note_read_change(slot);
                            }
                        }
                        None => ThreadStats::add(&self.stats.stale_requests, 1),
                    },
                }
            }
            outbox.clear();
            let _ = self.wiring.outbox_home.try_send(outbox);
        }
    }

    fn enqueue(&mut self, session: SessionId, payload: Payload<'_>) {
        let Some(slot) = self.lookup(session) else {
            ThreadStats::add(&self.stats.stale_requests, 1);
            return;
        };
        let len = payload.len();
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
            Payload::Copy(b) => s.sendq.push_copy(b, &mut self.tx_pool),
            Payload::Shared(b) => s.sendq.push_shared(b, &mut self.tx_pool),
        }
        ThreadStats::add(&self.stats.frames_out, 1);
        self.mark_dirty(slot);
        if pending + len > self.high_water {
            self.check_high_water(slot);
        }
    }

    /// Periodic check: idle sessions, sessions whose peer has taken nothing
    /// for `send_stall_timeout`, and drains past their deadline.
    pub(crate) fn sweep(&mut self) {
        let now = self.now;
        let (mut queued, mut longest) = (0u64, 0u64);
        for slot in 0..self.slots.len() {
            let s = &self.slots[slot];
            if matches!(s.state, State::Open | State::Draining) {
                let q = s.sendq.pending_bytes() as u64;
                queued += q;
                longest = longest.max(q);
            }
            match s.state {
                State::Open => {
                    let stalled = self.stall_timeout.is_some_and(|stall| {
                        !s.sendq.is_empty()
                            && now.saturating_duration_since(s.send_progress) >= stall
                    });
                    if stalled {
                        ThreadStats::add(&self.stats.send_stalls, 1);
                        self.close(slot, CloseReason::SlowConsumer);
                    } else if let Some(idle) = self.idle_timeout {
                        if now.saturating_duration_since(s.last_rx) >= idle {
                            self.close(slot, CloseReason::IdleTimeout);
                        }
                    }
                }
                State::Draining => {
                    if s.deadline.is_some_and(|d| now >= d) {
                        self.close(slot, CloseReason::Shutdown);
                    }
                }
                State::Free | State::Closing => {}
            }
        }
        self.stats.queued_bytes.store(queued, Ordering::Relaxed);
        self.stats
            .max_queued_bytes
            .store(longest, Ordering::Relaxed);
    }

    /// Starts the graceful shutdown of every session.
    pub(crate) fn drain_all(&mut self) {
        for slot in 0..self.slots.len() {
            if self.slots[slot].state == State::Open {
                self.drain(slot, CloseReason::Shutdown);
            }
        }
    }

    /// Hands the current batch to the application if it holds anything and a
    /// fresh batch is available. Returns false if events remain unshipped.
    pub(crate) fn ship(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let fresh = match self.wiring.free_batches.try_recv() {
            Ok(fresh) => fresh,
            Err(_) => {
                // Ask to be woken when the application returns a batch, then
                // look once more in case it did so in between.
                let free = &self.wiring.free_batches;
                match self
                    .wiring
                    .batch_home
                    .paused
                    .pause_unless(|| free.try_recv().ok())
                {
                    Some(fresh) => fresh,
                    None => {
                        ThreadStats::add(&self.stats.read_pauses, 1);
                        return false;
                    }
                }
            }
        };
        let full = std::mem::replace(&mut self.batch, fresh);
        let batch = EventBatch {
            buf: full,
            home: Some(self.wiring.batch_home.clone()),
            thread: self.thread,
        };
        // If the application is gone the batch comes back through its Drop.
        let _ = self.wiring.events_tx.try_send(batch);
        true
    }

    /// Last call before the I/O thread exits: hands over whatever is left,
    /// even without a fresh batch to replace it.
    pub(crate) fn ship_final(&mut self) {
        if !self.ship() {
            let full = std::mem::take(&mut self.batch);
            let _ = self.wiring.events_tx.try_send(EventBatch {
                buf: full,
                home: None,
                thread: self.thread,
            });
        }
    }
}

enum Payload<'a> {
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

/// Cuts whole frames off the front of `buf`, calling `deliver` for each.
/// Returns how many bytes were consumed, or `Err` on a bad frame.
fn split_frames<F: Framing>(
    framing: &F,
    buf: &[u8],
    deliver: &mut impl FnMut(&[u8]),
) -> Result<usize, ()> {
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        match framing.frame_len(rest) {
            Ok(Some(n)) if n >= 1 && n <= rest.len() => {
                deliver(&rest[..n]);
                pos += n;
            }
            Ok(Some(_)) | Err(_) => return Err(()),
            Ok(None) => break,
        }
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::FrameError;

    /// 2-byte little-endian total length, like the chat header's first field.
    #[derive(Clone)]
    struct Len16;

    impl Framing for Len16 {
        fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
            if buf.len() < 2 {
                return Ok(None);
            }
            let n = u16::from_le_bytes([buf[0], buf[1]]) as usize;
            if !(2..=64).contains(&n) {
                return Err(FrameError {
                    reason: "bad length",
                    len: n,
                });
            }
            Ok((buf.len() >= n).then_some(n))
        }

        fn max_frame_len(&self) -> usize {
            64
        }
    }

    fn frames_of(buf: &[u8]) -> Result<(Vec<Vec<u8>>, usize), ()> {
        let mut out = Vec::new();
        let used = split_frames(&Len16, buf, &mut |f: &[u8]| out.push(f.to_vec()))?;
        Ok((out, used))
    }

    #[test]
    fn splits_every_whole_frame_and_keeps_the_rest() {
        let buf = [3, 0, b'a', 4, 0, b'b', b'c', 5, 0, b'x'];
        let (frames, used) = frames_of(&buf).unwrap();
        assert_eq!(frames, vec![vec![3, 0, b'a'], vec![4, 0, b'b', b'c']]);
        assert_eq!(used, 7);
    }

    #[test]
    fn refuses_bad_lengths() {
        assert!(frames_of(&[1, 0, 0]).is_err());
        assert!(frames_of(&[65, 0]).is_err());
        assert_eq!(frames_of(&[3]).unwrap().1, 0, "incomplete is not an error");
    }
}
