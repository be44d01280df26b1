//! Sending: at most one `send`/`sendmsg` in flight per session, covering
//! the session's whole flight (everything queued meanwhile leaves in the
//! next one), resumed after a partial send.
//!
//! The memory a send in flight points to — the flight's bytes, the iovecs,
//! the message header — is owned by a [`SendInFlight`], kept in the
//! session's `UringIo::send` until the send's completion takes it apart.
//! Nothing else can reach that memory meanwhile: the send queue has lent
//! the flight out, and the slot is not released while `send` is occupied.

use std::os::fd::{AsRawFd, RawFd};

use io_uring::{opcode, squeue, types};

use super::{OpKind, UringDriver};
use crate::buf::send_queue::{Flight, MAX_IOVECS};
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::id::SlotRef;
use crate::shard::State;
use crate::stats::ThreadStats;

/// The message header and iovec array of a `sendmsg`. Boxed so that the
/// header never moves while the kernel may read it; reused by the slot's
/// next sends (`UringIo::spare_msg`).
pub(super) struct SendMsg {
    msg: libc::msghdr,
    iov: Vec<libc::iovec>,
}

impl SendMsg {
    fn new() -> Box<SendMsg> {
        Box::new(SendMsg {
            // SAFETY: msghdr is a plain C struct for which all-zero bytes
            // is a valid (empty) value.
            msg: unsafe { std::mem::zeroed() },
            iov: Vec::with_capacity(MAX_IOVECS),
        })
    }
}

/// One send in flight and all the memory its submission points to.
pub(super) struct SendInFlight {
    flight: Flight,
    msg: Box<SendMsg>,
}

/// Which descriptor a send names.
#[derive(Clone, Copy)]
enum Target {
    /// The slot's entry in the ring's file table.
    Fixed(u32),
    Fd(RawFd),
}

impl SendInFlight {
    fn new(flight: Flight, mut msg: Box<SendMsg>) -> Self {
        flight.iovecs(&mut msg.iov);
        SendInFlight { flight, msg }
    }

    /// The submission for this send. It points into `self`'s heap memory
    /// (the flight's bytes, `msg`), which stays put while `self` moves.
    fn entry(&mut self, target: Target) -> squeue::Entry {
        let flags = libc::MSG_NOSIGNAL;
        // A longer buffer is sent in part; the completion resumes the rest.
        let len = |v: &libc::iovec| u32::try_from(v.iov_len).unwrap_or(u32::MAX);
        let op = &mut *self.msg;
        match (op.iov.as_slice(), target) {
            // One buffer: `send`, no message header for the kernel to copy.
            ([one], Target::Fixed(i)) => {
                opcode::Send::new(types::Fixed(i), one.iov_base.cast(), len(one))
                    .flags(flags)
                    .build()
            }
            ([one], Target::Fd(fd)) => {
                opcode::Send::new(types::Fd(fd), one.iov_base.cast(), len(one))
                    .flags(flags)
                    .build()
            }
            (_, target) => {
                op.msg.msg_iov = op.iov.as_mut_ptr();
                op.msg.msg_iovlen = op.iov.len() as _;
                let msg = &op.msg as *const libc::msghdr;
                match target {
                    Target::Fixed(i) => opcode::SendMsg::new(types::Fixed(i), msg)
                        .flags(flags as u32)
                        .build(),
                    Target::Fd(fd) => opcode::SendMsg::new(types::Fd(fd), msg)
                        .flags(flags as u32)
                        .build(),
                }
            }
        }
    }

    /// The send completed: the kernel is done with the memory.
    fn finish(self) -> (Flight, Box<SendMsg>) {
        (self.flight, self.msg)
    }
}

impl<F: Framing> UringDriver<F> {
    /// Starts a send for `slot` unless one is in flight (the 1-send rule);
    /// closes a drained session whose queue is empty.
    pub(super) fn start_send(&mut self, slot: usize) {
        let s = &mut self.shard.slots[slot];
        if !matches!(s.state, State::Open | State::Draining) || s.io.send.is_some() {
            return;
        }
        let Some(fd) = s.io.fd.as_ref().map(|f| f.as_raw_fd()) else {
            return;
        };
        let Some(flight) = s
            .sendq
            .lend_through(s.tls.as_deref_mut(), &mut self.shard.tx_pool)
        else {
            s.sendq.release_if_idle(&mut self.shard.tx_pool);
            if s.state == State::Draining {
                s.io.linger = true;
                self.shard.close(slot, CloseReason::ServerClose);
            }
            return;
        };
        let msg = s.io.spare_msg.take().unwrap_or_else(SendMsg::new);
        let target = if s.io.fixed {
            Target::Fixed(slot as u32)
        } else {
            Target::Fd(fd)
        };
        let user_data = OpKind::Send.user_data(SlotRef::new(slot, s.generation));
        let sqe =
            s.io.send
                .insert(SendInFlight::new(flight, msg))
                .entry(target)
                .user_data(user_data);
        self.push(sqe);
    }

    pub(super) fn on_send_cqe(&mut self, at: SlotRef, res: i32) {
        let slot = at.index();
        let Some(s) = self.shard.slots.get_mut(slot) else {
            return;
        };
        if s.generation != at.generation {
            return;
        }
        let Some(done) = s.io.send.take() else {
            return;
        };
        let (flight, msg) = done.finish();
        s.io.spare_msg = Some(msg);
        let sent = usize::try_from(res).unwrap_or(0);
        let progress = s.sendq.give_back(flight, sent);
        match s.state {
            // Released by `teardown` only (see `try_finalize`).
            State::Closing | State::Free => return,
            State::Open | State::Draining => {}
        }
        if res >= 0 {
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
}
