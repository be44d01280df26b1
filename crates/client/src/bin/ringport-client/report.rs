//! [`Report`]: one entry of the client's log, structured; the TUI styles
//! it and line mode prints it as one greppable line (see [`crate::format`]).

use std::net::SocketAddr;
use std::time::Duration;

use ringport_client::proto::ResultCode;
use ringport_client::Member;

use crate::net::{Room, SeqChat};

/// One entry of the log: something that happened, structured. The TUI
/// styles it, line mode prints it as one greppable line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A command the user gave (password hidden); not printed in line mode.
    Command(String),
    /// A connect started.
    Connecting(String),
    /// Connected.
    Connected(SocketAddr),
    /// A connect failed.
    ConnectFailed {
        /// The address.
        addr: String,
        /// Why.
        error: String,
    },
    /// The server closed the connection or it broke.
    Closed(String),
    /// 202 for a login as `user`.
    Login {
        /// The user id of the login, if known.
        user: Option<String>,
        /// The result.
        result: ResultCode,
    },
    /// 207 for an enter into `room`.
    Enter {
        /// The room asked for, if known.
        room: Option<i32>,
        /// The result.
        result: ResultCode,
    },
    /// 308 for an enter by name.
    EnterName {
        /// The name asked for, if known.
        name: Option<String>,
        /// The room entered (on success).
        room: Option<i32>,
        /// The result.
        result: ResultCode,
    },
    /// 302 for a create.
    Create {
        /// The name asked for, if known.
        name: Option<String>,
        /// The new room's number (0 unless the result is success).
        room: i32,
        /// The result.
        result: ResultCode,
    },
    /// 304: the answer to a room list request (the list follows on
    /// success, as [`Report::Rooms`]).
    RoomsRes(ResultCode),
    /// A complete room list (all the 305s of one answer).
    Rooms(Vec<Room>),
    /// 306: a watched room changed (or was created, or closed).
    RoomChange(Room),
    /// A complete 209 user list (the other members of the room).
    Users {
        /// The room.
        room: Option<i32>,
        /// The members, in the server's order.
        members: Vec<Member>,
    },
    /// 208: someone entered the room.
    Joined {
        /// The room.
        room: Option<i32>,
        /// Who.
        member: Member,
    },
    /// 217: someone left the room.
    Left {
        /// The room.
        room: Option<i32>,
        /// Their unique id.
        uid: i64,
        /// Their user id, if they were in the member list.
        user: Option<String>,
    },
    /// 216 for a leave from `room`.
    Leave {
        /// The room left (or not).
        room: Option<i32>,
        /// The result.
        result: ResultCode,
    },
    /// 222.
    ChatRes(ResultCode),
    /// 223: a message in the room.
    Chat {
        /// The room.
        room: Option<i32>,
        /// Sender.
        from: String,
        /// Text.
        message: String,
        /// Whether the sender is this client's login.
        own: bool,
    },
    /// The answer to a `/history` (315 and its 313s).
    History {
        /// The room.
        room: Option<i32>,
        /// The result.
        result: ResultCode,
        /// The messages, oldest first.
        messages: Vec<SeqChat>,
    },
    /// The connection dropped; a reconnect is due after `delay`.
    Reconnecting {
        /// The attempt (from 1).
        attempt: u32,
        /// The delay before it.
        delay: Duration,
    },
    /// The reconnect ended after `--reconnect-tries` attempts.
    ReconnectGaveUp {
        /// The attempts made.
        attempts: u32,
    },
    /// The answer to a login made while reconnecting (318, or 202).
    AutoLogin {
        /// The user id.
        user: String,
        /// Whether with the resume token (a refusal is followed by a
        /// password login), or with the password.
        token: bool,
        /// The result.
        result: ResultCode,
    },
    /// A reconnect is complete: logged in again (if it was), in the room
    /// again (if it was and could), and `missed` messages follow.
    Reconnected {
        /// Logged in as.
        user: Option<String>,
        /// In this room.
        room: Option<i32>,
        /// The missed messages shown next.
        missed: usize,
    },
    /// Messages of the room may have been missed while disconnected (the
    /// history no longer had them, or could not be asked for).
    Gap {
        /// The room.
        room: i32,
    },
    /// 1: an echo came back.
    Echo(Vec<u8>),
    /// A packet the client does not handle.
    Unknown {
        /// Its id.
        id: u16,
        /// Body length.
        len: usize,
    },
    /// A frame that does not decode.
    BadPacket(String),
    /// A request could not be sent.
    SendFailed(String),
    /// A command was refused before anything was sent.
    CommandError(String),
    /// The help text was asked for.
    Help,
}

impl Report {
    /// The result code of a response (202, 207, 216, 222, 302, 304, 308,
    /// 315, and the password login of a reconnect).
    pub fn result(&self) -> Option<ResultCode> {
        match self {
            Report::Login { result, .. }
            | Report::Enter { result, .. }
            | Report::Leave { result, .. }
            | Report::EnterName { result, .. }
            | Report::Create { result, .. }
            | Report::RoomsRes(result)
            | Report::History { result, .. }
            | Report::ChatRes(result) => Some(*result),
            // A refused token is not a failure: the password follows.
            Report::AutoLogin {
                token: false,
                result,
                ..
            } => Some(*result),
            _ => None,
        }
    }

    /// Whether this reports a failure: a refused request, a command error,
    /// a send or connect failure, a lost connection or a bad packet.
    pub fn is_failure(&self) -> bool {
        match self {
            Report::ConnectFailed { .. }
            | Report::Closed(_)
            | Report::BadPacket(_)
            | Report::SendFailed(_)
            | Report::CommandError(_) => true,
            other => other.result().is_some_and(|r| !r.is_success()),
        }
    }
}
