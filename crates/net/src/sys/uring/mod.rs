//! The io_uring backend: the completion port.
//!
//! The IOCP model maps one to one: AcceptEx → multishot accept, WSARecv →
//! multishot recv selecting buffers from a provided-buffer ring
//! ([`buf_ring`]), WSASend → `sendmsg` with the send queue's iovecs,
//! GetQueuedCompletionStatusEx → reaping the completion queue in batches,
//! the completion key → `user_data` (operation kind, slot, generation:
//! [`SlotRef::pack`]).
//!
//! Each session's socket is also registered in the ring's file table at its
//! slot's index (a *fixed file*), so receives and sends name it by index and
//! the kernel skips the per-operation descriptor lookup; a flight of one
//! buffer leaves with `send` rather than `sendmsg` (no message header to
//! copy in). Both fall back to the plain descriptor and `sendmsg` whenever
//! the table could not be set up.
//!
//! Ownership rule: memory an operation uses stays owned, untouched, until
//! that operation's final completion has been reaped, and types hold it:
//! - a send's bytes, iovecs and message header: a [`send::SendInFlight`] in
//!   the session's `UringIo::send`, taken apart only by the send's
//!   completion;
//! - a receive buffer: the kernel's while published in the [`buf_ring`];
//!   ours as a [`buf_ring::FilledBuf`] from its completion until given back;
//! - the eventfd read buffer: the driver's, never touched by Rust code.
//!
//! A closing session keeps its slot (and so its memory) until its receive
//! and send operations have both completed; only then is its socket closed
//! and its slot released ([`close`]).
//!
//! Files: `setup` (building the ring, the thread's wake-up read),
//! `accept`, `recv` (receive, back-pressure, paused reading), `send`,
//! `close` (teardown of sessions), `buf_ring`; this file: the driver, the
//! backend contract ([`Driver`]) and the completion loop.

mod accept;
mod buf_ring;
mod close;
mod recv;
mod send;
mod setup;

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use io_uring::{opcode, squeue, types, IoUring};

use self::accept::Acceptor;
use self::buf_ring::BufRing;
use self::recv::RecvCompletion;
use self::send::{SendInFlight, SendMsg};
pub(crate) use self::setup::{probe, setup};
use crate::framing::Framing;
use crate::id::SlotRef;
use crate::linger::Linger;
use crate::shard::Shard;
use crate::sys::{AcceptTrouble, Driver};
use crate::waker::Waker;

/// What a completion is for: the tag byte of its `user_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum OpKind {
    Accept = 1,
    Wake = 2,
    Recv = 3,
    Send = 4,
    Cancel = 5,
}

impl OpKind {
    /// The `user_data` of this kind of operation for `at` (the slot is
    /// [`NO_SLOT`] for the thread's own operations).
    fn user_data(self, at: SlotRef) -> u64 {
        at.pack(self as u8)
    }

    /// Splits a completion's `user_data`.
    fn of(user_data: u64) -> (Option<OpKind>, SlotRef) {
        let (tag, at) = SlotRef::unpack(user_data);
        let kind = [
            OpKind::Accept,
            OpKind::Wake,
            OpKind::Recv,
            OpKind::Send,
            OpKind::Cancel,
        ]
        .into_iter()
        .find(|k| *k as u8 == tag);
        (kind, at)
    }
}

/// The slot reference of operations that belong to no session.
const NO_SLOT: SlotRef = SlotRef {
    slot: 0,
    generation: 0,
};

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
    held: VecDeque<RecvCompletion>,
    /// The send in flight, owning the memory the kernel reads (the 1-send
    /// rule: at most one).
    send: Option<SendInFlight>,
    /// The message header and iovec array of the slot's last send, reused
    /// by its next one.
    spare_msg: Option<Box<SendMsg>>,
    shut: bool,
    /// The socket is also in the ring's file table, at the slot's index.
    fixed: bool,
    /// Closed after its queue was flushed: the socket lingers.
    linger: bool,
    /// The peer's FIN arrived while the session was draining: nothing more
    /// to read, the queue is still flushed.
    peer_done: bool,
}

impl std::fmt::Debug for UringIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringIo")
            .field("fd", &self.fd)
            .field("recv_armed", &self.recv_armed)
            .field("held", &self.held.len())
            .field("send_in_flight", &self.send.is_some())
            .field("fixed", &self.fixed)
            .field("linger", &self.linger)
            .finish()
    }
}

pub(crate) struct UringDriver<F: Framing> {
    // Declared first: dropped first, so the kernel is done with everything
    // below before it is freed.
    ring: IoUring,
    bufs: BufRing,
    shard: Shard<F, UringIo>,
    linger: Linger,
    /// The listeners, by index, each with its multishot accept.
    acceptors: Vec<Acceptor>,
    accept_retry_at: Option<Instant>,
    wake_fd: Arc<Waker>,
    /// Where the posted eventfd read writes (the kernel only; see the
    /// module's ownership rule).
    wake_buf: Box<u64>,
    wake_armed: bool,
    /// Receive completions held back while the application holds every
    /// batch, in arrival order.
    backlog: VecDeque<RecvCompletion>,
    /// Sessions whose receive ended, re-armed once the backlog is delivered.
    rearm: Vec<SlotRef>,
    dirty: Vec<u32>,
    changed: Vec<u32>,
    waiting_close: Vec<u32>,
    cqes: Vec<(u64, i32, u32)>,
    trouble: AcceptTrouble,
    /// Entries in the ring's file table (slots below it use fixed files).
    fixed_files: u32,
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
        for index in 0..self.acceptors.len() {
            if self.acceptors[index].armed {
                self.cancel(OpKind::Accept, Acceptor::op_ref(index));
            } else {
                self.acceptors[index].socket = None;
            }
        }
    }

    fn pump(&mut self) {
        self.apply_read_changes();
        self.deliver_backlog();
    }

    fn flush_dirty(&mut self) {
        std::mem::swap(&mut self.dirty, &mut self.shard.dirty);
        for i in 0..self.dirty.len() {
            let slot = self.dirty[i] as usize;
            self.shard.slots[slot].dirty = false;
            self.start_send(slot);
        }
        self.dirty.clear();
    }

    fn teardown(&mut self) {
        while let Some(slot) = self.shard.closing.pop() {
            self.begin_close(slot as usize);
        }
        self.finalize_waiting();
    }

    fn has_backlog(&self) -> bool {
        !self.backlog.is_empty()
    }

    fn kernel_busy(&self) -> bool {
        self.accepting()
    }

    fn wait_and_handle(&mut self, timeout: Duration) {
        self.wait(timeout);
        // Completions are stamped with the time they are reaped (a stale
        // `now` would make `last_rx` older than the last byte, and an idle
        // timeout could fire up to a tick early).
        self.shard.now = Instant::now();
        self.reap();
    }

    /// Cancels the last operations of the thread and waits for them, so no
    /// kernel write into driver memory can outlive the driver.
    fn finish(&mut self) {
        if self.wake_armed {
            self.cancel(OpKind::Wake, NO_SLOT);
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while (self.wake_armed || self.accepting()) && Instant::now() < deadline {
            self.wait(Duration::from_millis(20));
            self.reap();
        }
        self.bufs.unregister(&self.ring.submitter());
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

    /// Queues `sqe` for submission.
    ///
    /// The memory every entry built by this driver points to is owned as the
    /// module's ownership rule says (a `SendInFlight`, published ring
    /// buffers, the wake buffer, the listener's and sessions' descriptors)
    /// until the operation's last completion; `push` is where that promise
    /// is made to the kernel.
    fn push(&mut self, sqe: squeue::Entry) {
        loop {
            // SAFETY: see above: every entry's memory outlives the operation.
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

    /// Asks the kernel to cancel the operation of kind `kind` for `at`.
    fn cancel(&mut self, kind: OpKind, at: SlotRef) {
        let sqe = opcode::AsyncCancel::new(kind.user_data(at))
            .build()
            .user_data(OpKind::Cancel.user_data(at));
        self.push(sqe);
    }

    /// Handles every completion ready now.
    fn reap(&mut self) {
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(ud, res, flags) in &cqes {
            let (kind, at) = OpKind::of(ud);
            match kind {
                Some(OpKind::Accept) => self.on_accept(at.index(), res, flags),
                Some(OpKind::Wake) => self.on_wake(),
                Some(OpKind::Recv) => self.on_recv_cqe(at, res, flags),
                Some(OpKind::Send) => self.on_send_cqe(at, res),
                Some(OpKind::Cancel) | None => {}
            }
        }
        self.bufs.publish();
        cqes.clear();
        self.cqes = cqes;
    }
}
