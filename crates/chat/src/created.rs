//! [`CreatedRooms`]: the rooms users created — their names, capacities and
//! creators, the numbers they were given, and when each closes if it stays
//! empty (see `docs/PROTOCOL.md`, "Created rooms").
//!
//! Members are not kept here: a created room's members live in
//! [`crate::room::Rooms`] like a fixed room's. This registry only knows
//! whether a room is empty, to run its idle-close clock. Close times sit in
//! a min-heap deleted lazily: an entry is stale once its room is gone or
//! was entered (or emptied again) since, and stale entries are dropped when
//! they reach the top.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

/// One created room.
#[derive(Debug, Clone)]
pub(crate) struct CreatedRoom {
    /// Its name as given.
    pub(crate) name: Arc<str>,
    /// Its name compared for uniqueness (lower case).
    pub(crate) key: Box<str>,
    /// Its capacity.
    pub(crate) max_users: usize,
    /// The user id that created it.
    pub(crate) creator: Arc<str>,
    /// When it became empty (created, or its last member left); `None`
    /// while it has members.
    pub(crate) empty_since: Option<Instant>,
}

/// The open created rooms.
#[derive(Debug)]
pub(crate) struct CreatedRooms {
    rooms: BTreeMap<i32, CreatedRoom>,
    names: FxHashMap<Box<str>, i32>,
    per_creator: FxHashMap<Arc<str>, u32>,
    /// First number of the created range (its end is `i32::MAX`).
    first: i32,
    /// The next number to try.
    next: i32,
    /// How long a room may stay empty.
    idle: Duration,
    closes: BinaryHeap<Reverse<(Instant, i32)>>,
}

impl CreatedRooms {
    /// No rooms; numbers are given from `first` up; a room closes once it
    /// has been empty for `idle`.
    pub(crate) fn new(first: i32, idle: Duration) -> CreatedRooms {
        CreatedRooms {
            rooms: BTreeMap::new(),
            names: FxHashMap::default(),
            per_creator: FxHashMap::default(),
            first,
            next: first,
            idle,
            closes: BinaryHeap::new(),
        }
    }

    /// The open room numbered `number`.
    pub(crate) fn get(&self, number: i32) -> Option<&CreatedRoom> {
        self.rooms.get(&number)
    }

    /// The open room whose name has this key (see
    /// [`ringport_proto::RoomName::key`]).
    pub(crate) fn by_key(&self, key: &str) -> Option<i32> {
        self.names.get(key).copied()
    }

    /// Open created rooms.
    pub(crate) fn len(&self) -> usize {
        self.rooms.len()
    }

    /// Open rooms created by `user_id`.
    pub(crate) fn created_by(&self, user_id: &str) -> u32 {
        self.per_creator.get(user_id).copied().unwrap_or(0)
    }

    /// Every open room, by number.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i32, &CreatedRoom)> {
        self.rooms.iter().map(|(&n, r)| (n, r))
    }

    /// A free number: the next one up, or once the range is used up, the
    /// lowest free one; `None` when every number of the range is open.
    pub(crate) fn free_number(&self) -> Option<i32> {
        let above = (self.next..=i32::MAX).find(|n| !self.rooms.contains_key(n));
        above.or_else(|| (self.first..self.next).find(|n| !self.rooms.contains_key(n)))
    }

    /// Opens `room` as `number` (a number from [`Self::free_number`], or
    /// given by the cluster), empty since `now`. Returns false, changing
    /// nothing, if the number or the name is taken.
    pub(crate) fn open(&mut self, number: i32, room: CreatedRoom, now: Instant) -> bool {
        if self.rooms.contains_key(&number) || self.names.contains_key(&room.key) {
            return false;
        }
        self.names.insert(room.key.clone(), number);
        *self.per_creator.entry(room.creator.clone()).or_default() += 1;
        if number >= self.next {
            self.next = number.checked_add(1).unwrap_or(self.first);
        }
        self.rooms.insert(
            number,
            CreatedRoom {
                empty_since: Some(now),
                ..room
            },
        );
        self.schedule(number, now);
        true
    }

    /// `number` got its first member: its idle clock stops.
    pub(crate) fn occupied(&mut self, number: i32) {
        if let Some(room) = self.rooms.get_mut(&number) {
            room.empty_since = None;
        }
    }

    /// `number` lost its last member at `now`: its idle clock starts.
    pub(crate) fn emptied(&mut self, number: i32, now: Instant) {
        if let Some(room) = self.rooms.get_mut(&number) {
            room.empty_since = Some(now);
            self.schedule(number, now);
        }
    }

    fn schedule(&mut self, number: i32, empty_since: Instant) {
        if let Some(at) = empty_since.checked_add(self.idle) {
            self.closes.push(Reverse((at, number)));
        }
    }

    /// Removes `number`, freeing its name and its place in its creator's
    /// count.
    pub(crate) fn close(&mut self, number: i32) -> Option<CreatedRoom> {
        let room = self.rooms.remove(&number)?;
        self.names.remove(&room.key);
        if let Some(count) = self.per_creator.get_mut(&room.creator) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_creator.remove(&room.creator);
            }
        }
        Some(room)
    }

    fn is_live(&self, at: Instant, number: i32) -> bool {
        self.rooms
            .get(&number)
            .and_then(|r| r.empty_since)
            .and_then(|since| since.checked_add(self.idle))
            == Some(at)
    }

    /// Drops stale close times from the top, so [`Self::next_close`] is
    /// exact.
    pub(crate) fn prune(&mut self) {
        while let Some(Reverse((at, number))) = self.closes.peek().copied() {
            if self.is_live(at, number) {
                break;
            }
            self.closes.pop();
        }
    }

    /// When the next empty room is due to close.
    pub(crate) fn next_close(&self) -> Option<Instant> {
        self.closes.peek().map(|Reverse((at, _))| *at)
    }

    /// The rooms that have been empty for the idle time at `now` (removed
    /// from the schedule, not yet closed).
    pub(crate) fn due(&mut self, now: Instant) -> Vec<i32> {
        let mut due = Vec::new();
        while let Some(Reverse((at, number))) = self.closes.peek().copied() {
            if at > now {
                break;
            }
            self.closes.pop();
            if self.is_live(at, number) {
                due.push(number);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str, creator: &str) -> CreatedRoom {
        CreatedRoom {
            name: Arc::from(name),
            key: name.to_lowercase().into(),
            max_users: 4,
            creator: Arc::from(creator),
            empty_since: None,
        }
    }

    #[test]
    fn names_numbers_and_creators() {
        let now = Instant::now();
        let mut rooms = CreatedRooms::new(1000, Duration::from_secs(300));
        assert_eq!(rooms.free_number(), Some(1000));
        assert!(rooms.open(1000, room("Rust", "ann"), now));
        assert!(
            !rooms.open(1001, room("rust", "bob"), now),
            "name taken, case ignored"
        );
        assert_eq!(rooms.free_number(), Some(1001));
        assert!(rooms.open(1001, room("Go", "ann"), now));
        assert_eq!(
            (rooms.created_by("ann"), rooms.by_key("go")),
            (2, Some(1001))
        );
        assert!(rooms.close(1000).is_some());
        assert_eq!((rooms.created_by("ann"), rooms.by_key("rust")), (1, None));
        // Numbers go on upward: 1000 is not given again yet.
        assert_eq!(rooms.free_number(), Some(1002));
    }

    #[test]
    fn numbers_wrap_to_the_lowest_free_one() {
        let now = Instant::now();
        let mut rooms = CreatedRooms::new(i32::MAX - 2, Duration::from_secs(1));
        for (n, name) in [(i32::MAX - 2, "a"), (i32::MAX - 1, "b"), (i32::MAX, "c")] {
            assert_eq!(rooms.free_number(), Some(n));
            assert!(rooms.open(n, room(name, "u"), now));
        }
        assert_eq!(rooms.free_number(), None);
        rooms.close(i32::MAX - 1);
        assert_eq!(rooms.free_number(), Some(i32::MAX - 1));
    }

    #[test]
    fn empty_rooms_come_due_after_the_idle_time() {
        let t0 = Instant::now();
        let idle = Duration::from_secs(300);
        let mut rooms = CreatedRooms::new(1000, idle);
        rooms.open(1000, room("a", "u"), t0);
        rooms.open(1001, room("b", "u"), t0);
        rooms.occupied(1001);
        assert_eq!(rooms.next_close(), Some(t0 + idle));
        rooms.prune();
        assert!(rooms.due(t0 + idle - Duration::from_millis(1)).is_empty());
        let t1 = t0 + Duration::from_secs(10);
        rooms.emptied(1001, t1);
        assert_eq!(rooms.due(t0 + idle), vec![1000]);
        rooms.prune();
        assert_eq!(rooms.next_close(), Some(t1 + idle));
        // Entered again before its time: the entry is stale.
        rooms.occupied(1001);
        rooms.prune();
        assert_eq!(rooms.next_close(), None);
        assert!(rooms.due(t1 + idle).is_empty());
    }
}
