//! Chat test helpers: start `ringport serve` on its defaults (the default
//! argon2 cost included: users run it), and read server packets as plain
//! values.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ringport_client::proto::ServerPacket;
use ringport_client::Client;

use crate::common::{self, Running};

/// The server set-ups every end-to-end test runs on: each backend with the
/// chat logic on a thread of its own, and io_uring with the logic on its
/// one I/O thread (`--logic-thread io`, what `auto` picks with one I/O
/// thread).
pub const SETUPS: [&str; 3] = ["io-uring", "poll", LOGIC_ON_IO];

/// The set-up with the logic on the I/O thread.
pub const LOGIC_ON_IO: &str = "io-uring+logic-on-io";

/// The backend of `setup`.
pub fn backend_of(setup: &str) -> &str {
    if setup == LOGIC_ON_IO {
        "io-uring"
    } else {
        setup
    }
}

/// The flags of `setup`: its backend, where its logic runs, and
/// `io_threads` I/O threads (always one with the logic on the I/O thread).
pub fn setup_flags<'a>(setup: &'a str, io_threads: &'a str) -> Vec<&'a str> {
    if setup == LOGIC_ON_IO {
        vec![
            "--backend",
            "io-uring",
            "--io-threads",
            "1",
            "--logic-thread",
            "io",
        ]
    } else {
        vec![
            "--backend",
            setup,
            "--io-threads",
            io_threads,
            "--logic-thread",
            "own",
        ]
    }
}

/// Starts the chat server in `setup` with the default settings but two
/// I/O threads where the set-up allows (so sessions spread over threads),
/// an admin listener on a free port, the in-memory account store unless
/// `extra` names one, and the given extra flags.
pub fn serve(setup: &str, extra: &[&str]) -> Running {
    let mut args = vec!["serve"];
    args.extend(setup_flags(setup, "2"));
    args.extend_from_slice(&["--admin-listen", "127.0.0.1:0"]);
    if !extra.contains(&"--accounts") {
        args.extend_from_slice(&["--accounts", "memory"]);
    }
    args.extend_from_slice(extra);
    common::start(&args)
}

/// A server packet as an owned value, easy to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Echo(Vec<u8>),
    Login(u16),
    Enter(u16),
    NewUser(i64, String),
    List(Vec<(i64, String)>),
    Leave(u16),
    LeaveUser(i64),
    ChatRes(u16),
    Chat(String, String),
    /// 302: result, room number.
    Created(u16, i32),
    /// 304.
    ListRes(u16),
    /// 305: (number, name or "", users, capacity) per room.
    Rooms(Vec<(i32, String, u16, u16)>),
    /// 306: number, name or "", users, capacity, closed.
    RoomChange(i32, String, u16, u16, bool),
    /// 308: result, room number.
    EnterName(u16, i32),
    Other(u16),
}

pub fn connect(r: &Running) -> Client {
    let c = Client::connect(r.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

/// Reads the next packet.
pub fn next(c: &mut Client) -> Got {
    got(c.recv().unwrap())
}

/// Reads the next packet; `None` on a timeout or a closed connection.
pub fn try_next(c: &mut Client) -> Option<Got> {
    c.recv().ok().map(got)
}

/// A decoded server packet as a [`Got`].
pub fn got(packet: ServerPacket<'_>) -> Got {
    match packet {
        ServerPacket::DevEcho(e) => Got::Echo(e.body.to_vec()),
        ServerPacket::LoginRes(r) => Got::Login(r.result.code()),
        ServerPacket::RoomEnterRes(r) => Got::Enter(r.result.code()),
        ServerPacket::RoomNewUserNtf(n) => {
            Got::NewUser(n.user_unique_id, n.user_id.as_str().into())
        }
        ServerPacket::RoomUserListNtf(l) => Got::List(
            l.members()
                .map(|m| (m.user_unique_id, m.user_id.as_str().to_string()))
                .collect(),
        ),
        ServerPacket::RoomLeaveRes(r) => Got::Leave(r.result.code()),
        ServerPacket::RoomLeaveUserNtf(n) => Got::LeaveUser(n.user_unique_id),
        ServerPacket::RoomChatRes(r) => Got::ChatRes(r.result.code()),
        ServerPacket::RoomChatNtf(n) => {
            Got::Chat(n.user_id.as_str().into(), n.message.as_str().into())
        }
        ServerPacket::RoomCreateRes(r) => Got::Created(r.result.code(), r.room_number),
        ServerPacket::RoomListRes(r) => Got::ListRes(r.result.code()),
        ServerPacket::RoomListNtf(l) => Got::Rooms(
            l.rooms()
                .map(|r| {
                    let name = r.name.map(|n| n.as_str().to_owned()).unwrap_or_default();
                    (r.number, name, r.users, r.max_users)
                })
                .collect(),
        ),
        ServerPacket::RoomListChangeNtf(c) => {
            let r = c.room;
            let name = r.name.map(|n| n.as_str().to_owned()).unwrap_or_default();
            Got::RoomChange(r.number, name, r.users, r.max_users, r.closed)
        }
        ServerPacket::RoomEnterNameRes(r) => Got::EnterName(r.result.code(), r.room_number),
        other => Got::Other(other.id()),
    }
}

/// True when nothing arrives within `wait`.
pub fn quiet(c: &mut Client, wait: Duration) -> bool {
    c.set_read_timeout(Some(wait)).unwrap();
    let r = match c.recv() {
        Err(e) if e.is_timeout() => true,
        Ok(p) => {
            eprintln!("unexpected packet {:?}", p.id());
            false
        }
        Err(_) => false,
    };
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    r
}

/// True once the server has closed the connection.
pub fn closed(c: &mut Client) -> bool {
    loop {
        match c.recv() {
            Ok(_) => continue,
            Err(e) => return !e.is_timeout(),
        }
    }
}

/// Logs in and expects success.
pub fn login(c: &mut Client, id: &str) {
    c.login(id, "pw").unwrap();
    assert_eq!(next(c), Got::Login(0), "login of {id}");
}

/// Logs in, enters `room`, and returns the member list it was given.
pub fn login_enter(c: &mut Client, id: &str, room: i32) -> Vec<(i64, String)> {
    login(c, id);
    c.enter(room).unwrap();
    assert_eq!(next(c), Got::Enter(0), "{id} enters {room}");
    match next(c) {
        Got::List(l) => l,
        other => panic!("{id}: expected a user list, got {other:?}"),
    }
}
