//! Requests from the application to one I/O thread, batched: the application
//! fills an [`Outbox`] per I/O thread and hands each one over whole, with one
//! wake-up per hand-off. Outboxes are recycled, so steady-state sending
//! allocates nothing.

use bytes::Bytes;

use crate::id::SessionId;

/// One request from the application to an I/O thread.
#[derive(Debug)]
pub(crate) enum Request {
    /// Send bytes copied into the outbox's data buffer at `start..start+len`.
    Send {
        session: SessionId,
        start: u32,
        len: u32,
    },
    /// Send a shared payload (one allocation for any number of recipients).
    Shared { session: SessionId, payload: Bytes },
    /// Flush what is queued, then close (reason: server close).
    Close { session: SessionId },
    /// Stop (`true`) or resume (`false`) reading the session's socket.
    PauseReading { session: SessionId, pause: bool },
}

/// A batch of requests for one I/O thread.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) data: Vec<u8>,
    pub(crate) requests: Vec<Request>,
}

impl Outbox {
    pub(crate) fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.data.clear();
        // Drops the shared payloads this outbox still refers to.
        self.requests.clear();
    }

    pub(crate) fn send(&mut self, session: SessionId, bytes: &[u8]) {
        let start = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        self.requests.push(Request::Send {
            session,
            start,
            len: bytes.len() as u32,
        });
    }
}
