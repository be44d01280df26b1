//! Receiving: one multishot receive per session into the provided-buffer
//! ring, the back-pressure backlog, and reading paused and resumed.
//!
//! Backpressure: when the application holds every event batch, receive
//! completions are kept (with their buffers) in the driver's `backlog`, in
//! order; the kernel runs out of buffers, multishot receives stop with
//! ENOBUFS, and are re-armed once the backlog is delivered.
//!
//! Reading paused: the session's multishot receive is cancelled;
//! completions that arrive meanwhile are `held` by the session, in order,
//! and delivered first when reading resumes.

use std::os::fd::AsRawFd;

use io_uring::{cqueue, opcode, types};

use super::buf_ring::FilledBuf;
use super::{OpKind, UringDriver};
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::id::SlotRef;
use crate::shard::{RecvOutcome, State};
use crate::stats::ThreadStats;

/// A receive completion not delivered yet: held back for room (the
/// backlog) or while its session's reading is paused. Owns its buffer.
pub(super) struct RecvCompletion {
    at: SlotRef,
    res: i32,
    buf: Option<FilledBuf>,
}

impl<F: Framing> UringDriver<F> {
    pub(super) fn arm_recv(&mut self, slot: usize) {
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
        .user_data(OpKind::Recv.user_data(SlotRef::new(slot, s.generation)));
        s.io.recv_armed = true;
        self.push(sqe);
    }

    pub(super) fn on_recv_cqe(&mut self, at: SlotRef, res: i32, flags: u32) {
        // SAFETY: `res` and `flags` are those of this receive completion,
        // whose multishot receive selects from `self.bufs`'s group, and
        // this is the one call for it.
        let buf = unsafe { self.bufs.take_filled(res, flags) };
        let more = cqueue::more(flags);
        let slot = at.index();
        let current = self
            .shard
            .slots
            .get(slot)
            .is_some_and(|s| s.generation == at.generation);
        if current && !more {
            let io = &mut self.shard.slots[slot].io;
            io.recv_armed = false;
            io.recv_cancelling = false;
        }
        let done = RecvCompletion { at, res, buf };
        if self.backlog.is_empty() {
            if let Some(done) = self.process_recv(done) {
                self.backlog.push_back(done);
            }
        } else {
            self.backlog.push_back(done);
        }
        if current && !more {
            self.after_recv_stopped(slot);
        }
    }

    /// Hands a receive completion to the shard; gives it back if there is no
    /// room for its bytes yet.
    fn process_recv(&mut self, done: RecvCompletion) -> Option<RecvCompletion> {
        let slot = done.at.index();
        let live = self.shard.slots.get(slot).is_some_and(|s| {
            s.generation == done.at.generation && matches!(s.state, State::Open | State::Draining)
        });
        if !live {
            if let Some(buf) = done.buf {
                self.bufs.give_back(buf);
            }
            return None;
        }
        if self.shard.reading_paused(slot) {
            self.shard.slots[slot].io.held.push_back(done);
            return None;
        }
        if done.res > 0 {
            let n = done.res as usize;
            let Some(buf) = done.buf.as_ref() else {
                self.shard.close(slot, CloseReason::Reset);
                return None;
            };
            if !self.shard.room_for(slot, n) {
                return Some(done);
            }
            let outcome = self.shard.on_recv(slot, self.bufs.data(buf));
            if let Some(buf) = done.buf {
                self.bufs.give_back(buf);
            }
            if outcome == RecvOutcome::Closed {
                return None;
            }
        } else {
            if let Some(buf) = done.buf {
                self.bufs.give_back(buf);
            }
            match -done.res {
                // A draining session's peer may half-close after its last
                // request: what is queued for it (an answer) is still sent.
                0 if self.shard.slots[slot].state == State::Draining => {
                    self.shard.slots[slot].io.peer_done = true;
                }
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
    /// those first (ahead of anything of the session still in the backlog,
    /// which arrived later) and re-arms the receive.
    pub(super) fn apply_read_changes(&mut self) {
        let mut changed = std::mem::take(&mut self.changed);
        self.shard.take_read_changes(&mut changed);
        for &slot32 in &changed {
            let slot = slot32 as usize;
            let s = &mut self.shard.slots[slot];
            if s.state != State::Open {
                continue;
            }
            let at = SlotRef::new(slot, s.generation);
            if s.pause.is_paused() {
                if s.io.recv_armed && !s.io.recv_cancelling {
                    s.io.recv_cancelling = true;
                    self.cancel(OpKind::Recv, at);
                }
            } else {
                while let Some(done) = s.io.held.pop_back() {
                    self.backlog.push_front(done);
                }
                if !s.io.recv_armed && !s.io.rearm_queued {
                    s.io.rearm_queued = true;
                    self.rearm.push(at);
                }
            }
        }
        self.changed = changed;
    }

    /// Delivers the backlog while the application has room, then re-arms
    /// the receives that ended meanwhile.
    pub(super) fn deliver_backlog(&mut self) {
        while let Some(done) = self.backlog.pop_front() {
            if let Some(done) = self.process_recv(done) {
                self.backlog.push_front(done);
                break;
            }
        }
        self.bufs.publish();
        if self.backlog.is_empty() {
            while let Some(at) = self.rearm.pop() {
                let slot = at.index();
                let s = &mut self.shard.slots[slot];
                if s.generation != at.generation {
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
    /// re-arm happens in `deliver_backlog` once no receive completion is
    /// held back, so bytes are never delivered out of order, and a session
    /// whose receive ended for any reason (ENOBUFS, kernel limits, CQ
    /// overflow) is never left without one.
    fn after_recv_stopped(&mut self, slot: usize) {
        let s = &self.shard.slots[slot];
        match s.state {
            State::Open | State::Draining if !s.io.peer_done => {
                if !s.io.rearm_queued {
                    let at = SlotRef::new(slot, s.generation);
                    self.shard.slots[slot].io.rearm_queued = true;
                    self.rearm.push(at);
                }
            }
            // Released by `teardown` only (see `try_finalize`): the slot
            // may not have been torn down yet. A draining session whose
            // peer half-closed has nothing more to read.
            State::Open | State::Draining | State::Closing | State::Free => {}
        }
    }

    /// Gives back the buffers of completions `slot` still holds (it is
    /// being released).
    pub(super) fn drop_held(&mut self, slot: usize) {
        while let Some(done) = self.shard.slots[slot].io.held.pop_front() {
            if let Some(buf) = done.buf {
                self.bufs.give_back(buf);
            }
        }
    }
}
