//! The ringport side of the `chat` load: the packets of `docs/PROTOCOL.md`
//! (login 201, enter 206, chat 221; 222 and 223 come back). Setup uses
//! `ringport-proto`'s decoders; the hot path here checks a frame's header
//! and reads the 223's message field in place.

use ringport_proto::{Header, Message, RoomChatNtf, RoomChatReq, HEADER_LEN};

use super::{Envelope, Incoming};

/// Offset of the message field in a 223 (`ROOM_CHAT_NTF`).
const NTF_MESSAGE_AT: usize = HEADER_LEN + ringport_proto::UserId::FIELD_LEN;

impl Envelope {
    /// A ringport `ROOM_CHAT_REQ` (221) around a `size`-byte text: the
    /// header, then the text zero-padded to the 257-byte message field.
    pub fn ringport(size: usize) -> Envelope {
        let mut prefix = Vec::with_capacity(HEADER_LEN);
        let len = u16::try_from(RoomChatReq::LEN).unwrap_or(u16::MAX);
        Header::new(RoomChatReq::ID, len).write(&mut prefix);
        Envelope {
            prefix,
            suffix: vec![0; Message::FIELD_LEN.saturating_sub(size)],
        }
    }
}

/// Parses every complete ringport packet at the start of `buf`, calls `f`
/// for each, and returns how many bytes were consumed.
///
/// # Errors
///
/// A frame length outside `5..=max_frame`: the stream cannot be followed.
pub fn parse_ringport<'a>(
    buf: &'a [u8],
    max_frame: usize,
    mut f: impl FnMut(Incoming<'a>),
) -> Result<usize, String> {
    let mut pos = 0;
    while let Some(&[l0, l1, i0, i1, _]) = buf.get(pos..).and_then(|b| b.first_chunk::<5>()) {
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        if len < HEADER_LEN || len > max_frame {
            return Err(format!("bad frame length {len}"));
        }
        let Some(frame) = buf.get(pos..pos + len) else {
            break;
        };
        let id = u16::from_le_bytes([i0, i1]);
        let event = match id {
            ringport_proto::id::ROOM_CHAT_NTF if len == RoomChatNtf::LEN => {
                Incoming::Delivery(&frame[NTF_MESSAGE_AT..])
            }
            ringport_proto::id::ROOM_CHAT_RES if len == ringport_proto::RoomChatRes::LEN => {
                let code = u16::from_le_bytes([frame[HEADER_LEN], frame[HEADER_LEN + 1]]);
                Incoming::Ack {
                    ok: code == 0,
                    code,
                }
            }
            ringport_proto::id::ROOM_LEAVE_USER_NTF => Incoming::Left,
            _ => Incoming::Other,
        };
        f(event);
        pos += len;
    }
    Ok(pos)
}

/// Test fixtures shared with the WebSocket side.
#[cfg(test)]
pub(crate) mod fixtures {
    use ringport_proto::{Message, RoomChatNtf, UserId};

    use crate::load::chat::wire::{write_text, Envelope, Stamp};

    /// One message of `env` with a `size`-byte text stamped `stamp`.
    pub(crate) fn filled(env: &Envelope, stamp: Stamp, size: usize) -> Vec<u8> {
        let mut out = env.prefix.clone();
        write_text(&mut out, stamp, size);
        out.extend_from_slice(&env.suffix);
        out
    }

    /// A 223 from `b3` carrying a 64-byte text with sequence number `seq`.
    pub(crate) fn chat_ntf(seq: u64) -> Vec<u8> {
        let mut text = Vec::new();
        let stamp = Stamp {
            sender: 3,
            seq,
            sched_ns: 5,
        };
        write_text(&mut text, stamp, 64);
        let mut ntf = Vec::new();
        RoomChatNtf {
            user_id: UserId::new("b3").unwrap(),
            message: Message::new(std::str::from_utf8(&text).unwrap()).unwrap(),
        }
        .encode(&mut ntf);
        ntf
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{chat_ntf, filled};
    use super::*;
    use crate::load::chat::wire::{read_text, write_text, Stamp};

    #[test]
    fn ringport_envelope_matches_proto_encoder() {
        let env = Envelope::ringport(64);
        let stamp = Stamp {
            sender: 9,
            seq: 1,
            sched_ns: 77,
        };
        let ours = filled(&env, stamp, 64);
        assert_eq!(ours.len(), env.len(64));
        let mut text = Vec::new();
        write_text(&mut text, stamp, 64);
        let text = std::str::from_utf8(&text).unwrap();
        let mut theirs = Vec::new();
        RoomChatReq::new(text).unwrap().encode(&mut theirs);
        assert_eq!(ours, theirs);
    }

    #[test]
    fn ringport_parser_splits_frames() {
        let mut buf = Vec::new();
        ringport_proto::RoomChatRes::new(ringport_proto::ResultCode::None).encode(&mut buf);
        buf.extend_from_slice(&chat_ntf(4));
        ringport_proto::RoomChatRes::new(ringport_proto::ResultCode::RoomTooManyPacket)
            .encode(&mut buf);
        let whole = buf.len();
        buf.extend_from_slice(&[7, 0, 202]); // part of the next frame
        let mut seen = Vec::new();
        let used = parse_ringport(&buf, 8192, |e| seen.push(e)).unwrap();
        assert_eq!(used, whole);
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], Incoming::Ack { ok: true, code: 0 });
        match seen[1] {
            Incoming::Delivery(t) => assert_eq!(read_text(t).unwrap().seq, 4),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            seen[2],
            Incoming::Ack {
                ok: false,
                code: 63
            }
        );
        assert!(parse_ringport(&[4, 0, 1, 0, 0], 8192, |_| {}).is_err());
        assert!(parse_ringport(&[0xFF, 0x7F, 1, 0, 0], 8192, |_| {}).is_err());
    }
}
