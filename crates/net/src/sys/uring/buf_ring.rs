//! A provided-buffer ring (`IORING_REGISTER_PBUF_RING`): a pool of receive
//! buffers the kernel picks from when data arrives, so a session waiting for
//! data holds no buffer of its own.
//!
//! Layout: `entries` ring slots of 16 bytes in one page-aligned mapping shared
//! with the kernel, and `entries` buffers of `buf_size` bytes in one
//! allocation ([`RecvMemory`]). Buffer `bid` always lives at
//! `base + bid * buf_size`. We hand a buffer back by writing its descriptor
//! at `tail & mask` and publishing the new tail with a release store; the
//! kernel consumes from its head.
//!
//! Ownership: a published buffer is the kernel's, which may write into it
//! at any time; a receive completion hands one buffer over (its id in the
//! completion's flags). The hand-over is a [`FilledBuf`], made once per
//! completion ([`BufRing::take_filled`], the one unsafe step), through which
//! alone the bytes can be read, and which [`BufRing::give_back`] consumes.
//! So the buffer memory is never read while the kernel may write it, and
//! never given back twice.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;
use io_uring::{cqueue, Submitter};

/// The receive buffers' memory, written by the kernel. Held by raw pointer
/// (never as a Rust reference or `Box` while the kernel may write into it);
/// read only through [`RecvMemory::filled`].
struct RecvMemory {
    base: NonNull<u8>,
    len: usize,
    buf_size: usize,
}

impl RecvMemory {
    fn new(count: usize, buf_size: usize) -> Self {
        let boxed = vec![0u8; count * buf_size].into_boxed_slice();
        let len = boxed.len();
        RecvMemory {
            base: NonNull::from(Box::leak(boxed)).cast::<u8>(),
            len,
            buf_size,
        }
    }

    /// The address of buffer `bid`, for the kernel.
    fn addr(&self, bid: u16) -> u64 {
        self.base.as_ptr() as u64 + (usize::from(bid) * self.buf_size) as u64
    }

    /// The first `len` bytes (at most a buffer) of buffer `bid`.
    ///
    /// # Safety
    /// `bid` is inside the memory, and the kernel does not write buffer
    /// `bid` while the returned slice lives: a completion handed it over and
    /// it has not been published again since.
    unsafe fn filled(&self, bid: u16, len: usize) -> &[u8] {
        let start = usize::from(bid) * self.buf_size;
        debug_assert!(start + self.buf_size <= self.len);
        // SAFETY: `start + len.min(buf_size)` is inside the allocation (the
        // caller's `bid` is), the bytes were initialised (zeroed at
        // allocation, then written by the kernel), and nothing writes them
        // while the slice lives (the caller's promise).
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(start), len.min(self.buf_size)) }
    }
}

impl Drop for RecvMemory {
    fn drop(&mut self) {
        let slice = std::ptr::slice_from_raw_parts_mut(self.base.as_ptr(), self.len);
        // SAFETY: `base` and `len` are those of the boxed slice leaked in
        // `new`, freed once here. The kernel no longer writes into it: the
        // ring was unregistered, or the io_uring instance was closed before
        // (the driver declares its ring before its `BufRing`).
        drop(unsafe { Box::from_raw(slice) });
    }
}

/// A receive buffer the kernel filled and handed over in a completion: ours
/// until [`BufRing::give_back`] consumes it. Neither `Copy` nor `Clone`:
/// one value per hand-over.
#[derive(Debug)]
pub(crate) struct FilledBuf {
    bid: u16,
    /// Bytes the kernel wrote (the completion's result; 0 for an error).
    len: usize,
}

pub(crate) struct BufRing {
    ring: *mut BufRingEntry,
    ring_bytes: usize,
    mem: RecvMemory,
    mask: u16,
    tail: u16,
    bgid: u16,
    registered: bool,
}

impl BufRing {
    /// Maps the ring, fills it with every buffer and registers it as group
    /// `bgid`. `entries` must be a power of two ≤ 32,768.
    pub(crate) fn new(
        submitter: &Submitter<'_>,
        entries: u16,
        buf_size: usize,
        bgid: u16,
    ) -> io::Result<BufRing> {
        debug_assert!(entries.is_power_of_two());
        let ring_bytes = usize::from(entries) * std::mem::size_of::<BufRingEntry>();
        // SAFETY: an anonymous private mapping with no address hint; the
        // result is checked against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut ring = BufRing {
            ring: ptr.cast::<BufRingEntry>(),
            ring_bytes,
            mem: RecvMemory::new(usize::from(entries), buf_size),
            mask: entries - 1,
            tail: 0,
            bgid,
            registered: false,
        };
        // SAFETY: the mapping is page aligned, `entries` slots long, and lives
        // until `Drop`, which runs after the ring it is registered with is
        // gone (the driver declares its ring first) or after unregistering.
        unsafe {
            submitter.register_buf_ring_with_flags(ring.ring as u64, entries, bgid, 0)?;
        }
        ring.registered = true;
        for bid in 0..entries {
            ring.push(bid);
        }
        ring.publish();
        Ok(ring)
    }

    /// The group id to name in receive operations.
    pub(crate) fn group(&self) -> u16 {
        self.bgid
    }

    /// The buffer a receive completion handed over, if it names one.
    ///
    /// # Safety
    /// `res` and `flags` are those of a receive completion that selected
    /// from this ring's group, and this is called once for that completion
    /// (so no other `FilledBuf` for its buffer exists).
    pub(crate) unsafe fn take_filled(&self, res: i32, flags: u32) -> Option<FilledBuf> {
        cqueue::buffer_select(flags).map(|bid| FilledBuf {
            bid: bid & self.mask,
            len: usize::try_from(res).unwrap_or(0),
        })
    }

    /// The bytes the kernel wrote into `buf`.
    pub(crate) fn data(&self, buf: &FilledBuf) -> &[u8] {
        // SAFETY: `buf.bid` is masked below `entries`, and the kernel does
        // not write the buffer while `buf` exists (it was handed over by a
        // completion and is published again only by `give_back`, which
        // consumes `buf`; the returned slice borrows it).
        unsafe { self.mem.filled(buf.bid, buf.len) }
    }

    /// Hands `buf` back to the kernel (visible after [`BufRing::publish`]).
    pub(crate) fn give_back(&mut self, buf: FilledBuf) {
        self.push(buf.bid);
    }

    fn push(&mut self, bid: u16) {
        let bid = bid & self.mask;
        let idx = usize::from(self.tail & self.mask);
        let addr = self.mem.addr(bid);
        // SAFETY: `idx` < entries, so the slot is inside the mapping; the
        // kernel only reads slots between its head and our published tail,
        // and this slot is past the published tail until `publish`.
        let entry = unsafe { &mut *self.ring.add(idx) };
        entry.set_addr(addr);
        entry.set_len(self.mem.buf_size as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes every pushed buffer visible to the kernel.
    pub(crate) fn publish(&self) {
        // SAFETY: `self.ring` is the ring's base address; the tail field is a
        // naturally aligned u16 inside the first slot that the kernel reads
        // atomically, so viewing it as an AtomicU16 is sound.
        let tail = unsafe { &*(BufRingEntry::tail(self.ring).cast::<AtomicU16>()) };
        tail.store(self.tail, Ordering::Release);
    }

    /// Unregisters the ring from `submitter` (before the ring memory goes).
    pub(crate) fn unregister(&mut self, submitter: &Submitter<'_>) {
        if self.registered && submitter.unregister_buf_ring(self.bgid).is_ok() {
            self.registered = false;
        }
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: the mapping was created in `new` with this length and is
        // unmapped exactly once. The kernel no longer uses it: it was
        // unregistered, or the io_uring instance was closed before.
        unsafe {
            libc::munmap(self.ring.cast(), self.ring_bytes);
        }
    }
}
