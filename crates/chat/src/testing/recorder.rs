//! [`Recorder`]: the recording [`Outbound`], and [`Received`], an owned,
//! decoded server packet that tests compare against.

use bytes::Bytes;
use ringport_proto::{ResultCode, RoomInfo, ServerPacket};

use crate::conn::ConnId;
use crate::outbound::{AuthRequest, Outbound};

/// A decoded server packet as one session received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// 1: the echoed body.
    Echo(Vec<u8>),
    /// 202.
    LoginRes(ResultCode),
    /// 207.
    EnterRes(ResultCode),
    /// 209: `(user_unique_id, user_id)` in wire order.
    UserList(Vec<(i64, String)>),
    /// 208.
    NewUser(i64, String),
    /// 216.
    LeaveRes(ResultCode),
    /// 217.
    LeaveUser(i64),
    /// 222.
    ChatRes(ResultCode),
    /// 223.
    ChatNtf {
        /// The sender.
        user_id: String,
        /// The message.
        message: String,
    },
    /// 302: result and room number.
    CreateRes(ResultCode, i32),
    /// 304.
    ListRes(ResultCode),
    /// 305: the rooms of one packet, in wire order.
    RoomList(Vec<RoomEntry>),
    /// 306.
    RoomChange(RoomEntry),
    /// 308: result and room number.
    EnterNameRes(ResultCode, i32),
    /// 312: result and the features granted.
    HelloRes(ResultCode, u32),
    /// 313.
    ChatSeq {
        /// The room.
        room: i32,
        /// Its epoch.
        epoch: u64,
        /// The message's sequence number.
        seq: u64,
        /// Unix milliseconds.
        time_ms: i64,
        /// The sender.
        user_id: String,
        /// The message.
        message: String,
    },
    /// 315.
    HistoryRes {
        /// The result.
        result: ResultCode,
        /// The room.
        room: i32,
        /// Its epoch.
        epoch: u64,
        /// Its last sequence number.
        last_seq: u64,
        /// Messages were lost.
        lost: bool,
        /// More follow.
        more: bool,
        /// 313s that follow.
        count: u16,
    },
    /// 316: the token and its lifetime in seconds.
    Token(Vec<u8>, u32),
    /// 318.
    LoginTokenRes(ResultCode),
}

/// A room of a 305 or 306, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    /// Its number.
    pub number: i32,
    /// Members.
    pub users: u16,
    /// Capacity.
    pub max_users: u16,
    /// Created by a user.
    pub created: bool,
    /// Closed (306 only).
    pub closed: bool,
    /// Its name (`None` for a fixed room).
    pub name: Option<String>,
}

impl From<RoomInfo<'_>> for RoomEntry {
    fn from(info: RoomInfo<'_>) -> RoomEntry {
        RoomEntry {
            number: info.number,
            users: info.users,
            max_users: info.max_users,
            created: info.created,
            closed: info.closed,
            name: info.name.map(|n| n.as_str().to_owned()),
        }
    }
}

impl Received {
    /// Decodes one packet the server sent.
    ///
    /// # Panics
    ///
    /// If it does not decode as exactly one server packet of a known id, or
    /// its type byte is not 0: the server must never send such a thing.
    pub fn decode(packet: &[u8]) -> Received {
        assert_eq!(packet.get(4), Some(&0), "type byte of {packet:?}");
        let decoded = match ServerPacket::decode(packet) {
            Ok(decoded) => decoded,
            Err(error) => panic!("server sent an undecodable packet {packet:?}: {error}"),
        };
        match decoded {
            ServerPacket::DevEcho(echo) => Received::Echo(echo.body.to_vec()),
            ServerPacket::LoginRes(res) => Received::LoginRes(res.result),
            ServerPacket::RoomEnterRes(res) => Received::EnterRes(res.result),
            ServerPacket::RoomUserListNtf(list) => Received::UserList(
                list.members()
                    .map(|m| (m.user_unique_id, m.user_id.as_str().to_owned()))
                    .collect(),
            ),
            ServerPacket::RoomNewUserNtf(ntf) => {
                Received::NewUser(ntf.user_unique_id, ntf.user_id.as_str().to_owned())
            }
            ServerPacket::RoomLeaveRes(res) => Received::LeaveRes(res.result),
            ServerPacket::RoomLeaveUserNtf(ntf) => Received::LeaveUser(ntf.user_unique_id),
            ServerPacket::RoomChatRes(res) => Received::ChatRes(res.result),
            ServerPacket::RoomChatNtf(ntf) => Received::ChatNtf {
                user_id: ntf.user_id.as_str().to_owned(),
                message: ntf.message.as_str().to_owned(),
            },
            ServerPacket::RoomCreateRes(res) => Received::CreateRes(res.result, res.room_number),
            ServerPacket::RoomListRes(res) => Received::ListRes(res.result),
            ServerPacket::RoomListNtf(list) => {
                Received::RoomList(list.rooms().map(RoomEntry::from).collect())
            }
            ServerPacket::RoomListChangeNtf(ntf) => Received::RoomChange(ntf.room.into()),
            ServerPacket::RoomEnterNameRes(res) => {
                Received::EnterNameRes(res.result, res.room_number)
            }
            ServerPacket::HelloRes(res) => Received::HelloRes(res.result, res.features.0),
            ServerPacket::RoomChatSeqNtf(ntf) => Received::ChatSeq {
                room: ntf.room,
                epoch: ntf.epoch,
                seq: ntf.seq,
                time_ms: ntf.time_ms,
                user_id: ntf.user_id.as_str().to_owned(),
                message: ntf.message.as_str().to_owned(),
            },
            ServerPacket::RoomHistoryRes(res) => Received::HistoryRes {
                result: res.result,
                room: res.room,
                epoch: res.epoch,
                last_seq: res.last_seq,
                lost: res.lost,
                more: res.more,
                count: res.count,
            },
            ServerPacket::ResumeTokenNtf(ntf) => Received::Token(ntf.token.to_vec(), ntf.ttl_secs),
            ServerPacket::LoginTokenRes(res) => Received::LoginTokenRes(res.result),
            ServerPacket::Unknown { id, .. } => panic!("server sent unknown packet id {id}"),
        }
    }
}

/// One recorded [`Outbound`] call.
#[derive(Debug)]
pub enum Action {
    /// `send` or `send_shared`.
    Packet {
        /// The recipient.
        conn: ConnId,
        /// The packet, decoded.
        packet: Received,
        /// For `send_shared`: the address of the shared buffer, so tests can
        /// check one event was encoded once for all its recipients.
        shared: Option<usize>,
        /// The raw bytes.
        raw: Vec<u8>,
    },
    /// `close`.
    Close(ConnId),
    /// `authenticate`.
    Authenticate(AuthRequest),
    /// `pause_reading`.
    PauseReading(ConnId),
    /// `resume_reading`.
    ResumeReading(ConnId),
}

/// An [`Outbound`] that records every call, in order.
#[derive(Debug, Default)]
pub struct Recorder {
    /// The calls since the last drain.
    pub actions: Vec<Action>,
}

impl Recorder {
    /// Takes the recorded calls.
    pub fn drain(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }
}

impl Outbound for Recorder {
    fn send(&mut self, conn: ConnId, packet: &[u8]) {
        self.actions.push(Action::Packet {
            conn,
            packet: Received::decode(packet),
            shared: None,
            raw: packet.to_vec(),
        });
    }

    fn send_shared(&mut self, conn: ConnId, packet: &Bytes) {
        self.actions.push(Action::Packet {
            conn,
            packet: Received::decode(packet),
            shared: Some(packet.as_ptr() as usize),
            raw: packet.to_vec(),
        });
    }

    fn close(&mut self, conn: ConnId) {
        self.actions.push(Action::Close(conn));
    }

    fn authenticate(&mut self, request: AuthRequest) {
        self.actions.push(Action::Authenticate(request));
    }

    fn pause_reading(&mut self, conn: ConnId) {
        self.actions.push(Action::PauseReading(conn));
    }

    fn resume_reading(&mut self, conn: ConnId) {
        self.actions.push(Action::ResumeReading(conn));
    }
}
