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
//! kernel may be reading it (io_uring), so new data always goes to the other
//! buffer.

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

/// A session's outgoing data.
#[derive(Debug, Default)]
pub(crate) struct SendQueue {
    queued: SendBuf,
    inflight: SendBuf,
    /// Position in `inflight`: chunk index and offset in that chunk.
    chunk: usize,
    offset: usize,
    /// Bytes of `inflight` already sent.
    sent: usize,
}

impl SendQueue {
    /// Bytes waiting to be sent (queued and the unsent part of the flight).
    pub(crate) fn pending_bytes(&self) -> usize {
        self.queued.bytes + self.inflight.bytes - self.sent
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending_bytes() == 0
    }

    /// Queues a copy of `data`.
    pub(crate) fn push_copy(&mut self, data: &[u8], pool: &mut Pool<SendBuf>) {
        if data.is_empty() {
            return;
        }
        if self.queued.is_unallocated() {
            self.queued = pool.take();
        }
        let q = &mut self.queued;
        let start = q.inline.len() as u32;
        q.inline.extend_from_slice(data);
        let end = q.inline.len() as u32;
        match q.chunks.last_mut() {
            Some(Chunk::Inline { end: last_end, .. }) if *last_end == start => *last_end = end,
            _ => q.chunks.push(Chunk::Inline { start, end }),
        }
        q.bytes += data.len();
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

    /// Prepares the next send when none is in flight: resumes a partial
    /// flight, or moves everything queued into flight. Returns false when
    /// there is nothing to send.
    pub(crate) fn prepare(&mut self) -> bool {
        if self.sent < self.inflight.bytes {
            return true;
        }
        if self.queued.is_empty() {
            return false;
        }
        self.inflight.reset();
        std::mem::swap(&mut self.inflight, &mut self.queued);
        self.chunk = 0;
        self.offset = 0;
        self.sent = 0;
        true
    }

    /// The unsent part of the flight as I/O slices (at most `out.len()`).
    pub(crate) fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for i in self.chunk..self.inflight.chunks.len() {
            if n == out.len() {
                break;
            }
            let bytes = self.inflight.chunk_bytes(i);
            let bytes = if i == self.chunk {
                &bytes[self.offset..]
            } else {
                bytes
            };
            out[n] = IoSlice::new(bytes);
            n += 1;
        }
        n
    }

    /// The unsent part of the flight as raw iovecs for a completion-based
    /// send. The memory they point to stays valid and unchanged until the
    /// next call to `advance` (the flight is never written meanwhile).
    pub(crate) fn iovecs(&self, out: &mut Vec<libc::iovec>) {
        out.clear();
        for i in self.chunk..self.inflight.chunks.len() {
            if out.len() == MAX_IOVECS {
                break;
            }
            let bytes = self.inflight.chunk_bytes(i);
            let bytes = if i == self.chunk {
                &bytes[self.offset..]
            } else {
                bytes
            };
            out.push(libc::iovec {
                iov_base: bytes.as_ptr() as *mut libc::c_void,
                iov_len: bytes.len(),
            });
        }
    }

    /// Records that `n` bytes of the flight were sent.
    pub(crate) fn advance(&mut self, mut n: usize) -> Progress {
        let mut progress = Progress::default();
        self.sent += n;
        debug_assert!(self.sent <= self.inflight.bytes);
        while n > 0 && self.chunk < self.inflight.chunks.len() {
            let left = self.inflight.chunk_bytes(self.chunk).len() - self.offset;
            if n >= left {
                n -= left;
                self.chunk += 1;
                self.offset = 0;
            } else {
                self.offset += n;
                n = 0;
            }
        }
        if self.sent >= self.inflight.bytes && !self.inflight.is_empty() {
            progress.frames_done = self.inflight.frames;
            progress.coalesced = self.inflight.frames.saturating_sub(1);
            self.inflight.reset();
            self.chunk = 0;
            self.offset = 0;
            self.sent = 0;
        }
        progress
    }

    /// Gives the buffers back to the pool once nothing is pending. Must not
    /// be called while a send is in flight.
    pub(crate) fn release_if_idle(&mut self, pool: &mut Pool<SendBuf>) {
        if self.is_empty() {
            if !self.queued.is_unallocated() {
                pool.give(std::mem::take(&mut self.queued));
            }
            if !self.inflight.is_unallocated() {
                pool.give(std::mem::take(&mut self.inflight));
            }
            self.chunk = 0;
            self.offset = 0;
            self.sent = 0;
        }
    }

    /// Drops everything (the session is gone). Must not be called while a
    /// send is in flight.
    pub(crate) fn discard(&mut self, pool: &mut Pool<SendBuf>) {
        self.queued.reset();
        self.inflight.reset();
        self.sent = 0;
        self.release_if_idle(pool);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Pool<SendBuf> {
        Pool::new(16, 1 << 20)
    }

    fn gather(q: &SendQueue) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let n = q.io_slices(&mut slices);
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
        assert!(q.prepare());
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        assert_eq!(q.io_slices(&mut slices), 1, "three copies, one iovec");
        assert_eq!(gather(&q), b"abcde");
        let prog = q.advance(5);
        assert_eq!(
            prog,
            Progress {
                frames_done: 3,
                coalesced: 2
            }
        );
        assert!(q.is_empty());
        assert!(!q.prepare());
    }

    #[test]
    fn data_queued_during_flight_waits_and_leaves_together() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"first", &mut p);
        assert!(q.prepare());
        // While "first" is in flight, more arrives.
        q.push_copy(b"-second", &mut p);
        q.push_shared(Bytes::from_static(b"-third"), &mut p);
        assert_eq!(gather(&q), b"first", "flight is not touched");
        q.advance(5);
        assert!(q.prepare());
        assert_eq!(gather(&q), b"-second-third");
        assert_eq!(q.advance(13).frames_done, 2);
        assert!(q.is_empty());
    }

    #[test]
    fn partial_sends_resume_mid_chunk() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"hello", &mut p);
        q.push_shared(Bytes::from_static(b"world"), &mut p);
        assert!(q.prepare());
        assert_eq!(q.advance(3).frames_done, 0);
        assert!(q.prepare());
        assert_eq!(gather(&q), b"loworld");
        q.advance(4);
        assert_eq!(gather(&q), b"rld");
        assert_eq!(q.pending_bytes(), 3);
        assert_eq!(q.advance(3).frames_done, 2);
        assert!(q.is_empty());
    }

    #[test]
    fn iovecs_match_slices() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"xy", &mut p);
        q.push_shared(Bytes::from_static(b"z"), &mut p);
        q.prepare();
        q.advance(1);
        let mut iov = Vec::new();
        q.iovecs(&mut iov);
        let lens: Vec<usize> = iov.iter().map(|v| v.iov_len).collect();
        assert_eq!(lens, vec![1, 1]);
    }

    #[test]
    fn buffers_return_to_pool_when_idle() {
        let mut p = pool();
        let mut q = SendQueue::default();
        q.push_copy(b"abc", &mut p);
        q.prepare();
        q.advance(3);
        q.release_if_idle(&mut p);
        assert_eq!(p.len(), 1);
        assert!(q.queued.is_unallocated() && q.inflight.is_unallocated());
    }

    #[test]
    fn many_chunks_leave_in_several_sends() {
        let mut p = pool();
        let mut q = SendQueue::default();
        let payload = Bytes::from_static(b"x");
        for _ in 0..(MAX_IOVECS + 10) {
            q.push_shared(payload.clone(), &mut p);
        }
        q.prepare();
        let mut iov = Vec::new();
        q.iovecs(&mut iov);
        assert_eq!(iov.len(), MAX_IOVECS);
        q.advance(MAX_IOVECS);
        q.prepare();
        q.iovecs(&mut iov);
        assert_eq!(iov.len(), 10);
        assert_eq!(q.advance(10).frames_done, MAX_IOVECS + 10);
    }
}
