//! The readiness backend: epoll through mio. Used where io_uring cannot be
//! set up (containers' seccomp profiles, old kernels) or when asked for.
//!
//! Sockets are registered edge-triggered for reading and writing. A readable
//! session goes on the `ready` list and stays there until a read returns
//! `WouldBlock`; each pass reads at most one buffer per session so that one
//! busy peer cannot starve the others. Reads use one scratch buffer per
//! thread, so idle sessions hold no receive buffer. Sends are `sendmsg` with
//! the queue's iovecs (`MSG_NOSIGNAL`), one per dirty session per pass.

use std::io::{self, IoSlice, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::buf::send_queue::MAX_IOVECS;
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::id::SlotRef;
use crate::linger::Linger;
use crate::shard::ThreadParts;
use crate::shard::{RecvOutcome, Shard, State};
use crate::stats::ThreadStats;
use crate::sys::{is_resource_shortage, AcceptTrouble, Driver, ACCEPT_BACKOFF};
use crate::waker::Waker;

const WAKER: Token = Token(usize::MAX - 2);
/// Listener `i`'s token is `LISTENERS - i` (at most 255 listeners).
const LISTENERS: usize = usize::MAX - 16;

fn listener_token(index: usize) -> Token {
    Token(LISTENERS - index)
}

/// The listener index of a listener's token.
fn listener_of(t: Token) -> Option<usize> {
    (t.0 <= LISTENERS && t.0 >= LISTENERS - usize::from(u8::MAX)).then(|| LISTENERS - t.0)
}

/// The poll backend's part of a session.
#[derive(Debug, Default)]
pub(crate) struct PollIo {
    stream: Option<TcpStream>,
    in_ready: bool,
    /// Readable but held back while reading is paused: put back on the
    /// ready list when reading resumes.
    parked: bool,
    /// Closed after its queue was flushed: the socket lingers.
    linger: bool,
}

/// A session's token: its slot reference packed with tag 0
/// ([`SlotRef::pack`]; 64-bit targets), never equal to a listener's token
/// or [`WAKER`], whose top byte is set.
fn token(at: SlotRef) -> Token {
    Token(at.pack(0) as usize)
}

fn untoken(t: Token) -> SlotRef {
    SlotRef::unpack(t.0 as u64).1
}

pub(crate) struct PollDriver<F: Framing> {
    poll: Poll,
    shard: Shard<F, PollIo>,
    linger: Linger,
    /// The listeners, by index (`None` once accepting stopped).
    listeners: Vec<Option<TcpListener>>,
    scratch: Vec<u8>,
    /// Readable sessions, read one buffer each per pass.
    ready: Vec<SlotRef>,
    still_ready: Vec<SlotRef>,
    dirty: Vec<u32>,
    changed: Vec<u32>,
    accept_retry_at: Option<Instant>,
    trouble: AcceptTrouble,
    events: Events,
}

/// Creates the poller and its waker on the current thread.
pub(crate) fn setup<F: Framing>(parts: ThreadParts<F>) -> io::Result<(PollDriver<F>, Arc<Waker>)> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::Mio(mio::Waker::new(poll.registry(), WAKER)?));
    let recv_size = parts.cfg.recv_buffer_size;
    let linger = Linger::new(&parts.cfg, parts.shared.stats[parts.index].clone());
    let (shard, sockets) = Shard::build(parts, waker.clone());
    let mut listeners = Vec::with_capacity(sockets.len());
    for (index, socket) in sockets.into_iter().enumerate() {
        let mut listener = TcpListener::from_std(socket);
        poll.registry()
            .register(&mut listener, listener_token(index), Interest::READABLE)?;
        listeners.push(Some(listener));
    }
    Ok((
        PollDriver {
            poll,
            shard,
            linger,
            listeners,
            scratch: vec![0; recv_size],
            ready: Vec::with_capacity(1024),
            still_ready: Vec::with_capacity(1024),
            dirty: Vec::with_capacity(1024),
            changed: Vec::with_capacity(256),
            accept_retry_at: None,
            trouble: AcceptTrouble::default(),
            events: Events::with_capacity(1024),
        },
        waker,
    ))
}

impl<F: Framing> Driver for PollDriver<F> {
    type Framing = F;
    type Io = PollIo;

    fn shard(&mut self) -> &mut Shard<F, PollIo> {
        &mut self.shard
    }

    fn linger(&mut self) -> &mut Linger {
        &mut self.linger
    }

    fn accept_retry_at(&self) -> Option<Instant> {
        self.accept_retry_at
    }

    fn retry_accept(&mut self) {
        self.accept_retry_at = None;
        for index in 0..self.listeners.len() {
            self.accept(index);
        }
    }

    fn stop_accepting(&mut self) {
        for listener in &mut self.listeners {
            if let Some(mut l) = listener.take() {
                let _ = self.poll.registry().deregister(&mut l);
            }
        }
        self.accept_retry_at = None;
    }

    fn pump(&mut self) {
        self.apply_read_changes();
        self.read_ready();
    }

    fn flush_dirty(&mut self) {
        self.flush_dirty_sessions();
    }

    fn teardown(&mut self) {
        self.teardown_closed();
    }

    fn has_backlog(&self) -> bool {
        !self.ready.is_empty()
    }

    fn kernel_busy(&self) -> bool {
        false
    }

    fn wait_and_handle(&mut self, timeout: Duration) {
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        match self.poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {
                // Accepts below stamp the new session's `last_rx`.
                self.shard.now = Instant::now();
                for ev in events.iter() {
                    self.on_event(ev);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::error!(thread = self.shard.thread, error = %e, "poll failed");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.events = events;
    }

    fn finish(&mut self) {}
}

impl<F: Framing> PollDriver<F> {
    fn on_event(&mut self, ev: &mio::event::Event) {
        match ev.token() {
            WAKER => {}
            t if listener_of(t).is_some() => {
                if let Some(index) = listener_of(t) {
                    self.accept(index);
                }
            }
            t => {
                let at = untoken(t);
                let slot = at.index();
                let Some(s) = self.shard.slots.get_mut(slot) else {
                    return;
                };
                if s.generation != at.generation
                    || !matches!(s.state, State::Open | State::Draining)
                {
                    return;
                }
                if (ev.is_readable() || ev.is_read_closed() || ev.is_error()) && !s.io.in_ready {
                    s.io.in_ready = true;
                    self.ready.push(at);
                }
                if ev.is_writable() && !s.sendq.is_empty() {
                    self.shard.mark_dirty(slot);
                }
            }
        }
    }

    /// Accepts what listener `index` has waiting.
    fn accept(&mut self, index: usize) {
        loop {
            let Some(Some(listener)) = self.listeners.get(index) else {
                return;
            };
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    self.trouble.succeeded(self.shard.thread);
                    if !self.shard.shared.admit(peer, &self.shard.stats) {
                        drop(stream);
                        continue;
                    }
                    self.shard.tune_socket(socket2::SockRef::from(&stream));
                    let slot = match self.shard.open(peer, index) {
                        Some(slot) => slot,
                        None => {
                            self.shard.shared.unadmit(peer);
                            ThreadStats::add(&self.shard.stats.refused, 1);
                            continue;
                        }
                    };
                    let at = SlotRef::new(slot, self.shard.slots[slot].generation);
                    if let Err(e) = self.poll.registry().register(
                        &mut stream,
                        token(at),
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        tracing::warn!(error = %e, "could not register a socket");
                        self.shard.close(slot, CloseReason::Reset);
                    }
                    let s = &mut self.shard.slots[slot];
                    s.io.stream = Some(stream);
                    s.io.linger = false;
                    // Data may already be waiting.
                    s.io.in_ready = true;
                    self.ready.push(at);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_resource_shortage(&e) => {
                    ThreadStats::add(&self.shard.stats.accept_errors, 1);
                    self.trouble.failed(self.shard.thread, &e);
                    self.accept_retry_at = Some(self.shard.now + ACCEPT_BACKOFF);
                    return;
                }
                Err(e) => {
                    // A connection that failed before we took it
                    // (ECONNABORTED…): skip it.
                    ThreadStats::add(&self.shard.stats.accept_errors, 1);
                    tracing::debug!(error = %e, "accept error");
                }
            }
        }
    }

    /// Sessions whose reading resumed go back on the ready list if they
    /// were held back readable (edge-triggered: no new event would come for
    /// bytes that were already waiting). Pausing needs nothing here:
    /// `read_ready` parks a paused session when it meets it.
    fn apply_read_changes(&mut self) {
        let mut changed = std::mem::take(&mut self.changed);
        self.shard.take_read_changes(&mut changed);
        for &slot32 in &changed {
            let slot = slot32 as usize;
            if self.shard.reading_paused(slot) {
                continue;
            }
            let s = &mut self.shard.slots[slot];
            if s.io.parked {
                s.io.parked = false;
                self.ready.push(SlotRef::new(slot, s.generation));
            }
        }
        self.changed = changed;
    }

    fn read_ready(&mut self) {
        let mut ready = std::mem::take(&mut self.ready);
        let mut still = std::mem::take(&mut self.still_ready);
        let chunk = self.scratch.len();
        let mut stop = false;
        for &at in &ready {
            let slot = at.index();
            let s = &mut self.shard.slots[slot];
            if s.generation != at.generation || !matches!(s.state, State::Open | State::Draining) {
                continue;
            }
            if self.shard.reading_paused(slot) {
                // Stays `in_ready`: read again from where it is on resume.
                self.shard.slots[slot].io.parked = true;
                continue;
            }
            if stop || !self.shard.room_for(slot, chunk) {
                stop = true;
                still.push(at);
                continue;
            }
            let s = &mut self.shard.slots[slot];
            let Some(stream) = s.io.stream.as_mut() else {
                continue;
            };
            match stream.read(&mut self.scratch) {
                Ok(0) => {
                    s.io.in_ready = false;
                    // A draining session's peer may half-close after its
                    // last request: what is queued for it is still sent.
                    if s.state != State::Draining {
                        self.shard.close(slot, CloseReason::PeerClosed);
                    }
                }
                Ok(n) => {
                    if self.shard.on_recv(slot, &self.scratch[..n]) == RecvOutcome::Ok {
                        still.push(at);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => s.io.in_ready = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    still.push(at);
                }
                Err(_) => {
                    s.io.in_ready = false;
                    self.shard.close(slot, CloseReason::Reset);
                }
            }
        }
        ready.clear();
        self.ready = still;
        self.still_ready = ready;
    }

    fn flush_dirty_sessions(&mut self) {
        std::mem::swap(&mut self.dirty, &mut self.shard.dirty);
        for i in 0..self.dirty.len() {
            let slot = self.dirty[i] as usize;
            let s = &mut self.shard.slots[slot];
            s.dirty = false;
            if !matches!(s.state, State::Open | State::Draining) {
                continue;
            }
            let Some(stream) = s.io.stream.as_ref() else {
                continue;
            };
            let sock = socket2::SockRef::from(stream);
            let mut failed = false;
            let mut sent_now = 0;
            while let Some(flight) = s
                .sendq
                .lend_through(s.tls.as_deref_mut(), &mut self.shard.tx_pool)
            {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let n = flight.io_slices(&mut slices);
                let result = sock.send_vectored_with_flags(&slices[..n], libc::MSG_NOSIGNAL);
                let sent = *result.as_ref().unwrap_or(&0);
                let progress = s.sendq.give_back(flight, sent);
                match result {
                    Ok(sent) => {
                        sent_now += sent;
                        let st = &self.shard.stats;
                        ThreadStats::add(&st.sends, 1);
                        ThreadStats::add(&st.bytes_out, sent as u64);
                        ThreadStats::add(&st.coalesced_frames, progress.coalesced as u64);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                self.shard.close(slot, CloseReason::Reset);
                continue;
            }
            self.shard.on_sent(slot, sent_now);
            let s = &mut self.shard.slots[slot];
            if s.sendq.is_empty() {
                s.sendq.release_if_idle(&mut self.shard.tx_pool);
                if s.state == State::Draining {
                    s.io.linger = true;
                    self.shard.close(slot, CloseReason::ServerClose);
                }
            }
        }
        self.dirty.clear();
    }

    fn teardown_closed(&mut self) {
        while let Some(slot) = self.shard.closing.pop() {
            let slot = slot as usize;
            let s = &mut self.shard.slots[slot];
            let linger = std::mem::take(&mut s.io.linger);
            if let Some(mut stream) = s.io.stream.take() {
                let _ = self.poll.registry().deregister(&mut stream);
                if linger {
                    self.linger.hand_over(stream.into(), self.shard.now);
                } else {
                    crate::linger::discard_unread_input(socket2::SockRef::from(&stream));
                }
            }
            s.io.in_ready = false;
            s.io.parked = false;
            self.shard.release(slot);
        }
    }
}
