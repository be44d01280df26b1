//! Reading paused and resumed: the shard keeps each session's
//! [`ReadPause`](crate::read_pause::ReadPause) and lists the sessions whose
//! pause changed; the backend stops or resumes reading them.

use super::{Shard, State};
use crate::framing::Framing;
use crate::stats::ThreadStats;

impl<F: Framing, S> Shard<F, S> {
    /// Whether the backend must hold back `slot`'s input for now.
    pub(crate) fn reading_paused(&self, slot: usize) -> bool {
        let s = &self.slots[slot];
        s.state == State::Open && s.pause.is_paused()
    }

    pub(super) fn note_read_change(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if !s.pause_listed {
            s.pause_listed = true;
            self.read_changes.push(slot as u32);
        }
    }

    /// Takes the list of sessions whose reading was paused or resumed; the
    /// backend checks [`Shard::reading_paused`] for each (a session can
    /// be listed although it ended up as it was).
    pub(crate) fn take_read_changes(&mut self, into: &mut Vec<u32>) {
        into.clear();
        std::mem::swap(into, &mut self.read_changes);
        for &slot in into.iter() {
            self.slots[slot as usize].pause_listed = false;
        }
    }

    /// Pauses reading `slot` if its queue is past the high-water mark.
    pub(super) fn check_high_water(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if !s.pause.by_output() && s.sendq.pending_bytes() > self.high_water {
            ThreadStats::add(&self.stats.output_pauses, 1);
            if s.pause.set_by_output(true) {
                self.note_read_change(slot);
            }
        }
    }
}
