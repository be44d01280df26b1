//! Decode and encode errors of the packet codec.
//!
//! A server needs to tell three outcomes apart when it decodes a frame: a
//! packet (including an unknown id, which is not an error, see
//! [`crate::ClientPacket::Unknown`]); a known packet whose body is invalid,
//! answered with result 90 ([`DecodeError::InvalidBody`] carries the id so the
//! server knows which response to send); and a frame that contradicts its own
//! header, which [`crate::frame_len`] rules out before decoding.

use std::fmt;

use crate::header::HEADER_LEN;
use crate::text::TextError;

/// Which text field of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    /// `UserID` (201, 223) or the length-prefixed user id (208, 209).
    UserId,
    /// `UserPW` (201).
    Password,
    /// `Message` (221, 223).
    Message,
}

impl fmt::Display for TextField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TextField::UserId => "user id",
            TextField::Password => "password",
            TextField::Message => "message",
        })
    }
}

/// What is wrong with the body of a known packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// A fixed-size packet, or a 208 whose `id_len` announces another size,
    /// has a body of the wrong size.
    #[error("body is {len} bytes, expected {expected}")]
    WrongSize {
        /// Actual body length (frame length minus the header).
        len: usize,
        /// Body length the packet needs.
        expected: usize,
    },
    /// A variable-size body ends inside an entry.
    #[error("body ends inside a field")]
    Truncated,
    /// A variable-size body has bytes after its last entry.
    #[error("{0} bytes after the last field")]
    TrailingBytes(usize),
    /// A text field breaks the text rules.
    #[error("{field}: {source}")]
    Text {
        /// The field.
        field: TextField,
        /// What is wrong with it.
        source: TextError,
    },
    /// A response carries a result code protocol v1 does not define.
    #[error("unknown result code {0}")]
    UnknownResult(u16),
    /// A flag byte holds a value the packet does not define.
    #[error("flag value {0} is not defined")]
    BadFlag(u8),
    /// A room name or list entry breaks the room name rules.
    #[error("room name: {0}")]
    RoomName(crate::RoomNameError),
    /// A 209 announces more than 127 users.
    #[error("user list announces {0} users, at most 127 are allowed")]
    TooManyUsers(u8),
    /// A 305 announces more than 127 rooms.
    #[error("room list announces {0} rooms, at most 127 are allowed")]
    TooManyRooms(u8),
}

/// A frame that cannot be decoded into a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is shorter than the header.
    #[error("frame of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    /// The header's length field does not match the length of the frame
    /// slice. Frames cut with [`crate::frame_len`] never have this.
    #[error("header length {header} does not match the frame length {frame}")]
    LengthMismatch {
        /// The header's length field.
        header: u16,
        /// The length of the slice given to decode.
        frame: usize,
    },
    /// A packet with a known id has an invalid body. A server answers a
    /// request with this error with the request's response and result 90
    /// (see [`crate::id::response_to`]); the session stays open.
    #[error("invalid body for packet {id}: {reason}")]
    InvalidBody {
        /// The packet id.
        id: u16,
        /// What is wrong with the body.
        #[source]
        reason: BodyError,
    },
}

impl DecodeError {
    /// The id of the known packet whose body was invalid, if that is the error.
    pub const fn invalid_packet_id(&self) -> Option<u16> {
        match self {
            DecodeError::InvalidBody { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// A packet that cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A text does not fit its field (or is empty, or contains a NUL).
    #[error("{field}: {source}")]
    Text {
        /// The field.
        field: TextField,
        /// What is wrong with the text.
        source: TextError,
    },
    /// More users than one 209 packet holds; see
    /// [`crate::encode_user_list`], which splits a list.
    #[error("{0} users do not fit in one user list packet (at most 127)")]
    TooManyUsers(usize),
    /// The packet would be longer than [`crate::MAX_FRAME_LIMIT`].
    #[error("packet of {len} bytes exceeds the frame limit of {max} bytes")]
    TooLong {
        /// Length the packet would have, header included.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl EncodeError {
    /// Wraps a text error for `field`; a helper for `map_err`.
    pub(crate) fn text(field: TextField) -> impl Fn(TextError) -> EncodeError {
        move |source| EncodeError::Text { field, source }
    }
}
