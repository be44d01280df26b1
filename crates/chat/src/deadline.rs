//! [`Deadlines`]: login deadlines in a min-heap, deleted lazily.
//!
//! Every connect pushes `(deadline, conn)`. A login or a disconnect does not
//! search the heap: an entry is stale when its session is gone, logged in, or
//! has another deadline, and stale entries are dropped when they reach the
//! top. So [`Deadlines::peek`] is exact after [`Deadlines::prune`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::conn::ConnId;

/// Pending login deadlines.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, ConnId)>>,
}

impl Deadlines {
    /// Adds a deadline.
    pub(crate) fn push(&mut self, at: Instant, conn: ConnId) {
        self.heap.push(Reverse((at, conn)));
    }

    /// The earliest entry, stale or not.
    pub(crate) fn peek(&self) -> Option<(Instant, ConnId)> {
        self.heap.peek().map(|Reverse(entry)| *entry)
    }

    /// Removes the earliest entry.
    pub(crate) fn pop(&mut self) -> Option<(Instant, ConnId)> {
        self.heap.pop().map(|Reverse(entry)| entry)
    }

    /// Drops stale entries from the top (`live` says whether an entry still
    /// counts).
    pub(crate) fn prune(&mut self, mut live: impl FnMut(Instant, ConnId) -> bool) {
        while let Some((at, conn)) = self.peek() {
            if live(at, conn) {
                break;
            }
            self.heap.pop();
        }
    }
}
