//! Accepting: a multishot accept on the thread's copy of each listener,
//! admission of every accepted socket, its slot and fixed-file entry, and
//! backing off when the process runs out of descriptors.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use io_uring::{cqueue, opcode, types};

use super::{OpKind, UringDriver};
use crate::framing::Framing;
use crate::id::SlotRef;
use crate::stats::ThreadStats;
use crate::sys::{is_resource_shortage, ACCEPT_BACKOFF};

/// One listener of the thread and its multishot accept.
pub(super) struct Acceptor {
    /// `None` once accepting stopped.
    pub(super) socket: Option<TcpListener>,
    /// The multishot accept is posted.
    pub(super) armed: bool,
}

impl Acceptor {
    pub(super) fn new(socket: TcpListener) -> Self {
        Acceptor {
            socket: Some(socket),
            armed: false,
        }
    }

    /// The reference in the `user_data` of listener `index`'s accept (the
    /// listener index in the slot field).
    pub(super) fn op_ref(index: usize) -> SlotRef {
        SlotRef::new(index, 0)
    }
}

impl<F: Framing> UringDriver<F> {
    /// Whether any accept is posted.
    pub(super) fn accepting(&self) -> bool {
        self.acceptors.iter().any(|a| a.armed)
    }

    /// Posts the accept of every listener that has none.
    pub(super) fn arm_accept(&mut self) {
        for index in 0..self.acceptors.len() {
            self.arm_accept_of(index);
        }
    }

    fn arm_accept_of(&mut self, index: usize) {
        if self.shard.shared.shutting_down() {
            // Draining: accepts stopped (a retry must not re-arm one).
            self.acceptors[index].socket = None;
            return;
        }
        let acceptor = &self.acceptors[index];
        let Some(listener) = acceptor.socket.as_ref() else {
            return;
        };
        if acceptor.armed {
            return;
        }
        let sqe = opcode::AcceptMulti::new(types::Fd(listener.as_raw_fd()))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(OpKind::Accept.user_data(Acceptor::op_ref(index)));
        self.push(sqe);
        self.acceptors[index].armed = true;
    }

    pub(super) fn on_accept(&mut self, index: usize, res: i32, flags: u32) {
        if index >= self.acceptors.len() {
            return;
        }
        if !cqueue::more(flags) {
            self.acceptors[index].armed = false;
        }
        if res >= 0 {
            // SAFETY: a successful accept completion carries a new descriptor
            // that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(res) };
            self.trouble.succeeded(self.shard.thread);
            self.admit(fd, index);
        } else {
            let err = io::Error::from_raw_os_error(-res);
            if res == -libc::ECANCELED || self.acceptors[index].socket.is_none() {
                // Stopped on purpose.
            } else if is_resource_shortage(&err) {
                ThreadStats::add(&self.shard.stats.accept_errors, 1);
                self.trouble.failed(self.shard.thread, &err);
                if !self.acceptors[index].armed {
                    self.accept_retry_at = Some(self.shard.now + ACCEPT_BACKOFF);
                }
                return;
            } else {
                ThreadStats::add(&self.shard.stats.accept_errors, 1);
                tracing::debug!(error = %err, "accept error");
            }
        }
        if !self.acceptors[index].armed {
            if self.shard.shared.shutting_down() {
                self.acceptors[index].socket = None;
            } else {
                self.arm_accept_of(index);
            }
        }
    }

    /// Admits an accepted socket into a slot and starts receiving, or
    /// closes it (refused).
    fn admit(&mut self, fd: OwnedFd, listener: usize) {
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
        let Some(slot) = self.shard.open(peer, listener) else {
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
        // A slot is released only once its send completed (`close`).
        debug_assert!(io.send.is_none());
        io.fd = Some(fd);
        io.fixed = fixed;
        io.recv_armed = false;
        io.rearm_queued = false;
        io.recv_cancelling = false;
        io.shut = false;
        io.linger = false;
        io.peer_done = false;
        self.arm_recv(slot);
    }
}
