//! `ROOM_USER_LIST_NTF` (209): [`RoomUserListNtf`], its members, and
//! [`encode_user_list`], which splits a room's list into packets of at most
//! 127 users (see `docs/PROTOCOL.md`, "User lists").

use std::iter::FusedIterator;

use crate::codec::{member_len, put_header, put_member, CountedPacket, Reader};
use crate::error::{BodyError, EncodeError};
use crate::header::HEADER_LEN;
use crate::id;
use crate::text::UserId;

/// One user of a room: a 209 entry (and the content of a 208).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomMember<'a> {
    /// The id given to the login when it succeeded; never reused while the
    /// server runs.
    pub user_unique_id: i64,
    /// The user id.
    pub user_id: UserId<'a>,
}

/// `ROOM_USER_LIST_NTF` (209): `u8 count` (at most 127), then `count` entries
/// `{ i64 user_unique_id, u8 id_len, id bytes }`.
///
/// A decoded list borrows its entries from the frame; they were all checked
/// when it was decoded, so [`Self::members`] cannot fail. To encode a list
/// use [`Self::encode_members`] (one packet) or [`encode_user_list`] (any
/// length, split as the protocol says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomUserListNtf<'a> {
    count: u8,
    /// The checked entries, `count` of them and nothing else.
    entries: &'a [u8],
}

impl<'a> RoomUserListNtf<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_USER_LIST_NTF;
    /// Most users in one packet.
    pub const MAX_USERS: usize = 127;
    /// Longest packet: 127 entries with 32-byte user ids (5213 bytes, below
    /// the default `max_frame` of 8192).
    pub const MAX_LEN: usize = HEADER_LEN + 1 + Self::MAX_USERS * (8 + 1 + UserId::MAX_LEN);

    /// Number of users in this packet.
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether this packet lists no user.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether this packet is the last of its list: a full packet (127 users)
    /// is always followed by another one.
    pub const fn is_last(&self) -> bool {
        self.len() < Self::MAX_USERS
    }

    /// The users, in wire order.
    pub fn members(&self) -> Members<'a> {
        Members {
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

    /// Appends one 209 packet listing `members` to `out`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooManyUsers`] if there are more than
    /// [`Self::MAX_USERS`]; nothing is appended then.
    pub fn encode_members(
        members: &[RoomMember<'_>],
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        if members.len() > Self::MAX_USERS {
            return Err(EncodeError::TooManyUsers(members.len()));
        }
        let mut packet = CountedPacket::start(out, RoomUserListNtf::ID);
        for member in members {
            push_member(&mut packet, out, *member);
        }
        packet.finish(out);
        Ok(())
    }

    pub(crate) fn decode_body(body: &'a [u8]) -> Result<RoomUserListNtf<'a>, BodyError> {
        let mut r = Reader::new(body);
        let count = r.u8()?;
        if usize::from(count) > Self::MAX_USERS {
            return Err(BodyError::TooManyUsers(count));
        }
        let entries = r.rest();
        for _ in 0..count {
            r.i64()?;
            r.user_id_prefixed()?;
        }
        r.finish()?;
        Ok(RoomUserListNtf { count, entries })
    }
}

/// Iterator over the users of a decoded [`RoomUserListNtf`].
#[derive(Debug, Clone)]
pub struct Members<'a> {
    rest: &'a [u8],
    left: u8,
}

impl<'a> Iterator for Members<'a> {
    type Item = RoomMember<'a>;

    fn next(&mut self) -> Option<RoomMember<'a>> {
        if self.left == 0 {
            return None;
        }
        let mut r = Reader::new(self.rest);
        // The entries were checked when the packet was decoded; a failure here
        // cannot happen, and would end the iteration rather than panic.
        let member = match (r.i64(), r.user_id_prefixed()) {
            (Ok(user_unique_id), Ok(user_id)) => RoomMember {
                user_unique_id,
                user_id,
            },
            _ => {
                self.left = 0;
                return None;
            }
        };
        self.rest = r.rest();
        self.left -= 1;
        Some(member)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::from(self.left), Some(usize::from(self.left)))
    }
}

impl ExactSizeIterator for Members<'_> {}

impl FusedIterator for Members<'_> {}

/// Appends a room's whole user list to `out` as 209 packets, and returns how
/// many packets it wrote.
///
/// Per `docs/PROTOCOL.md`, a list is sent as packets of 127 users followed by
/// one last packet with fewer, possibly 0, so a client knows where the list
/// ends: 0 users → one empty packet; 127 → 127 + 0; 300 → 127 + 127 + 46.
/// Takes any iterator so callers need not collect their members first; no
/// allocation besides growing `out`.
pub fn encode_user_list<'m, I>(members: I, out: &mut Vec<u8>) -> usize
where
    I: IntoIterator<Item = RoomMember<'m>>,
{
    let mut packets = 1;
    let mut packet = CountedPacket::start(out, RoomUserListNtf::ID);
    for member in members {
        push_member(&mut packet, out, member);
        if packet.count == RoomUserListNtf::MAX_USERS {
            packet.finish(out);
            packets += 1;
            packet = CountedPacket::start(out, RoomUserListNtf::ID);
        }
    }
    packet.finish(out);
    packets
}

/// Appends one 209 entry to the packet being written (at most
/// [`RoomUserListNtf::MAX_USERS`] per packet).
fn push_member(packet: &mut CountedPacket, out: &mut Vec<u8>, member: RoomMember<'_>) {
    out.reserve(member_len(member.user_id));
    put_member(out, member.user_unique_id, member.user_id);
    packet.count += 1;
}
