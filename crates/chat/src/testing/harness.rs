//! [`Harness`]: a [`Chat`] driven like a host would drive it, with a fake
//! clock, fake sessions, per-session inboxes and an account checker.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringport_proto::{
    ClientPacket, DevEcho, LoginReq, ResultCode, RoomChatReq, RoomEnterReq, RoomLeaveReq,
};

use super::model::Model;
use super::recorder::{Action, Received, Recorder};
use crate::chat::Chat;
use crate::config::ChatConfig;
use crate::conn::ConnId;
use crate::outbound::{AuthRequest, AuthResult, Authenticator, Credential};
use crate::stats::ChatStats;

/// How the harness answers password checks.
pub enum AuthMode {
    /// At once, always with this result.
    Always(AuthResult),
    /// At once, like a store that registers an unknown id on first use (if
    /// the request allows it) and then wants the same password.
    FakeStore,
    /// At once, through a real checker (an account store of
    /// `ringport-accounts`).
    Store(Arc<dyn Authenticator>),
    /// Not until the test calls [`Harness::answer`].
    Deferred,
}

/// A [`Chat`] with everything around it faked. See the module docs of
/// `testing`.
pub struct Harness {
    chat: Chat,
    recorder: Recorder,
    base: Instant,
    elapsed: Duration,
    mode: AuthMode,
    passwords: HashMap<String, String>,
    revoked: HashMap<String, u64>,
    /// The last resume tokens sessions received (at most 8), for scripts.
    tokens: Vec<Vec<u8>>,
    /// The last history epoch each session was told.
    epochs: HashMap<ConnId, u64>,
    pending: Vec<AuthRequest>,
    inboxes: BTreeMap<ConnId, VecDeque<Received>>,
    closed: Vec<ConnId>,
    conns: Vec<ConnId>,
    next_conn: u64,
    model: Model,
    last_shared: Vec<(ConnId, usize)>,
    check_each_step: bool,
    /// Sessions the machine asked to stop reading (and not yet to resume).
    paused: BTreeSet<ConnId>,
    /// Every pause (`true`) and resume (`false`) asked, in order.
    reading: Vec<(ConnId, bool)>,
}

impl Harness {
    /// The wall clock at the harness's start, Unix milliseconds (2026-01-01).
    pub const WALL_START_MS: i64 = 1_767_225_600_000;

    /// The last history epoch `conn` was told (0 if none).
    pub fn epoch_of(&self, conn: ConnId) -> u64 {
        self.epochs.get(&conn).copied().unwrap_or(0)
    }

    /// One of the last resume tokens sessions received, by index modulo
    /// their number.
    pub fn token(&self, index: usize) -> Option<&[u8]> {
        let n = self.tokens.len();
        (n > 0).then(|| self.tokens[index % n].as_slice())
    }

    /// The wall clock now, as the machine counts it, Unix milliseconds.
    pub fn wall_ms(&self) -> u64 {
        let elapsed = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX);
        (Harness::WALL_START_MS as u64).saturating_add(elapsed)
    }

    /// A machine with `config`, checks answered by [`AuthMode::FakeStore`].
    pub fn new(config: ChatConfig) -> Harness {
        let base = Instant::now();
        let mut chat = Chat::new(config);
        chat.set_wall_clock(base, Harness::WALL_START_MS);
        Harness {
            chat,
            recorder: Recorder::default(),
            base,
            elapsed: Duration::ZERO,
            mode: AuthMode::FakeStore,
            passwords: HashMap::new(),
            revoked: HashMap::new(),
            tokens: Vec::new(),
            epochs: HashMap::new(),
            pending: Vec::new(),
            inboxes: BTreeMap::new(),
            closed: Vec::new(),
            conns: Vec::new(),
            next_conn: 1,
            model: Model::default(),
            last_shared: Vec::new(),
            check_each_step: true,
            paused: BTreeSet::new(),
            reading: Vec::new(),
        }
    }

    /// Sets how checks are answered.
    pub fn with_auth(mut self, mode: AuthMode) -> Harness {
        self.mode = mode;
        self
    }

    /// Whether [`Harness::check`] runs after every step (the default). The
    /// checks cost O(members²) per room; tests with huge rooms turn them
    /// off and call `check` at the end.
    pub fn set_check_each_step(&mut self, on: bool) {
        self.check_each_step = on;
    }

    /// Changes how checks are answered from now on.
    pub fn set_auth(&mut self, mode: AuthMode) {
        self.mode = mode;
    }

    /// The machine.
    pub fn chat(&self) -> &Chat {
        &self.chat
    }

    /// Its stats.
    pub fn stats(&self) -> &ChatStats {
        self.chat.stats()
    }

    /// The fake clock.
    pub fn now(&self) -> Instant {
        self.base + self.elapsed
    }

    /// Moves the clock on, then lets the machine handle its timeouts if one
    /// is due (as a host's timer would).
    pub fn advance(&mut self, by: Duration) {
        self.elapsed += by;
        let now = self.now();
        if self.chat.next_timeout().is_some_and(|at| at <= now) {
            self.step(|chat, outbound, now| chat.handle_timeout(now, outbound));
        }
    }

    /// A new session.
    pub fn connect(&mut self) -> ConnId {
        self.connect_with(None)
    }

    /// A new session from the address group `peer` (see
    /// [`crate::Chat::handle_connect_from`]).
    pub fn connect_from(&mut self, peer: std::net::IpAddr) -> ConnId {
        self.connect_with(Some(peer))
    }

    fn connect_with(&mut self, peer: Option<std::net::IpAddr>) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.push(conn);
        self.inboxes.insert(conn, VecDeque::new());
        self.model.connected(conn);
        let now = self.now();
        match peer {
            Some(peer) => self.chat.handle_connect_from(conn, peer, now),
            None => self.chat.handle_connect(conn, now),
        }
        if self.check_each_step {
            self.check();
        }
        conn
    }

    /// Every session ever connected, in order.
    pub fn conns(&self) -> &[ConnId] {
        &self.conns
    }

    /// The peer of `conn` goes away.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.model.gone(conn);
        self.paused.remove(&conn);
        self.step(|chat, outbound, _| chat.handle_disconnect(conn, outbound));
    }

    /// `conn` sends one frame (any bytes).
    pub fn send_frame(&mut self, conn: ConnId, frame: &[u8]) {
        self.model.sent(conn, frame);
        self.step(|chat, outbound, now| chat.handle_packet(conn, frame, now, outbound));
    }

    /// `conn` sends `packet`.
    pub fn send(&mut self, conn: ConnId, packet: &ClientPacket<'_>) {
        let mut frame = Vec::new();
        if packet.encode(&mut frame).is_err() {
            panic!("test packet does not encode: {packet:?}");
        }
        self.send_frame(conn, &frame);
    }

    /// `conn` sends a 201.
    pub fn login(&mut self, conn: ConnId, user_id: &str, password: &str) {
        match LoginReq::new(user_id, password) {
            Ok(req) => self.send(conn, &ClientPacket::LoginReq(req)),
            Err(e) => panic!("bad test login {user_id:?}: {e}"),
        }
    }

    /// `conn` sends a 206.
    pub fn enter(&mut self, conn: ConnId, room: i32) {
        self.send(
            conn,
            &ClientPacket::RoomEnterReq(RoomEnterReq { room_number: room }),
        );
    }

    /// `conn` sends a 215.
    pub fn leave(&mut self, conn: ConnId) {
        self.send(conn, &ClientPacket::RoomLeaveReq(RoomLeaveReq));
    }

    /// `conn` sends a 301 for `name` (any bytes) with capacity `max_users`.
    pub fn create_room(&mut self, conn: ConnId, name: &[u8], max_users: u16) {
        self.send(
            conn,
            &ClientPacket::RoomCreateReq(ringport_proto::RoomCreateReq { max_users, name }),
        );
    }

    /// `conn` sends a 303, watching or not.
    pub fn list_rooms(&mut self, conn: ConnId, watch: bool) {
        self.send(
            conn,
            &ClientPacket::RoomListReq(ringport_proto::RoomListReq { watch }),
        );
    }

    /// `conn` sends a 307 for `name` (any bytes).
    pub fn enter_name(&mut self, conn: ConnId, name: &[u8]) {
        self.send(
            conn,
            &ClientPacket::RoomEnterNameReq(ringport_proto::RoomEnterNameReq { name }),
        );
    }

    /// `conn` sends a 221.
    pub fn chat_message(&mut self, conn: ConnId, message: &str) {
        match RoomChatReq::new(message) {
            Ok(req) => self.send(conn, &ClientPacket::RoomChatReq(req)),
            Err(e) => panic!("bad test message: {e}"),
        }
    }

    /// `conn` sends a `DEV_ECHO`.
    pub fn echo(&mut self, conn: ConnId, body: &[u8]) {
        self.send(conn, &ClientPacket::DevEcho(DevEcho { body }));
    }

    /// The checks waiting for an answer ([`AuthMode::Deferred`]).
    pub fn pending(&self) -> &[AuthRequest] {
        &self.pending
    }

    /// Answers the oldest waiting check of `conn`.
    ///
    /// # Panics
    ///
    /// If `conn` has none.
    pub fn answer(&mut self, conn: ConnId, result: AuthResult) {
        let Some(at) = self.pending.iter().position(|r| r.conn == conn) else {
            panic!("{conn} has no pending check");
        };
        let request = self.pending.remove(at);
        self.answer_raw(request.conn, request.ticket, result);
    }

    /// Answers the waiting check at `index` (modulo their number) with
    /// `result`, or as the fake store would with `None`; nothing if none
    /// waits.
    pub fn answer_index(&mut self, index: usize, result: Option<AuthResult>) {
        if self.pending.is_empty() {
            return;
        }
        let request = self.pending.remove(index % self.pending.len());
        let result = result.unwrap_or_else(|| self.fake_store(&request));
        self.answer_raw(request.conn, request.ticket, result);
    }

    /// Hands the machine any answer, stale or not.
    pub fn answer_raw(&mut self, conn: ConnId, ticket: u64, result: AuthResult) {
        self.step(|chat, outbound, _| chat.handle_auth_result(conn, ticket, result, outbound));
    }

    /// Hands the machine an answer for `conn` with any `ticket`; if it
    /// happens to match a waiting check, that check is no longer waiting.
    pub fn answer_stale(&mut self, conn: ConnId, ticket: u64, result: AuthResult) {
        self.pending
            .retain(|r| !(r.conn == conn && r.ticket == ticket));
        self.answer_raw(conn, ticket, result);
    }

    /// Takes what `conn` received so far.
    pub fn take(&mut self, conn: ConnId) -> Vec<Received> {
        self.inboxes
            .get_mut(&conn)
            .map(|inbox| inbox.drain(..).collect())
            .unwrap_or_default()
    }

    /// Empties every inbox.
    pub fn clear_all(&mut self) {
        for inbox in self.inboxes.values_mut() {
            inbox.clear();
        }
    }

    /// Whether the machine closed `conn`.
    pub fn is_closed(&self, conn: ConnId) -> bool {
        self.closed.contains(&conn)
    }

    /// Whether the machine asked the host to stop reading `conn` and has
    /// not asked it to resume.
    pub fn is_paused(&self, conn: ConnId) -> bool {
        self.paused.contains(&conn)
    }

    /// Every `pause_reading` (`true`) and `resume_reading` (`false`) the
    /// machine asked for `conn`, in order.
    pub fn reading_log(&self, conn: ConnId) -> Vec<bool> {
        self.reading
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, pause)| *pause)
            .collect()
    }

    /// The `send_shared` calls of the last step: recipient and buffer
    /// address.
    pub fn last_shared(&self) -> &[(ConnId, usize)] {
        &self.last_shared
    }

    /// The unique id the others were told for `conn` (known once a 208
    /// about it was sent).
    pub fn unique_id(&self, conn: ConnId) -> Option<i64> {
        self.model.sessions.get(&conn).and_then(|s| s.unique_id)
    }

    /// Connects a session and logs it in as `user_id` (password "pw").
    ///
    /// # Panics
    ///
    /// If the login does not succeed at once.
    pub fn user(&mut self, user_id: &str) -> ConnId {
        let conn = self.connect();
        self.login(conn, user_id, "pw");
        if let Some(at) = self.pending.iter().position(|r| r.conn == conn) {
            let request = self.pending.remove(at);
            self.answer_raw(conn, request.ticket, AuthResult::Accepted);
        }
        let got = self.take(conn);
        assert_eq!(
            got,
            [Received::LoginRes(ResultCode::None)],
            "login of {user_id}"
        );
        conn
    }

    /// A logged-in `user_id` in `room`; only its own inbox is emptied.
    ///
    /// # Panics
    ///
    /// If it does not get in.
    pub fn user_in_room(&mut self, user_id: &str, room: i32) -> ConnId {
        let conn = self.user(user_id);
        self.enter(conn, room);
        let got = self.take(conn);
        assert_eq!(
            got.first(),
            Some(&Received::EnterRes(ResultCode::None)),
            "{user_id} enters {room}"
        );
        conn
    }

    /// Checks the machine's bookkeeping, the presence model, and that both
    /// agree on every session.
    ///
    /// # Panics
    ///
    /// On the first disagreement.
    pub fn check(&self) {
        if let Err(e) = self.chat.check_invariants() {
            panic!("machine invariant broken: {e}");
        }
        self.model.check(|room| self.chat.capacity_of(room));
        if !self.chat.room_changes_held() {
            self.model.check_watchers(&self.chat.room_list());
        }
        for (&conn, seen) in &self.model.sessions {
            assert!(
                self.chat.has_session(conn),
                "{conn} forgotten by the machine"
            );
            assert_eq!(
                self.chat.logged_in_as(conn),
                seen.user_id.as_deref(),
                "{conn} login"
            );
            assert_eq!(self.chat.room_of(conn), seen.room, "{conn} room");
            // Every request is answered: nothing is owed unless a request
            // is in flight, and then at most the in-flight one and those
            // queued behind it.
            let (queued, _) = self.chat.queued_requests(conn);
            if self.chat.is_waiting(conn) {
                assert!(
                    !seen.owed.is_empty() && seen.owed.len() - 1 <= queued,
                    "{conn} waits, owed {:?}, {queued} queued",
                    seen.owed
                );
            } else {
                assert!(
                    seen.owed.is_empty(),
                    "{conn} waits for nothing, yet is owed {:?}",
                    seen.owed
                );
            }
            assert_eq!(
                self.chat.reading_paused(conn),
                self.paused.contains(&conn),
                "{conn} paused"
            );
        }
        let known = self
            .conns
            .iter()
            .filter(|c| self.chat.has_session(**c))
            .count();
        assert_eq!(
            known,
            self.model.sessions.len(),
            "sessions the machine knows"
        );
    }

    /// Runs one input, then delivers what it produced (answering checks at
    /// once unless deferred) and checks everything.
    fn step(&mut self, input: impl FnOnce(&mut Chat, &mut Recorder, Instant)) {
        self.model.begin_step();
        self.last_shared.clear();
        let now = self.now();
        input(&mut self.chat, &mut self.recorder, now);
        self.deliver();
        self.model.end_step();
        if self.check_each_step {
            self.check();
        }
    }

    fn deliver(&mut self) {
        loop {
            let actions = self.recorder.drain();
            if actions.is_empty() {
                return;
            }
            let mut answers = Vec::new();
            for action in actions {
                match action {
                    Action::Packet {
                        conn,
                        packet,
                        shared,
                        ..
                    } => {
                        self.model.received(conn, &packet);
                        if let Received::ChatSeq { epoch, .. }
                        | Received::HistoryRes { epoch, .. } = &packet
                        {
                            self.epochs.insert(conn, *epoch);
                        }
                        if let Received::Token(token, _) = &packet {
                            if self.tokens.len() >= 8 {
                                self.tokens.remove(0);
                            }
                            self.tokens.push(token.clone());
                        }
                        if let Some(address) = shared {
                            self.last_shared.push((conn, address));
                        }
                        self.inboxes.entry(conn).or_default().push_back(packet);
                    }
                    Action::PauseReading(conn) => {
                        assert!(
                            self.model.sessions.contains_key(&conn),
                            "pause of {conn}, which is gone"
                        );
                        assert!(self.paused.insert(conn), "{conn} paused twice");
                        self.reading.push((conn, true));
                    }
                    Action::ResumeReading(conn) => {
                        assert!(
                            self.model.sessions.contains_key(&conn),
                            "resume of {conn}, which is gone"
                        );
                        assert!(self.paused.remove(&conn), "{conn} resumed, not paused");
                        self.reading.push((conn, false));
                    }
                    Action::Close(conn) => {
                        assert!(!self.closed.contains(&conn), "{conn} closed twice");
                        self.closed.push(conn);
                        self.paused.remove(&conn);
                        self.model.gone(conn);
                        // The host reports every close as a disconnect; the
                        // machine has already forgotten the session.
                        self.chat.handle_disconnect(conn, &mut self.recorder);
                    }
                    Action::Authenticate(request) => {
                        self.model.auth_requested(request.conn, &request.user_id);
                        let result = match &self.mode {
                            AuthMode::Always(result) => Some(*result),
                            AuthMode::FakeStore => Some(self.fake_store(&request)),
                            AuthMode::Store(store) => Some(store.check(&request)),
                            AuthMode::Deferred => None,
                        };
                        match result {
                            Some(result) => answers.push((request.conn, request.ticket, result)),
                            None => self.pending.push(request),
                        }
                    }
                }
            }
            for (conn, ticket, result) in answers {
                self.chat
                    .handle_auth_result(conn, ticket, result, &mut self.recorder);
            }
        }
    }

    /// Revokes `user_id`'s tokens issued at or before `at_ms` in the fake
    /// store (as `ringport user passwd` does in a real one).
    pub fn revoke_tokens(&mut self, user_id: &str, at_ms: u64) {
        self.revoked.insert(user_id.to_owned(), at_ms);
    }

    fn fake_store(&mut self, request: &AuthRequest) -> AuthResult {
        let password = match &request.credential {
            Credential::Password(password) => password.expose(),
            Credential::Token { issued_ms } => {
                let known = self.passwords.contains_key(&request.user_id);
                let revoked = self
                    .revoked
                    .get(&request.user_id)
                    .is_some_and(|at| issued_ms <= at);
                return if known && !revoked {
                    AuthResult::Accepted
                } else {
                    AuthResult::Rejected
                };
            }
        };
        match self.passwords.get(&request.user_id) {
            Some(known) if known == password => AuthResult::Accepted,
            Some(_) => AuthResult::Rejected,
            None if request.auto_register => {
                self.passwords
                    .insert(request.user_id.clone(), password.to_owned());
                AuthResult::Accepted
            }
            None => AuthResult::Rejected,
        }
    }
}
