//! The application's side of the engine: receive event batches, queue sends
//! and closes, hand them to the I/O threads.
//!
//! Sends are buffered per I/O thread until [`Endpoint::flush`] (or until an
//! outbox grows past a threshold), and each flush wakes each I/O thread that
//! got work at most once — one wake-up per batch, never one per message.

use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::{
    select, Receiver, RecvError as Disconnected, RecvTimeoutError, Sender, TryRecvError,
    TrySendError,
};

use crate::event::EventBatch;
use crate::id::SessionId;
use crate::outbox::{Outbox, Request};
use crate::waker::Waker;

/// An outbox is handed over early when it holds this many bytes or requests,
/// so one busy application turn cannot buffer without bound.
const AUTO_FLUSH_BYTES: usize = 1 << 20;
const AUTO_FLUSH_REQUESTS: usize = 16 * 1024;

/// Why [`Endpoint::recv`] returned no batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Nothing arrived within the timeout.
    #[error("timed out")]
    Timeout,
    /// Every I/O thread has stopped: the engine is shut down and every event
    /// has been delivered.
    #[error("engine stopped")]
    Stopped,
}

/// What [`Endpoint::recv_with`] got.
#[derive(Debug)]
pub enum Received<T> {
    /// A batch of engine events.
    Events(EventBatch),
    /// A message from the other channel.
    Other(T),
    /// Nothing arrived within the timeout.
    Timeout,
    /// The engine has stopped and every event has been delivered.
    Stopped,
    /// The other channel's senders are all gone (engine events may follow).
    OtherClosed,
}

/// The application's side of one I/O thread: the outbox being filled, the
/// thread's inbox it is handed to, and the way applied outboxes come back.
struct Lane {
    outbox: Outbox,
    inbox: Sender<Outbox>,
    outbox_return: Receiver<Outbox>,
    waker: std::sync::Arc<Waker>,
}

/// The application's handle. Not clonable: one application thread drives it.
pub struct Endpoint {
    events: Receiver<EventBatch>,
    lanes: Vec<Lane>,
    pending: Vec<usize>,
    /// Run by a [`crate::HostedApp`] on the I/O thread itself: outboxes are
    /// handed over only at [`Endpoint::flush`], without a wake-up (the I/O
    /// thread applies them right after the application's turn).
    hosted: bool,
    /// Hosted: lanes whose outbox found the I/O thread's inbox full (more
    /// than 64 flushes in one turn), handed over at the next flush.
    held: Vec<usize>,
    /// Hosted: something was held; the next [`Endpoint::try_recv`] (the
    /// application's next turn, which the I/O thread was woken for)
    /// flushes.
    retry: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("io_threads", &self.lanes.len())
            .finish()
    }
}

pub(crate) struct LaneParts {
    pub(crate) inbox: Sender<Outbox>,
    pub(crate) outbox_return: Receiver<Outbox>,
    pub(crate) waker: std::sync::Arc<Waker>,
}

impl Endpoint {
    pub(crate) fn new(events: Receiver<EventBatch>, lanes: Vec<LaneParts>) -> Self {
        let lanes = lanes
            .into_iter()
            .map(|p| Lane {
                outbox: Outbox::default(),
                inbox: p.inbox,
                outbox_return: p.outbox_return,
                waker: p.waker,
            })
            .collect::<Vec<_>>();
        Endpoint {
            events,
            pending: Vec::with_capacity(lanes.len()),
            lanes,
            hosted: false,
            held: Vec::new(),
            retry: false,
        }
    }

    /// Marks the endpoint as driven on the I/O thread (see the field).
    pub(crate) fn set_hosted(&mut self) {
        self.hosted = true;
    }

    /// Waits for the next batch of events (at most `timeout`; `None` waits
    /// until one arrives or the engine stops).
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<EventBatch, RecvError> {
        match timeout {
            None => self.events.recv().map_err(|_| RecvError::Stopped),
            Some(t) => self.events.recv_timeout(t).map_err(|e| match e {
                RecvTimeoutError::Timeout => RecvError::Timeout,
                RecvTimeoutError::Disconnected => RecvError::Stopped,
            }),
        }
    }

    /// Waits for whichever comes first: a batch of engine events, or a
    /// message on `other` (for example answers from worker threads). Engine
    /// events are preferred when both are ready. Allocates nothing (the
    /// zero-allocation test in `tests/alloc.rs` covers it).
    pub fn recv_with<T>(&mut self, other: &Receiver<T>, timeout: Option<Duration>) -> Received<T> {
        match self.events.try_recv() {
            Ok(batch) => return Received::Events(batch),
            Err(TryRecvError::Disconnected) => return Received::Stopped,
            Err(TryRecvError::Empty) => {}
        }
        match other.try_recv() {
            Ok(v) => return Received::Other(v),
            Err(TryRecvError::Disconnected) => return Received::OtherClosed,
            Err(TryRecvError::Empty) => {}
        }
        // The `select!` macro keeps its operation list on the stack. (A
        // `Select` value allocates its list each time it is built: that was
        // one allocation per wake-up, i.e. per frame in a ping-pong.)
        let events = &self.events;
        let got_events = |r: Result<EventBatch, Disconnected>| match r {
            Ok(batch) => Received::Events(batch),
            Err(_) => Received::Stopped,
        };
        let got_other = |r: Result<T, Disconnected>| match r {
            Ok(v) => Received::Other(v),
            Err(_) => Received::OtherClosed,
        };
        match timeout {
            None => select! {
                recv(events) -> r => got_events(r),
                recv(other) -> r => got_other(r),
            },
            Some(t) => select! {
                recv(events) -> r => got_events(r),
                recv(other) -> r => got_other(r),
                default(t) => Received::Timeout,
            },
        }
    }

    /// Returns a batch if one is ready, without waiting. (Hosted, it first
    /// hands over an outbox that found the I/O thread's inbox full in the
    /// last turn.)
    pub fn try_recv(&mut self) -> Result<EventBatch, RecvError> {
        if std::mem::take(&mut self.retry) {
            self.flush();
        }
        self.events.try_recv().map_err(|e| match e {
            TryRecvError::Empty => RecvError::Timeout,
            TryRecvError::Disconnected => RecvError::Stopped,
        })
    }

    /// Queues a copy of `bytes` for `session`. Sends to one session leave in
    /// the order they were queued. A session that has closed drops it.
    pub fn send(&mut self, session: SessionId, bytes: &[u8]) {
        let Some(t) = self.lane_of(session) else {
            return;
        };
        self.lanes[t].outbox.send(session, bytes);
        self.queued(t);
    }

    /// Queues a shared payload for `session` without copying it: the same
    /// [`Bytes`] can be queued for any number of sessions.
    pub fn send_shared(&mut self, session: SessionId, payload: &Bytes) {
        let Some(t) = self.lane_of(session) else {
            return;
        };
        self.lanes[t].outbox.requests.push(Request::Shared {
            session,
            payload: payload.clone(),
        });
        self.queued(t);
    }

    /// Asks the engine to send what is queued for `session`, then close it
    /// (reason [`crate::CloseReason::ServerClose`]). Frames that arrive after
    /// this are not delivered; the `Closed` event follows.
    pub fn close(&mut self, session: SessionId) {
        let Some(t) = self.lane_of(session) else {
            return;
        };
        self.lanes[t]
            .outbox
            .requests
            .push(Request::Close { session });
        self.queued(t);
    }

    /// Asks the engine to stop reading `session`'s socket until
    /// [`Endpoint::resume_reading`]: frames already received may still
    /// arrive (those in batches on their way), then no more until resumed.
    /// The peer is held back by TCP flow control once the kernel's receive
    /// buffer is full; nothing is dropped. Sends and closes are unaffected.
    /// Idempotent; ordered with the session's other requests.
    pub fn pause_reading(&mut self, session: SessionId) {
        self.push_pause(session, true);
    }

    /// Undoes [`Endpoint::pause_reading`]: the session is read again (unless
    /// its own send queue is past `send_queue_high_water`, which pauses it
    /// independently). Idempotent.
    pub fn resume_reading(&mut self, session: SessionId) {
        self.push_pause(session, false);
    }

    fn push_pause(&mut self, session: SessionId, pause: bool) {
        let Some(t) = self.lane_of(session) else {
            return;
        };
        self.lanes[t]
            .outbox
            .requests
            .push(Request::PauseReading { session, pause });
        self.queued(t);
    }

    /// Hands everything queued to the I/O threads, waking each one that got
    /// work once.
    pub fn flush(&mut self) {
        while let Some(t) = self.pending.pop() {
            self.hand_over(t);
        }
        self.pending.append(&mut self.held);
    }

    fn lane_of(&self, session: SessionId) -> Option<usize> {
        let t = session.thread();
        (t < self.lanes.len()).then_some(t)
    }

    fn queued(&mut self, t: usize) {
        let lane = &self.lanes[t];
        if lane.outbox.requests.len() == 1 {
            self.pending.push(t);
        }
        // Hosted: handing over early would not send sooner (the I/O
        // thread applies outboxes only after the turn), so the outbox
        // holds what one turn produces: bounded by the turn's input (the
        // event batches waiting, at most `batches_per_thread` ×
        // `batch_bytes`, and what the application takes from elsewhere)
        // times its fan-out.
        if !self.hosted
            && (lane.outbox.data.len() >= AUTO_FLUSH_BYTES
                || lane.outbox.requests.len() >= AUTO_FLUSH_REQUESTS)
        {
            self.pending.retain(|&p| p != t);
            self.hand_over(t);
        }
    }

    fn hand_over(&mut self, t: usize) {
        let lane = &mut self.lanes[t];
        if lane.outbox.is_empty() {
            return;
        }
        let fresh = lane.outbox_return.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut lane.outbox, fresh);
        if self.hosted {
            // On the I/O thread, which applies every outbox after each
            // turn: its inbox is empty when the turn begins, and neither
            // waiting nor waking makes sense.
            if let Err(TrySendError::Full(full)) = lane.inbox.try_send(full) {
                // The application flushed more than the inbox holds in one
                // turn: kept (requests queued later go behind it), and the
                // thread woken so that the application's next turn comes at
                // once and hands it over (`try_recv`). A stopped thread
                // (`Disconnected`) drops the requests.
                lane.outbox = full;
                self.held.push(t);
                self.retry = true;
                lane.waker.wake();
            }
            return;
        }
        // Blocks only while that I/O thread's inbox is full; I/O threads never
        // wait for the application, so this cannot deadlock. A stopped thread
        // drops the requests (its sessions are closed anyway).
        if lane.inbox.send(full).is_ok() {
            lane.waker.wake();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.flush();
    }
}
