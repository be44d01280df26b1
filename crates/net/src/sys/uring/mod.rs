//! The io_uring backend: the completion port.
//!
//! The IOCP model maps one to one: AcceptEx → multishot accept, WSARecv →
//! multishot recv selecting buffers from a provided-buffer ring
//! ([`buf_ring`]), WSASend → `sendmsg` with the send queue's iovecs,
//! GetQueuedCompletionStatusEx → reaping the completion queue in batches,
//! the completion key → `user_data` (operation kind, slot, generation).
//!
//! Each session's socket is also registered in the ring's file table at its
//! slot's index (a *fixed file*), so receives and sends name it by index and
//! the kernel skips the per-operation descriptor lookup; a flight of one
//! buffer leaves with `send` rather than `sendmsg` (no message header to
//! copy in). Both fall back to the plain descriptor and `sendmsg` whenever
//! the table could not be set up.
//!
//! Ownership rule: memory an operation uses (the msghdr and iovecs of a send,
//! the queued payloads, receive buffers, the eventfd read buffer) stays owned
//! by the driver, untouched, until that operation's final completion has been
//! reaped. A closing session keeps its slot (and so its memory) until its
//! receive and send operations have both completed; only then is its socket
//! closed and its slot released.
//!
//! Backpressure: when the application holds every event batch, receive
//! completions are kept (with their buffers) in `deferred`, in order; the
//! kernel runs out of buffers, multishot receives stop with ENOBUFS, and are
//! re-armed once the backlog is delivered.

mod buf_ring;

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use self::buf_ring::BufRing;
use crate::config::EngineConfig;
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::id::SlotRef;
use crate::linger::Linger;
use crate::shard::ThreadParts;
use crate::shard::{RecvOutcome, Shard, State};
use crate::stats::ThreadStats;
use crate::sys::{is_resource_shortage, AcceptTrouble, Driver, ACCEPT_BACKOFF};
use crate::waker::Waker;

const OP_ACCEPT: u8 = 1;
const OP_WAKE: u8 = 2;
const OP_RECV: u8 = 3;
const OP_SEND: u8 = 4;
const OP_CANCEL: u8 = 5;

const SQ_ENTRIES: u32 = 1024;
const BUF_GROUP: u16 = 0;

/// A submission's `user_data`: the operation kind in the tag byte of the
/// slot reference ([`SlotRef::pack`]).
fn user_data(op: u8, slot: usize, generation: u32) -> u64 {
    SlotRef::new(slot, generation).pack(op)
}

fn split_user_data(ud: u64) -> (u8, usize, u32) {
    let (op, at) = SlotRef::unpack(ud);
    (op, at.index(), at.generation)
}

/// The memory a `sendmsg` in flight points to. Boxed so that it never moves
/// while the kernel may read it, and reused by the slot's next occupants.
struct SendOp {
    msg: libc::msghdr,
    iov: Vec<libc::iovec>,
}

/// The io_uring backend's part of a session.
#[derive(Default)]
pub(crate) struct UringIo {
    fd: Option<OwnedFd>,
    recv_armed: bool,
    rearm_queued: bool,
    /// A cancel of the multishot receive is on its way (reading paused).
    recv_cancelling: bool,
    /// Receive completions that arrived while reading was paused, in order
    /// (at most what the socket had received before the cancel took
    /// effect), delivered first when reading resumes.
    held: VecDeque<Deferred>,
    send_busy: bool,
    shut: bool,
    /// The socket is also in the ring's file table, at the slot's index.
    fixed: bool,
    /// Closed after its queue was flushed: the socket lingers.
    linger: bool,
    op: Option<Box<SendOp>>,
}

impl std::fmt::Debug for UringIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringIo")
            .field("fd", &self.fd)
            .field("recv_armed", &self.recv_armed)
            .field("held", &self.held.len())
            .field("send_busy", &self.send_busy)
            .field("fixed", &self.fixed)
            .field("linger", &self.linger)
            .finish()
    }
}

/// A receive completion held back while the application holds every batch.
struct Deferred {
    slot: u32,
    generation: u32,
    res: i32,
    bid: Option<u16>,
}

pub(crate) struct UringDriver<F: Framing> {
    // Declared first: dropped first, so the kernel is done with everything
    // below before it is freed.
    ring: IoUring,
    bufs: BufRing,
    shard: Shard<F, UringIo>,
    linger: Linger,
    listener: Option<TcpListener>,
    accept_armed: bool,
    accept_retry_at: Option<Instant>,
    wake_fd: Arc<Waker>,
    wake_buf: Box<u64>,
    wake_armed: bool,
    deferred: VecDeque<Deferred>,
    rearm: Vec<(u32, u32)>,
    dirty: Vec<u32>,
    changed: Vec<u32>,
    waiting_close: Vec<u32>,
    cqes: Vec<(u64, i32, u32)>,
    trouble: AcceptTrouble,
    /// Entries in the ring's file table (slots below it use fixed files).
    fixed_files: u32,
}

/// How completion work (the kernel's side of finished operations) is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskRun {
    /// `IORING_SETUP_DEFER_TASKRUN` (6.1+): only inside this thread's own
    /// waits, in batches. Best when the application runs on the I/O thread
    /// (inline handlers): nothing else needs the thread's attention.
    Deferred,
    /// `IORING_SETUP_COOP_TASKRUN` (5.19+): when the thread next enters the
    /// kernel, without interrupting it. Used when an application thread
    /// shares the core: measured with room fan-out (10 rooms x 100,
    /// messages from rooms in random order, one core), deferred task running
    /// left a standing backlog of 100-250 ms at 800k deliveries/s with the
    /// core 10 % idle, where cooperative task running passed 1.6M/s at p99
    /// 31 ms (docs/BENCHMARKS.md, "Room fan-out in arrival order"); for the
    /// inline echo, deferred was 6-14 % cheaper per message.
    Cooperative,
}

fn build_ring(cfg: &EngineConfig, taskrun: TaskRun) -> io::Result<IoUring> {
    let cq = (SQ_ENTRIES * 8).max(cfg.recv_buffers as u32 * 2);
    // Best first, then a ring without the newer flags for older kernels.
    let deferred: fn(&mut io_uring::Builder) = |b| {
        b.setup_single_issuer().setup_defer_taskrun();
    };
    let cooperative: fn(&mut io_uring::Builder) = |b| {
        b.setup_single_issuer()
            .setup_coop_taskrun()
            .setup_taskrun_flag();
    };
    let attempts: [fn(&mut io_uring::Builder); 3] = match taskrun {
        TaskRun::Deferred => [deferred, cooperative, |_| {}],
        TaskRun::Cooperative => [cooperative, |_| {}, |_| {}],
    };
    let mut last = None;
    for tune in attempts {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(cq).setup_submit_all();
        tune(&mut builder);
        match builder.build(SQ_ENTRIES) {
            Ok(ring) => return Ok(ring),
            // Older kernels refuse newer flags with EINVAL: try the next set.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EINVAL)))
}

/// Registers a sparse file table of one entry per session slot (capped by
/// the open-file limit, which the kernel applies to it), or none if the
/// kernel refuses: sessions then use plain descriptors.
fn register_file_table(ring: &IoUring, cfg: &EngineConfig) -> u32 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the call to fill in.
    let nofile = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur
    } else {
        0
    };
    let want = (cfg.max_sessions as u64).min(nofile).min(1 << 20) as u32;
    if want == 0 {
        return 0;
    }
    match ring.submitter().register_files_sparse(want) {
        Ok(()) => want,
        Err(e) => {
            tracing::debug!(error = %e, "no fixed-file table; sessions use plain descriptors");
            0
        }
    }
}

/// Can this process set up what the backend needs? Builds and drops a ring
/// with a provided-buffer ring, so `auto` can fall back before any thread
/// starts.
pub(crate) fn probe(cfg: &EngineConfig) -> io::Result<()> {
    let ring = build_ring(cfg, TaskRun::Cooperative)?;
    let mut bufs = BufRing::new(&ring.submitter(), 8, 512, BUF_GROUP)?;
    bufs.unregister(&ring.submitter());
    Ok(())
}

fn new_eventfd() -> io::Result<File> {
    // SAFETY: plain system call; the result is checked before use.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Creates the ring, buffer ring and waker on the current thread.
pub(crate) fn setup<F: Framing>(parts: ThreadParts<F>) -> io::Result<(UringDriver<F>, Arc<Waker>)> {
    let taskrun = if parts.inline.is_some() {
        TaskRun::Deferred
    } else {
        TaskRun::Cooperative
    };
    let ring = build_ring(&parts.cfg, taskrun)?;
    let bufs = BufRing::new(
        &ring.submitter(),
        parts.cfg.recv_buffers as u16,
        parts.cfg.recv_buffer_size,
        BUF_GROUP,
    )?;
    let fixed_files = register_file_table(&ring, &parts.cfg);
    let waker = Arc::new(Waker::EventFd(new_eventfd()?));
    let linger = Linger::new(&parts.cfg, parts.shared.stats[parts.index].clone());
    let (shard, listener) = Shard::build(parts, waker.clone());
    let mut driver = UringDriver {
        ring,
        bufs,
        shard,
        linger,
        listener: Some(listener),
        accept_armed: false,
        accept_retry_at: None,
        wake_fd: waker.clone(),
        wake_buf: Box::new(0),
        wake_armed: false,
        deferred: VecDeque::with_capacity(1024),
        rearm: Vec::with_capacity(64),
        dirty: Vec::with_capacity(1024),
        changed: Vec::with_capacity(256),
        waiting_close: Vec::with_capacity(64),
        cqes: Vec::with_capacity(1024),
        trouble: AcceptTrouble::default(),
        fixed_files,
    };
    driver.arm_wake();
    driver.arm_accept();
    Ok((driver, waker))
}

impl<F: Framing> Driver for UringDriver<F> {
    type Framing = F;
    type Io = UringIo;

    fn shard(&mut self) -> &mut Shard<F, UringIo> {
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
        self.arm_accept();
    }

    fn stop_accepting(&mut self) {
        self.accept_retry_at = None;
        if self.accept_armed {
            let sqe = opcode::AsyncCancel::new(user_data(OP_ACCEPT, 0, 0))
                .build()
                .user_data(user_data(OP_CANCEL, 0, 0));
            self.push(sqe);
        } else {
            self.listener = None;
        }
    }

    fn pump(&mut self) {
        self.apply_read_changes();
        self.run_deferred();
    }

    fn flush_dirty(&mut self) {
        self.flush_dirty_sessions();
    }

    fn teardown(&mut self) {
        self.teardown_closed();
    }

    fn has_backlog(&self) -> bool {
        !self.deferred.is_empty()
    }

    fn kernel_busy(&self) -> bool {
        self.accept_armed
    }

    fn wait_and_handle(&mut self, timeout: Duration) {
        self.wait(timeout);
        // Completions are stamped with the time they are reaped (a stale
        // `now` would make `last_rx` older than the last byte, and an idle
        // timeout could fire up to a tick early).
        self.shard.now = Instant::now();
        self.reap();
    }

    fn finish(&mut self) {
        self.cancel_last_operations();
    }
}

impl<F: Framing> UringDriver<F> {
    /// Submits what is queued and waits for at least one completion, or
    /// `timeout` (zero: just collect what is ready). Always an enter with
    /// GETEVENTS, so deferred completion work runs here.
    fn wait(&mut self, timeout: Duration) {
        let ts = types::Timespec::from(timeout);
        let args = types::SubmitArgs::new().timespec(&ts);
        let res = self.ring.submitter().submit_with_args(1, &args);
        match res {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            Err(e) => {
                tracing::error!(thread = self.shard.thread, error = %e, "io_uring_enter failed");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn push(&mut self, sqe: squeue::Entry) {
        loop {
            // SAFETY: every entry built by this driver points only to memory
            // the driver keeps alive and unchanged until the operation's last
            // completion (see the module's ownership rule).
            let pushed = unsafe { self.ring.submission().push(&sqe) };
            if pushed.is_ok() {
                return;
            }
            // Queue full: hand what is queued to the kernel and retry.
            if let Err(e) = self.ring.submit() {
                if !matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) {
                    tracing::error!(error = %e, "io_uring submit failed");
                }
            }
        }
    }

    fn arm_wake(&mut self) {
        let sqe = opcode::Read::new(
            types::Fd(self.wake_raw_fd()),
            (&mut *self.wake_buf as *mut u64).cast::<u8>(),
            8,
        )
        .build()
        .user_data(user_data(OP_WAKE, 0, 0));
        self.push(sqe);
        self.wake_armed = true;
    }

    fn wake_raw_fd(&self) -> RawFd {
        match &*self.wake_fd {
            Waker::EventFd(f) => f.as_raw_fd(),
            Waker::Mio(_) => -1,
        }
    }

    fn arm_accept(&mut self) {
        let Some(listener) = self.listener.as_ref() else {
            return;
        };
        if self.accept_armed {
            return;
        }
        let sqe = opcode::AcceptMulti::new(types::Fd(listener.as_raw_fd()))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(user_data(OP_ACCEPT, 0, 0));
        self.push(sqe);
        self.accept_armed = true;
    }

    fn arm_recv(&mut self, slot: usize) {
        let s = &mut self.shard.slots[slot];
        let Some(fd) = s.io.fd.as_ref() else {
            return;
        };
        if s.io.recv_armed || s.io.shut {
            return;
        }
        let group = self.bufs.group();
        let sqe = if s.io.fixed {
            opcode::RecvMulti::new(types::Fixed(slot as u32), group).build()
        } else {
            opcode::RecvMulti::new(types::Fd(fd.as_raw_fd()), group).build()
        }
        .user_data(user_data(OP_RECV, slot, s.generation));
        s.io.recv_armed = true;
        self.push(sqe);
    }

    fn reap(&mut self) {
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(ud, res, flags) in &cqes {
            let (op, slot, generation) = split_user_data(ud);
            match op {
                OP_ACCEPT => self.on_accept(res, flags),
                OP_WAKE => {
                    self.wake_armed = false;
                    if !self.exiting() {
                        self.arm_wake();
                    }
                }
                OP_RECV => self.on_recv_cqe(slot, generation, res, flags),
                OP_SEND => self.on_send_cqe(slot, generation, res),
                _ => {}
            }
        }
        self.bufs.publish();
        cqes.clear();
        self.cqes = cqes;
    }

    fn exiting(&self) -> bool {
        self.shard.shared.shutting_down() && self.shard.live() == 0
    }

    fn on_accept(&mut self, res: i32, flags: u32) {
        if !cqueue::more(flags) {
            self.accept_armed = false;
        }
        if res >= 0 {
            // SAFETY: a successful accept completion carries a new descriptor
            // that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(res) };
            self.trouble.succeeded(self.shard.thread);
            self.admit(fd);
        } else {
            let err = io::Error::from_raw_os_error(-res);
            if res == -libc::ECANCELED || self.listener.is_none() {
                // Stopped on purpose.
            } else if is_resource_shortage(&err) {
                ThreadStats::add(&self.shard.stats.accept_errors, 1);
                self.trouble.failed(self.shard.thread, &err);
                if !self.accept_armed {
                    self.accept_retry_at = Some(self.shard.now + ACCEPT_BACKOFF);
                }
                return;
            } else {
                ThreadStats::add(&self.shard.stats.accept_errors, 1);
                tracing::debug!(error = %err, "accept error");
            }
        }
        if !self.accept_armed {
            if self.shard.shared.shutting_down() {
                self.listener = None;
            } else {
                self.arm_accept();
            }
        }
    }

    fn admit(&mut self, fd: OwnedFd) {
        let sock = socket2::SockRef::from(&fd);
        let peer = sock
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
        if self.shard.shared.shutting_down() {
            ThreadStats::add(&self.shard.stats.refused, 1);
            return; // dropping `fd` closes the connection
        }
        if !self.shard.shared.admit(peer, &self.shard.stats) {
            return;
        }
        self.shard.tune_socket(sock);
        let Some(slot) = self.shard.open(peer) else {
            self.shard.shared.unadmit(peer);
            ThreadStats::add(&self.shard.stats.refused, 1);
            return;
        };
        let fixed = (slot as u32) < self.fixed_files
            && self
                .ring
                .submitter()
                .register_files_update(slot as u32, &[fd.as_raw_fd()])
                .is_ok_and(|n| n == 1);
        let io = &mut self.shard.slots[slot].io;
        io.fd = Some(fd);
        io.fixed = fixed;
        io.recv_armed = false;
        io.rearm_queued = false;
        io.recv_cancelling = false;
        io.send_busy = false;
        io.shut = false;
        io.linger = false;
        self.arm_recv(slot);
    }

    fn on_recv_cqe(&mut self, slot: usize, generation: u32, res: i32, flags: u32) {
        let bid = cqueue::buffer_select(flags);
        let more = cqueue::more(flags);
        let current = self
            .shard
            .slots
            .get(slot)
            .is_some_and(|s| s.generation == generation);
        if current && !more {
            let io = &mut self.shard.slots[slot].io;
            io.recv_armed = false;
            io.recv_cancelling = false;
        }
        let d = Deferred {
            slot: slot as u32,
            generation,
            res,
            bid,
        };
        if self.deferred.is_empty() {
            if let Some(d) = self.process_recv(d) {
                self.deferred.push_back(d);
            }
        } else {
            self.deferred.push_back(d);
        }
        if current && !more {
            self.after_recv_stopped(slot);
        }
    }

    /// Hands a receive completion to the shard; gives it back if there is no
    /// room for its bytes yet.
    fn process_recv(&mut self, d: Deferred) -> Option<Deferred> {
        let slot = d.slot as usize;
        let live = self.shard.slots.get(slot).is_some_and(|s| {
            s.generation == d.generation && matches!(s.state, State::Open | State::Draining)
        });
        if !live {
            if let Some(bid) = d.bid {
                self.bufs.push(bid);
            }
            return None;
        }
        if self.shard.reading_paused(slot) {
            self.shard.slots[slot].io.held.push_back(d);
            return None;
        }
        if d.res > 0 {
            let n = d.res as usize;
            let Some(bid) = d.bid else {
                self.shard.close(slot, CloseReason::Reset);
                return None;
            };
            if !self.shard.room_for(slot, n) {
                return Some(d);
            }
            let outcome = self.shard.on_recv(slot, self.bufs.data(bid, n));
            self.bufs.push(bid);
            if outcome == RecvOutcome::Closed {
                return None;
            }
        } else {
            if let Some(bid) = d.bid {
                self.bufs.push(bid);
            }
            match -d.res {
                0 => self.shard.close(slot, CloseReason::PeerClosed),
                // Re-armed by `after_recv_stopped` (ENOBUFS ends a multishot).
                libc::ENOBUFS => {}
                libc::ECANCELED => {}
                _ => self.shard.close(slot, CloseReason::Reset),
            }
        }
        None
    }

    /// Stops or resumes reading the sessions whose pause changed. Pausing
    /// cancels the multishot receive, so a paused session holds no more
    /// ring buffers than what arrived before the cancel; resuming delivers
    /// those first (ahead of anything of the session still in `deferred`,
    /// which arrived later) and re-arms the receive.
    fn apply_read_changes(&mut self) {
        let mut changed = std::mem::take(&mut self.changed);
        self.shard.take_read_changes(&mut changed);
        for &slot32 in &changed {
            let slot = slot32 as usize;
            let s = &mut self.shard.slots[slot];
            if s.state != State::Open {
                continue;
            }
            let generation = s.generation;
            if s.pause.is_paused() {
                if s.io.recv_armed && !s.io.recv_cancelling {
                    s.io.recv_cancelling = true;
                    let sqe = opcode::AsyncCancel::new(user_data(OP_RECV, slot, generation))
                        .build()
                        .user_data(user_data(OP_CANCEL, slot, generation));
                    self.push(sqe);
                }
            } else {
                while let Some(d) = s.io.held.pop_back() {
                    self.deferred.push_front(d);
                }
                if !s.io.recv_armed && !s.io.rearm_queued {
                    s.io.rearm_queued = true;
                    self.rearm.push((slot32, generation));
                }
            }
        }
        self.changed = changed;
    }

    fn run_deferred(&mut self) {
        while let Some(d) = self.deferred.pop_front() {
            if let Some(d) = self.process_recv(d) {
                self.deferred.push_front(d);
                break;
            }
        }
        self.bufs.publish();
        if self.deferred.is_empty() {
            while let Some((slot, generation)) = self.rearm.pop() {
                let slot = slot as usize;
                let s = &mut self.shard.slots[slot];
                if s.generation != generation {
                    continue;
                }
                s.io.rearm_queued = false;
                if matches!(s.state, State::Open | State::Draining)
                    && !self.shard.reading_paused(slot)
                {
                    ThreadStats::add(&self.shard.stats.recv_rearms, 1);
                    self.arm_recv(slot);
                }
            }
        }
    }

    /// The multishot receive of `slot` ended: queue its re-arm if the
    /// session lives on (a closing slot is released by `teardown`). The
    /// re-arm happens in `run_deferred` once no receive completion is held
    /// back, so bytes are never delivered out of order, and a session whose
    /// receive ended for any reason (ENOBUFS, kernel limits, CQ overflow) is
    /// never left without one.
    fn after_recv_stopped(&mut self, slot: usize) {
        let s = &self.shard.slots[slot];
        match s.state {
            State::Open | State::Draining => {
                if !s.io.rearm_queued {
                    let key = (slot as u32, s.generation);
                    self.shard.slots[slot].io.rearm_queued = true;
                    self.rearm.push(key);
                }
            }
            // Released by `teardown` only (see `try_finalize`): the slot
            // may not have been torn down yet.
            State::Closing | State::Free => {}
        }
    }

    fn flush_dirty_sessions(&mut self) {
        std::mem::swap(&mut self.dirty, &mut self.shard.dirty);
        for i in 0..self.dirty.len() {
            let slot = self.dirty[i] as usize;
            self.shard.slots[slot].dirty = false;
            self.start_send(slot);
        }
        self.dirty.clear();
    }

    /// Starts a send for `slot` unless one is in flight (the 1-send rule).
    fn start_send(&mut self, slot: usize) {
        let s = &mut self.shard.slots[slot];
        if !matches!(s.state, State::Open | State::Draining) || s.io.send_busy {
            return;
        }
        let Some(fd) = s.io.fd.as_ref().map(|f| f.as_raw_fd()) else {
            return;
        };
        if !s.sendq.prepare() {
            s.sendq.release_if_idle(&mut self.shard.tx_pool);
            if s.state == State::Draining {
                s.io.linger = true;
                self.shard.close(slot, CloseReason::ServerClose);
            }
            return;
        }
        let op = s.io.op.get_or_insert_with(|| {
            Box::new(SendOp {
                // SAFETY: msghdr is a plain C struct for which all-zero bytes
                // is a valid (empty) value.
                msg: unsafe { std::mem::zeroed() },
                iov: Vec::with_capacity(crate::buf::send_queue::MAX_IOVECS),
            })
        });
        s.sendq.iovecs(&mut op.iov);
        let flags = libc::MSG_NOSIGNAL;
        // A longer buffer is sent in part; the completion resumes the rest.
        let len = |v: &libc::iovec| u32::try_from(v.iov_len).unwrap_or(u32::MAX);
        let sqe = match (op.iov.as_slice(), s.io.fixed) {
            // One buffer: `send`, no message header for the kernel to copy.
            ([one], true) => {
                opcode::Send::new(types::Fixed(slot as u32), one.iov_base.cast(), len(one))
                    .flags(flags)
                    .build()
            }
            ([one], false) => opcode::Send::new(types::Fd(fd), one.iov_base.cast(), len(one))
                .flags(flags)
                .build(),
            (_, fixed) => {
                op.msg.msg_iov = op.iov.as_mut_ptr();
                op.msg.msg_iovlen = op.iov.len() as _;
                let msg = &op.msg as *const libc::msghdr;
                if fixed {
                    opcode::SendMsg::new(types::Fixed(slot as u32), msg)
                        .flags(flags as u32)
                        .build()
                } else {
                    opcode::SendMsg::new(types::Fd(fd), msg)
                        .flags(flags as u32)
                        .build()
                }
            }
        }
        .user_data(user_data(OP_SEND, slot, s.generation));
        s.io.send_busy = true;
        self.push(sqe);
    }

    fn on_send_cqe(&mut self, slot: usize, generation: u32, res: i32) {
        let Some(s) = self.shard.slots.get_mut(slot) else {
            return;
        };
        if s.generation != generation {
            return;
        }
        s.io.send_busy = false;
        match s.state {
            // Released by `teardown` only (see `try_finalize`).
            State::Closing | State::Free => return,
            State::Open | State::Draining => {}
        }
        if res >= 0 {
            let sent = res as usize;
            let progress = s.sendq.advance(sent);
            let st = &self.shard.stats;
            ThreadStats::add(&st.sends, 1);
            ThreadStats::add(&st.bytes_out, sent as u64);
            ThreadStats::add(&st.coalesced_frames, progress.coalesced as u64);
            self.shard.on_sent(slot, sent);
            // Whatever was queued meanwhile leaves now, in one send.
            self.start_send(slot);
        } else if res == -libc::EAGAIN || res == -libc::EINTR {
            self.shard.mark_dirty(slot);
        } else {
            self.shard.close(slot, CloseReason::Reset);
        }
    }

    /// Tears down sessions the shard closed: shuts the socket so in-flight
    /// operations finish, then releases the slot once none is left. A
    /// socket that will linger is not shut down here (shutting down reading
    /// would make the kernel answer the peer's next bytes with a reset): its
    /// receive is cancelled instead, and `try_finalize` hands it over.
    fn teardown_closed(&mut self) {
        while let Some(slot) = self.shard.closing.pop() {
            let slot = slot as usize;
            let generation = self.shard.slots[slot].generation;
            let io = &mut self.shard.slots[slot].io;
            if !io.shut {
                io.shut = true;
                if let (false, Some(fd)) = (io.linger, io.fd.as_ref()) {
                    // SAFETY: `fd` is an open socket owned by this slot.
                    let fd = unsafe { BorrowedFd::borrow_raw(fd.as_raw_fd()) };
                    let _ = socket2::SockRef::from(&fd).shutdown(std::net::Shutdown::Both);
                }
                if io.recv_armed {
                    let sqe = opcode::AsyncCancel::new(user_data(OP_RECV, slot, generation))
                        .build()
                        .user_data(user_data(OP_CANCEL, slot, generation));
                    self.push(sqe);
                }
            }
            self.waiting_close.push(slot as u32);
        }
        let mut i = 0;
        while i < self.waiting_close.len() {
            let slot = self.waiting_close[i] as usize;
            if self.try_finalize(slot) {
                self.waiting_close.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Closes the socket and frees the slot if no operation is in flight.
    ///
    /// Called from `teardown` only, for slots on `waiting_close`. Completion
    /// handlers must not release a slot themselves: a slot closed while
    /// reaping is still on `shard.closing` (slot numbers, no generation); if
    /// it were freed there and an accept in the same reap reused it, the next
    /// `teardown` would shut down the new occupant's socket (seen as the new
    /// session closing with `PeerClosed` right after it opened).
    fn try_finalize(&mut self, slot: usize) -> bool {
        let s = &mut self.shard.slots[slot];
        if s.state != State::Closing {
            return s.state == State::Free;
        }
        if s.io.recv_armed || s.io.send_busy {
            return false;
        }
        while let Some(d) = s.io.held.pop_front() {
            if let Some(bid) = d.bid {
                self.bufs.push(bid);
            }
        }
        if s.io.fixed {
            s.io.fixed = false;
            self.unregister_fixed(slot);
        }
        let s = &mut self.shard.slots[slot];
        let linger = std::mem::take(&mut s.io.linger);
        if let Some(fd) = s.io.fd.take() {
            if linger {
                self.linger.hand_over(fd, self.shard.now);
            } else {
                crate::linger::discard_unread_input(socket2::SockRef::from(&fd));
                drop(fd); // closes the socket
            }
        }
        self.shard.release(slot);
        true
    }

    /// Drops the file table's reference to `slot`'s socket, so closing its
    /// descriptor really closes it. Cannot fail for an index inside the
    /// table; if it did, the entry would keep the socket open until the
    /// slot's next occupant replaces it.
    fn unregister_fixed(&mut self, slot: usize) {
        if let Err(e) = self
            .ring
            .submitter()
            .register_files_update(slot as u32, &[-1])
        {
            tracing::debug!(slot, error = %e, "unregistering a fixed file failed");
        }
    }

    /// Cancels the last operations of the thread and waits for them, so no
    /// kernel write into driver memory can outlive the driver.
    fn cancel_last_operations(&mut self) {
        if self.wake_armed {
            let sqe = opcode::AsyncCancel::new(user_data(OP_WAKE, 0, 0))
                .build()
                .user_data(user_data(OP_CANCEL, 0, 0));
            self.push(sqe);
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while (self.wake_armed || self.accept_armed) && Instant::now() < deadline {
            self.wait(Duration::from_millis(20));
            self.reap();
        }
        self.bufs.unregister(&self.ring.submitter());
    }
}
