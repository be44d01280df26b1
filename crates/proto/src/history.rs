//! Room history (extension): `ROOM_CHAT_SEQ_NTF` (313, live chat with its
//! room, epoch, sequence number and time, for sessions with
//! [`crate::Features::HISTORY`]), `ROOM_HISTORY_REQ` (314) and
//! `ROOM_HISTORY_RES` (315); see `docs/PROTOCOL.md`, "History and resume".

use crate::codec::{put_header, Reader};
use crate::error::BodyError;
use crate::header::HEADER_LEN;
use crate::id;
use crate::result::ResultCode;
use crate::text::{Message, UserId};

/// `ROOM_CHAT_SEQ_NTF` (313, extension), 323 bytes: `i32 room`, `u64
/// epoch`, `u64 seq`, `i64 time_ms` (Unix time in milliseconds, the
/// server's clock), `UserID[33]`, `Message[257]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomChatSeqNtf<'a> {
    /// The room.
    pub room: i32,
    /// The room's history epoch.
    pub epoch: u64,
    /// The message's sequence number in the epoch (from 1).
    pub seq: u64,
    /// When the server accepted it, Unix milliseconds.
    pub time_ms: i64,
    /// The sender.
    pub user_id: UserId<'a>,
    /// The message.
    pub message: Message<'a>,
}

impl<'a> RoomChatSeqNtf<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_CHAT_SEQ_NTF;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + 4 + 8 + 8 + 8 + UserId::FIELD_LEN + Message::FIELD_LEN;

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        out.extend_from_slice(&self.room.to_le_bytes());
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.time_ms.to_le_bytes());
        self.user_id.write_field(out);
        self.message.write_field(out);
    }

    pub(crate) fn decode_body(body: &'a [u8]) -> Result<RoomChatSeqNtf<'a>, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(RoomChatSeqNtf {
            room: r.i32()?,
            epoch: r.u64()?,
            seq: r.u64()?,
            time_ms: r.i64()?,
            user_id: r.user_id_field()?,
            message: r.message_field()?,
        })
    }
}

/// `ROOM_HISTORY_REQ` (314, extension), 23 bytes: `u64 epoch`, `u64
/// after_seq`, `u16 max`. The messages of the session's room after
/// `after_seq` of `epoch`, oldest first; `after_seq` [`Self::LAST`]: the
/// last `max`. `max` 0 or above 100 counts as 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomHistoryReq {
    /// The epoch `after_seq` belongs to.
    pub epoch: u64,
    /// The last sequence number the client has.
    pub after_seq: u64,
    /// Most messages wanted.
    pub max: u16,
}

impl RoomHistoryReq {
    /// The packet id.
    pub const ID: u16 = id::ROOM_HISTORY_REQ;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + 8 + 8 + 2;
    /// `after_seq` asking for the last `max` messages, whatever the epoch.
    pub const LAST: u64 = u64::MAX;
    /// Most messages one request returns.
    pub const MAX_MESSAGES: u16 = 100;

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.after_seq.to_le_bytes());
        out.extend_from_slice(&self.max.to_le_bytes());
    }

    /// `max` as the server counts it: 1 to 100.
    pub const fn limit(&self) -> u16 {
        if self.max == 0 || self.max > Self::MAX_MESSAGES {
            Self::MAX_MESSAGES
        } else {
            self.max
        }
    }

    pub(crate) fn decode_body(body: &[u8]) -> Result<RoomHistoryReq, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(RoomHistoryReq {
            epoch: r.u64()?,
            after_seq: r.u64()?,
            max: r.u16()?,
        })
    }
}

/// `ROOM_HISTORY_RES` (315, extension), 30 bytes: `u16 result`, `i32
/// room`, `u64 epoch`, `u64 last_seq`, `u8 flags` (bit 0: history lost,
/// bit 1: more after these), `u16 count`; on success `count` 313s follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomHistoryRes {
    /// The result code.
    pub result: ResultCode,
    /// The room.
    pub room: i32,
    /// The room's epoch now.
    pub epoch: u64,
    /// The room's latest sequence number (0: nothing said in this epoch).
    pub last_seq: u64,
    /// The client's position is older than what is kept, or of another
    /// epoch: messages were lost; what follows starts at the oldest kept.
    pub lost: bool,
    /// More messages follow the ones sent: ask again after the last.
    pub more: bool,
    /// 313s that follow.
    pub count: u16,
}

impl RoomHistoryRes {
    /// The packet id.
    pub const ID: u16 = id::ROOM_HISTORY_RES;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + 2 + 4 + 8 + 8 + 1 + 2;

    /// A refusal carrying `result`.
    pub const fn new(result: ResultCode) -> RoomHistoryRes {
        RoomHistoryRes {
            result,
            room: 0,
            epoch: 0,
            last_seq: 0,
            lost: false,
            more: false,
            count: 0,
        }
    }

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        out.extend_from_slice(&self.result.code().to_le_bytes());
        out.extend_from_slice(&self.room.to_le_bytes());
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.last_seq.to_le_bytes());
        out.push(u8::from(self.lost) | (u8::from(self.more) << 1));
        out.extend_from_slice(&self.count.to_le_bytes());
    }

    pub(crate) fn decode_body(body: &[u8]) -> Result<RoomHistoryRes, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        let result = r.result()?;
        let room = r.i32()?;
        let epoch = r.u64()?;
        let last_seq = r.u64()?;
        let flags = r.u8()?;
        Ok(RoomHistoryRes {
            result,
            room,
            epoch,
            last_seq,
            lost: flags & 1 != 0,
            more: flags & 2 != 0,
            count: r.u16()?,
        })
    }
}
