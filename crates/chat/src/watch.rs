//! [`Watch`]: the sessions watching the room list, and the coalescing of
//! their change notifies (306): at most one per room per second.
//!
//! The first change of a quiet room is sent at once. A change within
//! [`COALESCE`] of the room's last 306 is not sent then: the room is marked
//! pending and sent once, as it is at that time, when the second is over.
//! A room that closes while pending keeps a snapshot of itself, since the
//! registry has forgotten it by then.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::conn::ConnId;

/// Least time between two 306s about one room.
pub(crate) const COALESCE: Duration = Duration::from_secs(1);

/// What a watcher is told about a room that closed.
#[derive(Debug, Clone)]
pub(crate) struct Closed {
    /// Its name.
    pub(crate) name: Arc<str>,
    /// Its capacity.
    pub(crate) max_users: usize,
}

/// A room whose 306 is due.
#[derive(Debug)]
pub(crate) enum Due {
    /// Send the room as it is now.
    Current(i32),
    /// The room closed: send this.
    Closed(i32, Closed),
}

/// Watchers and the coalescing state.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    watchers: BTreeSet<ConnId>,
    last_sent: FxHashMap<i32, Instant>,
    /// Rooms with a 306 held back; `Some` for a room that closed.
    pending: FxHashMap<i32, Option<Closed>>,
    due: BinaryHeap<Reverse<(Instant, i32)>>,
}

impl Watch {
    /// Starts (`true`) or stops watching for `conn`.
    pub(crate) fn set(&mut self, conn: ConnId, watch: bool) {
        if watch {
            self.watchers.insert(conn);
        } else {
            self.watchers.remove(&conn);
        }
        if self.watchers.is_empty() {
            // Nobody to tell: forget what was held back.
            self.last_sent.clear();
            self.pending.clear();
            self.due.clear();
        }
    }

    /// The watching sessions.
    pub(crate) fn watchers(&self) -> &BTreeSet<ConnId> {
        &self.watchers
    }

    /// `room` changed at `now`: whether to send its 306 now (otherwise it
    /// is held back, or nobody watches).
    pub(crate) fn changed(&mut self, room: i32, now: Instant) -> bool {
        self.note(room, None, now)
    }

    /// `room` closed at `now`: whether to send its closed 306 now
    /// (otherwise `closed` is kept until it is due).
    pub(crate) fn closed(&mut self, room: i32, closed: Closed, now: Instant) -> bool {
        let send = self.note(room, Some(closed), now);
        if send {
            self.last_sent.remove(&room);
        }
        send
    }

    fn note(&mut self, room: i32, closed: Option<Closed>, now: Instant) -> bool {
        if self.watchers.is_empty() {
            return false;
        }
        if let Some(held) = self.pending.get_mut(&room) {
            if closed.is_some() {
                *held = closed;
            }
            return false;
        }
        match self
            .last_sent
            .get(&room)
            .and_then(|t| t.checked_add(COALESCE))
        {
            Some(at) if at > now => {
                self.pending.insert(room, closed);
                self.due.push(Reverse((at, room)));
                false
            }
            _ => {
                self.last_sent.insert(room, now);
                true
            }
        }
    }

    /// When the next held-back 306 is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.due.peek().map(|Reverse((at, _))| *at)
    }

    /// The held-back 306s due at `now`, marked as sent.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<Due> {
        let mut out = Vec::new();
        while let Some(Reverse((at, room))) = self.due.peek().copied() {
            if at > now {
                break;
            }
            self.due.pop();
            match self.pending.remove(&room) {
                Some(Some(closed)) => {
                    self.last_sent.remove(&room);
                    out.push(Due::Closed(room, closed));
                }
                Some(None) => {
                    self.last_sent.insert(room, now);
                    out.push(Due::Current(room));
                }
                None => {}
            }
        }
        // Rooms quiet for a second need no memory of their last 306.
        if self.last_sent.len() > 64 {
            self.last_sent
                .retain(|_, t| t.checked_add(COALESCE).is_some_and(|at| at > now));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed() -> Closed {
        Closed {
            name: Arc::from("r"),
            max_users: 4,
        }
    }

    #[test]
    fn nothing_is_held_without_watchers() {
        let now = Instant::now();
        let mut watch = Watch::default();
        assert!(!watch.changed(1, now));
        assert_eq!(watch.next_due(), None);
    }

    #[test]
    fn one_notify_per_room_per_second() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        watch.set(ConnId(1), true);
        assert!(watch.changed(1, t0), "a quiet room goes out at once");
        assert!(watch.changed(2, t0), "rooms are independent");
        let t1 = t0 + Duration::from_millis(100);
        assert!(!watch.changed(1, t1));
        assert!(!watch.changed(1, t1 + Duration::from_millis(100)));
        assert_eq!(watch.next_due(), Some(t0 + COALESCE));
        assert!(watch.take_due(t0 + Duration::from_millis(999)).is_empty());
        let due = watch.take_due(t0 + COALESCE);
        assert!(matches!(due.as_slice(), [Due::Current(1)]));
        // Sent at t0 + 1 s: the next change waits for t0 + 2 s.
        assert!(!watch.changed(1, t0 + COALESCE + Duration::from_millis(1)));
        assert_eq!(watch.next_due(), Some(t0 + COALESCE * 2));
    }

    #[test]
    fn a_close_replaces_a_held_change_and_is_sent_once() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        watch.set(ConnId(1), true);
        assert!(watch.changed(7, t0));
        assert!(!watch.changed(7, t0));
        assert!(!watch.closed(7, closed(), t0));
        let due = watch.take_due(t0 + COALESCE);
        assert!(matches!(due.as_slice(), [Due::Closed(7, _)]));
        assert!(watch.take_due(t0 + COALESCE * 3).is_empty());
        // A closed room's number starts afresh.
        assert!(watch.changed(7, t0 + COALESCE));
    }
}
