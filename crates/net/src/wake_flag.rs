//! The pause/wake handshake between an I/O thread that ran out of something
//! other threads give back (free event batches) and the threads giving it
//! back.
//!
//! The waiter (the I/O thread) finds its free list empty, raises the flag,
//! and looks at the free list once more before it sleeps
//! ([`WakeFlag::pause_unless`]). A giver puts its item on the free list, then
//! takes the flag down and, if it was up, wakes the waiter
//! ([`WakeFlag::take`]). Each side writes one location and then reads the
//! other's (a Dekker / store-buffering pattern): with a plain `store` to raise
//! the flag, even a `SeqCst` one, the re-check may miss the item while the
//! giver still sees the flag down, and nobody wakes the waiter.
//!
//! Here every write of the flag is a read-modify-write (`swap`) with
//! `AcqRel`, so the flag's modification order is one chain in which each
//! swap reads the one before, and all later swaps continue the release
//! sequence of an earlier one. Either the giver's swap comes after the
//! waiter's raise, and reads it (or a later swap that already woke the
//! waiter, or the waiter's own lowering after its re-check found the item),
//! or it comes before, and then the raise synchronizes with it: the push,
//! which precedes the giver's swap, happens before the re-check, which sees
//! it. Either way nobody sleeps with an item waiting. This holds for any
//! free list whose push is at least a Release write (it needs nothing of
//! the fences a particular channel happens to contain), and costs what a
//! `SeqCst` store costs (an `xchg` on x86).
//!
//! Model-checked with loom (`tests/loom_handoff.rs`, docs/ENGINE.md): under
//! `--cfg loom` the atomic comes from loom.

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, Ordering};

/// "Wake me when something comes back": raised by a waiter about to sleep,
/// taken down by whoever gives something back.
#[derive(Debug, Default)]
pub struct WakeFlag {
    paused: AtomicBool,
}

impl WakeFlag {
    /// A lowered flag.
    pub fn new() -> Self {
        WakeFlag {
            paused: AtomicBool::new(false),
        }
    }

    /// Waiter side, after `recheck`'s source was found empty: raises the flag
    /// and calls `recheck` once more. If that finds something, the flag is
    /// lowered again and the item returned (a giver may still wake the waiter
    /// once for nothing, which is harmless). `None` means the waiter may
    /// sleep: whoever gives something back from now on sees the flag and
    /// wakes it.
    pub fn pause_unless<T>(&self, recheck: impl FnOnce() -> Option<T>) -> Option<T> {
        // A swap, not a store: its Acquire half is what makes a give-back
        // that came first visible to `recheck` (see the module docs).
        self.paused.swap(true, Ordering::AcqRel);
        let found = recheck();
        if found.is_some() {
            // A swap too, so every write of the flag stays a read-modify-write.
            self.paused.swap(false, Ordering::AcqRel);
        }
        found
    }

    /// Giver side, after the item was made available to the waiter: lowers
    /// the flag and returns whether it was up, in which case the caller must
    /// wake the waiter. True at most once per raise.
    pub fn take(&self) -> bool {
        // Its Release half publishes the give-back to a raise that comes
        // later (the raise's Acquire half). The other halves are not needed;
        // AcqRel everywhere costs nothing more and leaves no reader guessing.
        self.paused.swap(false, Ordering::AcqRel)
    }
}
