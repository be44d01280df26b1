//! A provided-buffer ring (`IORING_REGISTER_PBUF_RING`): a pool of receive
//! buffers the kernel picks from when data arrives, so a session waiting for
//! data holds no buffer of its own.
//!
//! Layout: `entries` ring slots of 16 bytes in one page-aligned mapping shared
//! with the kernel, and `entries` buffers of `buf_size` bytes in one
//! allocation. Buffer `bid` always lives at `bufs + bid * buf_size`. We hand a
//! buffer back by writing its descriptor at `tail & mask` and publishing the
//! new tail with a release store; the kernel consumes from its head.

use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;
use io_uring::Submitter;

pub(crate) struct BufRing {
    ring: *mut BufRingEntry,
    ring_bytes: usize,
    bufs: Box<[u8]>,
    buf_size: usize,
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
            bufs: vec![0u8; usize::from(entries) * buf_size].into_boxed_slice(),
            buf_size,
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

    /// The first `len` bytes of buffer `bid`, as filled by the kernel.
    pub(crate) fn data(&self, bid: u16, len: usize) -> &[u8] {
        let start = usize::from(bid & self.mask) * self.buf_size;
        &self.bufs[start..start + len.min(self.buf_size)]
    }

    /// Hands buffer `bid` back to the kernel (visible after [`BufRing::publish`]).
    pub(crate) fn push(&mut self, bid: u16) {
        let bid = bid & self.mask;
        let idx = usize::from(self.tail & self.mask);
        let addr = self.bufs.as_ptr() as u64 + (usize::from(bid) * self.buf_size) as u64;
        // SAFETY: `idx` < entries, so the slot is inside the mapping; the
        // kernel only reads slots between its head and our published tail,
        // and this slot is past the published tail until `publish`.
        let entry = unsafe { &mut *self.ring.add(idx) };
        entry.set_addr(addr);
        entry.set_len(self.buf_size as u32);
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
