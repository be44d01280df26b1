//! [`Chat`]: the state machine. This module owns the inputs — connect,
//! packet, disconnect, account-check answer, timeout — and routes each
//! decoded request to its `handle_*` method in [`crate::request`].

use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use ringport_proto::{ClientPacket, ResultCode, ServerPacket};
use rustc_hash::FxHashMap;

use crate::config::ChatConfig;
use crate::conn::ConnId;
use crate::created::CreatedRooms;
use crate::deadline::Deadlines;
use crate::history::Histories;
use crate::login::Logins;
use crate::login_limit::LoginLimiter;
use crate::outbound::{AuthResult, Outbound};
use crate::rate::RateLimit;
use crate::room::Rooms;
use crate::session::{Session, SessionState};
use crate::stats::ChatStats;
use crate::watch::Watch;

/// The chat content: every session's state, the logins and the rooms.
///
/// Sans-IO: the host feeds it events with the current time and passes an
/// [`Outbound`] that receives, synchronously and in order, every packet to
/// send, every session to close and every password to check. It never blocks,
/// never reads a clock and never panics on anything a peer sends.
#[derive(Debug)]
pub struct Chat {
    pub(crate) config: ChatConfig,
    pub(crate) sessions: FxHashMap<ConnId, Session>,
    pub(crate) logins: Logins,
    pub(crate) rooms: Rooms,
    /// The rooms users created.
    pub(crate) created: CreatedRooms,
    /// Sessions watching the room list.
    pub(crate) watch: Watch,
    pub(crate) deadlines: Deadlines,
    pub(crate) rate: RateLimit,
    pub(crate) create_rate: RateLimit,
    /// The latest time the host gave (events without a time — a
    /// disconnect, a cluster answer — happen as of it).
    pub(crate) now: Option<Instant>,
    /// An instant and the Unix time in milliseconds at it, for the times
    /// in 313s and tokens (see [`Chat::set_wall_clock`]).
    pub(crate) wall: Option<(Instant, i64)>,
    /// Each room's recent messages.
    pub(crate) history: Histories,
    pub(crate) login_limit: LoginLimiter,
    pub(crate) stats: ChatStats,
    /// Encoding buffer for packets sent to one session (reused, so responses
    /// cost no allocation).
    pub(crate) scratch: Vec<u8>,
    /// The cluster side, with [`Chat::with_cluster`]; `None`: in-process.
    pub(crate) cluster: Option<crate::cluster::ClusterState>,
}

impl Chat {
    /// A machine with no sessions. Call [`ChatConfig::validate`] first; `new`
    /// accepts any configuration (see [`ChatConfig`]).
    pub fn new(config: ChatConfig) -> Chat {
        Chat {
            rate: RateLimit::new(config.chat_rate, config.chat_burst),
            create_rate: RateLimit::per_minute(config.room_create_rate, config.room_create_burst),
            now: None,
            wall: None,
            history: Histories::new(config.history_len, config.room_idle_close),
            created: CreatedRooms::new(config.created_room_start, config.room_idle_close),
            watch: Watch::default(),
            login_limit: LoginLimiter::new(config.login_rate_per_ip, config.login_burst_per_ip),
            config,
            sessions: FxHashMap::default(),
            logins: Logins::default(),
            rooms: Rooms::default(),
            deadlines: Deadlines::default(),
            stats: ChatStats::default(),
            scratch: Vec::with_capacity(ringport_proto::RoomUserListNtf::MAX_LEN),
            cluster: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    /// A new connection at `now`; its login deadline starts. A `conn` the
    /// machine already knows is ignored. Its login attempts are not limited
    /// per address: hosts that know the peer call
    /// [`Chat::handle_connect_from`].
    pub fn handle_connect(&mut self, conn: ConnId, now: Instant) {
        self.connect(conn, None, now);
    }

    /// A new connection from the address group `peer` (the host groups
    /// addresses: an IPv4 address, an IPv6 /64) at `now`. Login attempts
    /// of all sessions of one group share one rate limit
    /// ([`ChatConfig::login_rate_per_ip`]).
    pub fn handle_connect_from(&mut self, conn: ConnId, peer: IpAddr, now: Instant) {
        self.connect(conn, Some(peer), now);
    }

    fn connect(&mut self, conn: ConnId, peer: Option<IpAddr>, now: Instant) {
        self.tick(now);
        if self.sessions.contains_key(&conn) {
            tracing::debug!(%conn, "connect for a known connection ignored");
            return;
        }
        let deadline = now.checked_add(self.config.login_timeout);
        if let Some(at) = deadline {
            self.deadlines.push(at, conn);
        }
        self.sessions.insert(conn, Session::new(deadline, peer));
        self.update_gauges();
    }

    /// One whole packet (header included, as cut by
    /// [`ringport_proto::frame_len`]) received on `conn` at `now`.
    ///
    /// Requests are checked in the protocol's order: body (90), then the
    /// session's state, then the rest. Unknown ids are counted and ignored;
    /// so is a packet for a connection the machine does not know (never
    /// connected, or already closed by it).
    ///
    /// While an earlier request of `conn` waits for an answer from outside
    /// (a password check, a cluster claim or enter), the packet is queued
    /// and handled after it, in order (see [`ChatConfig::pipeline_frames`]);
    /// a queue at its bound asks the host to stop reading `conn`
    /// ([`Outbound::pause_reading`]). Packets that still arrive are queued
    /// all the same.
    pub fn handle_packet(
        &mut self,
        conn: ConnId,
        frame: &[u8],
        now: Instant,
        outbound: &mut impl Outbound,
    ) {
        self.tick(now);
        let Some(session) = self.sessions.get_mut(&conn) else {
            tracing::debug!(%conn, "packet for an unknown connection ignored");
            return;
        };
        // `is_busy`, with the session already at hand (the hot path).
        let busy = matches!(session.state, SessionState::Authenticating { .. })
            || self.cluster.as_ref().is_some_and(|c| {
                c.entering.contains_key(&conn)
                    || c.creating.contains_key(&conn)
                    || c.reading_history(conn)
            });
        if busy || !session.pipeline.is_empty() {
            let pipeline = &mut session.pipeline;
            pipeline.push(frame, now);
            self.stats.requests_queued += 1;
            let (frames, bytes) = (self.config.pipeline_frames, self.config.pipeline_bytes);
            if !pipeline.paused && pipeline.is_full(frames, bytes) {
                pipeline.paused = true;
                self.stats.pipeline_pauses += 1;
                tracing::debug!(
                    %conn,
                    frames = pipeline.len(),
                    bytes = pipeline.bytes(),
                    "request queue full: pausing reads"
                );
                outbound.pause_reading(conn);
            }
            return;
        }
        self.dispatch(conn, frame, now, outbound);
        self.prune_deadlines();
        self.update_gauges();
    }

    /// Whether a request of `conn` waits for an answer from outside the
    /// machine, so that its next requests must wait too.
    pub(crate) fn is_busy(&self, conn: ConnId) -> bool {
        let authenticating = self
            .sessions
            .get(&conn)
            .is_some_and(|s| matches!(s.state, SessionState::Authenticating { .. }));
        authenticating
            || self.enter_in_flight(conn)
            || self.create_in_flight(conn)
            || self.history_in_flight(conn)
    }

    /// Handles the requests `conn` queued while it was busy, in order, until
    /// one of them makes it busy again or none is left. Once the queue is
    /// empty (even if its last request is now in flight), paused reads are
    /// resumed: what comes next is queued again.
    pub(crate) fn drain_pipeline(&mut self, conn: ConnId, outbound: &mut impl Outbound) {
        loop {
            let Some(session) = self.sessions.get_mut(&conn) else {
                return;
            };
            if session.pipeline.is_empty() {
                if session.pipeline.paused {
                    session.pipeline.paused = false;
                    tracing::debug!(%conn, "request queue drained: resuming reads");
                    outbound.resume_reading(conn);
                }
                return;
            }
            if self.is_busy(conn) {
                return;
            }
            let Some(queued) = self.sessions.get_mut(&conn).and_then(|s| s.pipeline.pop()) else {
                return;
            };
            self.dispatch(conn, &queued.frame, queued.at, outbound);
        }
    }

    /// Decodes one request of `conn` and runs its `handle_*` method (see
    /// [`crate::request`]).
    fn dispatch(&mut self, conn: ConnId, frame: &[u8], now: Instant, outbound: &mut impl Outbound) {
        let packet = match ClientPacket::decode(frame) {
            Ok(packet) => packet,
            Err(error) => {
                self.stats.invalid_packets += 1;
                tracing::debug!(%conn, %error, "invalid packet");
                if let Some(id) = error.invalid_packet_id() {
                    if id == ringport_proto::LoginReq::ID || id == ringport_proto::LoginTokenReq::ID
                    {
                        self.record_login_failure(ResultCode::InvalidPacket);
                    }
                    if id == ringport_proto::RoomCreateReq::ID {
                        self.stats.create_failures.record(ResultCode::InvalidPacket);
                    }
                    self.respond(conn, id, ResultCode::InvalidPacket, outbound);
                }
                return;
            }
        };
        match packet {
            ClientPacket::DevEcho(echo) => self.handle_echo(conn, echo, outbound),
            ClientPacket::LoginReq(req) => self.handle_login(conn, req, now, outbound),
            ClientPacket::RoomEnterReq(req) => self.handle_enter(conn, req, outbound),
            ClientPacket::RoomLeaveReq(_) => self.handle_leave(conn, outbound),
            ClientPacket::RoomChatReq(req) => self.handle_chat(conn, req, now, outbound),
            ClientPacket::RoomCreateReq(req) => self.handle_create(conn, req, now, outbound),
            ClientPacket::RoomListReq(req) => self.handle_list(conn, req, now, outbound),
            ClientPacket::RoomEnterNameReq(req) => self.handle_enter_name(conn, req, outbound),
            ClientPacket::HelloReq(req) => self.handle_hello(conn, req, outbound),
            ClientPacket::RoomHistoryReq(req) => self.handle_history(conn, req, now, outbound),
            ClientPacket::LoginTokenReq(req) => self.handle_login_token(conn, req, outbound),
            ClientPacket::Unknown { id, body } => {
                self.stats.unknown_packets += 1;
                tracing::debug!(%conn, id, len = body.len(), "unknown packet id ignored");
            }
        }
    }

    /// `conn` went away (closed by the peer, by the engine, or after
    /// [`Outbound::close`]). A user in a room leaves it (217 to the others);
    /// the login is released at once; a login in flight is abandoned (its
    /// answer will be ignored), and so are the requests queued behind it
    /// (nobody is left to answer). Unknown connections are ignored.
    pub fn handle_disconnect(&mut self, conn: ConnId, outbound: &mut impl Outbound) {
        let Some(session) = self.sessions.remove(&conn) else {
            return;
        };
        self.watch.set(conn, false);
        match session.state {
            SessionState::Connected => {}
            SessionState::Authenticating { .. } => self.logins.release_slot(),
            SessionState::LoggedIn { user, room } => {
                if let Some(room) = room {
                    self.leave_room(conn, room, user.unique_id, outbound);
                }
                self.logins.log_out(&user.user_id, conn);
                self.logins.release_slot();
                self.cluster_logged_out(conn, &user.user_id, outbound);
            }
        }
        self.prune_deadlines();
        self.update_gauges();
    }

    /// The answer to the [`crate::AuthRequest`] with this `conn` and
    /// `ticket`. Ignored unless that session is still waiting for exactly
    /// this ticket (it may have disconnected, timed out or been closed).
    /// Once the login is answered, the requests the session sent meanwhile
    /// are handled in order (as of the time each arrived).
    pub fn handle_auth_result(
        &mut self,
        conn: ConnId,
        ticket: u64,
        result: AuthResult,
        outbound: &mut impl Outbound,
    ) {
        self.finish_login(conn, ticket, result, outbound);
        self.drain_pipeline(conn, outbound);
        self.prune_deadlines();
        self.update_gauges();
    }

    /// Closes every created room empty for `chat.room_idle_close` at `now`,
    /// sends the room-list changes held back until `now` (see
    /// [`Chat::handle_packet`]'s 306 coalescing in `docs/PROTOCOL.md`), and
    /// closes every session whose login deadline is at or before `now`, that
    /// is not logged in and that has no login request waiting for its
    /// answer.
    ///
    /// The deadline bounds the time a session takes to *send* a login
    /// request, not the time the server takes to answer it: when it passes
    /// while a login is in flight (queued for a password check, being
    /// checked, or claimed cluster-wide), the session is kept and its
    /// deadline moves to `now + login_timeout`, again each time it passes
    /// with a login still in flight. So a session answered late (34 after
    /// an overload, 33) still has time to try again, and is closed at the
    /// moved deadline if it has not logged in by then. The host bounds the
    /// time a login stays in flight (the server's account pool answers 34
    /// past `accounts.max_login_wait_ms`).
    pub fn handle_timeout(&mut self, now: Instant, outbound: &mut impl Outbound) {
        self.tick(now);
        self.close_idle_rooms(now, outbound);
        for room in self.history.forget_idle(now) {
            if self.history.is_persistent() {
                outbound.history(crate::history::HistoryWrite::Forget { room });
            }
        }
        self.send_due_changes(now, outbound);
        // Moved deadlines are queued after the loop: with a zero
        // `login_timeout` (which `new` accepts) a deadline moved to `now`
        // would otherwise be popped again forever.
        let mut moved_deadlines = Vec::new();
        while let Some((at, conn)) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(session) = self.sessions.get(&conn) else {
                continue;
            };
            let logged_in = matches!(session.state, SessionState::LoggedIn { .. });
            if logged_in || session.login_deadline != Some(at) {
                continue;
            }
            if matches!(session.state, SessionState::Authenticating { .. }) {
                // Its request waits on the server, not on the peer.
                let moved = now.checked_add(self.config.login_timeout);
                if let Some(session) = self.sessions.get_mut(&conn) {
                    session.login_deadline = moved;
                }
                if let Some(moved) = moved {
                    moved_deadlines.push((moved, conn));
                }
                self.stats.login_deadlines_extended += 1;
                tracing::debug!(%conn, "login deadline passed with a login in flight: extended");
                continue;
            }
            self.sessions.remove(&conn);
            self.stats.login_timeouts += 1;
            tracing::debug!(%conn, "login timeout: closing");
            outbound.close(conn);
        }
        for (at, conn) in moved_deadlines {
            self.deadlines.push(at, conn);
        }
        self.prune_deadlines();
        self.login_limit.prune(now);
        self.update_gauges();
    }

    /// When [`Chat::handle_timeout`] should next be called: the earliest
    /// login deadline of a session not logged in, created room to close,
    /// or held-back room-list change, if any.
    pub fn next_timeout(&self) -> Option<Instant> {
        [
            self.deadlines.peek().map(|(at, _)| at),
            self.created.next_close(),
            self.watch.next_due(),
            self.history.next_forget(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Ties the machine's clock to the wall clock: `unix_ms` is the Unix time
    /// in milliseconds at `at`. Message times (313) and token times are
    /// counted from it; without it every time is 0 (tokens then never
    /// expire before the machine's end). The host calls it once at start.
    pub fn set_wall_clock(&mut self, at: Instant, unix_ms: i64) {
        self.wall = Some((at, unix_ms));
    }

    /// The Unix time in milliseconds at the latest time the host gave.
    pub(crate) fn wall_ms(&self) -> u64 {
        let (Some(now), Some((at, unix_ms))) = (self.now, self.wall) else {
            return 0;
        };
        let offset = if now >= at {
            i64::try_from(now.duration_since(at).as_millis()).unwrap_or(i64::MAX)
        } else {
            -i64::try_from(at.duration_since(now).as_millis()).unwrap_or(i64::MAX)
        };
        u64::try_from(unix_ms.saturating_add(offset)).unwrap_or(0)
    }

    /// Records the latest time the host gave.
    fn tick(&mut self, now: Instant) {
        if self.now.is_none_or(|t| t < now) {
            self.now = Some(now);
        }
    }

    /// The counters and gauges.
    pub fn stats(&self) -> &ChatStats {
        &self.stats
    }

    /// Sends the response to `request_id` with `result` to `conn`.
    pub(crate) fn respond(
        &mut self,
        conn: ConnId,
        request_id: u16,
        result: ResultCode,
        outbound: &mut impl Outbound,
    ) {
        let Some(packet) = ServerPacket::response(request_id, result) else {
            return;
        };
        self.scratch.clear();
        // Responses are fixed-size: encoding cannot fail.
        if packet.encode(&mut self.scratch).is_ok() {
            outbound.send(conn, &self.scratch);
        }
    }

    pub(crate) fn record_login_failure(&mut self, code: ResultCode) {
        self.stats.logins_failed += 1;
        self.stats.login_failures.record(code);
    }

    /// Drops deadline entries that no longer count, so `next_timeout` is
    /// exact.
    pub(crate) fn prune_deadlines(&mut self) {
        let sessions = &self.sessions;
        self.deadlines.prune(|at, conn| {
            sessions.get(&conn).is_some_and(|s| {
                s.login_deadline == Some(at) && !matches!(s.state, SessionState::LoggedIn { .. })
            })
        });
    }

    pub(crate) fn update_gauges(&mut self) {
        self.created.prune();
        let stats = &mut self.stats;
        stats.rooms_created_open = self.created.len() as u64;
        stats.room_watchers = self.watch.watchers().len() as u64;
        stats.history_rooms = self.history.rooms() as u64;
        stats.sessions = self.sessions.len() as u64;
        stats.users_logged_in = self.logins.logged_in() as u64;
        stats.rooms_active = self.rooms.active() as u64;
        stats.users_in_rooms = self.rooms.total_members() as u64;
        stats.login_limit_groups = self.login_limit.tracked() as u64;
    }
}

/// Encodes one packet for many recipients into a `Bytes` of exactly its
/// size (one allocation, shared by every recipient).
pub(crate) fn encode_shared(len: usize, encode: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut buf = Vec::with_capacity(len);
    encode(&mut buf);
    Bytes::from(buf)
}
