//! Random interleavings against a machine in cluster mode
//! ([`Chat::with_cluster`]), with the test playing the host as
//! `cluster_machine.rs` does: local client operations on a few sessions, the
//! host's answers to the outstanding [`ClusterRequest`]s in random order
//! (success or failure, some late, some never), and unsolicited traffic from
//! "other nodes", nonsense included.
//!
//! Asserted after every step:
//!
//! - nothing panics, and [`Chat::check_invariants`] holds (sessions,
//!   logins, rooms, deadlines and gauges agree, the remote-members gauge
//!   included). In particular a room's *local* member list never exceeds
//!   `room_max_users`: capacity is cluster-wide in Redis (the fake Redis
//!   here refuses beyond it, counting the members it was told of), but
//!   members admitted locally during an outage reach Redis only at the
//!   host's next heartbeat ([`Op::Heal`]), so the machine must not admit
//!   beyond the capacity itself either (see the regression tests below);
//! - no session is listed twice in a room; every session the machine puts in
//!   a room is listed in that room exactly once; a closed session is in no
//!   room and is not logged in, and a claim or enter answered after it closed
//!   is undone (Release / Leave), never applied;
//! - every packet sent decodes with `ServerPacket::decode` and fits the
//!   session's state as PROTOCOL.md describes it: every request with a
//!   known id gets exactly one answer and the answers come in the order of
//!   the requests (a request sent while a claim or an enter of its session
//!   is in flight waits for it), nothing is owed to a session with no
//!   request in flight, 209/208/217/223 only go to a session that was told
//!   207(0) and not yet 216(0), and what each session was told (202(0),
//!   207(0), 216(0)) matches the machine's state for it;
//! - the host's view of the cluster stays balanced: every Release is for a
//!   claim the host granted and not yet released, every Leave for a member
//!   the host registered (or the machine admitted locally while the bus was
//!   down) and not yet removed, every Enter is for a logged-in session not in
//!   a room, into a configured room, with the configured capacity, and every
//!   published chat is one 223;
//! - at the end, once every session has closed and every request has been
//!   answered: no session, room, claim, enter or view is left, no remote
//!   member is counted, every granted claim was released and every
//!   registered member left.
//!
//! Deliberately not asserted:
//!
//! - that the 209/208/217 a client sees never names a member twice or names
//!   itself: the machine trusts the host to keep this node's own members out
//!   of remote changes and snapshots (the host filters by origin/node, see
//!   SCALING.md and `wire`), and this test feeds it snapshots that include
//!   local members, duplicate remote members and changes from "this node";
//!   those only have to be survived;
//! - cluster-wide capacity: it is Redis' job (and SCALING.md lists the
//!   outage cases where a room can briefly exceed it);
//! - exact presence for remote members (which 208/217 follow which change):
//!   change numbers and snapshots are fed at random, so the view legitimately
//!   skips, replays and repairs; `mirror`'s unit tests cover the rules;
//! - that unanswered requests are forgotten: the host answers every Claim
//!   and Enter (with "unavailable" when Redis or its queue fails, see
//!   `ClusterHandle::submit` in the server crate), and the machine keeps
//!   their bookkeeping until then; so at the end the bookkeeping may only
//!   hold what the lost requests ([`Op::Drop`]) account for, and nothing
//!   once they too are answered, late.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use ringport_chat::testing::frame;
use ringport_chat::{
    AuthRequest, AuthResult, Chat, ChatConfig, ClaimResult, ClusterEvent, ClusterRequest, ConnId,
    EnterResult, Outbound, RemoteMember, RoomChange,
};
use ringport_proto::{
    ClientPacket, LoginReq, Message, ResultCode, RoomChatNtf, RoomChatReq, RoomEnterReq,
    ServerPacket, UserId,
};

/// One step of a script.
#[derive(Debug, Clone)]
enum Op {
    Connect,
    /// A new session that logs in (answered: accepted, claimed) and asks
    /// to enter a room (not answered).
    Join {
        user: u8,
        room: u8,
    },
    Disconnect {
        conn: u8,
    },
    Login {
        conn: u8,
        user: u8,
    },
    Enter {
        conn: u8,
        room: u8,
    },
    Leave {
        conn: u8,
    },
    Chat {
        conn: u8,
        len: u8,
    },
    Packet {
        conn: u8,
        id: u16,
        body: Vec<u8>,
    },
    /// Answers a waiting password check.
    Auth {
        index: u8,
        result: u8,
    },
    /// Answers an outstanding Claim or Enter (and forgets it).
    Answer {
        index: u8,
        result: u8,
        seq: u8,
        members: Vec<(u8, u8)>,
    },
    /// The host loses an outstanding request: it is answered only at the
    /// very end, after every session has closed.
    Drop {
        index: u8,
    },
    /// An answer for a request that was never made.
    Bogus {
        conn: u8,
        ticket: u8,
        claimed: bool,
    },
    /// Another node's enter, leave or chat.
    Remote {
        room: u8,
        kind: u8,
        seq: u8,
        member: (u8, u8),
    },
    /// A snapshot of the other nodes' members.
    Members {
        room: u8,
        seq: u8,
        members: Vec<(u8, u8)>,
    },
    Resync,
    /// The bus returns: the host registers the members admitted while it
    /// was down (a heartbeat).
    Heal,
    Advance {
        millis: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let conn = any::<u8>();
    let members = || proptest::collection::vec((any::<u8>(), any::<u8>()), 0..5);
    prop_oneof![
        3 => Just(Op::Connect),
        3 => (any::<u8>(), any::<u8>()).prop_map(|(user, room)| Op::Join { user, room }),
        1 => conn.prop_map(|conn| Op::Disconnect { conn }),
        4 => (conn, any::<u8>()).prop_map(|(conn, user)| Op::Login { conn, user }),
        5 => (conn, any::<u8>()).prop_map(|(conn, room)| Op::Enter { conn, room }),
        2 => conn.prop_map(|conn| Op::Leave { conn }),
        2 => (conn, any::<u8>()).prop_map(|(conn, len)| Op::Chat { conn, len }),
        1 => (conn, prop_oneof![Just(201u16), Just(206), Just(215), Just(221), any::<u16>()],
              proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(conn, id, body)| Op::Packet { conn, id, body }),
        5 => (any::<u8>(), any::<u8>()).prop_map(|(index, result)| Op::Auth { index, result }),
        9 => (any::<u8>(), any::<u8>(), any::<u8>(), members())
            .prop_map(|(index, result, seq, members)| Op::Answer { index, result, seq, members }),
        1 => any::<u8>().prop_map(|index| Op::Drop { index }),
        1 => (conn, any::<u8>(), any::<bool>())
            .prop_map(|(conn, ticket, claimed)| Op::Bogus { conn, ticket, claimed }),
        5 => (any::<u8>(), any::<u8>(), any::<u8>(), (any::<u8>(), any::<u8>()))
            .prop_map(|(room, kind, seq, member)| Op::Remote { room, kind, seq, member }),
        2 => (any::<u8>(), any::<u8>(), members())
            .prop_map(|(room, seq, members)| Op::Members { room, seq, members }),
        1 => Just(Op::Resync),
        1 => Just(Op::Heal),
        1 => (0u16..1000).prop_map(|millis| Op::Advance { millis }),
    ]
}

/// A script: three sessions to start with, then `len` random steps.
fn script(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), len).prop_map(|ops| {
        let mut script = vec![Op::Connect, Op::Connect, Op::Connect];
        script.extend(ops);
        script
    })
}

fn config() -> impl Strategy<Value = ChatConfig> {
    (
        prop_oneof![Just(0i32), Just(-3), Just(i32::MAX - 2), any::<i32>()],
        1u32..4,
        prop_oneof![1 => Just(0usize), 8 => 1usize..5],
        3usize..10,
        2000u64..8000,
        prop_oneof![Just(64usize), 1usize..4],
    )
        .prop_map(
            |(room_start, rooms, room_max_users, max_users, timeout, pipeline_frames)| ChatConfig {
                room_start,
                rooms,
                room_max_users,
                max_users,
                login_timeout: Duration::from_millis(timeout),
                pipeline_frames,
                ..ChatConfig::default()
            },
        )
}

/// What the host's outbound recorded in one step.
#[derive(Default)]
struct Recorded {
    sent: Vec<(ConnId, Vec<u8>)>,
    closed: Vec<ConnId>,
    auth: Vec<AuthRequest>,
    cluster: Vec<ClusterRequest>,
    reading: Vec<(ConnId, bool)>,
}

impl Outbound for Recorded {
    fn send(&mut self, conn: ConnId, packet: &[u8]) {
        self.sent.push((conn, packet.to_vec()));
    }
    fn send_shared(&mut self, conn: ConnId, packet: &Bytes) {
        self.sent.push((conn, packet.to_vec()));
    }
    fn close(&mut self, conn: ConnId) {
        self.closed.push(conn);
    }
    fn authenticate(&mut self, request: AuthRequest) {
        self.auth.push(request);
    }
    fn cluster(&mut self, request: ClusterRequest) {
        self.cluster.push(request);
    }
    fn pause_reading(&mut self, conn: ConnId) {
        self.reading.push((conn, true));
    }
    fn resume_reading(&mut self, conn: ConnId) {
        self.reading.push((conn, false));
    }
}

/// What one session was told.
#[derive(Debug, Default)]
struct Client {
    open: bool,
    logged_in: bool,
    in_room: bool,
    /// The answers owed, in request order: the response id (1 for an
    /// echo) of every request sent and not yet answered.
    owed: std::collections::VecDeque<u16>,
    /// Reading paused by the machine (and not resumed).
    paused: bool,
}

/// The host: the machine, the sessions, and a fake Redis.
struct Host {
    chat: Chat,
    base: Instant,
    elapsed: Duration,
    clients: BTreeMap<ConnId, Client>,
    next_conn: u64,
    auth: Vec<AuthRequest>,
    /// Claims and Enters not answered yet.
    requests: Vec<ClusterRequest>,
    /// Claims and Enters the host "lost": answered only at the very end.
    dropped: Vec<ClusterRequest>,
    /// Claims granted (conn, user id) and not released.
    granted: HashMap<(ConnId, Arc<str>), u32>,
    /// Members registered (room, unique id) and not left.
    registered: HashMap<(i32, i64), u32>,
    /// Members the machine admitted while the bus was down, not registered
    /// until the bus "returns" ([`Op::Heal`]).
    degraded: HashMap<(i32, i64), u32>,
    /// Unique ids handed out by claims.
    local_uids: Vec<i64>,
    next_uid: i64,
    next_seq: u64,
    /// Pauses asked.
    pauses: u64,
}

fn is_room_packet(packet: &ServerPacket<'_>) -> bool {
    matches!(
        packet,
        ServerPacket::RoomUserListNtf(_)
            | ServerPacket::RoomNewUserNtf(_)
            | ServerPacket::RoomLeaveUserNtf(_)
            | ServerPacket::RoomChatNtf(_)
    )
}

fn chat_packet(name: u8) -> Bytes {
    let mut packet = Vec::new();
    RoomChatNtf {
        user_id: UserId::new(&format!("r{name}")).unwrap(),
        message: Message::new("from afar").unwrap(),
    }
    .encode(&mut packet);
    Bytes::from(packet)
}

impl Host {
    fn new(config: ChatConfig) -> Host {
        Host {
            chat: Chat::with_cluster(config),
            base: Instant::now(),
            elapsed: Duration::ZERO,
            clients: BTreeMap::new(),
            next_conn: 1,
            auth: Vec::new(),
            requests: Vec::new(),
            dropped: Vec::new(),
            granted: HashMap::new(),
            registered: HashMap::new(),
            degraded: HashMap::new(),
            local_uids: Vec::new(),
            next_uid: 1000,
            next_seq: 0,
            pauses: 0,
        }
    }

    fn now(&self) -> Instant {
        self.base + self.elapsed
    }

    /// A session, counted from the newest so long scripts reach live ones.
    /// Mostly an open one; one time in eight any (closed ones included).
    fn pick(&self, index: u8) -> Option<ConnId> {
        let open: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.open)
            .map(|(&conn, _)| conn)
            .collect();
        let pool: Vec<ConnId> = if index % 8 == 7 || open.is_empty() {
            self.clients.keys().copied().collect()
        } else {
            open
        };
        if pool.is_empty() {
            return None;
        }
        let back = usize::from(index / 8) % pool.len();
        pool.iter().rev().nth(back).copied()
    }

    /// A room change number: mostly the next one, sometimes an old or a
    /// repeated one (reordered, duplicated, or after a Redis restart).
    fn seq(&mut self, raw: u8) -> u64 {
        if raw % 4 == 0 {
            return u64::from(raw / 4) % (self.next_seq + 2);
        }
        self.next_seq += 1;
        self.next_seq
    }

    /// A room number: mostly a configured one, sometimes one just outside
    /// (on either side).
    fn room(&self, index: u8) -> i32 {
        let rooms = self.rooms();
        if index >= 224 {
            return rooms[usize::from(index) % rooms.len()];
        }
        rooms[1 + usize::from(index) % (rooms.len() - 2)]
    }

    /// The configured rooms with one number on each side.
    fn rooms(&self) -> Vec<i32> {
        let config = self.chat.config();
        (-1..=i64::from(config.rooms))
            .map(|i| i32::try_from(i64::from(config.room_start) + i).unwrap_or(i32::MIN))
            .collect()
    }

    /// A member of another node: mostly remote ids, sometimes one of this
    /// node's own unique ids (nonsense the host should have filtered);
    /// rarely an invalid user id.
    fn member(&self, (uid, name): (u8, u8)) -> RemoteMember {
        let unique_id = if uid >= 220 && !self.local_uids.is_empty() {
            self.local_uids[usize::from(uid) % self.local_uids.len()]
        } else {
            i64::from(uid % 12) + 1
        };
        let user_id: Arc<str> = match name % 16 {
            15 => Arc::from(""),
            14 => Arc::from("x".repeat(40)),
            n => Arc::from(format!("r{n}")),
        };
        RemoteMember { unique_id, user_id }
    }

    fn members(&self, list: &[(u8, u8)]) -> Vec<RemoteMember> {
        list.iter().map(|&m| self.member(m)).collect()
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Connect => {
                let conn = ConnId(self.next_conn);
                self.next_conn += 1;
                self.clients.insert(
                    conn,
                    Client {
                        open: true,
                        ..Client::default()
                    },
                );
                let now = self.now();
                self.chat.handle_connect(conn, now);
                self.check();
            }
            Op::Join { user, room } => {
                self.apply(&Op::Connect);
                let conn = ConnId(self.next_conn - 1);
                let mut f = Vec::new();
                LoginReq::new(&format!("u{}", user % 5), "pw")
                    .unwrap()
                    .encode(&mut f);
                self.send_to(conn, &f);
                if let Some(at) = self.auth.iter().position(|r| r.conn == conn) {
                    let request = self.auth.remove(at);
                    self.step(|chat, outbound, _| {
                        chat.handle_auth_result(
                            conn,
                            request.ticket,
                            AuthResult::Accepted,
                            outbound,
                        );
                    });
                }
                let claim = self
                    .requests
                    .iter()
                    .position(|r| matches!(r, ClusterRequest::Claim { conn: c, .. } if *c == conn));
                if let Some(at) = claim {
                    let request = self.requests.remove(at);
                    self.answer(request, 0, 0, Vec::new());
                }
                let room = self.room(*room);
                self.send_to(conn, &frame(RoomEnterReq::ID, &room.to_le_bytes()));
            }
            Op::Disconnect { conn } => {
                if let Some(conn) = self.pick(*conn) {
                    self.gone(conn);
                    self.step(|chat, outbound, _| chat.handle_disconnect(conn, outbound));
                }
            }
            Op::Login { conn, user } => {
                let mut f = Vec::new();
                LoginReq::new(&format!("u{}", user % 5), "pw")
                    .unwrap()
                    .encode(&mut f);
                self.send(*conn, &f);
            }
            Op::Enter { conn, room } => {
                let room = self.room(*room);
                self.send(*conn, &frame(RoomEnterReq::ID, &room.to_le_bytes()));
            }
            Op::Leave { conn } => self.send(*conn, &frame(215, &[])),
            Op::Chat { conn, len } => {
                let mut f = Vec::new();
                let message = "m".repeat(usize::from(*len).max(1));
                ClientPacket::RoomChatReq(RoomChatReq::new(&message).unwrap())
                    .encode(&mut f)
                    .unwrap();
                self.send(*conn, &f);
            }
            Op::Packet { conn, id, body } => self.send(*conn, &frame(*id, body)),
            Op::Auth { index, result } => {
                if self.auth.is_empty() {
                    return;
                }
                let span = if *index >= 192 {
                    self.auth.len()
                } else {
                    self.auth.len().min(3)
                };
                let request = self.auth.remove(usize::from(*index) % span);
                let result = match result % 6 {
                    4 => AuthResult::Rejected,
                    5 => AuthResult::Unavailable,
                    _ => AuthResult::Accepted,
                };
                self.step(|chat, outbound, _| {
                    chat.handle_auth_result(request.conn, request.ticket, result, outbound);
                });
            }
            Op::Answer {
                index,
                result,
                seq,
                members,
            } => {
                if self.requests.is_empty() {
                    return;
                }
                // Mostly one of the three oldest, sometimes any.
                let span = if *index >= 192 {
                    self.requests.len()
                } else {
                    self.requests.len().min(3)
                };
                let request = self.requests.remove(usize::from(*index) % span);
                let members = self.members(members);
                let seq = self.seq(*seq);
                self.answer(request, *result, seq, members);
            }
            Op::Drop { index } => {
                if !self.requests.is_empty() {
                    let at = usize::from(*index) % self.requests.len();
                    let request = self.requests.remove(at);
                    self.dropped.push(request);
                }
            }
            Op::Bogus {
                conn,
                ticket,
                claimed,
            } => {
                let Some(conn) = self.pick(*conn) else {
                    return;
                };
                // Tickets and rooms no request carries.
                let event = if *claimed {
                    ClusterEvent::Claimed {
                        conn,
                        ticket: u64::MAX - u64::from(*ticket),
                        result: ClaimResult::Claimed(7),
                    }
                } else {
                    ClusterEvent::Entered {
                        conn,
                        room: i32::MIN + i32::from(*ticket),
                        result: EnterResult::Entered {
                            seq: 1,
                            members: Vec::new(),
                        },
                    }
                };
                self.step(|chat, outbound, _| chat.handle_cluster(event, outbound));
            }
            Op::Remote {
                room,
                kind,
                seq,
                member,
            } => {
                let room = self.room(*room);
                let seq = self.seq(*seq);
                let member = self.member(*member);
                let change = match kind % 3 {
                    0 => RoomChange::Enter { seq, member },
                    1 => RoomChange::Leave {
                        seq,
                        unique_id: member.unique_id,
                    },
                    _ => RoomChange::Chat {
                        packet: chat_packet(kind % 7),
                    },
                };
                self.step(|chat, outbound, _| {
                    chat.handle_cluster(ClusterEvent::Remote { room, change }, outbound);
                });
            }
            Op::Members { room, seq, members } => {
                let room = self.room(*room);
                let members = self.members(members);
                let seq = self.seq(*seq);
                self.step(|chat, outbound, _| {
                    chat.handle_cluster(ClusterEvent::Members { room, seq, members }, outbound);
                });
            }
            Op::Heal => {
                for (key, n) in self.degraded.drain() {
                    *self.registered.entry(key).or_default() += n;
                }
            }
            Op::Resync => {
                self.step(|chat, outbound, _| chat.handle_cluster(ClusterEvent::Resync, outbound));
            }
            Op::Advance { millis } => {
                self.elapsed += Duration::from_millis(u64::from(*millis));
                let now = self.now();
                if self.chat.next_timeout().is_some_and(|at| at <= now) {
                    self.step(|chat, outbound, now| chat.handle_timeout(now, outbound));
                }
            }
        }
    }

    /// `conn` sends one frame; a request with a known id (valid or not)
    /// is owed one answer.
    fn send(&mut self, conn: u8, f: &[u8]) {
        if let Some(conn) = self.pick(conn) {
            self.send_to(conn, f);
        }
    }

    fn send_to(&mut self, conn: ConnId, f: &[u8]) {
        let owed = match ClientPacket::decode(f) {
            Ok(ClientPacket::DevEcho(_)) => Some(1),
            Ok(packet) => ringport_proto::id::response_to(packet.id()),
            Err(e) => e
                .invalid_packet_id()
                .and_then(ringport_proto::id::response_to),
        };
        let client = self.clients.get_mut(&conn).unwrap();
        if let (Some(id), true) = (owed, client.open) {
            client.owed.push_back(id);
        }
        self.step(|chat, outbound, now| chat.handle_packet(conn, f, now, outbound));
    }

    /// The host answers `request` with the answer `result` picks.
    fn answer(
        &mut self,
        request: ClusterRequest,
        result: u8,
        seq: u64,
        members: Vec<RemoteMember>,
    ) {
        match request {
            ClusterRequest::Claim {
                conn,
                ticket,
                user_id,
            } => {
                let result = match result % 5 {
                    0..=2 => {
                        let uid = self.next_uid;
                        self.next_uid += 1;
                        self.local_uids.push(uid);
                        *self.granted.entry((conn, user_id)).or_default() += 1;
                        ClaimResult::Claimed(uid)
                    }
                    3 => ClaimResult::Taken,
                    _ => ClaimResult::Unavailable,
                };
                self.step(|chat, outbound, _| {
                    chat.handle_cluster(
                        ClusterEvent::Claimed {
                            conn,
                            ticket,
                            result,
                        },
                        outbound,
                    );
                });
            }
            ClusterRequest::Enter {
                conn,
                room,
                unique_id,
                ..
            } => {
                // The membership script refuses beyond the capacity.
                let held: u32 = self
                    .registered
                    .iter()
                    .filter(|((r, _), _)| *r == room)
                    .map(|(_, n)| *n)
                    .sum();
                let max = self.chat.config().room_max_users;
                let full = held as usize >= max;
                let mut members = members;
                members.truncate(max.saturating_sub(held as usize + 1));
                let result = match result % 4 {
                    0 | 1 if !full => {
                        *self.registered.entry((room, unique_id)).or_default() += 1;
                        EnterResult::Entered { seq, members }
                    }
                    0..=2 => EnterResult::Full,
                    _ => EnterResult::Unavailable,
                };
                let degraded = result == EnterResult::Unavailable;
                // An enter done locally while the bus was down: the host
                // registers the member when the bus returns. Counted before
                // the step, since a leave queued behind the enter may
                // follow it within the same step; taken back if the enter
                // was refused.
                if degraded {
                    *self.degraded.entry((room, unique_id)).or_default() += 1;
                }
                let sent = self.step(|chat, outbound, _| {
                    chat.handle_cluster(ClusterEvent::Entered { conn, room, result }, outbound);
                });
                let admitted = sent.iter().any(|(c, p)| {
                    *c == conn
                        && matches!(ServerPacket::decode(p),
                            Ok(ServerPacket::RoomEnterRes(r)) if r.result == ResultCode::None)
                });
                if degraded && !admitted {
                    if let Some(n) = self.degraded.get_mut(&(room, unique_id)) {
                        *n -= 1;
                    }
                }
            }
            other => panic!("{other:?} has no answer"),
        }
    }

    /// Runs one input and handles what it produced as a host would
    /// (closes are reported back as disconnects); returns the packets sent.
    fn step(
        &mut self,
        input: impl FnOnce(&mut Chat, &mut Recorded, Instant),
    ) -> Vec<(ConnId, Vec<u8>)> {
        let mut outbound = Recorded::default();
        let now = self.now();
        input(&mut self.chat, &mut outbound, now);
        let mut sent = Vec::new();
        loop {
            let batch = std::mem::take(&mut outbound);
            if batch.sent.is_empty()
                && batch.closed.is_empty()
                && batch.auth.is_empty()
                && batch.cluster.is_empty()
                && batch.reading.is_empty()
            {
                break;
            }
            for (conn, pause) in batch.reading {
                let client = self.clients.get_mut(&conn).expect("unknown session");
                assert!(client.open, "{conn}: pause/resume after it closed");
                assert_ne!(
                    client.paused, pause,
                    "{conn}: paused twice or resumed unpaused"
                );
                client.paused = pause;
                self.pauses += u64::from(pause);
            }
            for (conn, packet) in batch.sent {
                self.received(conn, &packet);
                sent.push((conn, packet));
            }
            self.auth.extend(batch.auth);
            for request in batch.cluster {
                self.requested(request);
            }
            for conn in batch.closed {
                self.gone(conn);
                self.chat.handle_disconnect(conn, &mut outbound);
            }
        }
        self.check();
        sent
    }

    /// A session's peer went away, or the machine closed it.
    fn gone(&mut self, conn: ConnId) {
        if let Some(client) = self.clients.get_mut(&conn) {
            *client = Client::default();
        }
    }

    /// `conn` receives `packet`: it must decode and fit the session's state.
    fn received(&mut self, conn: ConnId, packet: &[u8]) {
        let client = self
            .clients
            .get_mut(&conn)
            .expect("sent to an unknown session");
        assert!(client.open, "{conn} got a packet after it closed");
        let decoded = ServerPacket::decode(packet).unwrap_or_else(|e| {
            panic!("{conn} got a packet that does not decode ({e}): {packet:?}")
        });
        if is_room_packet(&decoded) {
            assert!(client.in_room, "{conn} got {} outside a room", decoded.id());
            assert!(client.logged_in, "{conn} got {} logged out", decoded.id());
        }
        if matches!(
            decoded,
            ServerPacket::DevEcho(_)
                | ServerPacket::LoginRes(_)
                | ServerPacket::RoomEnterRes(_)
                | ServerPacket::RoomLeaveRes(_)
                | ServerPacket::RoomChatRes(_)
        ) {
            // Answers come in the order of the requests.
            let owed = client.owed.pop_front();
            assert_eq!(
                owed,
                Some(decoded.id()),
                "{conn}: got {} when the answer owed was {owed:?}",
                decoded.id()
            );
        }
        match decoded {
            ServerPacket::LoginRes(r) if r.result == ResultCode::None => {
                assert!(!client.logged_in, "{conn} logged in twice");
                client.logged_in = true;
            }
            ServerPacket::RoomEnterRes(r) if r.result == ResultCode::None => {
                assert!(
                    client.logged_in && !client.in_room,
                    "{conn}: 207(0) out of state"
                );
                client.in_room = true;
            }
            ServerPacket::RoomLeaveRes(r) if r.result == ResultCode::None => {
                assert!(client.in_room, "{conn}: 216(0) outside a room");
                client.in_room = false;
            }
            ServerPacket::Unknown { id, .. } => panic!("{conn} got unknown packet {id}"),
            _ => {}
        }
    }

    /// The machine asked for cluster work.
    fn requested(&mut self, request: ClusterRequest) {
        match &request {
            ClusterRequest::Claim { conn, .. } => {
                assert!(self.chat.has_session(*conn), "claim for a gone session");
                self.requests.push(request);
            }
            ClusterRequest::Enter {
                conn, room, max, ..
            } => {
                assert_eq!(*max, self.chat.config().room_max_users);
                assert!(self.chat.config().has_room(*room), "enter of room {room}");
                assert!(
                    self.chat.logged_in_as(*conn).is_some() && self.chat.room_of(*conn).is_none(),
                    "enter for {conn} not logged in or already in a room"
                );
                self.requests.push(request);
            }
            ClusterRequest::Release { conn, user_id } => {
                let key = (*conn, Arc::clone(user_id));
                let n = self.granted.get_mut(&key);
                assert!(
                    n.as_ref().is_some_and(|n| **n > 0),
                    "release of {user_id} by {conn}, never granted or already released"
                );
                if let Some(n) = n {
                    *n -= 1;
                }
            }
            ClusterRequest::Leave { room, unique_id } => {
                let key = (*room, *unique_id);
                let n = match self.registered.get(&key) {
                    Some(n) if *n > 0 => self.registered.get_mut(&key),
                    _ => self.degraded.get_mut(&key),
                };
                assert!(
                    n.as_ref().is_some_and(|n| **n > 0),
                    "leave of {unique_id} from {room}, never registered or already left"
                );
                if let Some(n) = n {
                    *n -= 1;
                }
            }
            ClusterRequest::Chat { room, packet } => {
                assert!(self.chat.config().has_room(*room));
                assert!(matches!(
                    ServerPacket::decode(packet),
                    Ok(ServerPacket::RoomChatNtf(_))
                ));
            }
            ClusterRequest::Create { .. } => panic!("this model never creates rooms"),
            ClusterRequest::History { .. } => panic!("this model never asks for history"),
        }
    }

    /// Everything the machine and the sessions agree on.
    fn check(&self) {
        if let Err(e) = self.chat.check_invariants() {
            panic!("machine invariant broken: {e}");
        }
        let config = self.chat.config();
        let mut listed: HashMap<ConnId, i32> = HashMap::new();
        for room in self.rooms() {
            let members = self.chat.room_members(room);
            assert!(
                members.len() <= config.room_max_users,
                "room {room} over capacity"
            );
            for conn in members {
                assert!(listed.insert(conn, room).is_none(), "{conn} listed twice");
                assert_eq!(
                    self.chat.room_of(conn),
                    Some(room),
                    "{conn} listed in {room}"
                );
            }
        }
        for (&conn, client) in &self.clients {
            let room = self.chat.room_of(conn);
            assert_eq!(
                room,
                listed.get(&conn).copied(),
                "{conn} in a room, unlisted"
            );
            if !client.open {
                assert!(!self.chat.has_session(conn), "{conn} closed, still known");
                continue;
            }
            assert_eq!(
                self.chat.reading_paused(conn),
                client.paused,
                "{conn} paused"
            );
            // Every request is answered: nothing is owed unless one is in
            // flight (and then it and those queued behind it).
            let (queued, _) = self.chat.queued_requests(conn);
            if self.chat.is_waiting(conn) {
                assert!(
                    !client.owed.is_empty() && client.owed.len() - 1 <= queued,
                    "{conn} waits, owed {:?}, {queued} queued",
                    client.owed
                );
            } else {
                assert!(
                    client.owed.is_empty(),
                    "{conn} waits for nothing, yet is owed {:?}",
                    client.owed
                );
            }
            assert_eq!(
                self.chat.logged_in_as(conn).is_some(),
                client.logged_in,
                "{conn} login differs from what it was told"
            );
            assert_eq!(
                room.is_some(),
                client.in_room,
                "{conn} room differs from what it was told"
            );
        }
    }

    /// Closes every session and answers every request, then checks that
    /// nothing is left behind.
    fn finish(&mut self, answers: &[u8]) {
        let open: Vec<ConnId> = self.clients.keys().copied().collect();
        for (i, conn) in open.into_iter().enumerate() {
            // Some requests are answered before the session goes.
            if i % 2 == 0 && !self.requests.is_empty() {
                let request = self.requests.remove(0);
                self.answer(request, answers.get(i).copied().unwrap_or(0), 1, Vec::new());
            }
            self.gone(conn);
            self.step(|chat, outbound, _| chat.handle_disconnect(conn, outbound));
        }
        let mut i = 0;
        while !self.requests.is_empty() {
            let request = self.requests.remove(0);
            self.answer(request, answers.get(i).copied().unwrap_or(1), 1, Vec::new());
            i += 1;
        }
        self.check();
        let stats = self.chat.stats();
        assert_eq!(
            (stats.sessions, stats.rooms_active, stats.users_in_rooms),
            (0, 0, 0)
        );
        // Only the requests never answered keep anything.
        let claims = self
            .dropped
            .iter()
            .filter(|r| matches!(r, ClusterRequest::Claim { .. }))
            .count();
        let rooms: std::collections::BTreeSet<i32> = self
            .dropped
            .iter()
            .filter_map(|r| match r {
                ClusterRequest::Enter { room, .. } => Some(*room),
                _ => None,
            })
            .collect();
        let enters = self.dropped.len() - claims;
        let (c, e, v) = self.chat.cluster_bookkeeping().unwrap();
        assert!(
            c <= claims && e <= enters && v <= rooms.len(),
            "({c}, {e}, {v}) kept for {claims} claims and {enters} enters never answered"
        );
        // Until they are answered, late.
        for request in std::mem::take(&mut self.dropped) {
            self.answer(
                request,
                answers.first().copied().unwrap_or(0),
                1,
                Vec::new(),
            );
        }
        let cluster = self.chat.cluster_bookkeeping().unwrap();
        assert_eq!(cluster, (0, 0, 0), "claims, enters, views left");
        assert_eq!(self.chat.cluster_stats().unwrap().remote_members, 0);
        assert!(
            self.granted.values().all(|n| *n == 0),
            "claims never released"
        );
        assert!(
            self.registered
                .values()
                .chain(self.degraded.values())
                .all(|n| *n == 0),
            "members never left"
        );
    }
}

fn run(config: ChatConfig, ops: &[Op], answers: &[u8]) -> Host {
    let mut host = Host::new(config);
    for op in ops {
        host.apply(op);
    }
    host.finish(answers);
    host
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cluster_mode_keeps_its_invariants(
        config in config(),
        ops in script(0..150),
        answers in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        run(config, &ops, &answers);
    }
}

/// The scripts above must reach the interesting states, or the property
/// would hold vacuously: logins, shared rooms, remote traffic, degraded
/// enters, snapshot repairs, answers after the session closed.
#[test]
fn random_scripts_reach_the_cluster_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let (mut logins, mut shared, mut remote, mut chats_in, mut degraded, mut repaired) =
        (0, 0, 0, 0, 0, 0);
    let (mut pauses, mut queued) = (0, 0);
    for _ in 0..200 {
        let Ok(tree) = (config(), script(100..120)).new_tree(&mut runner) else {
            panic!("strategy failed");
        };
        let (config, ops) = tree.current();
        let mut host = Host::new(config);
        for op in &ops {
            host.apply(op);
            if host.chat.stats().users_in_rooms > host.chat.stats().rooms_active {
                shared += 1;
            }
        }
        logins += host.chat.stats().logins_ok;
        let c = host.chat.cluster_stats().unwrap();
        remote += c.remote_changes;
        chats_in += c.remote_chats_in;
        degraded += c.degraded_enters;
        repaired += c.repaired_enters + c.repaired_leaves;
        pauses += host.pauses;
        queued += host.chat.stats().requests_queued;
    }
    println!(
        "logins {logins}, steps with a shared room {shared}, remote changes {remote}, \
         remote chats {chats_in}, degraded enters {degraded}, repairs {repaired}, \
         requests queued {queued}, read pauses {pauses}"
    );
    assert!(queued > 100 && pauses > 20);
    assert!(logins > 200 && shared > 100 && remote > 50 && chats_in > 50);
    assert!(degraded > 50 && repaired > 50);
}

fn small(rooms: u32, room_max_users: usize) -> ChatConfig {
    ChatConfig {
        room_start: 0,
        rooms,
        room_max_users,
        max_users: 4,
        login_timeout: Duration::from_secs(2),
        ..ChatConfig::default()
    }
}

/// Found by the property: a session logged in by a claim's answer kept its
/// login deadline at the top of the timeout queue (`handle_cluster` did not
/// prune it), so `next_timeout` was not exact.
#[test]
fn a_login_finished_by_the_claim_leaves_no_stale_deadline() {
    let ops = [
        Op::Connect,
        Op::Login { conn: 0, user: 0 },
        Op::Auth {
            index: 0,
            result: 0,
        },
        Op::Answer {
            index: 0,
            result: 0,
            seq: 0,
            members: Vec::new(),
        },
    ];
    let host = run(small(1, 1), &ops, &[]);
    assert_eq!(host.chat.stats().logins_ok, 1);
}

/// Found by the property: when the last local member left a room, its view
/// of the other nodes' members was dropped but the `remote_members` gauge
/// kept counting them until the next cluster event.
#[test]
fn the_remote_members_gauge_follows_a_dropped_view() {
    let ops = [
        Op::Join { user: 0, room: 0 },
        Op::Answer {
            index: 0,
            result: 0,
            seq: 3,
            members: vec![(0, 0)],
        },
        Op::Disconnect { conn: 0 },
    ];
    let host = run(small(2, 2), &ops, &[]);
    assert_eq!(host.chat.cluster_stats().unwrap().remote_members, 0);
}

/// Found by the property: with room capacity 1, one enter was done locally
/// while the bus was down and another was then admitted by Redis, which
/// had not been told of the first yet (the host re-adds members only at
/// its next heartbeat): the room held two local members. The machine now
/// refuses (54) an admitted enter when its own members already fill the
/// room, and undoes the registration (Leave).
#[test]
fn an_admitted_enter_beyond_the_local_capacity_is_refused() {
    let ops = [
        Op::Connect,
        Op::Connect,
        Op::Connect,
        Op::Connect,
        Op::Disconnect { conn: 0 },
        Op::Join { user: 5, room: 1 },
        Op::Join { user: 28, room: 88 },
        Op::Answer {
            index: 0,
            result: 115,
            seq: 0,
            members: Vec::new(),
        },
        Op::Join { user: 26, room: 41 },
        Op::Connect,
        Op::Connect,
    ];
    run(small(3, 1), &ops, &[4]);
}
