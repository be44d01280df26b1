//! The network side: a writer thread that connects and sends requests in
//! order, and per connection a reader thread that turns received packets
//! into owned [`Incoming`] values. Both report through a sink callback as
//! [`NetEvent`]s, so the caller (the UI or the line runner) never blocks on
//! the socket.
//!
//! With [`Tls`] every connection is TLS, the handshake done (and the
//! certificate checked) before [`NetEvent::Connected`].

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ringport_client::proto::{
    ClientPacket, Features, HelloReq, LoginTokenReq, ResultCode, RoomCreateReq, RoomEnterNameReq,
    RoomHistoryReq, RoomInfo, RoomListNtf, RoomListReq, RoomUserListNtf, ServerPacket,
};
use ringport_client::rustls::pki_types::ServerName;
use ringport_client::rustls::ClientConfig;
use ringport_client::{Client, ClientError, Member};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one send may block on a server that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to connect with TLS.
#[derive(Debug, Clone)]
pub struct Tls {
    /// Whom to trust.
    pub config: Arc<ClientConfig>,
    /// The name checked in the server's certificate (and sent as SNI);
    /// `None`: the host part of each address connected to.
    pub server_name: Option<ServerName<'static>>,
}

impl Tls {
    /// The name to check for a connection to `addr`.
    fn name_for(&self, addr: &str) -> Result<ServerName<'static>, String> {
        match &self.server_name {
            Some(name) => Ok(name.clone()),
            None => ringport_client::server_name(host_of(addr)).map_err(|e| e.to_string()),
        }
    }
}

/// The host part of `HOST:PORT` or `[V6]:PORT` (all of `addr` without a
/// port).
pub fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        if let Some((host, _)) = rest.split_once(']') {
            return host;
        }
    }
    match addr.rsplit_once(':') {
        Some((host, _)) if !host.contains(':') => host,
        _ => addr,
    }
}

/// One room of a room list (305) or a change (306), owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// Its number (what `/enter NUMBER` takes).
    pub number: i32,
    /// Members now.
    pub users: u16,
    /// Capacity.
    pub max_users: u16,
    /// Its name; `None` for a fixed room.
    pub name: Option<String>,
    /// Whether it has closed (only in a 306).
    pub closed: bool,
}

impl From<&RoomInfo<'_>> for Room {
    fn from(info: &RoomInfo<'_>) -> Room {
        Room {
            number: info.number,
            users: info.users,
            max_users: info.max_users,
            name: info.name.map(|n| n.as_str().to_string()),
            closed: info.closed,
        }
    }
}

/// Something to keep out of logs and `Debug` output (a password, a
/// resume token).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(pub T);

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// A numbered chat (313), owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqChat {
    /// The room.
    pub room: i32,
    /// The room's history epoch.
    pub epoch: u64,
    /// The message's sequence number in the epoch.
    pub seq: u64,
    /// When the server accepted it (Unix milliseconds).
    pub time_ms: i64,
    /// Sender's user id.
    pub from: String,
    /// The message.
    pub message: String,
}

/// A history answer's head (315), owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryHead {
    /// The result.
    pub result: ResultCode,
    /// The room.
    pub room: i32,
    /// The room's epoch now.
    pub epoch: u64,
    /// The room's last sequence number now.
    pub last_seq: u64,
    /// Messages after the one asked for were no longer kept.
    pub lost: bool,
    /// More messages follow the last one of this answer.
    pub more: bool,
    /// How many 313s follow.
    pub count: u16,
}

/// A received packet, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// 1 `DEV_ECHO`.
    Echo(Vec<u8>),
    /// 202 `LOGIN_RES`.
    Login(ResultCode),
    /// 207 `ROOM_ENTER_RES`.
    Enter(ResultCode),
    /// 208 `ROOM_NEW_USER_NTF`.
    NewUser(Member),
    /// 209 `ROOM_USER_LIST_NTF`; `last` when fewer than 127 users (the list
    /// is complete).
    UserList {
        /// Members in this packet.
        members: Vec<Member>,
        /// Whether this packet ends the list.
        last: bool,
    },
    /// 216 `ROOM_LEAVE_RES`.
    Leave(ResultCode),
    /// 217 `ROOM_LEAVE_USER_NTF`.
    LeaveUser(i64),
    /// 222 `ROOM_CHAT_RES`.
    ChatRes(ResultCode),
    /// 223 `ROOM_CHAT_NTF`.
    Chat {
        /// Sender's user id.
        from: String,
        /// The message.
        message: String,
    },
    /// 302 `ROOM_CREATE_RES`.
    Create {
        /// The result.
        result: ResultCode,
        /// The new room's number (0 unless the result is success).
        room: i32,
    },
    /// 304 `ROOM_LIST_RES`.
    RoomsRes(ResultCode),
    /// 305 `ROOM_LIST_NTF`; `last` when fewer than 127 rooms (the list is
    /// complete).
    RoomList {
        /// Rooms in this packet.
        rooms: Vec<Room>,
        /// Whether this packet ends the list.
        last: bool,
    },
    /// 306 `ROOM_LIST_CHANGE_NTF`.
    RoomChange(Room),
    /// 308 `ROOM_ENTER_NAME_RES`.
    EnterName {
        /// The result.
        result: ResultCode,
        /// The room entered (0 unless the result is success).
        room: i32,
    },
    /// 312 `HELLO_RES`.
    Hello {
        /// The result.
        result: ResultCode,
        /// The features granted.
        features: Features,
    },
    /// 313 `ROOM_CHAT_SEQ_NTF`.
    ChatSeq(SeqChat),
    /// 315 `ROOM_HISTORY_RES`.
    History(HistoryHead),
    /// 316 `RESUME_TOKEN_NTF`: the token (kept in memory only).
    Token(Secret<Vec<u8>>),
    /// 318 `LOGIN_TOKEN_RES`.
    LoginToken(ResultCode),
    /// A packet id this client does not handle.
    Unknown {
        /// Its id.
        id: u16,
        /// Body length.
        len: usize,
    },
}

impl From<&ServerPacket<'_>> for Incoming {
    fn from(packet: &ServerPacket<'_>) -> Incoming {
        match packet {
            ServerPacket::DevEcho(echo) => Incoming::Echo(echo.body.to_vec()),
            ServerPacket::LoginRes(res) => Incoming::Login(res.result),
            ServerPacket::RoomEnterRes(res) => Incoming::Enter(res.result),
            ServerPacket::RoomNewUserNtf(ntf) => Incoming::NewUser(Member {
                user_unique_id: ntf.user_unique_id,
                user_id: ntf.user_id.as_str().to_string(),
            }),
            ServerPacket::RoomUserListNtf(list) => Incoming::UserList {
                members: list
                    .members()
                    .map(|m| Member {
                        user_unique_id: m.user_unique_id,
                        user_id: m.user_id.as_str().to_string(),
                    })
                    .collect(),
                last: list.len() < RoomUserListNtf::MAX_USERS,
            },
            ServerPacket::RoomLeaveRes(res) => Incoming::Leave(res.result),
            ServerPacket::RoomLeaveUserNtf(ntf) => Incoming::LeaveUser(ntf.user_unique_id),
            ServerPacket::RoomChatRes(res) => Incoming::ChatRes(res.result),
            ServerPacket::RoomChatNtf(ntf) => Incoming::Chat {
                from: ntf.user_id.as_str().to_string(),
                message: ntf.message.as_str().to_string(),
            },
            ServerPacket::Unknown { id, body } => Incoming::Unknown {
                id: *id,
                len: body.len(),
            },
            ServerPacket::HelloRes(res) => Incoming::Hello {
                result: res.result,
                features: res.features,
            },
            ServerPacket::RoomChatSeqNtf(ntf) => Incoming::ChatSeq(SeqChat {
                room: ntf.room,
                epoch: ntf.epoch,
                seq: ntf.seq,
                time_ms: ntf.time_ms,
                from: ntf.user_id.as_str().to_string(),
                message: ntf.message.as_str().to_string(),
            }),
            ServerPacket::RoomHistoryRes(res) => Incoming::History(HistoryHead {
                result: res.result,
                room: res.room,
                epoch: res.epoch,
                last_seq: res.last_seq,
                lost: res.lost,
                more: res.more,
                count: res.count,
            }),
            ServerPacket::ResumeTokenNtf(ntf) => Incoming::Token(Secret(ntf.token.to_vec())),
            ServerPacket::LoginTokenRes(res) => Incoming::LoginToken(res.result),
            ServerPacket::RoomCreateRes(res) => Incoming::Create {
                result: res.result,
                room: res.room_number,
            },
            ServerPacket::RoomListRes(res) => Incoming::RoomsRes(res.result),
            ServerPacket::RoomListNtf(list) => Incoming::RoomList {
                rooms: list.rooms().map(|r| Room::from(&r)).collect(),
                last: list.len() < RoomListNtf::MAX_ROOMS,
            },
            ServerPacket::RoomListChangeNtf(ntf) => Incoming::RoomChange(Room::from(&ntf.room)),
            ServerPacket::RoomEnterNameRes(res) => Incoming::EnterName {
                result: res.result,
                room: res.room_number,
            },
        }
    }
}

/// What the network side reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A connection is up.
    Connected(SocketAddr),
    /// A connection attempt failed.
    ConnectFailed {
        /// The address asked for.
        addr: String,
        /// Why.
        error: String,
    },
    /// A packet arrived.
    Packet(Incoming),
    /// A frame arrived that does not decode (it was skipped).
    BadPacket(String),
    /// The connection ended (not by [`Net::close`] or a new connect).
    Closed(String),
    /// A request could not be sent.
    SendFailed(String),
}

/// A request to the server.
#[derive(Clone, PartialEq, Eq)]
pub enum Request {
    /// 201.
    Login {
        /// User id.
        user: String,
        /// Password.
        password: String,
    },
    /// 206.
    Enter(i32),
    /// 215.
    Leave,
    /// 221.
    Chat(String),
    /// 1.
    Echo(Vec<u8>),
    /// 301.
    Create {
        /// The room's name.
        name: String,
        /// Its capacity; 0 for the server's default.
        max_users: u16,
    },
    /// 303.
    Rooms {
        /// Whether to watch the list (306s) after this answer.
        watch: bool,
    },
    /// 307.
    EnterName(String),
    /// 317: a login with a resume token.
    LoginToken(Secret<Vec<u8>>),
    /// 314.
    History {
        /// The epoch of `after_seq`.
        epoch: u64,
        /// The last message already had ([`RoomHistoryReq::LAST`]: the
        /// last `max` messages).
        after_seq: u64,
        /// At most this many (1 to 100).
        max: u16,
    },
}

impl std::fmt::Debug for Request {
    /// Like a derived `Debug`, without the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Login { user, .. } => f
                .debug_struct("Login")
                .field("user", user)
                .finish_non_exhaustive(),
            Request::Enter(room) => f.debug_tuple("Enter").field(room).finish(),
            Request::Leave => f.write_str("Leave"),
            Request::Chat(text) => f.debug_tuple("Chat").field(text).finish(),
            Request::Echo(body) => f.debug_tuple("Echo").field(body).finish(),
            Request::Create { name, max_users } => f
                .debug_struct("Create")
                .field("name", name)
                .field("max_users", max_users)
                .finish(),
            Request::Rooms { watch } => f.debug_struct("Rooms").field("watch", watch).finish(),
            Request::EnterName(name) => f.debug_tuple("EnterName").field(name).finish(),
            Request::LoginToken(token) => f.debug_tuple("LoginToken").field(token).finish(),
            Request::History {
                epoch,
                after_seq,
                max,
            } => f
                .debug_struct("History")
                .field("epoch", epoch)
                .field("after_seq", after_seq)
                .field("max", max)
                .finish(),
        }
    }
}

/// Orders to the writer thread.
enum Order {
    Connect(String),
    ConnectAfter(String, Duration),
    Send(Request),
    Close,
}

/// Where events go; shared by the writer and the reader threads.
type Sink = Arc<dyn Fn(NetEvent) + Send + Sync>;

/// Handle on the network threads. Orders are carried out in the order
/// given; dropping the handle closes the connection and ends the writer.
pub struct Net {
    orders: Sender<Order>,
}

impl Net {
    /// Starts the writer thread; nothing is connected yet. With `tls`
    /// every connection is TLS.
    ///
    /// # Errors
    ///
    /// If the thread cannot be started.
    pub fn start(
        sink: impl Fn(NetEvent) + Send + Sync + 'static,
        tls: Option<Tls>,
    ) -> std::io::Result<Net> {
        let (orders, rx) = mpsc::channel::<Order>();
        let sink: Sink = Arc::new(sink);
        thread::Builder::new()
            .name("net-writer".into())
            .spawn(move || writer(&rx, &sink, tls.as_ref()))?;
        Ok(Net { orders })
    }

    /// Connects to `addr` (closing any current connection first).
    pub fn connect(&self, addr: String) {
        let _ = self.orders.send(Order::Connect(addr));
    }

    /// Connects to `addr` after `delay` (closing any current connection at
    /// once); another connect or a close given meanwhile cancels it, and
    /// sends given meanwhile fail ("not connected").
    pub fn connect_after(&self, addr: String, delay: Duration) {
        let _ = self.orders.send(Order::ConnectAfter(addr, delay));
    }

    /// Sends a request on the current connection.
    pub fn send(&self, request: Request) {
        let _ = self.orders.send(Order::Send(request));
    }

    /// Closes the current connection quietly.
    pub fn close(&self) {
        let _ = self.orders.send(Order::Close);
    }
}

/// The writer thread: carries out orders until the handle is dropped.
fn writer(orders: &mpsc::Receiver<Order>, sink: &Sink, tls: Option<&Tls>) {
    // Incremented whenever the current connection is dropped on purpose; a
    // reader of an older generation stays silent.
    let generation = Arc::new(AtomicU64::new(0));
    let mut current: Option<Client> = None;
    let drop_current = |current: &mut Option<Client>| {
        if let Some(client) = current.take() {
            generation.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown();
        }
    };
    // An order that ended a wait for a delayed connect, to carry out next.
    let mut next: Option<Order> = None;
    while let Some(order) = next.take().or_else(|| orders.recv().ok()) {
        let order = match order {
            Order::ConnectAfter(addr, delay) => {
                drop_current(&mut current);
                match wait(orders, sink, delay) {
                    Waited::Elapsed => Order::Connect(addr),
                    Waited::Cancelled(order) => order,
                    Waited::Gone => break,
                }
            }
            order => order,
        };
        match order {
            Order::ConnectAfter(..) => next = Some(order),
            Order::Connect(addr) => {
                drop_current(&mut current);
                match connect(&addr, tls) {
                    Ok((client, reader)) => {
                        let peer = client.peer_addr().ok();
                        let gen = generation.load(Ordering::SeqCst);
                        let spawned = spawn_reader(reader, gen, generation.clone(), sink.clone());
                        match (peer, spawned) {
                            (Some(peer), Ok(())) => {
                                // Hello first, so that it comes before any
                                // login on this connection.
                                let mut client = client;
                                let hello = ClientPacket::HelloReq(HelloReq {
                                    features: Features::ALL,
                                });
                                if let Err(e) = client.send(&hello) {
                                    sink(NetEvent::SendFailed(e.to_string()));
                                }
                                current = Some(client);
                                sink(NetEvent::Connected(peer));
                            }
                            (_, Err(e)) => sink(NetEvent::ConnectFailed {
                                addr,
                                error: format!("cannot start the reader: {e}"),
                            }),
                            (None, Ok(())) => {
                                let _ = client.shutdown();
                                sink(NetEvent::ConnectFailed {
                                    addr,
                                    error: "connection lost at once".into(),
                                });
                            }
                        }
                    }
                    Err(error) => sink(NetEvent::ConnectFailed { addr, error }),
                }
            }
            Order::Send(request) => match current.as_mut() {
                None => sink(NetEvent::SendFailed("not connected".into())),
                Some(client) => {
                    if let Err(e) = send(client, &request) {
                        sink(NetEvent::SendFailed(e));
                    }
                }
            },
            Order::Close => drop_current(&mut current),
        }
    }
    drop_current(&mut current);
}

/// How a wait for a delayed connect ended.
enum Waited {
    /// The delay is over.
    Elapsed,
    /// Another connect or a close came first.
    Cancelled(Order),
    /// The handle was dropped.
    Gone,
}

/// Waits `delay`, failing the sends given meanwhile.
fn wait(orders: &mpsc::Receiver<Order>, sink: &Sink, delay: Duration) -> Waited {
    let until = Instant::now() + delay;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Waited::Elapsed;
        }
        match orders.recv_timeout(left) {
            Ok(Order::Send(_)) => sink(NetEvent::SendFailed("not connected (reconnecting)".into())),
            Ok(order) => return Waited::Cancelled(order),
            Err(RecvTimeoutError::Timeout) => return Waited::Elapsed,
            Err(RecvTimeoutError::Disconnected) => return Waited::Gone,
        }
    }
}

/// Resolves `addr` and connects to the first address that answers (with
/// `tls`, and completes the handshake); returns the writing client and a
/// reading clone.
fn connect(addr: &str, tls: Option<&Tls>) -> Result<(Client, Client), String> {
    let tls = match tls {
        Some(tls) => Some((tls.config.clone(), tls.name_for(addr)?)),
        None => None,
    };
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve: {e}"))?
        .collect();
    let mut last = String::from("no address to connect to");
    for candidate in addrs {
        let client = match &tls {
            Some((config, name)) => Client::connect_tls_timeout(
                &candidate,
                CONNECT_TIMEOUT,
                name.clone(),
                config.clone(),
            ),
            None => Client::connect_timeout(&candidate, CONNECT_TIMEOUT),
        };
        match client {
            Ok(client) => {
                let reader = client
                    .try_clone()
                    .and_then(|r| client.set_write_timeout(Some(WRITE_TIMEOUT)).map(|()| r))
                    .map_err(|e| e.to_string())?;
                return Ok((client, reader));
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn send(client: &mut Client, request: &Request) -> Result<(), String> {
    let sent = match request {
        Request::Login { user, password } => client.login(user, password),
        Request::Enter(room) => client.enter(*room),
        Request::Leave => client.leave(),
        Request::Chat(text) => client.chat(text),
        Request::Echo(body) => client.echo(body),
        Request::Create { name, max_users } => {
            let req = RoomCreateReq::new(name, *max_users).map_err(|e| e.to_string())?;
            client.send(&ClientPacket::RoomCreateReq(req))
        }
        Request::Rooms { watch } => {
            client.send(&ClientPacket::RoomListReq(RoomListReq { watch: *watch }))
        }
        Request::EnterName(name) => {
            let req = RoomEnterNameReq::new(name).map_err(|e| e.to_string())?;
            client.send(&ClientPacket::RoomEnterNameReq(req))
        }
        Request::LoginToken(token) => client.send(&ClientPacket::LoginTokenReq(LoginTokenReq {
            token: &token.0,
        })),
        Request::History {
            epoch,
            after_seq,
            max,
        } => client.send(&ClientPacket::RoomHistoryReq(RoomHistoryReq {
            epoch: *epoch,
            after_seq: *after_seq,
            max: *max,
        })),
    };
    sent.map_err(|e| e.to_string())
}

/// Starts the reader thread of connection generation `gen`.
fn spawn_reader(
    mut client: Client,
    gen: u64,
    current: Arc<AtomicU64>,
    sink: Sink,
) -> std::io::Result<()> {
    thread::Builder::new()
        .name("net-reader".into())
        .spawn(move || loop {
            let event = match client.recv() {
                Ok(packet) => NetEvent::Packet(Incoming::from(&packet)),
                Err(ClientError::Decode(e)) => NetEvent::BadPacket(e.to_string()),
                Err(e) => {
                    if current.load(Ordering::SeqCst) == gen {
                        sink(NetEvent::Closed(e.to_string()));
                    }
                    return;
                }
            };
            if current.load(Ordering::SeqCst) != gen {
                return;
            }
            sink(event);
        })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringport_client::proto::{encode_user_list, ResultCode, RoomMember, UserId};

    #[test]
    fn packets_become_owned_events() {
        let mut frame = Vec::new();
        let members: Vec<RoomMember<'_>> = (0..3)
            .map(|i| RoomMember {
                user_unique_id: i,
                user_id: UserId::new("u").unwrap(),
            })
            .collect();
        encode_user_list(members.iter().copied(), &mut frame);
        let packet = ServerPacket::decode(&frame).unwrap();
        match Incoming::from(&packet) {
            Incoming::UserList { members, last } => {
                assert_eq!(members.len(), 3);
                assert!(last);
            }
            other => panic!("{other:?}"),
        }
        let res = ServerPacket::response(201, ResultCode::LoginUserInvalidPw).unwrap();
        assert_eq!(
            Incoming::from(&res),
            Incoming::Login(ResultCode::LoginUserInvalidPw)
        );
    }

    #[test]
    fn created_room_packets_become_owned_events() {
        use ringport_client::proto::{
            encode_room_list, RoomCreateRes, RoomEnterNameRes, RoomListChangeNtf, RoomName,
        };
        let decode = |frame: &[u8]| Incoming::from(&ServerPacket::decode(frame).unwrap());
        let mut frame = Vec::new();
        RoomCreateRes {
            result: ResultCode::None,
            room_number: 1000,
        }
        .encode(&mut frame);
        assert_eq!(
            decode(&frame),
            Incoming::Create {
                result: ResultCode::None,
                room: 1000
            }
        );
        let res = ServerPacket::response(301, ResultCode::RoomNameTaken).unwrap();
        assert_eq!(
            Incoming::from(&res),
            Incoming::Create {
                result: ResultCode::RoomNameTaken,
                room: 0
            }
        );
        let res = ServerPacket::response(303, ResultCode::None).unwrap();
        assert_eq!(Incoming::from(&res), Incoming::RoomsRes(ResultCode::None));
        frame.clear();
        RoomEnterNameRes {
            result: ResultCode::None,
            room_number: 1001,
        }
        .encode(&mut frame);
        assert_eq!(
            decode(&frame),
            Incoming::EnterName {
                result: ResultCode::None,
                room: 1001
            }
        );

        let info = |number: i32, name: Option<&'static str>| RoomInfo {
            number,
            users: 2,
            max_users: 4,
            created: name.is_some(),
            closed: false,
            name: name.map(|n| RoomName::new(n).unwrap()),
        };
        // 130 rooms: a full packet of 127, then a last one of 3.
        frame.clear();
        let packets = encode_room_list(
            (0..130).map(|n| info(n, (n >= 100).then_some("rust fans"))),
            &mut frame,
        );
        assert_eq!(packets, 2);
        let first_len = usize::from(u16::from_le_bytes([frame[0], frame[1]]));
        match decode(&frame[..first_len]) {
            Incoming::RoomList { rooms, last } => {
                assert_eq!(rooms.len(), 127);
                assert!(!last);
                assert_eq!(rooms[0].name, None);
                assert_eq!(rooms[126].name.as_deref(), Some("rust fans"));
            }
            other => panic!("{other:?}"),
        }
        match decode(&frame[first_len..]) {
            Incoming::RoomList { rooms, last } => {
                assert_eq!(rooms.len(), 3);
                assert!(last);
                assert_eq!(rooms[2].number, 129);
            }
            other => panic!("{other:?}"),
        }

        frame.clear();
        RoomListChangeNtf {
            room: RoomInfo {
                closed: true,
                users: 0,
                ..info(1000, Some("rust"))
            },
        }
        .encode(&mut frame);
        assert_eq!(
            decode(&frame),
            Incoming::RoomChange(Room {
                number: 1000,
                users: 0,
                max_users: 4,
                name: Some("rust".into()),
                closed: true,
            })
        );
    }

    #[test]
    fn history_and_resume_packets_become_owned_events() {
        use ringport_client::proto::{
            HelloRes, LoginTokenRes, Message, ResumeTokenNtf, RoomChatSeqNtf, RoomHistoryRes,
        };
        let decode = |frame: &[u8]| Incoming::from(&ServerPacket::decode(frame).unwrap());
        let mut frame = Vec::new();
        HelloRes {
            result: ResultCode::None,
            features: Features::ALL,
        }
        .encode(&mut frame);
        assert_eq!(
            decode(&frame),
            Incoming::Hello {
                result: ResultCode::None,
                features: Features::ALL
            }
        );
        frame.clear();
        RoomChatSeqNtf {
            room: 3,
            epoch: 1000,
            seq: 41,
            time_ms: 5,
            user_id: UserId::new("bob").unwrap(),
            message: Message::new("hi").unwrap(),
        }
        .encode(&mut frame);
        assert_eq!(
            decode(&frame),
            Incoming::ChatSeq(SeqChat {
                room: 3,
                epoch: 1000,
                seq: 41,
                time_ms: 5,
                from: "bob".into(),
                message: "hi".into()
            })
        );
        frame.clear();
        RoomHistoryRes {
            lost: true,
            room: 3,
            epoch: 1000,
            last_seq: 50,
            count: 2,
            ..RoomHistoryRes::new(ResultCode::None)
        }
        .encode(&mut frame);
        assert_eq!(
            decode(&frame),
            Incoming::History(HistoryHead {
                result: ResultCode::None,
                room: 3,
                epoch: 1000,
                last_seq: 50,
                lost: true,
                more: false,
                count: 2
            })
        );
        frame.clear();
        ResumeTokenNtf {
            ttl_secs: 60,
            token: b"hunter2",
        }
        .encode(&mut frame);
        let token = decode(&frame);
        assert_eq!(token, Incoming::Token(Secret(b"hunter2".to_vec())));
        assert!(!format!("{token:?}").contains("hunter2"), "{token:?}");
        frame.clear();
        LoginTokenRes::new(ResultCode::TokenExpired).encode(&mut frame);
        assert_eq!(
            decode(&frame),
            Incoming::LoginToken(ResultCode::TokenExpired)
        );
        let req = Request::LoginToken(Secret(b"hunter2".to_vec()));
        assert!(!format!("{req:?}").contains("hunter2"));
    }

    #[test]
    fn host_of_an_address() {
        assert_eq!(host_of("127.0.0.1:11022"), "127.0.0.1");
        assert_eq!(host_of("chat.example:11022"), "chat.example");
        assert_eq!(host_of("[::1]:11022"), "::1");
        assert_eq!(host_of("chat.example"), "chat.example");
        assert_eq!(host_of("::1"), "::1");
    }

    #[test]
    fn request_debug_hides_the_password() {
        let req = Request::Login {
            user: "ann".into(),
            password: "hunter2".into(),
        };
        let shown = format!("{req:?}");
        assert!(
            shown.contains("ann") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
