//! One I/O thread's sessions and everything about them that does not depend
//! on the backend: the slab of slots with generations, framing of received
//! bytes, delivery of events to the application, the requests coming back
//! from it, timers, and the close-exactly-once rule.
//!
//! A backend (io_uring or poll) owns a `Shard` and drives it: it reports what
//! the kernel did (`on_recv`, `on_sent`…) and performs what the shard asks
//! for through two work lists: `dirty` (sessions with data to send, or a
//! drained session to close) and `closing` (sessions whose socket must be
//! torn down; the backend calls [`Shard::release`] once no operation of the
//! session is in flight any more).
//!
//! Files, one concept each: `slot` (the slab), `recv` (bytes to frames),
//! `delivery` and `batch` (where events go), `send` (queueing output),
//! `pause` (reading paused and resumed), `requests` (the application's
//! outboxes), `timers` (the sweep), `shared` (state all threads share),
//! `parts` (what a thread starts with), `hosting` (an application run on
//! this thread); this file: the shard itself, its
//! construction, and closing.

mod batch;
mod delivery;
mod hosting;
mod parts;
mod pause;
mod recv;
mod requests;
mod send;
mod shared;
mod slot;
mod timers;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use self::batch::Batcher;
use self::delivery::Delivery;
use self::hosting::Hosting;
pub(crate) use self::parts::ThreadParts;
pub(crate) use self::recv::RecvOutcome;
pub(crate) use self::shared::{Shared, TlsHandshakes};
pub(crate) use self::slot::{Slot, State};
use crate::buf::pool::Pool;
use crate::buf::send_queue::SendBuf;
use crate::event::{BatchHome, CloseReason};
use crate::framing::Framing;
use crate::outbox::Outbox;
use crate::stats::ThreadStats;
use crate::transport::{ListenerKind, Transport};
use crate::wake_flag::WakeFlag;
use crate::waker::Waker;

/// The application's requests reaching this thread, and the way back for
/// their outboxes.
struct Wiring {
    inbox: Receiver<Outbox>,
    outbox_return: Sender<Outbox>,
}

pub(crate) struct Shard<F: Framing, S> {
    pub(crate) thread: usize,
    framing: F,
    /// What each listener speaks, by listener index.
    transports: Vec<Transport>,
    /// Each listener's TLS configuration, if it has TLS.
    tls_configs: Vec<Option<Arc<rustls::ServerConfig>>>,
    /// Each listener's kind (for the per-kind session counts).
    kinds: Vec<ListenerKind>,
    /// What a TLS session's received bytes decrypted to (one per thread).
    tls_plain: Vec<u8>,
    /// Working memory of the WebSocket decoder (one per thread).
    scratch: Vec<u8>,
    /// The last shared payload framed as a WebSocket message, and the
    /// framed bytes (see `send.rs`).
    ws_framed: Option<(bytes::Bytes, bytes::Bytes)>,
    send_queue_limit: usize,
    high_water: usize,
    low_water: usize,
    stall_timeout: Option<Duration>,
    /// `SO_SNDBUF` for accepted sockets (0: the kernel's default).
    socket_send_buffer: usize,
    idle_timeout: Option<Duration>,
    grace: Duration,
    max_slots: usize,
    pub(crate) slots: Vec<Slot<S>>,
    free: Vec<u32>,
    pub(crate) dirty: Vec<u32>,
    pub(crate) closing: Vec<u32>,
    /// Sessions whose [`ReadPause::is_paused`] changed since the backend
    /// last looked (it stops or resumes reading them).
    ///
    /// [`ReadPause::is_paused`]: crate::read_pause::ReadPause::is_paused
    pub(crate) read_changes: Vec<u32>,
    delivery: Delivery,
    /// The application running on this thread, if the engine was started
    /// hosted.
    hosting: Option<Hosting>,
    wiring: Wiring,
    rx_pool: Pool<Vec<u8>>,
    pub(crate) tx_pool: Pool<SendBuf>,
    pub(crate) stats: Arc<ThreadStats>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) now: Instant,
    live: usize,
}

impl<F: Framing, S> Shard<F, S> {
    /// Builds the shard of an I/O thread whose backend wakes it with
    /// `waker`; returns the listeners for the backend to accept on, in
    /// listener-index order.
    pub(crate) fn build(parts: ThreadParts<F>, waker: Arc<Waker>) -> (Self, Vec<TcpListener>) {
        let ThreadParts {
            index: thread,
            framing,
            cfg,
            shared,
            listeners,
            events_tx,
            free_batches,
            free_batches_tx,
            inbox,
            outbox_return,
            inline,
            hosted,
        } = parts;
        let stats = shared.stats[thread].clone();
        let delivery = match inline {
            Some(handler) => Delivery::Inline(handler),
            None => {
                let home = Arc::new(BatchHome {
                    free: free_batches_tx,
                    waker,
                    paused: WakeFlag::new(),
                });
                Delivery::Batches(Batcher::new(
                    thread,
                    cfg.batch_bytes,
                    events_tx,
                    free_batches,
                    home,
                    stats.clone(),
                ))
            }
        };
        let mut sockets = Vec::with_capacity(listeners.len());
        let mut transports = Vec::with_capacity(listeners.len());
        let mut tls_configs = Vec::with_capacity(listeners.len());
        let mut kinds = Vec::with_capacity(listeners.len());
        for (socket, transport, tls) in listeners {
            sockets.push(socket);
            kinds.push(ListenerKind::of(&transport, tls.is_some()));
            transports.push(transport);
            tls_configs.push(tls);
        }
        let shard = Shard {
            thread,
            framing,
            transports,
            tls_configs,
            kinds,
            tls_plain: Vec::new(),
            scratch: Vec::new(),
            ws_framed: None,
            send_queue_limit: cfg.send_queue_limit,
            high_water: cfg.send_queue_high_water,
            low_water: cfg.send_queue_low_water,
            stall_timeout: cfg.send_stall_timeout,
            socket_send_buffer: cfg.socket_send_buffer,
            idle_timeout: cfg.idle_timeout,
            grace: cfg.shutdown_grace,
            max_slots: cfg.max_sessions,
            slots: Vec::with_capacity(cfg.max_sessions),
            free: Vec::with_capacity(cfg.max_sessions),
            dirty: Vec::with_capacity(1024),
            closing: Vec::with_capacity(256),
            read_changes: Vec::with_capacity(256),
            delivery,
            hosting: hosted.map(Hosting::new),
            wiring: Wiring {
                inbox,
                outbox_return,
            },
            rx_pool: Pool::new(1024, 64 * 1024),
            tx_pool: Pool::new(1024, 1024 * 1024),
            stats,
            shared,
            now: Instant::now(),
            live: 0,
        };
        (shard, sockets)
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
        // The wire's last words (a WebSocket close frame), after what the
        // application queued.
        let mut last = Vec::new();
        s.wire.closing(reason, &mut last);
        if !last.is_empty() {
            s.sendq.push_copy(&last, &mut self.tx_pool);
        }
        // Then TLS's own: `close_notify` after everything queued.
        if let Some(tls) = s.tls.as_deref_mut() {
            tls.close();
        }
        s.state = State::Draining;
        s.deadline = Some(self.now + self.grace);
        // Let the backend see it: it flushes, then closes once empty.
        self.mark_dirty(slot);
    }

    /// Starts the graceful shutdown of every session.
    pub(crate) fn drain_all(&mut self) {
        for slot in 0..self.slots.len() {
            if self.slots[slot].state == State::Open {
                self.drain(slot, CloseReason::Shutdown);
            }
        }
    }

    /// Tells the application (once per session: callers check the state).
    fn emit_closed(&mut self, slot: usize, reason: CloseReason) {
        let id = self.id_of(slot);
        self.delivery.closed(id, reason);
        self.stats.closed(reason);
    }

    /// Hands the events gathered so far to the application if it has a
    /// free batch. Returns false if events remain unshipped.
    pub(crate) fn ship(&mut self) -> bool {
        self.delivery.ship()
    }

    /// Last call before the I/O thread exits: hands over whatever is left.
    pub(crate) fn ship_final(&mut self) {
        self.delivery.ship_final();
    }
}
