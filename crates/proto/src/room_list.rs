//! The room list (extension): [`RoomInfo`], the entry shared by
//! `ROOM_LIST_NTF` (305, [`RoomListNtf`], split at 127 by
//! [`encode_room_list`]) and `ROOM_LIST_CHANGE_NTF` (306,
//! [`RoomListChangeNtf`]); see `docs/PROTOCOL.md`, "Created rooms".
//!
//! An entry is `i32 number, u16 users, u16 max_users, u8 flags, u8
//! name_len, name bytes` (10 to 42 bytes). Flags: bit 0 the room was
//! created by a user (0: one of the fixed rooms, which have no name), bit
//! 1 the room has closed (306 only). Other bits are sent as 0 and ignored
//! on receive.

use std::iter::FusedIterator;

use crate::codec::{put_header, CountedPacket, Reader};
use crate::error::BodyError;
use crate::header::HEADER_LEN;
use crate::id;
use crate::room_name::{put_prefixed, RoomName};

const FLAG_CREATED: u8 = 1;
const FLAG_CLOSED: u8 = 2;

/// One room of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomInfo<'a> {
    /// The room's number (what 206 takes).
    pub number: i32,
    /// Members now (cluster-wide in cluster mode); 0 once closed.
    pub users: u16,
    /// The room's capacity.
    pub max_users: u16,
    /// Whether a user created it (`false`: a fixed room).
    pub created: bool,
    /// Whether it has closed (only in a 306).
    pub closed: bool,
    /// Its name; `None` for a fixed room.
    pub name: Option<RoomName<'a>>,
}

impl<'a> RoomInfo<'a> {
    /// Longest entry: 10 bytes and a 32-byte name.
    pub const MAX_LEN: usize = 10 + RoomName::MAX_LEN;

    /// Size of this entry on the wire.
    pub fn encoded_len(&self) -> usize {
        10 + self.name.map_or(0, |n| n.as_str().len())
    }

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.number.to_le_bytes());
        out.extend_from_slice(&self.users.to_le_bytes());
        out.extend_from_slice(&self.max_users.to_le_bytes());
        let mut flags = 0;
        if self.created {
            flags |= FLAG_CREATED;
        }
        if self.closed {
            flags |= FLAG_CLOSED;
        }
        out.push(flags);
        put_prefixed(out, self.name.map_or(&[][..], |n| n.as_str().as_bytes()));
    }

    fn read(r: &mut Reader<'a>) -> Result<RoomInfo<'a>, BodyError> {
        let number = r.i32()?;
        let users = r.u16()?;
        let max_users = r.u16()?;
        let flags = r.u8()?;
        let name = r.prefixed()?;
        let name = if name.is_empty() {
            None
        } else {
            Some(RoomName::from_bytes(name).map_err(BodyError::RoomName)?)
        };
        Ok(RoomInfo {
            number,
            users,
            max_users,
            created: flags & FLAG_CREATED != 0,
            closed: flags & FLAG_CLOSED != 0,
            name,
        })
    }
}

/// `ROOM_LIST_NTF` (305, extension): `u8 count` (at most 127), then `count`
/// [`RoomInfo`] entries. A list is sent as packets of 127 rooms and a last
/// one with fewer (possibly 0), as 209 is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomListNtf<'a> {
    count: u8,
    entries: &'a [u8],
}

impl<'a> RoomListNtf<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_LIST_NTF;
    /// Most rooms in one packet.
    pub const MAX_ROOMS: usize = 127;
    /// Longest packet (5340 bytes).
    pub const MAX_LEN: usize = HEADER_LEN + 1 + Self::MAX_ROOMS * RoomInfo::MAX_LEN;

    /// Rooms in this packet.
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether this packet lists no room.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether this packet ends its list (fewer than 127 rooms).
    pub const fn is_last(&self) -> bool {
        self.len() < Self::MAX_ROOMS
    }

    /// The rooms, in wire order.
    pub fn rooms(&self) -> Rooms<'a> {
        Rooms {
            rest: self.entries,
            left: self.count,
        }
    }

    /// Total length of the encoded packet.
    pub const fn encoded_len(&self) -> usize {
        HEADER_LEN + 1 + self.entries.len()
    }

    /// Appends the packet to `out`, as it was received.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_header(out, Self::ID, self.encoded_len());
        out.push(self.count);
        out.extend_from_slice(self.entries);
    }

    pub(crate) fn decode_body(body: &'a [u8]) -> Result<RoomListNtf<'a>, BodyError> {
        let mut r = Reader::new(body);
        let count = r.u8()?;
        if usize::from(count) > Self::MAX_ROOMS {
            return Err(BodyError::TooManyRooms(count));
        }
        let entries = r.rest();
        for _ in 0..count {
            RoomInfo::read(&mut r)?;
        }
        r.finish()?;
        Ok(RoomListNtf { count, entries })
    }
}

/// Iterator over the rooms of a decoded [`RoomListNtf`].
#[derive(Debug, Clone)]
pub struct Rooms<'a> {
    rest: &'a [u8],
    left: u8,
}

impl<'a> Iterator for Rooms<'a> {
    type Item = RoomInfo<'a>;

    fn next(&mut self) -> Option<RoomInfo<'a>> {
        if self.left == 0 {
            return None;
        }
        let mut r = Reader::new(self.rest);
        // Checked when the packet was decoded; a failure ends the iteration.
        let Ok(room) = RoomInfo::read(&mut r) else {
            self.left = 0;
            return None;
        };
        self.rest = r.rest();
        self.left -= 1;
        Some(room)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::from(self.left), Some(usize::from(self.left)))
    }
}

impl ExactSizeIterator for Rooms<'_> {}

impl FusedIterator for Rooms<'_> {}

/// Appends a whole room list to `out` as 305 packets (127 rooms each, then
/// a last one with fewer, possibly 0) and returns how many it wrote.
pub fn encode_room_list<'r, I>(rooms: I, out: &mut Vec<u8>) -> usize
where
    I: IntoIterator<Item = RoomInfo<'r>>,
{
    let mut packets = 1;
    let mut packet = CountedPacket::start(out, RoomListNtf::ID);
    for room in rooms {
        room.put(out);
        packet.count += 1;
        if packet.count == RoomListNtf::MAX_ROOMS {
            packet.finish(out);
            packets += 1;
            packet = CountedPacket::start(out, RoomListNtf::ID);
        }
    }
    packet.finish(out);
    packets
}

/// `ROOM_LIST_CHANGE_NTF` (306, extension): one [`RoomInfo`], sent to the
/// sessions watching the list when a room opens, closes (`closed` set) or
/// changes its member count; at most one per room per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomListChangeNtf<'a> {
    /// The room as it is now.
    pub room: RoomInfo<'a>,
}

impl<'a> RoomListChangeNtf<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_LIST_CHANGE_NTF;

    /// Total length of the encoded packet.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.room.encoded_len()
    }

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_header(out, Self::ID, self.encoded_len());
        self.room.put(out);
    }

    pub(crate) fn decode_body(body: &'a [u8]) -> Result<RoomListChangeNtf<'a>, BodyError> {
        let mut r = Reader::new(body);
        let room = RoomInfo::read(&mut r)?;
        r.finish()?;
        Ok(RoomListChangeNtf { room })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerPacket;

    fn room(number: i32, name: Option<&'static str>) -> RoomInfo<'static> {
        RoomInfo {
            number,
            users: 3,
            max_users: 8,
            created: name.is_some(),
            closed: false,
            name: name.and_then(|n| RoomName::new(n).ok()),
        }
    }

    #[test]
    fn entry_bytes_match_the_protocol_example() {
        let mut out = Vec::new();
        RoomListChangeNtf {
            room: room(1000, Some("rust")),
        }
        .encode(&mut out);
        assert_eq!(
            out,
            [
                0x13, 0x00, 0x32, 0x01, 0x00, // header: 19 bytes, id 306
                0xE8, 0x03, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x01, 0x04, b'r', b'u', b's', b't'
            ]
        );
        match ServerPacket::decode(&out) {
            Ok(ServerPacket::RoomListChangeNtf(ntf)) => {
                assert_eq!(ntf.room, room(1000, Some("rust")))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lists_split_at_127_and_round_trip() {
        for n in [0usize, 1, 126, 127, 128, 300] {
            let rooms: Vec<RoomInfo<'static>> = (0..n)
                .map(|i| room(i as i32, (i % 2 == 1).then_some("a room")))
                .collect();
            let mut out = Vec::new();
            let packets = encode_room_list(rooms.iter().copied(), &mut out);
            assert_eq!(packets, n / 127 + 1, "{n}");
            let mut rest = &out[..];
            let mut seen = Vec::new();
            while !rest.is_empty() {
                let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
                let Ok(ServerPacket::RoomListNtf(list)) = ServerPacket::decode(&rest[..len]) else {
                    panic!("not a 305");
                };
                assert!(list.encoded_len() <= RoomListNtf::MAX_LEN);
                seen.extend(list.rooms());
                rest = &rest[len..];
                assert_eq!(list.is_last(), rest.is_empty());
            }
            assert_eq!(seen, rooms);
        }
    }

    #[test]
    fn bad_entries_are_refused() {
        let mut out = Vec::new();
        encode_room_list([room(1, Some("ok"))], &mut out);
        // A name of one control character.
        let at = out.len() - 2;
        out[at] = 0x07;
        assert!(ServerPacket::decode(&out).is_err());
        // A count above 127.
        let mut out = Vec::new();
        encode_room_list(std::iter::empty(), &mut out);
        out[5] = 128;
        assert!(ServerPacket::decode(&out).is_err());
    }
}
