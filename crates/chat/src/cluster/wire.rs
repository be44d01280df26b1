//! The messages on a room's bus channel, as bytes.
//!
//! One message per room event, published once whatever the number of
//! nodes and members:
//!
//! ```text
//! ORIGIN SEQ C <encoded 223 packet>      a chat (SEQ is 0)
//! ORIGIN SEQ N EPOCH NUM TIME <223>      a numbered chat (history on; SEQ
//!                                        is 0): its epoch, sequence number
//!                                        and time (Unix ms), written by the
//!                                        host's chat script
//! ORIGIN SEQ E UNIQUE_ID USER_ID         a member entered (208)
//! ORIGIN SEQ L UNIQUE_ID                 a member left (217)
//! ```
//!
//! `ORIGIN` is the publishing node's id (no spaces), so a node skips its
//! own messages; `SEQ` is the room's change number (decimal), taken in the
//! same Redis script that changed the room's membership, so changes arrive
//! in the order they were made. Enter and leave messages are written by
//! those scripts (see the host); chats by [`encode_chat`]. Anything that
//! does not parse is refused with a [`WireError`], never a panic: the bytes
//! come from Redis.
//!
//! The *lobby* channel carries the created-room registry's changes and the
//! rooms' member counts ([`parse_lobby`]), every node subscribed:
//!
//! ```text
//! ORIGIN VER O NUMBER ENTRY              a room opened (RoomOpened)
//! ORIGIN VER X NUMBER                    a room closed (RoomClosed)
//! ORIGIN 0 U ROOM USERS                  a room's cluster-wide count
//! ```
//!
//! `VER` is the registry's version after the change (one counter, taken in
//! the script that changed the registry); `ENTRY` is a registry entry as
//! the room metadata hash holds it ([`encode_room_entry`]):
//! `MAX CREATOR_LEN KEY_LEN CREATOR KEY NAME` (lengths in bytes, so user
//! ids and names may hold spaces).

use std::sync::Arc;

use bytes::Bytes;
use ringport_proto::{RoomName, ServerPacket, UserId};

use super::{ChatNumber, RemoteMember, RoomChange, SharedRoom};

/// Why a bus message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A field is missing or malformed.
    #[error("malformed bus message: {0}")]
    Malformed(&'static str),
}

/// A parsed bus message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage<'a> {
    /// The node that published it.
    pub origin: &'a str,
    /// What happened.
    pub change: RoomChange,
}

/// Whether `node` can be a node id: 1 to 64 bytes of ASCII graphic
/// characters (no spaces).
pub fn valid_node_id(node: &str) -> bool {
    (1..=64).contains(&node.len()) && node.bytes().all(|b| b.is_ascii_graphic())
}

/// The message for a chat notify `packet` (an encoded 223) published by
/// `origin`.
pub fn encode_chat(origin: &str, packet: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(origin.len() + 5 + packet.len());
    buf.extend_from_slice(origin.as_bytes());
    buf.extend_from_slice(b" 0 C ");
    buf.extend_from_slice(packet);
    buf
}

/// The message for a chat numbered `number` (what the host's chat script
/// publishes; for tests and tools).
pub fn encode_numbered_chat(origin: &str, number: ChatNumber, packet: &[u8]) -> Vec<u8> {
    let mut buf = format!(
        "{origin} 0 N {} {} {} ",
        number.epoch, number.seq, number.time_ms
    )
    .into_bytes();
    buf.extend_from_slice(packet);
    buf
}

fn split_field(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == b' ')?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

fn number<T: std::str::FromStr>(bytes: &[u8], what: &'static str) -> Result<T, WireError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(WireError::Malformed(what))
}

/// Parses one bus message.
///
/// # Errors
///
/// [`WireError::Malformed`] when a field is missing, a number does not
/// parse, a user id is not valid, or a chat is not one whole 223 packet.
pub fn parse(payload: &[u8]) -> Result<BusMessage<'_>, WireError> {
    let (origin, rest) = split_field(payload).ok_or(WireError::Malformed("origin"))?;
    let origin = std::str::from_utf8(origin)
        .ok()
        .filter(|o| valid_node_id(o))
        .ok_or(WireError::Malformed("origin"))?;
    let (seq, rest) = split_field(rest).ok_or(WireError::Malformed("seq"))?;
    let seq: u64 = number(seq, "seq")?;
    let (kind, rest) = split_field(rest).ok_or(WireError::Malformed("kind"))?;
    let change = match kind {
        b"C" => match ServerPacket::decode(rest) {
            Ok(ServerPacket::RoomChatNtf(_)) => RoomChange::Chat {
                packet: Bytes::copy_from_slice(rest),
            },
            _ => return Err(WireError::Malformed("chat packet")),
        },
        b"N" => {
            let (epoch, rest) = split_field(rest).ok_or(WireError::Malformed("epoch"))?;
            let (num, rest) = split_field(rest).ok_or(WireError::Malformed("number"))?;
            let (time, rest) = split_field(rest).ok_or(WireError::Malformed("time"))?;
            let number = ChatNumber {
                epoch: number(epoch, "epoch")?,
                seq: number(num, "number")?,
                time_ms: number(time, "time")?,
            };
            match ServerPacket::decode(rest) {
                Ok(ServerPacket::RoomChatNtf(_)) => RoomChange::NumberedChat {
                    number,
                    own: false,
                    packet: Bytes::copy_from_slice(rest),
                },
                _ => return Err(WireError::Malformed("chat packet")),
            }
        }
        b"E" => {
            let (uid, name) = split_field(rest).ok_or(WireError::Malformed("enter"))?;
            let unique_id = number(uid, "unique id")?;
            let user_id = std::str::from_utf8(name)
                .ok()
                .filter(|n| UserId::new(n).is_ok())
                .ok_or(WireError::Malformed("user id"))?;
            RoomChange::Enter {
                seq,
                member: RemoteMember {
                    unique_id,
                    user_id: Arc::from(user_id),
                },
            }
        }
        b"L" => RoomChange::Leave {
            seq,
            unique_id: number(rest, "unique id")?,
        },
        _ => return Err(WireError::Malformed("kind")),
    };
    Ok(BusMessage { origin, change })
}

/// Parses a membership entry of the room hash, `NODE USER_ID`, into the
/// node and the member (with `unique_id`, the hash field).
///
/// # Errors
///
/// [`WireError::Malformed`] when the node or the user id is not valid.
pub fn parse_entry(unique_id: i64, value: &[u8]) -> Result<(&str, RemoteMember), WireError> {
    let (node, name) = split_field(value).ok_or(WireError::Malformed("entry"))?;
    let node = std::str::from_utf8(node)
        .ok()
        .filter(|n| valid_node_id(n))
        .ok_or(WireError::Malformed("entry node"))?;
    let user_id = std::str::from_utf8(name)
        .ok()
        .filter(|n| UserId::new(n).is_ok())
        .ok_or(WireError::Malformed("entry user id"))?;
    Ok((
        node,
        RemoteMember {
            unique_id,
            user_id: Arc::from(user_id),
        },
    ))
}

/// A change on the lobby channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LobbyChange {
    /// A room was created; the registry is at `version`.
    Opened {
        /// The registry's version after the change.
        version: u64,
        /// The room.
        room: SharedRoom,
    },
    /// A room closed; the registry is at `version`.
    Closed {
        /// The registry's version after the change.
        version: u64,
        /// Its number.
        number: i32,
    },
    /// A room's member count on all nodes.
    Users {
        /// The room.
        room: i32,
        /// Its members.
        users: usize,
    },
}

/// A parsed lobby message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobbyMessage<'a> {
    /// The node that published it.
    pub origin: &'a str,
    /// What happened.
    pub change: LobbyChange,
}

/// A created room as the registry's metadata hash holds it (the number is
/// the hash field): `MAX CREATOR_LEN KEY_LEN CREATOR KEY NAME`.
pub fn encode_room_entry(room: &SharedRoom) -> Vec<u8> {
    format!(
        "{} {} {} {} {} {}",
        room.max_users,
        room.creator.len(),
        room.key.len(),
        room.creator,
        room.key,
        room.name
    )
    .into_bytes()
}

fn take<'a>(
    bytes: &'a [u8],
    len: usize,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), WireError> {
    if bytes.len() <= len || bytes[len] != b' ' {
        return Err(WireError::Malformed(what));
    }
    Ok((&bytes[..len], &bytes[len + 1..]))
}

/// Parses a registry entry ([`encode_room_entry`]) of room number `room`.
///
/// # Errors
///
/// [`WireError::Malformed`] when a field is missing, a length disagrees
/// with the bytes, the creator is not a valid user id, the name not a
/// valid room name, or the key not the name's key.
pub fn parse_room_entry(room: i32, entry: &[u8]) -> Result<SharedRoom, WireError> {
    let (max, rest) = split_field(entry).ok_or(WireError::Malformed("entry max"))?;
    let max_users: u16 = number(max, "entry max")?;
    let (clen, rest) = split_field(rest).ok_or(WireError::Malformed("entry creator length"))?;
    let clen: usize = number(clen, "entry creator length")?;
    let (klen, rest) = split_field(rest).ok_or(WireError::Malformed("entry key length"))?;
    let klen: usize = number(klen, "entry key length")?;
    let (creator, rest) = take(rest, clen, "entry creator")?;
    let (key, name) = take(rest, klen, "entry key")?;
    let creator = std::str::from_utf8(creator)
        .ok()
        .filter(|c| UserId::new(c).is_ok())
        .ok_or(WireError::Malformed("entry creator"))?;
    let name = RoomName::from_bytes(name).map_err(|_| WireError::Malformed("entry name"))?;
    if key != name.key().as_bytes() || max_users == 0 {
        return Err(WireError::Malformed("entry key"));
    }
    Ok(SharedRoom {
        number: room,
        name: Arc::from(name.as_str()),
        key: Arc::from(name.key()),
        max_users: usize::from(max_users),
        creator: Arc::from(creator),
    })
}

/// Parses one lobby message.
///
/// # Errors
///
/// [`WireError::Malformed`] when a field is missing or malformed.
pub fn parse_lobby(payload: &[u8]) -> Result<LobbyMessage<'_>, WireError> {
    let (origin, rest) = split_field(payload).ok_or(WireError::Malformed("origin"))?;
    let origin = std::str::from_utf8(origin)
        .ok()
        .filter(|o| valid_node_id(o))
        .ok_or(WireError::Malformed("origin"))?;
    let (version, rest) = split_field(rest).ok_or(WireError::Malformed("version"))?;
    let version: u64 = number(version, "version")?;
    let (kind, rest) = split_field(rest).ok_or(WireError::Malformed("kind"))?;
    let change = match kind {
        b"O" => {
            let (n, entry) = split_field(rest).ok_or(WireError::Malformed("opened"))?;
            LobbyChange::Opened {
                version,
                room: parse_room_entry(number(n, "room number")?, entry)?,
            }
        }
        b"X" => LobbyChange::Closed {
            version,
            number: number(rest, "room number")?,
        },
        b"U" => {
            let (room, users) = split_field(rest).ok_or(WireError::Malformed("users"))?;
            LobbyChange::Users {
                room: number(room, "room number")?,
                users: number(users, "users")?,
            }
        }
        _ => return Err(WireError::Malformed("kind")),
    };
    Ok(LobbyMessage { origin, change })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringport_proto::{Message, RoomChatNtf};

    fn chat_packet() -> Vec<u8> {
        let ntf = RoomChatNtf {
            user_id: UserId::new("ann").unwrap_or_else(|_| unreachable!()),
            message: Message::new("hi there").unwrap_or_else(|_| unreachable!()),
        };
        let mut buf = Vec::new();
        ntf.encode(&mut buf);
        buf
    }

    #[test]
    fn numbered_chat_round_trips() {
        let packet = chat_packet();
        let number = ChatNumber {
            epoch: 1_700_000_000_123_456,
            seq: 42,
            time_ms: 1_700_000_000_123,
        };
        let msg = encode_numbered_chat("node-a", number, &packet);
        let parsed = parse(&msg);
        assert_eq!(
            parsed,
            Ok(BusMessage {
                origin: "node-a",
                change: RoomChange::NumberedChat {
                    number,
                    own: false,
                    packet: Bytes::from(packet.clone()),
                },
            })
        );
        let bad = b"node-a 0 N 1 x 3 "
            .iter()
            .chain(&packet)
            .copied()
            .collect::<Vec<_>>();
        assert!(parse(&bad).is_err());
        assert!(parse(b"node-a 0 N 1 2 3 \x01").is_err());
    }

    #[test]
    fn chat_round_trips() {
        let packet = chat_packet();
        let msg = encode_chat("node-a", &packet);
        let parsed = parse(&msg);
        assert_eq!(
            parsed,
            Ok(BusMessage {
                origin: "node-a",
                change: RoomChange::Chat {
                    packet: Bytes::from(packet)
                }
            })
        );
    }

    #[test]
    fn enter_and_leave_parse_with_spaces_in_user_ids() {
        let parsed = parse(b"n1 7 E 42 ann lee");
        assert_eq!(
            parsed.map(|m| m.change),
            Ok(RoomChange::Enter {
                seq: 7,
                member: RemoteMember {
                    unique_id: 42,
                    user_id: Arc::from("ann lee")
                }
            })
        );
        assert_eq!(
            parse(b"n1 8 L 42").map(|m| m.change),
            Ok(RoomChange::Leave {
                seq: 8,
                unique_id: 42
            })
        );
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for bad in [
            &b""[..],
            b"n1",
            b"n1 x E 1 a",
            b"n1 1 E 1",
            b"n1 1 E x a",
            b"n1 1 E 1 ",
            b"n1 1 L",
            b"n1 1 L 1x",
            b"n1 1 C \x01\x02",
            b"n1 1 Z 1",
            b" 1 L 1",
            b"n1 1 E 1 \xff",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let long = "x".repeat(40);
        assert!(parse(format!("n 1 E 1 {long}").as_bytes()).is_err());
        assert!(parse_entry(1, b"node").is_err());
        assert!(parse_entry(1, b"node \xff").is_err());
        assert_eq!(
            parse_entry(3, b"node bob").map(|(n, m)| (n.to_owned(), m.unique_id)),
            Ok(("node".to_owned(), 3))
        );
    }

    fn room(number: i32, name: &str, creator: &str) -> SharedRoom {
        SharedRoom {
            number,
            name: Arc::from(name),
            key: Arc::from(name.to_lowercase()),
            max_users: 8,
            creator: Arc::from(creator),
        }
    }

    #[test]
    fn lobby_messages_round_trip() {
        for r in [room(1000, "Rust Talk", "ann lee"), room(7, "Ünï", "b")] {
            let entry = encode_room_entry(&r);
            assert_eq!(parse_room_entry(r.number, &entry), Ok(r.clone()));
            let mut msg = format!("n1 5 O {} ", r.number).into_bytes();
            msg.extend_from_slice(&entry);
            assert_eq!(
                parse_lobby(&msg),
                Ok(LobbyMessage {
                    origin: "n1",
                    change: LobbyChange::Opened {
                        version: 5,
                        room: r
                    }
                })
            );
        }
        assert_eq!(
            parse_lobby(b"n2 6 X 1000").map(|m| m.change),
            Ok(LobbyChange::Closed {
                version: 6,
                number: 1000
            })
        );
        assert_eq!(
            parse_lobby(b"n2 0 U 3 12").map(|m| m.change),
            Ok(LobbyChange::Users { room: 3, users: 12 })
        );
    }

    #[test]
    fn lobby_garbage_is_refused_not_panicked_on() {
        for bad in [
            &b""[..],
            b"n1",
            b"n1 1",
            b"n1 1 O",
            b"n1 1 O 5",
            b"n1 1 O x 8 3 4 ann rust rust",
            b"n1 1 O 5 8 3 4 ann rust",
            b"n1 1 O 5 8 3 4 ann rust ",
            b"n1 1 O 5 8 3 9 ann rust rust",
            b"n1 1 O 5 8 99 4 ann rust rust",
            b"n1 1 O 5 8 3 4 annXrustXrust",
            b"n1 1 O 5 8 3 4 ann Rust Rust",
            b"n1 1 O 5 0 3 4 ann rust rust",
            b"n1 1 O 5 70000 3 4 ann rust rust",
            b"n1 1 O 5 8 0 4  rust rust",
            b"n1 1 O 5 8 3 4 ann rust \xff",
            b"n1 1 O 5 8 3 4 ann rust  rust",
            b"n1 1 O 5 8 18446744073709551615 4 ann rust rust",
            b"n1 1 X",
            b"n1 1 X 1 2",
            b"n1 x X 1",
            b"n1 0 U 1",
            b"n1 0 U 1 -2",
            b"n1 0 U x 2",
            b"n1 0 Q 1 2",
            b" 0 U 1 2",
        ] {
            assert!(
                parse_lobby(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_room_entry(1, b"").is_err());
        assert!(parse_room_entry(1, b"8 3 4 ann rust rust").is_ok());
    }
}
