//! Identifiers: which slot, which occupant of the slot, and (for a session)
//! which I/O thread.
//!
//! One layout, defined here and nowhere else: a [`SlotRef`] (slot index,
//! 24 bits; the slot's generation, 32 bits) packs into the low 56 bits of a
//! `u64`, and the top byte carries a tag that says whose value it is:
//!
//! ```text
//!  63      56 55                32 31                              0
//! ┌──────────┬────────────────────┬────────────────────────────────┐
//! │   tag    │   slot (24 bits)   │       generation (32 bits)     │
//! └──────────┴────────────────────┴────────────────────────────────┘
//! ```
//!
//! - a [`SessionId`]: tag = the I/O thread's index;
//! - an io_uring completion's `user_data`: tag = the operation kind
//!   (`sys::uring`);
//! - a poll backend `Token`: tag = 0 (`sys::poll`; the poller's own tokens
//!   for the listener and the waker have the top byte set).
//!
//! The generation changes every time a slot is freed, so a send, a close or
//! a completion that names a session which has since closed can never reach
//! the slot's next occupant: the engine compares generations and drops the
//! stale request.

use std::fmt;

/// Largest number of I/O threads a [`SessionId`] can address.
pub const MAX_IO_THREADS: usize = 1 << TAG_BITS;
/// Largest number of session slots one I/O thread can hold.
pub const MAX_SLOTS_PER_THREAD: usize = 1 << SLOT_BITS;

const TAG_BITS: u32 = 8;
const SLOT_BITS: u32 = 24;
const GENERATION_BITS: u32 = 32;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
const TAG_SHIFT: u32 = SLOT_BITS + GENERATION_BITS;

/// One occupant of one slot of an I/O thread's slab: the slot's index and
/// the generation it had while that occupant held it.
#[derive(Debug, Copy, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SlotRef {
    /// Index in the thread's slab (below [`MAX_SLOTS_PER_THREAD`]).
    pub(crate) slot: u32,
    /// The slot's generation.
    pub(crate) generation: u32,
}

impl SlotRef {
    pub(crate) fn new(slot: usize, generation: u32) -> Self {
        debug_assert!(slot < MAX_SLOTS_PER_THREAD);
        SlotRef {
            slot: slot as u32,
            generation,
        }
    }

    /// The slot index, for indexing the slab.
    pub(crate) fn index(self) -> usize {
        self.slot as usize
    }

    /// Packs `self` with `tag` in the top byte (see the module docs).
    pub(crate) fn pack(self, tag: u8) -> u64 {
        (u64::from(tag) << TAG_SHIFT)
            | ((u64::from(self.slot) & SLOT_MASK) << GENERATION_BITS)
            | u64::from(self.generation)
    }

    /// Splits a value made by [`SlotRef::pack`] into its tag and reference.
    pub(crate) fn unpack(raw: u64) -> (u8, SlotRef) {
        let slot_ref = SlotRef {
            slot: ((raw >> GENERATION_BITS) & SLOT_MASK) as u32,
            generation: raw as u32,
        };
        ((raw >> TAG_SHIFT) as u8, slot_ref)
    }
}

/// Identifies one session (one accepted TCP connection) for its whole life.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    pub(crate) fn new(thread: usize, slot: SlotRef) -> Self {
        debug_assert!(thread < MAX_IO_THREADS);
        SessionId(slot.pack(thread as u8))
    }

    /// Index of the I/O thread that owns this session.
    pub fn thread(self) -> usize {
        usize::from(SlotRef::unpack(self.0).0)
    }

    /// The slot (and its occupant) on the session's I/O thread.
    pub(crate) fn slot_ref(self) -> SlotRef {
        SlotRef::unpack(self.0).1
    }

    /// The id as one integer, unique among all sessions alive at the same time
    /// (handy as a map key or in logs).
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Rebuilds an id from [`SessionId::as_u64`]. An id that names no live
    /// session is harmless: the engine drops requests for it.
    pub fn from_u64(raw: u64) -> Self {
        SessionId(raw)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.slot_ref();
        write!(f, "{}.{}.{}", self.thread(), s.slot, s.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_refs_round_trip_with_any_tag() {
        let r = SlotRef::new(0x00ab_cdef, 0xdead_beef);
        for tag in [0, 1, 3, 0x7f, 0xff] {
            let raw = r.pack(tag);
            assert_eq!(SlotRef::unpack(raw), (tag, r));
            assert_eq!(raw >> 56, u64::from(tag), "the tag is the top byte");
        }
        assert_eq!(r.pack(5), 0x05ab_cdef_dead_beef, "the documented layout");
        let max = SlotRef::new(MAX_SLOTS_PER_THREAD - 1, u32::MAX);
        assert_eq!(SlotRef::unpack(max.pack(0xff)), (0xff, max));
        assert_eq!(
            max.pack(0),
            (1 << 56) - 1,
            "tag 0 leaves the top byte clear"
        );
    }

    #[test]
    fn fields_round_trip() {
        let id = SessionId::new(3, SlotRef::new(0x00ab_cdef, 0xdead_beef));
        assert_eq!(id.thread(), 3);
        assert_eq!(id.slot_ref().index(), 0x00ab_cdef);
        assert_eq!(id.slot_ref().generation, 0xdead_beef);
        assert_eq!(SessionId::from_u64(id.as_u64()), id);
        assert_eq!(
            id.to_string(),
            format!("3.{}.{}", 0x00ab_cdef, 0xdead_beef_u32)
        );
    }

    #[test]
    fn generations_distinguish_occupants() {
        let id = |thread, slot, generation| SessionId::new(thread, SlotRef::new(slot, generation));
        assert_ne!(id(0, 5, 1), id(0, 5, 2));
        assert_ne!(id(0, 5, 1), id(1, 5, 1));
    }
}
