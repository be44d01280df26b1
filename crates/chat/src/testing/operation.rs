//! [`Operation`]: one step of a random script against a [`Harness`], and
//! [`FuzzConfig`], a small configuration to run it with. Shared by the
//! proptest in `tests/` and the `chat_ops` fuzz target (which derives
//! `Arbitrary` for them through the `fuzzing` feature).

use std::time::Duration;

use ringport_proto::HEADER_LEN;

use super::harness::Harness;
use crate::config::ChatConfig;
use crate::conn::ConnId;
use crate::outbound::AuthResult;

/// A room number to enter.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum RoomPick {
    /// `room_start - 1 + n % (rooms + 2)`: mostly valid rooms, and the one
    /// just outside each end.
    Near(u8),
    /// `created_room_start + n % 5`: numbers created rooms get.
    Created(u8),
    /// Any number at all.
    Any(i32),
}

/// One thing that happens to the machine. Sessions are picked by index,
/// counted from the newest and modulo the number of sessions ever connected
/// (so gone ones are picked too); nothing happens if there is none.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Operation {
    /// A new session.
    Connect,
    /// A session's peer goes away.
    Disconnect {
        /// Which session.
        conn: u8,
    },
    /// 201 as user `u{user % 6}` with password `p{password % 3}`.
    Login {
        /// Which session.
        conn: u8,
        /// Which user id.
        user: u8,
        /// Which password.
        password: u8,
    },
    /// 206.
    Enter {
        /// Which session.
        conn: u8,
        /// Which room.
        room: RoomPick,
    },
    /// 215.
    Leave {
        /// Which session.
        conn: u8,
    },
    /// 221 with a message of `max(len, 1)` bytes.
    Chat {
        /// Which session.
        conn: u8,
        /// Message length.
        len: u8,
    },
    /// 1 with a body of `len` bytes.
    Echo {
        /// Which session.
        conn: u8,
        /// Body length.
        len: u8,
    },
    /// A well-framed packet with any id and body (at most 1024 bytes).
    Packet {
        /// Which session.
        conn: u8,
        /// Packet id.
        id: u16,
        /// Body.
        body: Vec<u8>,
    },
    /// Any bytes as a frame, even ones that are not one whole packet.
    Frame {
        /// Which session.
        conn: u8,
        /// The bytes (at most 1024).
        bytes: Vec<u8>,
    },
    /// Answers a waiting password check: `result % 4` is 0 or 1 (as the
    /// fake store would), 2 (rejected) or 3 (unavailable).
    Answer {
        /// Which waiting check.
        check: u8,
        /// Which answer.
        result: u8,
    },
    /// An answer nobody asked for (or a late one).
    StaleAnswer {
        /// Which session.
        conn: u8,
        /// Its ticket.
        ticket: u8,
        /// `result % 3`: accepted, rejected, unavailable.
        result: u8,
    },
    /// 301 with name `NAMES[name % NAMES.len()]` and capacity `max % 8`
    /// (0: the default; some above the fuzz limit).
    Create {
        /// Which session.
        conn: u8,
        /// Which name.
        name: u8,
        /// Capacity asked.
        max: u8,
    },
    /// 303.
    List {
        /// Which session.
        conn: u8,
        /// Watch the list.
        watch: bool,
    },
    /// 307 with name `NAMES[name % NAMES.len()]`.
    EnterName {
        /// Which session.
        conn: u8,
        /// Which name.
        name: u8,
    },
    /// 311 with features `features % 4`.
    Hello {
        /// Which session.
        conn: u8,
        /// Which features.
        features: u8,
    },
    /// 311 with every feature, then 314: the last `max` (when `after` is
    /// 255), or after sequence number `after` of the epoch the session was
    /// told (of epoch 1 when `stale_epoch`).
    History {
        /// Which session.
        conn: u8,
        /// The position.
        after: u8,
        /// How many.
        max: u8,
        /// Ask with a wrong epoch.
        stale_epoch: bool,
    },
    /// 311 with every feature, then 317 with one of the last tokens
    /// received (altered when `tamper`), or garbage when none was received.
    TokenLogin {
        /// Which session.
        conn: u8,
        /// Which token.
        token: u8,
        /// Flip a bit of it.
        tamper: bool,
    },
    /// The clock moves on (and due timeouts run).
    Advance {
        /// By how much.
        millis: u16,
    },
}

/// A small configuration for random scripts; any values, valid or not.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct FuzzConfig {
    /// First room.
    pub room_start: i32,
    /// Rooms, modulo 5.
    pub rooms: u8,
    /// Room size, modulo 6 (0 allowed: nobody gets in).
    pub room_max_users: u8,
    /// Logged-in users at most, modulo 8.
    pub max_users: u8,
    /// Chat rate, modulo 20 (0: no limit).
    pub chat_rate: u8,
    /// Chat burst, modulo 5.
    pub chat_burst: u8,
    /// Login timeout in ms, modulo 5000.
    pub login_timeout_ms: u16,
    /// Auto-registration.
    pub auto_register: bool,
    /// Requests queued behind a login in flight before reading pauses,
    /// modulo 8, plus 1.
    pub pipeline_frames: u8,
    /// Created rooms per user, modulo 3 (0: creating is off).
    pub rooms_per_user: u8,
    /// Seconds a created room may stay empty, modulo 4, plus 1.
    pub room_idle_close_secs: u8,
    /// Messages kept per room, modulo 5 (0: history off).
    pub history_len: u8,
}

impl FuzzConfig {
    /// The machine's configuration.
    pub fn to_config(&self) -> ChatConfig {
        let fixed_end = i64::from(self.room_start) + i64::from(self.rooms % 5);
        let created_start = i32::try_from(fixed_end).ok();
        ChatConfig {
            room_start: self.room_start,
            rooms: u32::from(self.rooms % 5),
            room_max_users: usize::from(self.room_max_users % 6),
            max_users: usize::from(self.max_users % 8),
            chat_rate: u32::from(self.chat_rate % 20),
            chat_burst: u32::from(self.chat_burst % 5),
            login_timeout: Duration::from_millis(u64::from(self.login_timeout_ms % 5000)),
            auto_register: self.auto_register,
            pipeline_frames: usize::from(self.pipeline_frames % 8) + 1,
            // Capacities up to 5 are allowed: some asked for (up to 7) are
            // refused with 103.
            room_max_users_limit: 5,
            // No room is left above fixed rooms that reach the top of i32:
            // creating is off then.
            rooms_per_user: if created_start.is_some() {
                u32::from(self.rooms_per_user % 3)
            } else {
                0
            },
            max_created_rooms: 4,
            room_idle_close: Duration::from_secs(u64::from(self.room_idle_close_secs % 4) + 1),
            created_room_start: created_start.unwrap_or(i32::MAX),
            history_len: usize::from(self.history_len % 5),
            token_key: Some(crate::TokenKey::new([9; 32])),
            token_ttl: Duration::from_secs(5),
            ..ChatConfig::default()
        }
    }
}

const MAX_BYTES: usize = 1024;

/// Room names the scripts use: a few valid ones, two that differ only in
/// case, and invalid ones (empty, NUL, control, 33 bytes, not UTF-8,
/// spaces at an end).
pub const NAMES: [&[u8]; 10] = [
    b"lobby",
    b"LOBBY",
    b"rust fans",
    b" r3",
    "\u{e9}t\u{e9}".as_bytes(),
    b"",
    b"a\0b",
    b"line\nbreak",
    b"0123456789abcdef0123456789abcdefX",
    b"\xff\xfe",
];

impl Harness {
    /// Applies one operation (see [`Operation`]), checking everything after.
    pub fn apply(&mut self, operation: &Operation) {
        match operation {
            Operation::Connect => {
                self.connect();
            }
            Operation::Disconnect { conn } => {
                if let Some(conn) = self.pick(*conn) {
                    self.disconnect(conn);
                }
            }
            Operation::Login {
                conn,
                user,
                password,
            } => {
                if let Some(conn) = self.pick(*conn) {
                    let user = format!("u{}", user % 6);
                    let password = format!("p{}", password % 3);
                    self.login(conn, &user, &password);
                }
            }
            Operation::Enter { conn, room } => {
                if let Some(conn) = self.pick(*conn) {
                    let room = self.room(*room);
                    self.enter(conn, room);
                }
            }
            Operation::Leave { conn } => {
                if let Some(conn) = self.pick(*conn) {
                    self.leave(conn);
                }
            }
            Operation::Chat { conn, len } => {
                if let Some(conn) = self.pick(*conn) {
                    let message = "m".repeat(usize::from(*len).max(1));
                    self.chat_message(conn, &message);
                }
            }
            Operation::Echo { conn, len } => {
                if let Some(conn) = self.pick(*conn) {
                    self.echo(conn, &vec![*len; usize::from(*len)]);
                }
            }
            Operation::Packet { conn, id, body } => {
                if let Some(conn) = self.pick(*conn) {
                    let body = &body[..body.len().min(MAX_BYTES)];
                    let len = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
                    let mut frame = Vec::with_capacity(usize::from(len));
                    frame.extend_from_slice(&len.to_le_bytes());
                    frame.extend_from_slice(&id.to_le_bytes());
                    frame.push(0);
                    frame.extend_from_slice(body);
                    self.send_frame(conn, &frame);
                }
            }
            Operation::Frame { conn, bytes } => {
                if let Some(conn) = self.pick(*conn) {
                    self.send_frame(conn, &bytes[..bytes.len().min(MAX_BYTES)]);
                }
            }
            Operation::Answer { check, result } => {
                let result = match result % 4 {
                    2 => Some(AuthResult::Rejected),
                    3 => Some(AuthResult::Unavailable),
                    _ => None,
                };
                self.answer_index(usize::from(*check), result);
            }
            Operation::StaleAnswer {
                conn,
                ticket,
                result,
            } => {
                if let Some(conn) = self.pick(*conn) {
                    let result = match result % 3 {
                        0 => AuthResult::Accepted,
                        1 => AuthResult::Rejected,
                        _ => AuthResult::Unavailable,
                    };
                    // Real tickets start at 1; small ones may hit a live
                    // check, which must then be handled like its answer.
                    self.answer_stale(conn, u64::from(*ticket), result);
                }
            }
            Operation::Create { conn, name, max } => {
                if let Some(conn) = self.pick(*conn) {
                    let name = NAMES[usize::from(*name) % NAMES.len()];
                    self.create_room(conn, name, u16::from(*max % 8));
                }
            }
            Operation::List { conn, watch } => {
                if let Some(conn) = self.pick(*conn) {
                    self.list_rooms(conn, *watch);
                }
            }
            Operation::EnterName { conn, name } => {
                if let Some(conn) = self.pick(*conn) {
                    self.enter_name(conn, NAMES[usize::from(*name) % NAMES.len()]);
                }
            }
            Operation::Hello { conn, features } => {
                if let Some(conn) = self.pick(*conn) {
                    let features = ringport_proto::Features(u32::from(*features % 4));
                    self.send(
                        conn,
                        &ringport_proto::ClientPacket::HelloReq(ringport_proto::HelloReq {
                            features,
                        }),
                    );
                }
            }
            Operation::History {
                conn,
                after,
                max,
                stale_epoch,
            } => {
                if let Some(conn) = self.pick(*conn) {
                    self.hello_all(conn);
                    let epoch = if *stale_epoch { 1 } else { self.epoch_of(conn) };
                    let after_seq = if *after == 255 {
                        ringport_proto::RoomHistoryReq::LAST
                    } else {
                        u64::from(*after)
                    };
                    let req = ringport_proto::RoomHistoryReq {
                        epoch,
                        after_seq,
                        max: u16::from(*max),
                    };
                    self.send(conn, &ringport_proto::ClientPacket::RoomHistoryReq(req));
                }
            }
            Operation::TokenLogin {
                conn,
                token,
                tamper,
            } => {
                if let Some(conn) = self.pick(*conn) {
                    self.hello_all(conn);
                    let mut bytes = self
                        .token(usize::from(*token))
                        .map_or_else(|| vec![*token; 40], <[u8]>::to_vec);
                    if *tamper {
                        if let Some(b) = bytes.get_mut(usize::from(*token) % 40) {
                            *b ^= 1;
                        }
                    }
                    self.send(
                        conn,
                        &ringport_proto::ClientPacket::LoginTokenReq(
                            ringport_proto::LoginTokenReq { token: &bytes },
                        ),
                    );
                }
            }
            Operation::Advance { millis } => {
                self.advance(Duration::from_millis(u64::from(*millis)))
            }
        }
    }

    /// 311 with every feature, as a client does before what follows.
    fn hello_all(&mut self, conn: ConnId) {
        let hello = ringport_proto::HelloReq {
            features: ringport_proto::Features::ALL,
        };
        self.send(conn, &ringport_proto::ClientPacket::HelloReq(hello));
    }

    fn pick(&self, index: u8) -> Option<ConnId> {
        let conns = self.conns();
        if conns.is_empty() {
            return None;
        }
        // Counted from the newest, so long scripts keep reaching live ones.
        let back = usize::from(index) % conns.len();
        conns.get(conns.len() - 1 - back).copied()
    }

    fn room(&self, pick: RoomPick) -> i32 {
        match pick {
            RoomPick::Any(room) => room,
            RoomPick::Created(n) => {
                let start = self.chat().config().created_room_start;
                start.saturating_add(i32::from(n % 5))
            }
            RoomPick::Near(n) => {
                let config = self.chat().config();
                let span = i64::from(config.rooms) + 2;
                let room = i64::from(config.room_start) - 1 + i64::from(n) % span;
                i32::try_from(room).unwrap_or(config.room_start)
            }
        }
    }
}
