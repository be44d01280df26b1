//! The room list as watchers see it: a room's entry ([`Chat::room_info`]),
//! the 306 sent when a room changes (coalesced by [`crate::watch::Watch`]),
//! and the closing of created rooms left empty for the idle time.

use std::time::Instant;

use ringport_proto::{RoomInfo, RoomListChangeNtf, RoomName};

use crate::chat::{encode_shared, Chat};
use crate::outbound::Outbound;
use crate::watch::{Closed, Due};

impl Chat {
    /// The list entry of `room` now: a fixed room (no name) or an open
    /// created room; `None` for anything else.
    pub(crate) fn room_info(&self, room: i32) -> Option<RoomInfo<'_>> {
        let users = u16::try_from(self.member_count(room)).unwrap_or(u16::MAX);
        if self.config.has_room(room) {
            return Some(RoomInfo {
                number: room,
                users,
                max_users: u16::try_from(self.config.room_max_users).unwrap_or(u16::MAX),
                created: false,
                closed: false,
                name: None,
            });
        }
        let created = self.created.get(room)?;
        Some(RoomInfo {
            number: room,
            users,
            max_users: u16::try_from(created.max_users).unwrap_or(u16::MAX),
            created: true,
            closed: false,
            // Checked when the room was created.
            name: RoomName::new(&created.name).ok(),
        })
    }

    /// `room` was created, entered or left: a 306 to the watchers, now or
    /// when its second is over.
    pub(crate) fn room_changed(&mut self, room: i32, outbound: &mut impl Outbound) {
        let Some(now) = self.now else {
            return;
        };
        if self.watch.changed(room, now) {
            self.send_current(room, outbound);
        }
    }

    fn send_current(&mut self, room: i32, outbound: &mut impl Outbound) {
        let Some(info) = self.room_info(room) else {
            return;
        };
        let ntf = RoomListChangeNtf { room: info };
        let packet = encode_shared(ntf.encoded_len(), |buf| ntf.encode(buf));
        self.send_to_watchers(&packet, outbound);
    }

    fn send_closed(&mut self, room: i32, closed: &Closed, outbound: &mut impl Outbound) {
        let ntf = RoomListChangeNtf {
            room: RoomInfo {
                number: room,
                users: 0,
                max_users: u16::try_from(closed.max_users).unwrap_or(u16::MAX),
                created: true,
                closed: true,
                name: RoomName::new(&closed.name).ok(),
            },
        };
        let packet = encode_shared(ntf.encoded_len(), |buf| ntf.encode(buf));
        self.send_to_watchers(&packet, outbound);
    }

    fn send_to_watchers(&mut self, packet: &bytes::Bytes, outbound: &mut impl Outbound) {
        for &watcher in self.watch.watchers() {
            outbound.send_shared(watcher, packet);
        }
        self.stats.room_changes_out += self.watch.watchers().len() as u64;
    }

    /// Closes `room` (a created room): its name and number are free, and
    /// the watchers learn it.
    pub(crate) fn close_room(&mut self, room: i32, outbound: &mut impl Outbound) {
        let Some(gone) = self.created.close(room) else {
            return;
        };
        self.stats.rooms_closed += 1;
        self.history.forget(room);
        tracing::debug!(room, name = %gone.name, "created room closed");
        let closed = Closed {
            name: gone.name,
            max_users: gone.max_users,
        };
        let Some(now) = self.now else {
            return;
        };
        if self.watch.closed(room, closed.clone(), now) {
            self.send_closed(room, &closed, outbound);
        }
    }

    /// Closes the created rooms empty for the idle time at `now` (not in
    /// cluster mode: there the shared registry decides, see
    /// `crate::cluster`).
    pub(crate) fn close_idle_rooms(&mut self, now: Instant, outbound: &mut impl Outbound) {
        for room in self.created.due(now) {
            if self.cluster.is_some() {
                continue;
            }
            if self.rooms.members(room).is_empty() {
                self.close_room(room, outbound);
            }
        }
    }

    /// Sends the 306s held back until `now`.
    pub(crate) fn send_due_changes(&mut self, now: Instant, outbound: &mut impl Outbound) {
        for due in self.watch.take_due(now) {
            match due {
                Due::Current(room) => self.send_current(room, outbound),
                Due::Closed(room, closed) => self.send_closed(room, &closed, outbound),
            }
        }
    }
}
