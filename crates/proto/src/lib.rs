//! ringport wire protocol v1 and its extension (see `docs/PROTOCOL.md`, the contract): packet
//! ids, result codes, the 5-byte header and framing check, text fields, and
//! typed packets with their encoders and decoders. No I/O.
//!
//! Receiving is check-then-parse: [`frame_len`] says whether a complete frame
//! is buffered without parsing it; then [`ClientPacket::decode`] (on a server)
//! or [`ServerPacket::decode`] (on a client) parses that one frame. Decoded
//! packets borrow their text and bytes from the frame, so decoding never
//! allocates.
//!
//! ```
//! use ringport_proto::{frame_len, ClientPacket, RoomChatReq, DEFAULT_MAX_FRAME};
//!
//! let mut stream = Vec::new();
//! RoomChatReq::new("hi")?.encode(&mut stream);
//! let len = frame_len(&stream, DEFAULT_MAX_FRAME)?.expect("whole frame buffered");
//! match ClientPacket::decode(&stream[..len])? {
//!     ClientPacket::RoomChatReq(chat) => assert_eq!(chat.message.as_str(), "hi"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sending appends to a caller's `Vec<u8>`. Text is checked when a packet is
//! built ([`UserId::new`], [`LoginReq::new`], …), so the fixed-size packets'
//! `encode` cannot fail; only bodies of arbitrary length (echo, unknown ids,
//! user lists) can be refused, and nothing is ever truncated.
#![forbid(unsafe_code)]

mod codec;
mod echo;
mod error;
pub mod header;
mod hello;
mod history;
pub mod id;
mod request;
mod response;
mod result;
mod room_list;
mod room_name;
mod text;
mod token;
mod user_list;

pub use echo::DevEcho;
pub use error::{BodyError, DecodeError, EncodeError, TextField};
pub use header::{frame_len, FrameError, Header, DEFAULT_MAX_FRAME, HEADER_LEN, MAX_FRAME_LIMIT};
pub use hello::{Features, HelloReq, HelloRes};
pub use history::{RoomChatSeqNtf, RoomHistoryReq, RoomHistoryRes};
pub use request::{
    ClientPacket, LoginReq, RoomChatReq, RoomCreateReq, RoomEnterNameReq, RoomEnterReq,
    RoomLeaveReq, RoomListReq,
};
pub use response::{
    LoginRes, LoginTokenRes, RoomChatNtf, RoomChatRes, RoomCreateRes, RoomEnterNameRes,
    RoomEnterRes, RoomLeaveRes, RoomLeaveUserNtf, RoomListRes, RoomNewUserNtf, ServerPacket,
};
pub use result::ResultCode;
pub use room_list::{encode_room_list, RoomInfo, RoomListChangeNtf, RoomListNtf, Rooms};
pub use room_name::{RoomName, RoomNameError};
pub use text::{Message, Password, TextError, UserId};
pub use token::{LoginTokenReq, ResumeTokenNtf};
pub use user_list::{encode_user_list, Members, RoomMember, RoomUserListNtf};
