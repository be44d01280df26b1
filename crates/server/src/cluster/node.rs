//! The node thread: carries the logic thread's [`ClusterRequest`]s to Redis
//! on one command connection, in order, and keeps this node's share of
//! the cluster state alive.
//!
//! One file (over 700 lines): the thread's loop, its record of what the
//! node holds and the re-registration after an outage work on the same
//! connection and record; split, each half would need the other's state.
//!
//! It keeps its own record of what this node holds — the local members of
//! each room and the login claims — so that after a Redis outage (or a
//! restart that lost the data) everything is registered again by the next
//! heartbeat: the lease is renewed, claims are refreshed (or taken again),
//! and each served room's membership is re-read with this node's members
//! added back where missing (the same script prunes dead nodes' members).
//!
//! Created rooms: creates run the registry's create script; every
//! heartbeat the sweep script closes rooms idle on every node, and every
//! few heartbeats (at once after a reconnect) the registry snapshot goes
//! to the logic thread, ordered with the lobby channel's changes by
//! [`Subscriptions::registry_snapshot`].
//!
//! Failure: every call is bounded by `cluster.timeout_ms`; after a failed
//! call the connection is dropped and no reconnect is tried for a short
//! back-off, during which claims, enters and creates are answered
//! "unavailable" at once (34; enters proceed locally; 106) and chats are
//! not published.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringport_chat::cluster::wire;
use ringport_chat::{
    ClaimResult, ClusterEvent, ClusterRequest, ConnId, CreateResult, EnterResult, RemoteMember,
    SharedRoom,
};
use ringport_net::crossbeam_channel::{Receiver, RecvTimeoutError};

use super::counters::Counters;
use super::scripts;
use super::subscriber::Subscriptions;
use super::Settings;
use crate::inbox::{Inbox, InboxSender};

/// Requests handled per turn (consecutive chats go out in one pipeline).
const BATCH: usize = 512;

/// A registry snapshot (`ClusterEvent::Rooms`) every this many heartbeats
/// (and at once after a reconnect).
const SNAPSHOT_EVERY: u32 = 5;

/// A room snapshot from the sync script.
struct Snapshot {
    /// 1 done, 0 full, 2 gone (a created room that closed).
    status: i64,
    seq: u64,
    members: Vec<RemoteMember>,
}

/// The node thread's state.
pub struct Node {
    settings: Arc<Settings>,
    subs: Arc<Subscriptions>,
    events: InboxSender<Inbox>,
    conn: Option<redis::Connection>,
    retry_at: Option<Instant>,
    down: bool,
    /// Registered again at the next turn (after a reconnect).
    resync: bool,
    /// Local members per room: unique id → user id.
    rooms: BTreeMap<i32, BTreeMap<i64, Arc<str>>>,
    /// Rooms where a leave could not be written: re-read (and this node's
    /// leftover members removed) at the next heartbeat.
    dirty: BTreeSet<i32>,
    /// Claims held: user id → session.
    claims: HashMap<Arc<str>, ConnId>,
    /// Highest unique id seen (kept as the counter's floor).
    max_uid: i64,
    /// Chats not published because Redis was unavailable.
    dropped_chats: u64,
    /// For `/metrics`.
    counters: Arc<Counters>,
    /// Whether a connection was ever made (the next one is a reconnect).
    connected_once: bool,
    /// Heartbeats since the last registry snapshot.
    since_snapshot: u32,
    /// The SHA1 of [`scripts::CHAT`] loaded on the current connection
    /// (chats then go as `EVALSHA`, not the script's text each time).
    chat_sha: Option<String>,
}

impl Node {
    /// A node thread's state; nothing connected yet.
    pub fn new(
        settings: Arc<Settings>,
        subs: Arc<Subscriptions>,
        events: InboxSender<Inbox>,
        counters: Arc<Counters>,
    ) -> Node {
        Node {
            settings,
            subs,
            events,
            conn: None,
            retry_at: None,
            down: false,
            resync: false,
            rooms: BTreeMap::new(),
            dirty: BTreeSet::new(),
            claims: HashMap::new(),
            max_uid: 0,
            dropped_chats: 0,
            counters,
            connected_once: false,
            since_snapshot: SNAPSHOT_EVERY,
            chat_sha: None,
        }
    }

    /// Serves requests until the logic thread drops its sender.
    pub fn run(mut self, requests: &Receiver<ClusterRequest>) {
        self.beat();
        let mut next_beat = Instant::now() + self.settings.heartbeat;
        loop {
            let wait = next_beat.saturating_duration_since(Instant::now());
            match requests.recv_timeout(wait) {
                Ok(first) => {
                    let mut batch = Vec::with_capacity(16);
                    batch.push(first);
                    while batch.len() < BATCH {
                        match requests.try_recv() {
                            Ok(r) => batch.push(r),
                            Err(_) => break,
                        }
                    }
                    self.handle(batch);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.resync || Instant::now() >= next_beat {
                self.beat();
                next_beat = Instant::now() + self.settings.heartbeat;
            }
        }
        self.shut_down();
    }

    fn send(&self, event: ClusterEvent) {
        // The logic thread is gone only at shutdown.
        let _ = self.events.send(Inbox::Cluster(event));
    }

    /// A connection, reconnecting if the back-off has passed.
    fn ensure(&mut self) -> bool {
        if self.conn.is_some() {
            return true;
        }
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return false;
        }
        let timeout = self.settings.timeout;
        let connected = self
            .settings
            .client
            .get_connection_with_timeout(timeout)
            .and_then(|mut c| {
                c.set_read_timeout(Some(timeout))?;
                c.set_write_timeout(Some(timeout))?;
                // The lease first: other nodes prune members of lease-less
                // nodes.
                self.lease_cmd().query::<()>(&mut c)?;
                Ok(c)
            });
        match connected {
            Ok(mut c) => {
                self.chat_sha = self.load_chat_script(&mut c);
                self.conn = Some(c);
                self.retry_at = None;
                if self.connected_once {
                    self.counters.reconnect();
                }
                self.connected_once = true;
                self.counters.set_up(true);
                if self.down {
                    tracing::info!(
                        "cluster redis reachable again; registering this node's rooms and logins"
                    );
                    self.down = false;
                }
                self.resync = true;
                true
            }
            Err(e) => {
                self.failed(&e);
                false
            }
        }
    }

    fn failed(&mut self, error: &redis::RedisError) {
        self.counters.redis_error();
        let broken = error.is_io_error()
            || error.is_timeout()
            || error.is_connection_dropped()
            || error.is_unrecoverable_error();
        if !broken {
            tracing::warn!(%error, "cluster redis refused a command");
            return;
        }
        self.conn = None;
        self.counters.set_up(false);
        self.retry_at = Some(Instant::now() + self.settings.backoff);
        if !self.down {
            tracing::warn!(%error, "cluster redis unavailable: logins answer 34, rooms serve local members only, until it returns");
            self.down = true;
        }
    }

    fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Option<T> {
        if !self.ensure() {
            return None;
        }
        let conn = self.conn.as_mut()?;
        match cmd.query(conn) {
            Ok(v) => Some(v),
            Err(e) => {
                self.failed(&e);
                None
            }
        }
    }

    fn lease_cmd(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!(
            "{}node:{}",
            self.settings.prefix, self.settings.node_id
        ))
        .arg(1)
        .arg("PX")
        .arg(millis(self.settings.lease));
        cmd
    }

    fn login_key(&self, user_id: &str) -> String {
        format!("{}login:{user_id}", self.settings.prefix)
    }

    fn claim_value(&self, conn: ConnId) -> String {
        format!("{} {}", self.settings.node_id, conn.0)
    }

    fn handle(&mut self, batch: Vec<ClusterRequest>) {
        let mut chats: Vec<(i32, ringport_net::Bytes)> = Vec::new();
        for request in batch {
            if let ClusterRequest::Chat { room, packet } = request {
                chats.push((room, packet));
                continue;
            }
            self.publish(&mut chats);
            match request {
                ClusterRequest::Claim {
                    conn,
                    ticket,
                    user_id,
                } => {
                    let result = self.claim(conn, &user_id);
                    self.send(ClusterEvent::Claimed {
                        conn,
                        ticket,
                        result,
                    });
                }
                ClusterRequest::Release { conn, user_id } => self.release(conn, &user_id),
                ClusterRequest::Enter {
                    conn,
                    room,
                    unique_id,
                    user_id,
                    max,
                    created,
                } => {
                    let result = self.enter(room, unique_id, user_id, max, created);
                    self.send(ClusterEvent::Entered { conn, room, result });
                }
                ClusterRequest::Leave { room, unique_id } => self.leave(room, unique_id),
                ClusterRequest::Chat { .. } => {}
                ClusterRequest::History {
                    conn,
                    room,
                    epoch,
                    after_seq,
                    max,
                } => {
                    let page = self.history(room, epoch, after_seq, max);
                    self.send(ClusterEvent::History { conn, room, page });
                }
                ClusterRequest::Create {
                    conn,
                    room,
                    per_user,
                    max_rooms,
                    first_number,
                } => {
                    let result = self.create(&room, per_user, max_rooms, first_number);
                    self.send(ClusterEvent::Created { conn, result });
                }
            }
        }
        self.publish(&mut chats);
    }

    /// Publishes the chats in one pipeline, in order; with history on,
    /// each through the [`scripts::CHAT`] script (numbered, kept in the
    /// room's stream, published with its number). Chats that could not be
    /// published are answered [`ClusterEvent::Unnumbered`] (history on) so
    /// the local history members still get them.
    fn publish(&mut self, chats: &mut Vec<(i32, ringport_net::Bytes)>) {
        if chats.is_empty() {
            return;
        }
        let numbered = self.settings.history_len > 0;
        let n = chats.len() as u64;
        let taken = std::mem::take(chats);
        let mut done = false;
        if self.ensure() {
            let pipe = self.chat_pipe(&taken, numbered, self.chat_sha.clone());
            let mut result = self.conn.as_mut().map(|conn| pipe.query::<()>(conn));
            if let Some(Err(e)) = &result {
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) {
                    // The script cache was flushed: nothing ran. Again,
                    // with the text.
                    let pipe = self.chat_pipe(&taken, numbered, None);
                    result = self.conn.as_mut().map(|conn| pipe.query::<()>(conn));
                    if let Some(conn) = self.conn.as_mut() {
                        self.chat_sha = Self::load_script(conn, scripts::CHAT);
                    }
                }
            }
            done = match result {
                Some(Ok(())) => true,
                Some(Err(e)) => {
                    self.failed(&e);
                    false
                }
                None => false,
            };
        }
        if done {
            self.counters.published(n);
            return;
        }
        self.dropped_chats += n;
        self.counters.dropped(n);
        if numbered {
            for (room, packet) in taken {
                self.send(ClusterEvent::Unnumbered { room, packet });
            }
        }
    }

    /// The pipeline publishing `chats`: one [`scripts::CHAT`] call for
    /// all of them when `numbered` (`EVALSHA` when `sha` is known), else
    /// one `PUBLISH` each.
    fn chat_pipe(
        &self,
        chats: &[(i32, ringport_net::Bytes)],
        numbered: bool,
        sha: Option<String>,
    ) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        if numbered {
            match &sha {
                Some(sha) => pipe.cmd("EVALSHA").arg(sha),
                None => pipe.cmd("EVAL").arg(scripts::CHAT),
            }
            .arg(0)
            .arg(&self.settings.node_id)
            .arg(self.settings.history_len)
            .arg(self.settings.room_prefix());
            for (room, packet) in chats {
                pipe.arg(*room).arg(&packet[..]);
            }
            pipe.ignore();
            return pipe;
        }
        for (room, packet) in chats {
            pipe.cmd("PUBLISH")
                .arg(self.settings.channel(*room))
                .arg(wire::encode_chat(&self.settings.node_id, packet))
                .ignore();
        }
        pipe
    }

    /// Loads the chat script on a new connection (history on); `None`
    /// when it cannot (chats then send the script's text).
    fn load_chat_script(&self, conn: &mut redis::Connection) -> Option<String> {
        (self.settings.history_len > 0)
            .then(|| Self::load_script(conn, scripts::CHAT))
            .flatten()
    }

    fn load_script(conn: &mut redis::Connection, script: &str) -> Option<String> {
        redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(script)
            .query(conn)
            .ok()
    }

    /// A page of `room`'s shared history ([`scripts::HISTORY`]); `None`
    /// when Redis is unavailable or the reply has the wrong shape.
    fn history(
        &mut self,
        room: i32,
        epoch: u64,
        after_seq: u64,
        max: u16,
    ) -> Option<ringport_chat::HistoryPage> {
        let (hash, stream) = crate::history_store::redis_keys(&self.settings.prefix, room);
        let after = if after_seq == u64::MAX {
            "last".to_string()
        } else {
            after_seq.to_string()
        };
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(scripts::HISTORY)
            .arg(2)
            .arg(hash)
            .arg(stream)
            .arg(epoch)
            .arg(after)
            .arg(max.max(1));
        let redis::Value::Array(items) = self.query::<redis::Value>(&cmd)? else {
            return None;
        };
        let mut items = items.into_iter();
        let epoch = match items.next()? {
            redis::Value::BulkString(e) => std::str::from_utf8(&e).ok()?.parse().ok()?,
            redis::Value::Int(e) => u64::try_from(e).ok()?,
            _ => return None,
        };
        let int = |v: Option<redis::Value>| match v {
            Some(redis::Value::Int(n)) => u64::try_from(n).ok(),
            _ => None,
        };
        let last_seq = int(items.next())?;
        let lost = int(items.next())? == 1;
        let more = int(items.next())? == 1;
        let messages = crate::history_store::parse_entries(items.next()?);
        Some(ringport_chat::HistoryPage {
            epoch,
            last_seq,
            lost,
            more,
            messages,
        })
    }

    fn claim(&mut self, conn: ConnId, user_id: &Arc<str>) -> ClaimResult {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(scripts::CLAIM)
            .arg(2)
            .arg(self.login_key(user_id))
            .arg(format!("{}uid", self.settings.prefix))
            .arg(self.claim_value(conn))
            .arg(millis(self.settings.claim_ttl))
            .arg(self.max_uid);
        match self.query::<i64>(&cmd) {
            Some(uid) if uid > 0 => {
                self.max_uid = self.max_uid.max(uid);
                self.claims.insert(Arc::clone(user_id), conn);
                ClaimResult::Claimed(uid)
            }
            Some(_) => ClaimResult::Taken,
            None => ClaimResult::Unavailable,
        }
    }

    fn release(&mut self, conn: ConnId, user_id: &Arc<str>) {
        if self.claims.get(user_id) != Some(&conn) {
            return;
        }
        self.claims.remove(user_id);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(scripts::RELEASE)
            .arg(1)
            .arg(self.login_key(user_id))
            .arg(self.claim_value(conn));
        // Unavailable: the claim expires by itself.
        let _ = self.query::<i64>(&cmd);
    }

    /// The create script: the room registered (and announced on the lobby
    /// channel) or refused.
    fn create(
        &mut self,
        room: &SharedRoom,
        per_user: u32,
        max_rooms: usize,
        first_number: i32,
    ) -> CreateResult {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(scripts::CREATE)
            .arg(6)
            .arg(self.settings.registry_key("names"))
            .arg(self.settings.registry_key("meta"))
            .arg(self.settings.registry_key("creators"))
            .arg(self.settings.registry_key("next"))
            .arg(self.settings.registry_key("empty"))
            .arg(self.settings.registry_key("version"))
            .arg(&*room.key)
            .arg(&*room.creator)
            .arg(wire::encode_room_entry(room))
            .arg(per_user)
            .arg(max_rooms)
            .arg(first_number)
            .arg(self.settings.lobby())
            .arg(&self.settings.node_id);
        match self.query::<Vec<i64>>(&cmd).as_deref() {
            Some(&[n, _]) if n > 0 => match i32::try_from(n) {
                Ok(n) => CreateResult::Created(n),
                Err(_) => CreateResult::Unavailable,
            },
            Some(&[-1, _]) => CreateResult::Taken,
            Some(&[-2, _]) => CreateResult::UserLimit,
            Some(&[-3, _]) => CreateResult::ServerLimit,
            Some(other) => {
                tracing::warn!(reply = ?other, "unexpected create script reply");
                CreateResult::Unavailable
            }
            None => CreateResult::Unavailable,
        }
    }

    fn enter(
        &mut self,
        room: i32,
        unique_id: i64,
        user_id: Arc<str>,
        max: usize,
        created: bool,
    ) -> EnterResult {
        self.subs.add(&self.settings, room, self.settings.timeout);
        let adds = [(unique_id, Arc::clone(&user_id))];
        let cmd = self.sync_cmd(room, &adds, max, false, created);
        let result = match self.query::<redis::Value>(&cmd) {
            Some(value) => match self.snapshot(value) {
                Some(s) if s.status == 0 => EnterResult::Full,
                Some(s) if s.status == 2 => EnterResult::Gone,
                Some(s) => EnterResult::Entered {
                    seq: s.seq,
                    members: s.members,
                },
                None => EnterResult::Unavailable,
            },
            None => EnterResult::Unavailable,
        };
        if matches!(result, EnterResult::Full | EnterResult::Gone) {
            if !self.rooms.contains_key(&room) {
                self.subs.remove(&self.settings, room);
            }
        } else {
            self.rooms
                .entry(room)
                .or_default()
                .insert(unique_id, user_id);
        }
        result
    }

    fn leave(&mut self, room: i32, unique_id: i64) {
        if let Some(members) = self.rooms.get_mut(&room) {
            members.remove(&unique_id);
            if members.is_empty() {
                self.rooms.remove(&room);
                self.subs.remove(&self.settings, room);
            }
        }
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(scripts::LEAVE)
            .arg(4)
            .arg(self.members_key(room))
            .arg(self.seq_key(room))
            .arg(self.settings.registry_key("meta"))
            .arg(self.settings.registry_key("empty"))
            .arg(self.settings.channel(room))
            .arg(&self.settings.node_id)
            .arg(unique_id)
            .arg(self.settings.lobby())
            .arg(room);
        if self.query::<i64>(&cmd).is_none() {
            // The next heartbeat's re-read removes it (`full_list`).
            self.dirty.insert(room);
        }
    }

    fn members_key(&self, room: i32) -> String {
        format!("{}room:{room}:members", self.settings.prefix)
    }

    fn seq_key(&self, room: i32) -> String {
        format!("{}room:{room}:seq", self.settings.prefix)
    }

    /// The sync script for `room` with `adds`; `full_list`: `adds` are all
    /// of this node's members there (others of this node are removed);
    /// `created`: the room must be an open created room.
    fn sync_cmd(
        &self,
        room: i32,
        adds: &[(i64, Arc<str>)],
        max: usize,
        full_list: bool,
        created: bool,
    ) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(scripts::SYNC)
            .arg(4)
            .arg(self.members_key(room))
            .arg(self.seq_key(room))
            .arg(self.settings.registry_key("meta"))
            .arg(self.settings.registry_key("empty"))
            .arg(format!("{}node:", self.settings.prefix))
            .arg(self.settings.channel(room))
            .arg(&self.settings.node_id)
            .arg(max)
            .arg(u8::from(full_list))
            .arg(self.settings.lobby())
            .arg(u8::from(created))
            .arg(room);
        for (uid, user_id) in adds {
            cmd.arg(*uid).arg(&**user_id);
        }
        cmd
    }

    /// Parses the sync script's reply; other nodes' members only. `None`
    /// for a reply of the wrong shape.
    fn snapshot(&mut self, value: redis::Value) -> Option<Snapshot> {
        let redis::Value::Array(items) = value else {
            return None;
        };
        let mut items = items.into_iter();
        let (Some(redis::Value::Int(status)), Some(redis::Value::Int(seq))) =
            (items.next(), items.next())
        else {
            return None;
        };
        let seq = u64::try_from(seq).unwrap_or(0);
        let mut members = Vec::new();
        while let (Some(uid), Some(entry)) = (items.next(), items.next()) {
            let (redis::Value::BulkString(uid), redis::Value::BulkString(entry)) = (uid, entry)
            else {
                continue;
            };
            let Some(uid) = std::str::from_utf8(&uid)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            else {
                continue;
            };
            self.max_uid = self.max_uid.max(uid);
            match wire::parse_entry(uid, &entry) {
                Ok((node, _)) if node == self.settings.node_id => {}
                Ok((_, member)) => members.push(member),
                Err(e) => tracing::debug!(error = %e, "bad room entry in redis ignored"),
            }
        }
        Some(Snapshot {
            status,
            seq,
            members,
        })
    }

    /// The heartbeat: lease, claims, and every served room re-read (dead
    /// nodes pruned, this node's members added back where missing), each
    /// room's snapshot sent to the logic thread.
    fn beat(&mut self) {
        let reconnected = std::mem::take(&mut self.resync);
        if !self.ensure() {
            return;
        }
        let mut pipe = redis::pipe();
        pipe.add_command(self.lease_cmd()).ignore();
        let claims: Vec<(String, String)> = self
            .claims
            .iter()
            .map(|(user_id, &conn)| (self.login_key(user_id), self.claim_value(conn)))
            .collect();
        for chunk in claims.chunks(1000) {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(scripts::REFRESH)
                .arg(chunk.len())
                .arg(chunk.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
                .arg(millis(self.settings.claim_ttl))
                .arg(chunk.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>());
            pipe.add_command(cmd).ignore();
        }
        let rooms: Vec<i32> = self
            .rooms
            .keys()
            .chain(self.dirty.iter())
            .copied()
            .collect::<BTreeSet<i32>>()
            .into_iter()
            .collect();
        for &room in &rooms {
            let adds: Vec<(i64, Arc<str>)> = self.rooms.get(&room).map_or_else(Vec::new, |m| {
                m.iter().map(|(&u, n)| (u, Arc::clone(n))).collect()
            });
            pipe.add_command(self.sync_cmd(room, &adds, 0, true, false));
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let replies: Vec<redis::Value> = match pipe.query(conn) {
            Ok(v) => v,
            Err(e) => {
                self.failed(&e);
                return;
            }
        };
        self.dirty.clear();
        for (room, reply) in rooms.into_iter().zip(replies) {
            if let Some(s) = self.snapshot(reply) {
                self.send(ClusterEvent::Members {
                    room,
                    seq: s.seq,
                    members: s.members,
                });
            }
        }
        self.sweep();
        let forced = reconnected | self.subs.snapshot_wanted();
        self.since_snapshot += 1;
        if forced || self.since_snapshot >= SNAPSHOT_EVERY {
            self.registry_snapshot(forced);
        }
        if self.dropped_chats > 0 {
            tracing::warn!(
                chats = self.dropped_chats,
                "chats not published to other nodes while redis was unavailable"
            );
            self.dropped_chats = 0;
        }
    }

    /// Closes the created rooms empty on every node for `idle_close` (any
    /// node may do it; the script checks again that each is still empty).
    fn sweep(&mut self) {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(scripts::SWEEP)
            .arg(5)
            .arg(self.settings.registry_key("names"))
            .arg(self.settings.registry_key("meta"))
            .arg(self.settings.registry_key("creators"))
            .arg(self.settings.registry_key("empty"))
            .arg(self.settings.registry_key("version"))
            .arg(millis(self.settings.idle_close))
            .arg(self.settings.lobby())
            .arg(&self.settings.node_id)
            .arg(self.settings.room_prefix());
        if let Some(closed) = self.query::<i64>(&cmd).filter(|&n| n > 0) {
            tracing::debug!(closed, "idle created rooms closed");
        }
    }

    /// Reads the whole registry and tells the logic thread
    /// ([`ClusterEvent::Rooms`], then each room's [`ClusterEvent::RoomUsers`]).
    /// `forced` after a reconnect (see [`Subscriptions::registry_snapshot`]).
    fn registry_snapshot(&mut self, forced: bool) {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(scripts::SNAPSHOT)
            .arg(3)
            .arg(self.settings.registry_key("version"))
            .arg(self.settings.registry_key("meta"))
            .arg(self.settings.registry_key("empty"))
            .arg(self.settings.room_prefix())
            .arg(format!("{}node:", self.settings.prefix))
            .arg(self.settings.lobby())
            .arg(&self.settings.node_id);
        let Some(redis::Value::Array(items)) = self.query::<redis::Value>(&cmd) else {
            return;
        };
        self.since_snapshot = 0;
        let mut items = items.into_iter();
        let Some(redis::Value::Int(version)) = items.next() else {
            return;
        };
        let mut rooms = Vec::new();
        let mut users = Vec::new();
        while let (Some(n), Some(entry), Some(count)) = (items.next(), items.next(), items.next()) {
            let (redis::Value::BulkString(n), redis::Value::BulkString(entry)) = (n, entry) else {
                continue;
            };
            let Some(number) = std::str::from_utf8(&n).ok().and_then(|s| s.parse().ok()) else {
                continue;
            };
            match wire::parse_room_entry(number, &entry) {
                Ok(room) => rooms.push(room),
                Err(e) => {
                    tracing::debug!(error = %e, room = number, "bad registry entry ignored");
                    continue;
                }
            }
            if let redis::Value::Int(count) = count {
                users.push(ClusterEvent::RoomUsers {
                    room: number,
                    users: usize::try_from(count).unwrap_or(0),
                });
            }
        }
        let mut events = Vec::with_capacity(users.len() + 1);
        events.push(ClusterEvent::Rooms(rooms));
        events.extend(users);
        self.subs.registry_snapshot(
            u64::try_from(version).unwrap_or(0),
            forced,
            events,
            &self.events,
        );
    }

    /// Removes what this node still holds (sessions closed at shutdown
    /// normally released everything already) and its lease.
    fn shut_down(&mut self) {
        let rooms = std::mem::take(&mut self.rooms);
        for (room, members) in rooms {
            for uid in members.keys() {
                self.leave(room, *uid);
            }
        }
        let claims: Vec<(Arc<str>, ConnId)> = self
            .claims
            .iter()
            .map(|(u, &c)| (Arc::clone(u), c))
            .collect();
        for (user_id, conn) in claims {
            self.release(conn, &user_id);
        }
        let mut cmd = redis::cmd("DEL");
        cmd.arg(format!(
            "{}node:{}",
            self.settings.prefix, self.settings.node_id
        ));
        let _ = self.query::<i64>(&cmd);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
