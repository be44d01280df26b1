//! Session identifiers: which I/O thread, which slot, which occupant of the slot.
//!
//! A [`SessionId`] packs the I/O thread index (8 bits), the slot index in that
//! thread's slab (24 bits) and the slot's generation (32 bits). The generation
//! changes every time a slot is freed, so a send, a close or a completion that
//! names a session which has since closed can never reach the slot's next
//! occupant: the engine compares generations and drops the stale request.

use std::fmt;

/// Largest number of I/O threads a [`SessionId`] can address.
pub const MAX_IO_THREADS: usize = 1 << 8;
/// Largest number of session slots one I/O thread can hold.
pub const MAX_SLOTS_PER_THREAD: usize = 1 << 24;

/// Identifies one session (one accepted TCP connection) for its whole life.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    pub(crate) fn new(thread: usize, slot: usize, generation: u32) -> Self {
        debug_assert!(thread < MAX_IO_THREADS && slot < MAX_SLOTS_PER_THREAD);
        SessionId(((thread as u64) << 56) | ((slot as u64) << 32) | u64::from(generation))
    }

    /// Index of the I/O thread that owns this session.
    pub fn thread(self) -> usize {
        (self.0 >> 56) as usize
    }

    pub(crate) fn slot(self) -> usize {
        ((self.0 >> 32) & 0x00ff_ffff) as usize
    }

    pub(crate) fn generation(self) -> u32 {
        self.0 as u32
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
        write!(f, "{}.{}.{}", self.thread(), self.slot(), self.generation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let id = SessionId::new(3, 0x00ab_cdef, 0xdead_beef);
        assert_eq!(id.thread(), 3);
        assert_eq!(id.slot(), 0x00ab_cdef);
        assert_eq!(id.generation(), 0xdead_beef);
        assert_eq!(SessionId::from_u64(id.as_u64()), id);
        assert_eq!(
            id.to_string(),
            format!("3.{}.{}", 0x00ab_cdef, 0xdead_beef_u32)
        );
    }

    #[test]
    fn generations_distinguish_occupants() {
        assert_ne!(SessionId::new(0, 5, 1), SessionId::new(0, 5, 2));
        assert_ne!(SessionId::new(0, 5, 1), SessionId::new(1, 5, 1));
    }
}
