//! Client-to-server packets: the requests and [`ClientPacket`], the one
//! decoder for everything a server receives.

use crate::codec::{put_header, put_raw, Reader};
use crate::echo::DevEcho;
use crate::error::{BodyError, DecodeError, EncodeError, TextField};
use crate::header::HEADER_LEN;
use crate::hello::HelloReq;
use crate::history::RoomHistoryReq;
use crate::id;
use crate::room_name::{put_prefixed, RoomName, RoomNameError};
use crate::text::{Message, Password, UserId};
use crate::token::LoginTokenReq;

/// `LOGIN_REQ` (201), 71 bytes: `UserID[33]`, `UserPW[33]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginReq<'a> {
    /// The user id.
    pub user_id: UserId<'a>,
    /// The password.
    pub password: Password<'a>,
}

impl<'a> LoginReq<'a> {
    /// The packet id.
    pub const ID: u16 = id::LOGIN_REQ;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + UserId::FIELD_LEN + Password::FIELD_LEN;

    /// A login request from plain text.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Text`] if the user id or the password is not 1 to 32
    /// bytes without NUL.
    pub fn new(user_id: &'a str, password: &'a str) -> Result<LoginReq<'a>, EncodeError> {
        Ok(LoginReq {
            user_id: UserId::new(user_id).map_err(EncodeError::text(TextField::UserId))?,
            password: Password::new(password).map_err(EncodeError::text(TextField::Password))?,
        })
    }

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        self.user_id.write_field(out);
        self.password.write_field(out);
    }

    fn decode_body(body: &'a [u8]) -> Result<LoginReq<'a>, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(LoginReq {
            user_id: r.user_id_field()?,
            password: r.password_field()?,
        })
    }
}

/// `ROOM_ENTER_REQ` (206), 9 bytes: `i32 room_number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomEnterReq {
    /// The room to enter.
    pub room_number: i32,
}

impl RoomEnterReq {
    /// The packet id.
    pub const ID: u16 = id::ROOM_ENTER_REQ;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + 4;

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        out.extend_from_slice(&self.room_number.to_le_bytes());
    }

    fn decode_body(body: &[u8]) -> Result<RoomEnterReq, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(RoomEnterReq {
            room_number: r.i32()?,
        })
    }
}

/// `ROOM_LEAVE_REQ` (215), 5 bytes: no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomLeaveReq;

impl RoomLeaveReq {
    /// The packet id.
    pub const ID: u16 = id::ROOM_LEAVE_REQ;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN;

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_header(out, Self::ID, Self::LEN);
    }

    fn decode_body(body: &[u8]) -> Result<RoomLeaveReq, BodyError> {
        Reader::fixed(body, 0).map(|_| RoomLeaveReq)
    }
}

/// `ROOM_CHAT_REQ` (221), 262 bytes: `Message[257]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomChatReq<'a> {
    /// The message.
    pub message: Message<'a>,
}

impl<'a> RoomChatReq<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_CHAT_REQ;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + Message::FIELD_LEN;

    /// A chat request from plain text.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Text`] if the message is not 1 to 256 bytes without NUL.
    pub fn new(message: &'a str) -> Result<RoomChatReq<'a>, EncodeError> {
        Ok(RoomChatReq {
            message: Message::new(message).map_err(EncodeError::text(TextField::Message))?,
        })
    }

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        self.message.write_field(out);
    }

    fn decode_body(body: &'a [u8]) -> Result<RoomChatReq<'a>, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(RoomChatReq {
            message: r.message_field()?,
        })
    }
}

/// `ROOM_CREATE_REQ` (301, extension), 8 to 40 bytes on a valid name:
/// `u16 max_users`, `u8 name_len`, `name_len` bytes of name.
///
/// The name is carried as received: the server checks it
/// ([`RoomName::from_bytes`]) and answers a bad one with 100, so the
/// decoder accepts any bytes whose length matches `name_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomCreateReq<'a> {
    /// The room's capacity; 0 asks for the server's default
    /// (`chat.room_max_users`).
    pub max_users: u16,
    /// The name's bytes, unchecked (at most 255 are encoded).
    pub name: &'a [u8],
}

impl<'a> RoomCreateReq<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_CREATE_REQ;

    /// A create request for a valid name.
    ///
    /// # Errors
    ///
    /// The [`RoomNameError`] of `name`.
    pub fn new(name: &'a str, max_users: u16) -> Result<RoomCreateReq<'a>, RoomNameError> {
        RoomName::new(name).map(|name| RoomCreateReq {
            max_users,
            name: name.as_str().as_bytes(),
        })
    }

    /// Total length of the encoded packet.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + 3 + self.name.len().min(255)
    }

    /// Appends the packet to `out` (a name longer than 255 bytes is cut to
    /// 255: the length field is one byte; the server refuses it anyway).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_header(out, Self::ID, self.encoded_len());
        out.extend_from_slice(&self.max_users.to_le_bytes());
        put_prefixed(out, self.name);
    }

    fn decode_body(body: &'a [u8]) -> Result<RoomCreateReq<'a>, BodyError> {
        let mut r = Reader::new(body);
        let max_users = r.u16()?;
        let name = r.prefixed()?;
        r.finish()?;
        Ok(RoomCreateReq { max_users, name })
    }
}

/// `ROOM_LIST_REQ` (303, extension), 6 bytes: `u8 watch`.
///
/// `watch` 1: list the rooms and send this session a 306 whenever one
/// changes; 0: list them and stop any watch. Other values are invalid (90).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomListReq {
    /// Whether to watch the list after this answer.
    pub watch: bool,
}

impl RoomListReq {
    /// The packet id.
    pub const ID: u16 = id::ROOM_LIST_REQ;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + 1;

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        out.push(u8::from(self.watch));
    }

    fn decode_body(body: &[u8]) -> Result<RoomListReq, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        match r.u8()? {
            0 => Ok(RoomListReq { watch: false }),
            1 => Ok(RoomListReq { watch: true }),
            other => Err(BodyError::BadFlag(other)),
        }
    }
}

/// `ROOM_ENTER_NAME_REQ` (307, extension), 6 to 38 bytes on a valid name:
/// `u8 name_len`, `name_len` bytes of name (carried unchecked, as in
/// [`RoomCreateReq`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomEnterNameReq<'a> {
    /// The name's bytes, unchecked (at most 255 are encoded).
    pub name: &'a [u8],
}

impl<'a> RoomEnterNameReq<'a> {
    /// The packet id.
    pub const ID: u16 = id::ROOM_ENTER_NAME_REQ;

    /// An enter request for a valid name.
    ///
    /// # Errors
    ///
    /// The [`RoomNameError`] of `name`.
    pub fn new(name: &'a str) -> Result<RoomEnterNameReq<'a>, RoomNameError> {
        RoomName::new(name).map(|name| RoomEnterNameReq {
            name: name.as_str().as_bytes(),
        })
    }

    /// Total length of the encoded packet.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + 1 + self.name.len().min(255)
    }

    /// Appends the packet to `out` (a name longer than 255 bytes is cut to
    /// 255).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_header(out, Self::ID, self.encoded_len());
        put_prefixed(out, self.name);
    }

    fn decode_body(body: &'a [u8]) -> Result<RoomEnterNameReq<'a>, BodyError> {
        let mut r = Reader::new(body);
        let name = r.prefixed()?;
        r.finish()?;
        Ok(RoomEnterNameReq { name })
    }
}

/// Everything a server receives (client to server), borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientPacket<'a> {
    /// 1.
    DevEcho(DevEcho<'a>),
    /// 201.
    LoginReq(LoginReq<'a>),
    /// 206.
    RoomEnterReq(RoomEnterReq),
    /// 215.
    RoomLeaveReq(RoomLeaveReq),
    /// 221.
    RoomChatReq(RoomChatReq<'a>),
    /// 301 (extension).
    RoomCreateReq(RoomCreateReq<'a>),
    /// 303 (extension).
    RoomListReq(RoomListReq),
    /// 307 (extension).
    RoomEnterNameReq(RoomEnterNameReq<'a>),
    /// 311 (extension).
    HelloReq(HelloReq),
    /// 314 (extension).
    RoomHistoryReq(RoomHistoryReq),
    /// 317 (extension).
    LoginTokenReq(LoginTokenReq<'a>),
    /// An id a server does not handle, including the ids a server sends
    /// (202, 207, …). Not an error: the server ignores it. Encoding it writes
    /// the same frame back (with type 0), which lets tests send such packets.
    Unknown {
        /// The packet id.
        id: u16,
        /// The raw body.
        body: &'a [u8],
    },
}

impl<'a> ClientPacket<'a> {
    /// Decodes one complete frame, as cut by [`crate::frame_len`]. The type
    /// byte is ignored.
    ///
    /// # Errors
    ///
    /// [`DecodeError::InvalidBody`] for a known request with a wrong body size
    /// or a bad text field (answer with result 90, see
    /// [`crate::id::response_to`]); [`DecodeError::TooShort`] or
    /// [`DecodeError::LengthMismatch`] if `frame` is not one whole frame.
    pub fn decode(frame: &'a [u8]) -> Result<ClientPacket<'a>, DecodeError> {
        let (id, body) = split_frame(frame)?;
        let invalid = |reason| DecodeError::InvalidBody { id, reason };
        Ok(match id {
            id::DEV_ECHO => ClientPacket::DevEcho(DevEcho { body }),
            id::LOGIN_REQ => ClientPacket::LoginReq(LoginReq::decode_body(body).map_err(invalid)?),
            id::ROOM_ENTER_REQ => {
                ClientPacket::RoomEnterReq(RoomEnterReq::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_LEAVE_REQ => {
                ClientPacket::RoomLeaveReq(RoomLeaveReq::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_CHAT_REQ => {
                ClientPacket::RoomChatReq(RoomChatReq::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_CREATE_REQ => {
                ClientPacket::RoomCreateReq(RoomCreateReq::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_LIST_REQ => {
                ClientPacket::RoomListReq(RoomListReq::decode_body(body).map_err(invalid)?)
            }
            id::ROOM_ENTER_NAME_REQ => ClientPacket::RoomEnterNameReq(
                RoomEnterNameReq::decode_body(body).map_err(invalid)?,
            ),
            id::HELLO_REQ => ClientPacket::HelloReq(HelloReq::decode_body(body).map_err(invalid)?),
            id::ROOM_HISTORY_REQ => {
                ClientPacket::RoomHistoryReq(RoomHistoryReq::decode_body(body).map_err(invalid)?)
            }
            id::LOGIN_TOKEN_REQ => {
                ClientPacket::LoginTokenReq(LoginTokenReq::decode_body(body).map_err(invalid)?)
            }
            _ => ClientPacket::Unknown { id, body },
        })
    }

    /// The packet id.
    pub const fn id(&self) -> u16 {
        match self {
            ClientPacket::DevEcho(_) => DevEcho::ID,
            ClientPacket::LoginReq(_) => LoginReq::ID,
            ClientPacket::RoomEnterReq(_) => RoomEnterReq::ID,
            ClientPacket::RoomLeaveReq(_) => RoomLeaveReq::ID,
            ClientPacket::RoomChatReq(_) => RoomChatReq::ID,
            ClientPacket::RoomCreateReq(_) => RoomCreateReq::ID,
            ClientPacket::RoomListReq(_) => RoomListReq::ID,
            ClientPacket::RoomEnterNameReq(_) => RoomEnterNameReq::ID,
            ClientPacket::HelloReq(_) => HelloReq::ID,
            ClientPacket::RoomHistoryReq(_) => RoomHistoryReq::ID,
            ClientPacket::LoginTokenReq(_) => LoginTokenReq::ID,
            ClientPacket::Unknown { id, .. } => *id,
        }
    }

    /// Appends the packet to `out`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLong`] if a [`DevEcho`] or [`ClientPacket::Unknown`]
    /// body does not fit in a frame; nothing is appended then.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            ClientPacket::DevEcho(p) => return p.encode(out),
            ClientPacket::LoginReq(p) => p.encode(out),
            ClientPacket::RoomEnterReq(p) => p.encode(out),
            ClientPacket::RoomLeaveReq(p) => p.encode(out),
            ClientPacket::RoomChatReq(p) => p.encode(out),
            ClientPacket::RoomCreateReq(p) => p.encode(out),
            ClientPacket::RoomListReq(p) => p.encode(out),
            ClientPacket::RoomEnterNameReq(p) => p.encode(out),
            ClientPacket::HelloReq(p) => p.encode(out),
            ClientPacket::RoomHistoryReq(p) => p.encode(out),
            ClientPacket::LoginTokenReq(p) => p.encode(out),
            ClientPacket::Unknown { id, body } => return put_raw(out, *id, body),
        }
        Ok(())
    }
}

/// Checks a frame against its header and returns its id and body.
pub(crate) fn split_frame(frame: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    let (head, body) = frame
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(DecodeError::TooShort(frame.len()))?;
    let header = crate::Header::from_bytes(head);
    if usize::from(header.len) != frame.len() {
        return Err(DecodeError::LengthMismatch {
            header: header.len,
            frame: frame.len(),
        });
    }
    Ok((header.id, body))
}
