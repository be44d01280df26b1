//! [`Rooms`]: the rooms that have members, each a list of [`Member`]s in the
//! order they entered. A room exists only while it has members: the first to
//! enter creates it, the last to leave frees it.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::conn::ConnId;

/// A member of a room: enough to send to it and to list it (209/208).
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// Where to send.
    pub(crate) conn: ConnId,
    /// Its `user_unique_id`.
    pub(crate) unique_id: i64,
    /// Its user id.
    pub(crate) user_id: Arc<str>,
    /// Whether it gets chats as 313 (the history feature).
    pub(crate) history: bool,
}

/// The active rooms, by number. Room numbers are checked against the
/// configured range before they get here.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    rooms: FxHashMap<i32, Vec<Member>>,
    members: usize,
}

impl Rooms {
    /// The members of `room` (empty if it has none).
    pub(crate) fn members(&self, room: i32) -> &[Member] {
        self.rooms.get(&room).map_or(&[], Vec::as_slice)
    }

    /// Adds `member` to `room`, creating the room if needed. Returns the
    /// members now in it, the new one last.
    pub(crate) fn join(&mut self, room: i32, member: Member) -> &[Member] {
        self.members += 1;
        let members = self.rooms.entry(room).or_default();
        members.push(member);
        members
    }

    /// Removes `conn` from `room`, freeing the room if it is empty after.
    /// Returns the remaining members (empty if the room was freed or `conn`
    /// was not in it).
    pub(crate) fn leave(&mut self, room: i32, conn: ConnId) -> &[Member] {
        let Some(members) = self.rooms.get_mut(&room) else {
            return &[];
        };
        if let Some(at) = members.iter().position(|m| m.conn == conn) {
            members.remove(at);
            self.members -= 1;
        }
        if members.is_empty() {
            self.rooms.remove(&room);
            return &[];
        }
        // Re-borrow: the early return above ended the first borrow.
        self.members(room)
    }

    /// The numbers of the rooms with members, in no order.
    pub(crate) fn numbers(&self) -> impl Iterator<Item = i32> + '_ {
        self.rooms.keys().copied()
    }

    /// Rooms with at least one member.
    pub(crate) fn active(&self) -> usize {
        self.rooms.len()
    }

    /// Members of all rooms.
    pub(crate) fn total_members(&self) -> usize {
        self.members
    }

    /// Sets whether `conn`, a member of `room`, gets chats as 313.
    pub(crate) fn set_history(&mut self, room: i32, conn: ConnId, history: bool) {
        if let Some(member) = self
            .rooms
            .get_mut(&room)
            .and_then(|m| m.iter_mut().find(|m| m.conn == conn))
        {
            member.history = history;
        }
    }

    /// Every active room and its members (for the invariant checks).
    #[cfg(feature = "testing")]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i32, &[Member])> {
        self.rooms.iter().map(|(&n, m)| (n, m.as_slice()))
    }
}
