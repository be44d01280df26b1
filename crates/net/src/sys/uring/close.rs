//! Tearing sessions down: the socket shut (or, for a lingering close, its
//! receive cancelled), the slot held until no operation of the session is
//! in flight, then the fixed-file entry cleared, the socket closed or
//! handed to the linger list, and the slot released.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::{OpKind, UringDriver};
use crate::framing::Framing;
use crate::id::SlotRef;
use crate::shard::State;

impl<F: Framing> UringDriver<F> {
    /// Starts tearing down `slot`, which the shard closed: shuts the socket
    /// so in-flight operations finish, and puts the slot on the waiting
    /// list. A socket that will linger is not shut down here (shutting down
    /// reading would make the kernel answer the peer's next bytes with a
    /// reset): its receive is cancelled instead, and `try_finalize` hands it
    /// over.
    pub(super) fn begin_close(&mut self, slot: usize) {
        let at = SlotRef::new(slot, self.shard.slots[slot].generation);
        let io = &mut self.shard.slots[slot].io;
        if !io.shut {
            io.shut = true;
            if let (false, Some(fd)) = (io.linger, io.fd.as_ref()) {
                // SAFETY: `fd` is an open socket owned by this slot, which
                // outlives the borrow (used for this one call).
                let fd = unsafe { BorrowedFd::borrow_raw(fd.as_raw_fd()) };
                let _ = socket2::SockRef::from(&fd).shutdown(std::net::Shutdown::Both);
            }
            if io.recv_armed {
                self.cancel(OpKind::Recv, at);
            }
        }
        self.waiting_close.push(slot as u32);
    }

    /// Releases every waiting slot that has no operation in flight any more.
    pub(super) fn finalize_waiting(&mut self) {
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
    /// Called from `teardown` only, for slots on `waiting_close`. Code run
    /// for a completion must not release a slot itself: a slot closed while
    /// reaping is still on `shard.closing` (slot numbers, no generation); if
    /// it were freed there and an accept in the same reap reused it, the next
    /// `teardown` would shut down the new occupant's socket (seen as the new
    /// session closing with `PeerClosed` right after it opened).
    fn try_finalize(&mut self, slot: usize) -> bool {
        let s = &mut self.shard.slots[slot];
        if s.state != State::Closing {
            return s.state == State::Free;
        }
        if s.io.recv_armed || s.io.send.is_some() {
            return false;
        }
        self.drop_held(slot);
        let s = &mut self.shard.slots[slot];
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
}
