//! The chat baseline: a straightforward tokio server for the subset of
//! `docs/PROTOCOL.md` the fan-out benchmark uses (login, enter, leave,
//! chat, echo, disconnect), written the way a competent tokio user writes
//! the tutorial's chat server, to compare ringport against.
//!
//! * A multi-thread runtime (under `taskset -c 0` it has one worker).
//! * One task per connection reads frames (`frame_len`, then
//!   `ClientPacket::decode`); one writer task per connection drains a
//!   bounded `tokio::sync::mpsc` channel with one `write_all` per message.
//! * Shared state (accounts, who is online, the rooms) behind one
//!   `Arc<std::sync::Mutex<_>>`, held only for the few lines that touch it.
//! * A chat message is encoded once into a `Bytes`; every member (sender
//!   included) gets it as its own channel message after the sender's 222.
//! * A member whose channel is full (64 Ki messages behind) is a slow
//!   consumer and is disconnected; nobody waits for it.
//!
//! Logins auto-register: an unknown id is created with the given password
//! (kept in memory, not hashed: this baseline measures fan-out, not
//! password checks); a wrong password is 33, an id already online 31.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use ringport_proto::{
    encode_user_list, frame_len, ClientPacket, LoginRes, ResultCode, RoomChatNtf, RoomChatRes,
    RoomEnterRes, RoomLeaveRes, RoomLeaveUserNtf, RoomMember, RoomNewUserNtf, ServerPacket, UserId,
    DEFAULT_MAX_FRAME,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

use crate::cli::TokioChatArgs;

/// Messages a connection's outgoing channel holds. Generous on purpose: the
/// bound only keeps a stalled client from exhausting memory (about 20 MB of
/// chat notifies). A tight bound (ringport's is 256 KiB of bytes) would
/// disconnect members whenever a reader task runs ahead of the writers in a
/// burst, and the baseline would fail steps by disconnects rather than show
/// its latency; this way it gets the benefit of the doubt.
const CHANNEL_CAPACITY: usize = 64 * 1024;

/// Read buffer reserve per read.
const READ_RESERVE: usize = 16 * 1024;

/// Binds, prints `listening on ADDR` on stdout, and serves until killed.
///
/// # Errors
///
/// When the runtime cannot be built or the address cannot be bound.
pub fn run(args: &TokioChatArgs) -> anyhow::Result<()> {
    let runtime = crate::baseline::runtime(args.worker_threads)?;
    let rooms = (0..args.rooms).map(|_| Room::default()).collect();
    let state = Arc::new(Shared {
        room_start: i64::from(args.room_start),
        room_max_users: args.room_max_users as usize,
        state: Mutex::new(State {
            accounts: HashMap::new(),
            online: HashSet::new(),
            rooms,
            next_uid: 1,
        }),
    });
    runtime.block_on(serve(args.listen, state))
}

/// What every connection shares.
#[derive(Debug)]
struct Shared {
    room_start: i64,
    room_max_users: usize,
    state: Mutex<State>,
}

impl Shared {
    /// Locks the state; a poisoned lock (a panic elsewhere) is still usable:
    /// every update below leaves the state consistent at each step.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Accounts, logins and rooms.
#[derive(Debug)]
struct State {
    /// User id → password (auto-registered on first login).
    accounts: HashMap<String, String>,
    /// User ids logged in now.
    online: HashSet<String>,
    rooms: Vec<Room>,
    next_uid: i64,
}

/// The members of one room.
#[derive(Debug, Default)]
struct Room {
    members: Vec<Member>,
}

/// A member of a room: who it is and how to reach its connection.
#[derive(Debug, Clone)]
struct Member {
    uid: i64,
    user_id: String,
    tx: mpsc::Sender<Bytes>,
    kick: Arc<Notify>,
}

impl Member {
    /// Queues `bytes` for this member; a full channel makes it a slow
    /// consumer, told to disconnect.
    fn send(&self, bytes: Bytes) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(bytes) {
            self.kick.notify_one();
        }
    }
}

async fn serve(addr: SocketAddr, shared: Arc<Shared>) -> anyhow::Result<()> {
    crate::baseline::accept_loop(addr, "tokio-chat", move |stream| {
        tokio::spawn(connection(stream, Arc::clone(&shared)));
    })
    .await
}

/// One connection's session.
struct Session {
    shared: Arc<Shared>,
    me: Member,
    /// Logged in as this user id.
    user: Option<String>,
    /// In this room (index into `State::rooms`).
    room: Option<usize>,
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHANNEL_CAPACITY);
    let writer_task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let kick = Arc::new(Notify::new());
    let mut session = Session {
        shared,
        me: Member {
            uid: 0,
            user_id: String::new(),
            tx,
            kick: Arc::clone(&kick),
        },
        user: None,
        room: None,
    };
    let mut buf = BytesMut::with_capacity(READ_RESERVE);
    let mut kicked = false;
    'read: loop {
        buf.reserve(READ_RESERVE);
        let read = tokio::select! {
            read = reader.read_buf(&mut buf) => Some(read),
            () = kick.notified() => None,
        };
        let Some(read) = read else {
            kicked = true; // a slow consumer: drop what it has not read
            break;
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        loop {
            match frame_len(&buf, DEFAULT_MAX_FRAME) {
                Ok(Some(len)) => {
                    let frame = buf.split_to(len);
                    session.handle(&frame);
                }
                Ok(None) => break,
                Err(_) => break 'read, // the stream cannot be resynchronised
            }
        }
    }
    session.disconnect();
    drop(session); // the last sender of this connection: the writer ends
    if kicked {
        writer_task.abort();
    }
}

/// Encodes one packet into its own buffer.
fn packet(encode: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut out = Vec::new();
    encode(&mut out);
    Bytes::from(out)
}

impl Session {
    fn reply(&self, bytes: Bytes) {
        self.me.send(bytes);
    }

    fn handle(&mut self, frame: &[u8]) {
        match ClientPacket::decode(frame) {
            Ok(ClientPacket::LoginReq(login)) => {
                self.login(login.user_id.as_str(), login.password.as_str());
            }
            Ok(ClientPacket::RoomEnterReq(enter)) => self.enter(enter.room_number),
            Ok(ClientPacket::RoomLeaveReq(_)) => self.leave(),
            Ok(ClientPacket::RoomChatReq(chat)) => self.chat(chat.message),
            Ok(ClientPacket::DevEcho(echo)) => {
                let mut out = Vec::new();
                if echo.encode(&mut out).is_ok() {
                    self.reply(Bytes::from(out));
                }
            }
            // The baseline implements protocol v1 only, not the extensions
            // (created rooms, history and resume): their requests are
            // ignored like unknown ids.
            Ok(
                ClientPacket::Unknown { .. }
                | ClientPacket::RoomCreateReq(_)
                | ClientPacket::RoomListReq(_)
                | ClientPacket::RoomEnterNameReq(_)
                | ClientPacket::HelloReq(_)
                | ClientPacket::RoomHistoryReq(_)
                | ClientPacket::LoginTokenReq(_),
            ) => {}
            Err(e) => {
                let response = e
                    .invalid_packet_id()
                    .and_then(|id| ServerPacket::response(id, ResultCode::InvalidPacket));
                if let Some(response) = response {
                    let mut out = Vec::new();
                    if response.encode(&mut out).is_ok() {
                        self.reply(Bytes::from(out));
                    }
                }
            }
        }
    }

    fn login(&mut self, user_id: &str, password: &str) {
        let result = if self.user.is_some() {
            ResultCode::LoginUserAlready
        } else {
            let mut state = self.shared.lock();
            let known = state
                .accounts
                .entry(user_id.to_string())
                .or_insert_with(|| password.to_string());
            if known != password {
                ResultCode::LoginUserInvalidPw
            } else if !state.online.insert(user_id.to_string()) {
                ResultCode::LoginUserAlready
            } else {
                self.me.uid = state.next_uid;
                state.next_uid += 1;
                self.me.user_id = user_id.to_string();
                self.user = Some(user_id.to_string());
                ResultCode::None
            }
        };
        self.reply(packet(|out| LoginRes::new(result).encode(out)));
    }

    fn enter(&mut self, room_number: i32) {
        let answer = |code| packet(|out| RoomEnterRes::new(code).encode(out));
        if self.user.is_none() || self.room.is_some() {
            return self.reply(answer(ResultCode::EnterRoomInvalidUserStatus));
        }
        let index = i64::from(room_number) - self.shared.room_start;
        let mut state = self.shared.lock();
        let Some(index) = usize::try_from(index)
            .ok()
            .filter(|&i| i < state.rooms.len())
        else {
            return self.reply(answer(ResultCode::RoomInvalidIndex));
        };
        let room = &mut state.rooms[index];
        if room.members.len() >= self.shared.room_max_users {
            return self.reply(answer(ResultCode::EnterRoomFullUser));
        }
        self.reply(answer(ResultCode::None));
        let others: Vec<(i64, &str)> = room
            .members
            .iter()
            .map(|m| (m.uid, m.user_id.as_str()))
            .collect();
        let list = packet(|out| {
            encode_user_list(
                others.iter().filter_map(|&(uid, name)| {
                    Some(RoomMember {
                        user_unique_id: uid,
                        user_id: UserId::new(name).ok()?,
                    })
                }),
                out,
            );
        });
        self.reply(list);
        if let Ok(user_id) = UserId::new(&self.me.user_id) {
            let new_user = packet(|out| {
                RoomNewUserNtf {
                    user_unique_id: self.me.uid,
                    user_id,
                }
                .encode(out);
            });
            for member in &room.members {
                member.send(new_user.clone());
            }
        }
        room.members.push(self.me.clone());
        self.room = Some(index);
    }

    /// Takes this session out of its room (if in one) and tells the others.
    fn leave_room(&mut self) {
        let Some(index) = self.room.take() else {
            return;
        };
        let mut state = self.shared.lock();
        if let Some(room) = state.rooms.get_mut(index) {
            room.members.retain(|m| m.uid != self.me.uid);
            let left = packet(|out| {
                RoomLeaveUserNtf {
                    user_unique_id: self.me.uid,
                }
                .encode(out);
            });
            for member in &room.members {
                member.send(left.clone());
            }
        }
    }

    fn leave(&mut self) {
        if self.room.is_none() {
            let code = ResultCode::RoomInvalidIndex;
            return self.reply(packet(|out| RoomLeaveRes::new(code).encode(out)));
        }
        // The answer goes out before the others hear of it.
        self.reply(packet(|out| {
            RoomLeaveRes::new(ResultCode::None).encode(out)
        }));
        self.leave_room();
    }

    fn chat(&mut self, message: ringport_proto::Message<'_>) {
        let Some(index) = self.room else {
            let code = ResultCode::ChatRoomInvalidRoomNumber;
            return self.reply(packet(|out| RoomChatRes::new(code).encode(out)));
        };
        let Ok(user_id) = UserId::new(&self.me.user_id) else {
            return;
        };
        let notify = packet(|out| RoomChatNtf { user_id, message }.encode(out));
        let ok = packet(|out| RoomChatRes::new(ResultCode::None).encode(out));
        // Under the lock, so that the 222 and every member's 223 of one
        // message are queued before another message's.
        let state = self.shared.lock();
        self.reply(ok);
        if let Some(room) = state.rooms.get(index) {
            for member in &room.members {
                member.send(notify.clone());
            }
        }
    }

    /// The connection ended: leave the room, release the login.
    fn disconnect(&mut self) {
        self.leave_room();
        if let Some(user) = self.user.take() {
            self.shared.lock().online.remove(&user);
        }
    }
}
