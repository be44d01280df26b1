//! Server-to-client packets: responses, notifies and [`ServerPacket`], the one
//! decoder for everything a client receives.

use crate::codec::{member_len, put_header, put_member, put_raw, Reader};
use crate::echo::DevEcho;
use crate::error::{BodyError, DecodeError, EncodeError};
use crate::header::HEADER_LEN;
use crate::hello::HelloRes;
use crate::history::{RoomChatSeqNtf, RoomHistoryRes};
use crate::id;
use crate::request::split_frame;
use crate::result::ResultCode;
use crate::room_list::{RoomListChangeNtf, RoomListNtf};
use crate::text::{Message, UserId};
use crate::token::ResumeTokenNtf;
use crate::user_list::RoomUserListNtf;

macro_rules! result_packet {
    ($(#[$doc:meta])* $name:ident, $id:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            /// The result code.
            pub result: ResultCode,
        }

        impl $name {
            /// The packet id.
            pub const ID: u16 = $id;
            /// Total length of the packet.
            pub const LEN: usize = HEADER_LEN + 2;

            /// A response carrying `result`.
            pub const fn new(result: ResultCode) -> $name {
                $name { result }
            }

            /// Appends the packet to `out`.
            pub fn encode(&self, out: &mut Vec<u8>) {
                out.reserve(Self::LEN);
                put_header(out, Self::ID, Self::LEN);
                out.extend_from_slice(&self.result.code().to_le_bytes());
            }

            fn decode_body(body: &[u8]) -> Result<$name, BodyError> {
                let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
                Ok($name { result: r.result()? })
            }
        }
    };
}

result_packet!(
    /// `LOGIN_RES` (202), 7 bytes: `u16 result`.
    LoginRes,
    id::LOGIN_RES
);

result_packet!(
    /// `ROOM_ENTER_RES` (207), 7 bytes: `u16 result`.
    RoomEnterRes,
    id::ROOM_ENTER_RES
);

result_packet!(
    /// `ROOM_LEAVE_RES` (216), 7 bytes: `u16 result`.
    RoomLeaveRes,
    id::ROOM_LEAVE_RES
);

result_packet!(
    /// `ROOM_CHAT_RES` (222), 7 bytes: `u16 result`.
    RoomChatRes,
    id::ROOM_CHAT_RES
);

result_packet!(
    /// `ROOM_LIST_RES` (304, extension), 7 bytes: `u16 result`. On success
    /// the list follows as 305 packets.
    RoomListRes,
    id::ROOM_LIST_RES
);

result_packet!(
    /// `LOGIN_TOKEN_RES` (318, extension), 7 bytes: `u16 result`. On
    /// success a fresh 316 follows.
    LoginTokenRes,
    id::LOGIN_TOKEN_RES
);

macro_rules! numbered_result_packet {
    ($(#[$doc:meta])* $name:ident, $id:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            /// The result code.
            pub result: ResultCode,
            /// The room's number on success; 0 otherwise.
            pub room_number: i32,
        }

        impl $name {
            /// The packet id.
            pub const ID: u16 = $id;
            /// Total length of the packet.
            pub const LEN: usize = HEADER_LEN + 2 + 4;

            /// A response carrying `result` (and room 0).
            pub const fn new(result: ResultCode) -> $name {
                $name { result, room_number: 0 }
            }

            /// Appends the packet to `out`.
            pub fn encode(&self, out: &mut Vec<u8>) {
                out.reserve(Self::LEN);
                put_header(out, Self::ID, Self::LEN);
                out.extend_from_slice(&self.result.code().to_le_bytes());
                out.extend_from_slice(&self.room_number.to_le_bytes());
            }

            fn decode_body(body: &[u8]) -> Result<$name, BodyError> {
                let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
                Ok($name { result: r.result()?, room_number: r.i32()? })
            }
        }
    };
}

numbered_result_packet!(
    /// `ROOM_CREATE_RES` (302, extension), 11 bytes: `u16 result`, `i32
    /// room_number`.
    RoomCreateRes,
    id::ROOM_CREATE_RES
);

numbered_result_packet!(
    /// `ROOM_ENTER_NAME_RES` (308, extension), 11 bytes: `u16 result`, `i32
    /// room_number`. On success the 209 list follows, as after a 207.
    RoomEnterNameRes,
    id::ROOM_ENTER_NAME_RES
);

/// `ROOM_NEW_USER_NTF` (208), 14 to 46 bytes: `i64 user_unique_id`,
/// `u8 id_len`, `id_len` bytes of user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomNewUserNtf<'a> {
    /// The new member's unique id.
    pub user_unique_id: i64,
    /// The new member's user id.
    pub user_id: UserId<'a>,
}

impl<'a> RoomNewUserNtf<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_NEW_USER_NTF;

    /// Total length of the encoded packet.
    pub const fn encoded_len(&self) -> usize {
        HEADER_LEN + member_len(self.user_id)
    }

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_header(out, Self::ID, self.encoded_len());
        put_member(out, self.user_unique_id, self.user_id);
    }

    fn decode_body(body: &'a [u8]) -> Result<RoomNewUserNtf<'a>, BodyError> {
        let mut r = Reader::new(body);
        let user_unique_id = r.i64()?;
        let id_len = usize::from(r.u8()?);
        if r.rest().len() != id_len {
            return Err(BodyError::WrongSize {
                len: body.len(),
                expected: 8 + 1 + id_len,
            });
        }
        let user_id = UserId::from_bytes(r.rest()).map_err(|source| BodyError::Text {
            field: crate::TextField::UserId,
            source,
        })?;
        Ok(RoomNewUserNtf {
            user_unique_id,
            user_id,
        })
    }
}

/// `ROOM_LEAVE_USER_NTF` (217), 13 bytes: `i64 user_unique_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomLeaveUserNtf {
    /// The leaving member's unique id.
    pub user_unique_id: i64,
}

impl RoomLeaveUserNtf {
    /// The packet id.
    pub const ID: u16 = id::ROOM_LEAVE_USER_NTF;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + 8;

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        out.extend_from_slice(&self.user_unique_id.to_le_bytes());
    }

    fn decode_body(body: &[u8]) -> Result<RoomLeaveUserNtf, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(RoomLeaveUserNtf {
            user_unique_id: r.i64()?,
        })
    }
}

/// `ROOM_CHAT_NTF` (223), 295 bytes: `UserID[33]`, `Message[257]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomChatNtf<'a> {
    /// The sender's user id.
    pub user_id: UserId<'a>,
    /// The message.
    pub message: Message<'a>,
}

impl<'a> RoomChatNtf<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_CHAT_NTF;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + UserId::FIELD_LEN + Message::FIELD_LEN;

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        self.user_id.write_field(out);
        self.message.write_field(out);
    }

    fn decode_body(body: &'a [u8]) -> Result<RoomChatNtf<'a>, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(RoomChatNtf {
            user_id: r.user_id_field()?,
            message: r.message_field()?,
        })
    }
}

/// Everything a client receives (server to client), borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerPacket<'a> {
    /// 1.
    DevEcho(DevEcho<'a>),
    /// 202.
    LoginRes(LoginRes),
    /// 207.
    RoomEnterRes(RoomEnterRes),
    /// 208.
    RoomNewUserNtf(RoomNewUserNtf<'a>),
    /// 209.
    RoomUserListNtf(RoomUserListNtf<'a>),
    /// 216.
    RoomLeaveRes(RoomLeaveRes),
    /// 217.
    RoomLeaveUserNtf(RoomLeaveUserNtf),
    /// 222.
    RoomChatRes(RoomChatRes),
    /// 223.
    RoomChatNtf(RoomChatNtf<'a>),
    /// 302 (extension).
    RoomCreateRes(RoomCreateRes),
    /// 304 (extension).
    RoomListRes(RoomListRes),
    /// 305 (extension).
    RoomListNtf(RoomListNtf<'a>),
    /// 306 (extension).
    RoomListChangeNtf(RoomListChangeNtf<'a>),
    /// 308 (extension).
    RoomEnterNameRes(RoomEnterNameRes),
    /// 312 (extension).
    HelloRes(HelloRes),
    /// 313 (extension).
    RoomChatSeqNtf(RoomChatSeqNtf<'a>),
    /// 315 (extension).
    RoomHistoryRes(RoomHistoryRes),
    /// 316 (extension).
    ResumeTokenNtf(ResumeTokenNtf<'a>),
    /// 318 (extension).
    LoginTokenRes(LoginTokenRes),
    /// An id a client does not handle, including the request ids. Encoding it
    /// writes the same frame back (with type 0).
    Unknown {
        /// The packet id.
        id: u16,
        /// The raw body.
        body: &'a [u8],
    },
}

impl<'a> ServerPacket<'a> {
    /// Decodes one complete frame, as cut by [`crate::frame_len`]. The type
    /// byte is ignored.
    ///
    /// # Errors
    ///
    /// [`DecodeError::InvalidBody`] for a known packet with an invalid body
    /// (wrong size, bad text, undefined result code, bad user list);
    /// [`DecodeError::TooShort`] or [`DecodeError::LengthMismatch`] if `frame`
    /// is not one whole frame.
    pub fn decode(frame: &'a [u8]) -> Result<ServerPacket<'a>, DecodeError> {
        let (id, body) = split_frame(frame)?;
        let invalid = |reason| DecodeError::InvalidBody { id, reason };
        Ok(match id {
            id::DEV_ECHO => ServerPacket::DevEcho(DevEcho { body }),
            id::LOGIN_RES => ServerPacket::LoginRes(LoginRes::decode_body(body).map_err(invalid)?),
            id::ROOM_ENTER_RES => {
                ServerPacket::RoomEnterRes(RoomEnterRes::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_NEW_USER_NTF => {
                ServerPacket::RoomNewUserNtf(RoomNewUserNtf::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_USER_LIST_NTF => {
                ServerPacket::RoomUserListNtf(RoomUserListNtf::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_LEAVE_RES => {
                ServerPacket::RoomLeaveRes(RoomLeaveRes::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_LEAVE_USER_NTF => ServerPacket::RoomLeaveUserNtf(
                RoomLeaveUserNtf::decode_body(body).map_err(invalid)?,
            ),
            id::ROOM_CHAT_RES => {
                ServerPacket::RoomChatRes(RoomChatRes::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_CHAT_NTF => {
                ServerPacket::RoomChatNtf(RoomChatNtf::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_CREATE_RES => {
                ServerPacket::RoomCreateRes(RoomCreateRes::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_LIST_RES => {
                ServerPacket::RoomListRes(RoomListRes::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_LIST_NTF => {
                ServerPacket::RoomListNtf(RoomListNtf::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_LIST_CHANGE_NTF => ServerPacket::RoomListChangeNtf(
                RoomListChangeNtf::decode_body(body).map_err(invalid)?,
            ),
            id::ROOM_ENTER_NAME_RES => ServerPacket::RoomEnterNameRes(
                RoomEnterNameRes::decode_body(body).map_err(invalid)?,
            ),
            id::HELLO_RES => ServerPacket::HelloRes(HelloRes::decode_body(body).map_err(invalid)?),
            id::ROOM_CHAT_SEQ_NTF => {
                ServerPacket::RoomChatSeqNtf(RoomChatSeqNtf::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_HISTORY_RES => {
                ServerPacket::RoomHistoryRes(RoomHistoryRes::decode_body(body).map_err(invalid)?)
            }
            id::RESUME_TOKEN_NTF => {
                ServerPacket::ResumeTokenNtf(ResumeTokenNtf::decode_body(body).map_err(invalid)?)
            }
            id::LOGIN_TOKEN_RES => {
                ServerPacket::LoginTokenRes(LoginTokenRes::decode_body(body).map_err(invalid)?)
            }
            _ => ServerPacket::Unknown { id, body },
        })
    }

    /// The response to request `request_id` carrying `result`: 202, 207, 216,
    /// 222, 302, 304, 308, 312, 315 or 318 (room 0 where the response has a
    /// number, no feature in a 312; see [`crate::id::response_to`]); `None` for an id without one.
    /// A server answers [`DecodeError::InvalidBody`] with
    /// `ServerPacket::response(id, ResultCode::InvalidPacket)`.
    pub const fn response(request_id: u16, result: ResultCode) -> Option<ServerPacket<'static>> {
        Some(match request_id {
            id::LOGIN_REQ => ServerPacket::LoginRes(LoginRes::new(result)),
            id::ROOM_ENTER_REQ => ServerPacket::RoomEnterRes(RoomEnterRes::new(result)),
            id::ROOM_LEAVE_REQ => ServerPacket::RoomLeaveRes(RoomLeaveRes::new(result)),
            id::ROOM_CHAT_REQ => ServerPacket::RoomChatRes(RoomChatRes::new(result)),
            id::ROOM_CREATE_REQ => ServerPacket::RoomCreateRes(RoomCreateRes::new(result)),
            id::ROOM_LIST_REQ => ServerPacket::RoomListRes(RoomListRes::new(result)),
            id::ROOM_ENTER_NAME_REQ => {
                ServerPacket::RoomEnterNameRes(RoomEnterNameRes::new(result))
            }
            id::HELLO_REQ => ServerPacket::HelloRes(HelloRes::new(result)),
            id::ROOM_HISTORY_REQ => ServerPacket::RoomHistoryRes(RoomHistoryRes::new(result)),
            id::LOGIN_TOKEN_REQ => ServerPacket::LoginTokenRes(LoginTokenRes::new(result)),
            _ => return None,
        })
    }

    /// The packet id.
    pub const fn id(&self) -> u16 {
        match self {
            ServerPacket::DevEcho(_) => DevEcho::ID,
            ServerPacket::LoginRes(_) => LoginRes::ID,
            ServerPacket::RoomEnterRes(_) => RoomEnterRes::ID,
            ServerPacket::RoomNewUserNtf(_) => RoomNewUserNtf::ID,
            ServerPacket::RoomUserListNtf(_) => RoomUserListNtf::ID,
            ServerPacket::RoomLeaveRes(_) => RoomLeaveRes::ID,
            ServerPacket::RoomLeaveUserNtf(_) => RoomLeaveUserNtf::ID,
            ServerPacket::RoomChatRes(_) => RoomChatRes::ID,
            ServerPacket::RoomChatNtf(_) => RoomChatNtf::ID,
            ServerPacket::RoomCreateRes(_) => RoomCreateRes::ID,
            ServerPacket::RoomListRes(_) => RoomListRes::ID,
            ServerPacket::RoomListNtf(_) => RoomListNtf::ID,
            ServerPacket::RoomListChangeNtf(_) => RoomListChangeNtf::ID,
            ServerPacket::RoomEnterNameRes(_) => RoomEnterNameRes::ID,
            ServerPacket::HelloRes(_) => HelloRes::ID,
            ServerPacket::RoomChatSeqNtf(_) => RoomChatSeqNtf::ID,
            ServerPacket::RoomHistoryRes(_) => RoomHistoryRes::ID,
            ServerPacket::ResumeTokenNtf(_) => ResumeTokenNtf::ID,
            ServerPacket::LoginTokenRes(_) => LoginTokenRes::ID,
            ServerPacket::Unknown { id, .. } => *id,
        }
    }

    /// Appends the packet to `out`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLong`] if a [`DevEcho`] or [`ServerPacket::Unknown`]
    /// body does not fit in a frame; nothing is appended then.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            ServerPacket::DevEcho(p) => return p.encode(out),
            ServerPacket::LoginRes(p) => p.encode(out),
            ServerPacket::RoomEnterRes(p) => p.encode(out),
            ServerPacket::RoomNewUserNtf(p) => p.encode(out),
            ServerPacket::RoomUserListNtf(p) => p.encode(out),
            ServerPacket::RoomLeaveRes(p) => p.encode(out),
            ServerPacket::RoomLeaveUserNtf(p) => p.encode(out),
            ServerPacket::RoomChatRes(p) => p.encode(out),
            ServerPacket::RoomChatNtf(p) => p.encode(out),
            ServerPacket::RoomCreateRes(p) => p.encode(out),
            ServerPacket::RoomListRes(p) => p.encode(out),
            ServerPacket::RoomListNtf(p) => p.encode(out),
            ServerPacket::RoomListChangeNtf(p) => p.encode(out),
            ServerPacket::RoomEnterNameRes(p) => p.encode(out),
            ServerPacket::HelloRes(p) => p.encode(out),
            ServerPacket::RoomChatSeqNtf(p) => p.encode(out),
            ServerPacket::RoomHistoryRes(p) => p.encode(out),
            ServerPacket::ResumeTokenNtf(p) => p.encode(out),
            ServerPacket::LoginTokenRes(p) => p.encode(out),
            ServerPacket::Unknown { id, body } => return put_raw(out, *id, body),
        }
        Ok(())
    }
}
