//! The per-session send queue: the tutorial's "1-send" rule, done right.
//!
//! At most one send is in flight. Payloads queued meanwhile accumulate in a
//! second buffer and leave together in one gathered send once the flight
//! completes (per-recipient coalescing). A partial send resumes where it
//! stopped. Small payloads are copied into the queue (contiguous, one iovec
//! for many frames); shared payloads ([`Bytes`]) are referenced, not copied,
//! so one broadcast costs one allocation whatever the number of recipients.
//!
//! The in-flight buffer is never written while a send is in flight: the
//! kernel may be reading it (io_uring). The type keeps that rule: the send
//! owns its [`Flight`] (lent out by [`SendQueue::lend`]) until its
//! completion hands it back ([`SendQueue::give_back`]), and new data always
//! goes to the other buffer.

use std::io::IoSlice;

use bytes::Bytes;

use super::pool::{Pool, Reusable};

/// Most iovecs in one gathered send; more chunks leave in the next send.
/// Room fan-out queues many small shared payloads per member: 512 lets one
/// send carry ~150 KB of 295-byte notifies (64 capped io_uring at about
/// 2.4 M deliveries/s for 10 rooms × 100 members, 512 passes 3.2 M; see
/// docs/BENCHMARKS.md). The iovec array grows only for sessions that need it.
pub(crate) const MAX_IOVECS: usize = 512;

#[derive(Debug)]
enum Chunk {
    Inline { start: u32, end: u32 },
    Shared(Bytes),
}

/// One side of the double buffer.
#[derive(Debug, Default)]
pub(crate) struct SendBuf {
    chunks: Vec<Chunk>,
    inline: Vec<u8>,
    bytes: usize,
    frames: usize,
}

impl SendBuf {
    fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    fn is_unallocated(&self) -> bool {
        self.chunks.capacity() == 0 && self.inline.capacity() == 0
    }

    fn chunk_bytes(&self, i: usize) -> &[u8] {
        match &self.chunks[i] {
            Chunk::Inline { start, end } => &self.inline[*start as usize..*end as usize],
            Chunk::Shared(b) => b,
        }
    }
}

impl Reusable for SendBuf {
    fn reset(&mut self) {
        self.chunks.clear();
        self.inline.clear();
        self.bytes = 0;
        self.frames = 0;
    }

    fn capacity_bytes(&self) -> usize {
        self.inline.capacity() + self.chunks.capacity() * std::mem::size_of::<Chunk>()
    }
}

/// What a completed send finished.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Frames whose last byte left with this send.
    pub(crate) frames_done: usize,
    /// Frames that left in the same gathered send as another (coalesced).
    pub(crate) coalesced: usize,
}

/// What one send covers: a buffer moved out of the queue whole, and how far
/// into it the socket has taken. While a send is in flight its `Flight` is
/// lent out ([`SendQueue::lend`]) and owned by that send: the queue cannot
/// write it, reuse it or give it to the pool, so memory the kernel may be
/// reading stays put until the send's completion gives it back
/// ([`SendQueue::give_back`]). Heap memory only: the pointers of
/// [`Flight::iovecs`] stay valid while the `Flight` value itself moves.
#[derive(Debug, Default)]
pub(crate) struct Flight {
    buf: SendBuf,
    /// Position in `buf`: chunk index and offset in that chunk.
    chunk: usize,
    offset: usize,
    /// Bytes of `buf` already sent.
    sent: usize,
}

impl Flight {
    fn unsent(&self) -> usize {
        self.buf.bytes - self.sent
    }

    /// The unsent part, chunk by chunk.
    fn unsent_chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (self.chunk..self.buf.chunks.len()).map(move |i| {
            let bytes = self.buf.chunk_bytes(i);
            if i == self.chunk {
                &bytes[self.offset..]
            } else {
                bytes
            }
        })
    }

    /// The unsent part as I/O slices (at most `out.len()`).
    pub(crate) fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, bytes) in out.iter_mut().zip(self.unsent_chunks()) {
            *slot = IoSlice::new(bytes);
            n += 1;
        }
        n
    }

    /// The unsent part as raw iovecs (at most [`MAX_IOVECS`]) for a
    /// completion-based send. They point into heap memory this `Flight`
    /// owns, which nothing writes while the flight is lent out.
    pub(crate) fn iovecs(&self, out: &mut Vec<libc::iovec>) {
        out.clear();
        out.extend(
            self.unsent_chunks()
                .take(MAX_IOVECS)
                .map(|bytes| libc::iovec {
                    iov_base: bytes.as_ptr() as *mut libc::c_void,
                    iov_len: bytes.len(),
                }),
        );
    }

    /// Records that `n` bytes were sent.
    fn advance(&mut self, mut n: usize) -> Progress {
        let mut progress = Progress::default();
        self.sent += n;
        debug_assert!(self.sent <= self.buf.bytes);
        while n > 0 && self.chunk < self.buf.chunks.len() {
            let left = self.buf.chunk_bytes(self.chunk).len() - self.offset;
            if n >= left {
                n -= left;
                self.chunk += 1;
                self.offset = 0;
            } else {
                self.offset += n;
                n = 0;
            }
        }
        if self.sent >= self.buf.bytes && !self.buf.is_empty() {
            progress.frames_done = self.buf.frames;
            progress.coalesced = self.buf.frames.saturating_sub(1);
            self.reset();
        }
        progress
    }

    fn reset(&mut self) {
        self.buf.reset();
        self.chunk = 0;
        self.offset = 0;
        self.sent = 0;
    }
}

/// What a [`Sealer`] did with the plaintext it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sealed {
    /// Sealed into the output.
    Taken,
    /// Not yet (it stays queued).
    Kept,
    /// Never: the session cannot send it any more.
    Dropped,
}

/// Turns a session's queued plaintext into the bytes its socket sends (the
/// TLS layer, `crate::tls`).
pub(crate) trait Sealer {
    /// Whether it has bytes to send even with nothing queued.
    fn wants_write(&self) -> bool;
    /// Seals `plaintext` (the queue's chunks, in order) and appends what is
    /// to be sent to `out`.
    fn seal<'a>(&mut self, plaintext: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) -> Sealed;
}

/// A session's outgoing data.
#[derive(Debug, Default)]
pub(crate) struct SendQueue {
    queued: SendBuf,
    /// The flight while no send holds it (empty, or a partial send's rest).
    flight: Flight,
    /// Unsent bytes of the flight while a send holds it (lent out).
    lent: Option<usize>,
}

impl SendQueue {
    /// Bytes waiting to be sent (queued and the unsent part of the flight).
    pub(crate) fn pending_bytes(&self) -> usize {
        self.queued.bytes + self.lent.unwrap_or_else(|| self.flight.unsent())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending_bytes() == 0
    }

    /// Queues a copy of `data`.
    pub(crate) fn push_copy(&mut self, data: &[u8], pool: &mut Pool<SendBuf>) {
        self.push_copy_framed(&[], data, pool);
    }

    /// Queues a copy of `head` then `data` as one frame (a WebSocket
    /// message header and its payload).
    pub(crate) fn push_copy_framed(&mut self, head: &[u8], data: &[u8], pool: &mut Pool<SendBuf>) {
        if head.is_empty() && data.is_empty() {
            return;
        }
        if self.queued.is_unallocated() {
            self.queued = pool.take();
        }
        let q = &mut self.queued;
        let start = q.inline.len() as u32;
        q.inline.extend_from_slice(head);
        q.inline.extend_from_slice(data);
        let end = q.inline.len() as u32;
        match q.chunks.last_mut() {
            Some(Chunk::Inline { end: last_end, .. }) if *last_end == start => *last_end = end,
            _ => q.chunks.push(Chunk::Inline { start, end }),
        }
        q.bytes += head.len() + data.len();
        q.frames += 1;
    }

    /// Queues a shared payload without copying it.
    pub(crate) fn push_shared(&mut self, payload: Bytes, pool: &mut Pool<SendBuf>) {
        if payload.is_empty() {
            return;
        }
        if self.queued.is_unallocated() {
            self.queued = pool.take();
        }
        self.queued.bytes += payload.len();
        self.queued.frames += 1;
        self.queued.chunks.push(Chunk::Shared(payload));
    }

    /// Lends out the next send's flight (the 1-send rule: `None` while one
    /// is lent, or when there is nothing to send): the rest of a partial
    /// flight, or everything queued, moved into flight whole.
    pub(crate) fn lend(&mut self) -> Option<Flight> {
        if self.lent.is_some() {
            return None;
        }
        if self.flight.unsent() == 0 {
            if self.queued.is_empty() {
                return None;
            }
            self.flight.reset();
            std::mem::swap(&mut self.flight.buf, &mut self.queued);
        }
        let flight = std::mem::take(&mut self.flight);
        self.lent = Some(flight.unsent());
        Some(flight)
    }

    /// [`SendQueue::lend`], or [`SendQueue::lend_sealed`] for a session with
    /// a sealer (TLS).
    pub(crate) fn lend_through<T: Sealer>(
        &mut self,
        sealer: Option<&mut T>,
        pool: &mut Pool<SendBuf>,
    ) -> Option<Flight> {
        match sealer {
            None => self.lend(),
            Some(sealer) => self.lend_sealed(sealer, pool),
        }
    }

    /// Like [`SendQueue::lend`], for a session whose bytes are sealed (TLS)
    /// on the way out: when a new flight starts, everything queued is given
    /// to `sealer` at once and the flight carries what it produced (many
    /// frames per record), with the frames it took. The sealer may produce
    /// bytes with nothing queued (handshake messages, alerts), and may keep
    /// the queue for later (handshake in progress) or drop it (failed).
    pub(crate) fn lend_sealed(
        &mut self,
        sealer: &mut impl Sealer,
        pool: &mut Pool<SendBuf>,
    ) -> Option<Flight> {
        if self.lent.is_some() {
            return None;
        }
        if self.flight.unsent() == 0 {
            if self.queued.is_empty() && !sealer.wants_write() {
                return None;
            }
            self.flight.reset();
            if self.flight.buf.is_unallocated() {
                self.flight.buf = pool.take();
            }
            let q = &self.queued;
            let out = &mut self.flight.buf.inline;
            let sealed = sealer.seal((0..q.chunks.len()).map(|i| q.chunk_bytes(i)), out);
            let frames = match sealed {
                Sealed::Taken => self.queued.frames,
                Sealed::Kept | Sealed::Dropped => 0,
            };
            if sealed != Sealed::Kept {
                self.queued.reset();
            }
            let buf = &mut self.flight.buf;
            let len = buf.inline.len();
            if len == 0 {
                return None;
            }
            buf.chunks.push(Chunk::Inline {
                start: 0,
                end: len as u32,
            });
            buf.bytes = len;
            buf.frames = frames;
        }
        let flight = std::mem::take(&mut self.flight);
        self.lent = Some(flight.unsent());
        Some(flight)
    }

    /// Takes back the flight lent out by [`SendQueue::lend`] once its send
    /// is over, with `sent` bytes of it taken by the socket.
    pub(crate) fn give_back(&mut self, mut flight: Flight, sent: usize) -> Progress {
        debug_assert!(self.lent.is_some(), "gives back a flight never lent");
        let progress = flight.advance(sent);
        self.flight = flight;
        self.lent = None;
        progress
    }

    /// Gives the buffers back to the pool once nothing is pending (never
    /// while a flight is lent out: its send owns it).
    pub(crate) fn release_if_idle(&mut self, pool: &mut Pool<SendBuf>) {
        if self.is_empty() && self.lent.is_none() {
            if !self.queued.is_unallocated() {
                pool.give(std::mem::take(&mut self.queued));
            }
            if !self.flight.buf.is_unallocated() {
                pool.give(std::mem::take(&mut self.flight.buf));
            }
            self.flight.reset();
        }
    }

    /// Drops everything (the session is gone). Its send must be over: a
    /// flight still lent out belongs to that send until its completion.
    pub(crate) fn discard(&mut self, pool: &mut Pool<SendBuf>) {
        debug_assert!(self.lent.is_none(), "discarded with a send in flight");
        self.queued.reset();
        self.flight.reset();
        self.release_if_idle(pool);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn pool() -> Pool<SendBuf> {
        Pool::new(16, 1 << 20)
    }

    fn gather(f: &Flight) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let n = f.io_slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn coalesces_inline_frames_into_one_chunk() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"ab", &mut p);
        q.push_copy(b"cd", &mut p);
        q.push_copy(b"e", &mut p);
        assert_eq!(q.pending_bytes(), 5);
        let f = q.lend().unwrap();
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        assert_eq!(f.io_slices(&mut slices), 1, "three copies, one iovec");
        assert_eq!(gather(&f), b"abcde");
        let prog = q.give_back(f, 5);
        assert_eq!(
            prog,
            Progress {
                frames_done: 3,
                coalesced: 2
            }
        );
        assert!(q.is_empty());
        assert!(q.lend().is_none());
    }

    #[test]
    fn data_queued_during_flight_waits_and_leaves_together() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"first", &mut p);
        let f = q.lend().unwrap();
        // While "first" is in flight, more arrives.
        q.push_copy(b"-second", &mut p);
        q.push_shared(Bytes::from_static(b"-third"), &mut p);
        assert_eq!(gather(&f), b"first", "flight is not touched");
        assert!(q.lend().is_none(), "one send in flight at most");
        assert_eq!(q.pending_bytes(), 18);
        q.give_back(f, 5);
        let f = q.lend().unwrap();
        assert_eq!(gather(&f), b"-second-third");
        assert_eq!(q.give_back(f, 13).frames_done, 2);
        assert!(q.is_empty());
    }

    #[test]
    fn partial_sends_resume_mid_chunk() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"hello", &mut p);
        q.push_shared(Bytes::from_static(b"world"), &mut p);
        let f = q.lend().unwrap();
        assert_eq!(q.give_back(f, 3).frames_done, 0);
        let f = q.lend().unwrap();
        assert_eq!(gather(&f), b"loworld");
        q.give_back(f, 4);
        let f = q.lend().unwrap();
        assert_eq!(gather(&f), b"rld");
        assert_eq!(q.pending_bytes(), 3);
        assert_eq!(q.give_back(f, 3).frames_done, 2);
        assert!(q.is_empty());
    }

    #[test]
    fn iovecs_match_slices() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"xy", &mut p);
        q.push_shared(Bytes::from_static(b"z"), &mut p);
        let f = q.lend().unwrap();
        q.give_back(f, 1);
        let f = q.lend().unwrap();
        let mut iov = Vec::new();
        f.iovecs(&mut iov);
        let lens: Vec<usize> = iov.iter().map(|v| v.iov_len).collect();
        assert_eq!(lens, vec![1, 1]);
    }

    #[test]
    fn buffers_return_to_pool_when_idle() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"abc", &mut p);
        let f = q.lend().unwrap();
        q.release_if_idle(&mut p);
        assert_eq!(p.len(), 0, "not while the flight is lent out");
        q.give_back(f, 3);
        q.release_if_idle(&mut p);
        assert_eq!(p.len(), 1);
        assert!(q.queued.is_unallocated() && q.flight.buf.is_unallocated());
    }

    #[test]
    fn many_chunks_leave_in_several_sends() {
        let mut p = pool();
        let mut q = SendQueue::default();
        let payload = Bytes::from_static(b"x");
        for _ in 0..(MAX_IOVECS + 10) {
            q.push_shared(payload.clone(), &mut p);
        }
        let f = q.lend().unwrap();
        let mut iov = Vec::new();
        f.iovecs(&mut iov);
        assert_eq!(iov.len(), MAX_IOVECS);
        q.give_back(f, MAX_IOVECS);
        let f = q.lend().unwrap();
        f.iovecs(&mut iov);
        assert_eq!(iov.len(), 10);
        assert_eq!(q.give_back(f, 10).frames_done, MAX_IOVECS + 10);
    }
}
