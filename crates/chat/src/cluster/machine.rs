//! The machine's cluster side: the constructor [`Chat::with_cluster`], the
//! cluster input ([`Chat::handle_cluster`]: answers to claims and enters,
//! other nodes' room traffic) and the hooks the `request` modules call in
//! cluster mode (claim, enter, leave, chat, release: each a
//! [`ClusterRequest`] to the host through [`Outbound::cluster`]).

use std::sync::Arc;

use ringport_proto::{ResultCode, RoomLeaveUserNtf, RoomNewUserNtf, UserId};

use super::mirror::Delta;
use super::{
    ClaimResult, ClusterEvent, ClusterRequest, ClusterState, ClusterStats, CreateResult,
    EnterResult, RoomChange, SharedRoom,
};
use crate::chat::{encode_shared, Chat};
use crate::config::ChatConfig;
use crate::conn::ConnId;
use crate::created::CreatedRoom;
use crate::outbound::Outbound;
use crate::request::enter::EnterVia;
use crate::request::room_chat::Fan;
use crate::session::{SessionState, User};

impl Chat {
    /// A machine that shares its rooms with other nodes through the host
    /// (see [`crate::cluster`]): logins are claimed and room capacity is
    /// checked cluster-wide, room traffic is published to and received
    /// from the other nodes.
    pub fn with_cluster(config: ChatConfig) -> Chat {
        let mut chat = Chat::new(config);
        chat.cluster = Some(ClusterState::default());
        chat
    }

    /// Whether the machine was made with [`Chat::with_cluster`].
    pub fn is_clustered(&self) -> bool {
        self.cluster.is_some()
    }

    /// Counters of the cluster side (`None` without a cluster).
    pub fn cluster_stats(&self) -> Option<&ClusterStats> {
        self.cluster.as_ref().map(|c| &c.stats)
    }

    /// An answer to a [`ClusterRequest`], or another node's room traffic.
    /// Ignored without a cluster. Answers for sessions that went away are
    /// undone (a claim is released, a confirmed enter is left). Once a
    /// claim or an enter is answered, the requests its session sent
    /// meanwhile are handled in order.
    pub fn handle_cluster(&mut self, event: ClusterEvent, outbound: &mut impl Outbound) {
        if self.cluster.is_none() {
            return;
        }
        match event {
            ClusterEvent::Claimed {
                conn,
                ticket,
                result,
            } => {
                self.finish_claim(conn, ticket, result, outbound);
                self.drain_pipeline(conn, outbound);
            }
            ClusterEvent::Entered { conn, room, result } => {
                self.finish_cluster_enter(conn, room, result, outbound);
                self.drain_pipeline(conn, outbound);
            }
            ClusterEvent::Remote { room, change } => self.remote_change(room, change, outbound),
            ClusterEvent::Members { room, seq, members } => {
                let deltas = match self.view_mut(room) {
                    Some(view) => view.snapshot(seq, members),
                    None => return,
                };
                for delta in deltas {
                    if let Some(c) = self.cluster.as_mut() {
                        match delta {
                            Delta::Added(_) => c.stats.repaired_enters += 1,
                            Delta::Removed(_) => c.stats.repaired_leaves += 1,
                        }
                    }
                    self.announce(room, &delta, outbound);
                }
            }
            ClusterEvent::Created { conn, result } => {
                self.finish_cluster_create(conn, result, outbound);
                self.drain_pipeline(conn, outbound);
            }
            ClusterEvent::History { conn, room, page } => {
                self.finish_cluster_history(conn, room, page, outbound);
                self.drain_pipeline(conn, outbound);
            }
            ClusterEvent::Unnumbered { room, packet } => {
                if let Some(c) = self.cluster.as_mut() {
                    c.stats.unnumbered_chats += 1;
                }
                self.fan_out(room, &packet, None, Fan::Numbered, outbound);
            }
            ClusterEvent::RoomOpened(room) => self.registry_open(room, outbound),
            ClusterEvent::RoomClosed { number } => self.registry_close(number, outbound),
            ClusterEvent::Rooms(rooms) => {
                let open: rustc_hash::FxHashSet<i32> = rooms.iter().map(|r| r.number).collect();
                let gone: Vec<i32> = self
                    .created
                    .iter()
                    .map(|(n, _)| n)
                    .filter(|n| !open.contains(n))
                    .collect();
                for number in gone {
                    self.registry_close(number, outbound);
                }
                for room in rooms {
                    self.registry_open(room, outbound);
                }
            }
            ClusterEvent::RoomUsers { room, users } => {
                if let Some(c) = self.cluster.as_mut() {
                    // 0 is "not known": a snapshot's 0 for a room never
                    // counted is no change (no 306 to the watchers).
                    let known = if users == 0 {
                        c.users.remove(&room).unwrap_or(0)
                    } else {
                        c.users.insert(room, users).unwrap_or(0)
                    };
                    if known != users {
                        self.room_changed(room, outbound);
                    }
                }
            }
            ClusterEvent::Resync => {
                if let Some(c) = self.cluster.as_mut() {
                    for view in c.views.values_mut() {
                        view.resync();
                    }
                }
            }
        }
        if let Some(c) = self.cluster.as_mut() {
            c.update_gauges();
        }
        // A claim answered may have logged a session in (its deadline no
        // longer counts) or refused it: keep `next_timeout` exact.
        self.prune_deadlines();
        self.update_gauges();
    }

    fn view_mut(&mut self, room: i32) -> Option<&mut super::mirror::RoomView> {
        self.cluster.as_mut()?.views.get_mut(&room)
    }

    /// Cluster mode, password accepted, id not logged in here: claims it
    /// cluster-wide. Returns false without a cluster (log in locally).
    pub(crate) fn cluster_claim(
        &mut self,
        conn: ConnId,
        ticket: u64,
        user_id: &Arc<str>,
        outbound: &mut impl Outbound,
    ) -> bool {
        let Some(cluster) = self.cluster.as_mut() else {
            return false;
        };
        cluster.claims.insert(conn, (ticket, Arc::clone(user_id)));
        outbound.cluster(ClusterRequest::Claim {
            conn,
            ticket,
            user_id: Arc::clone(user_id),
        });
        true
    }

    /// Whether `conn` has a claim in flight (its account answer was used).
    pub(crate) fn claim_in_flight(&self, conn: ConnId) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.claims.contains_key(&conn))
    }

    fn finish_claim(
        &mut self,
        conn: ConnId,
        ticket: u64,
        result: ClaimResult,
        outbound: &mut impl Outbound,
    ) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let user_id = match cluster.claims.get(&conn) {
            Some((t, user_id)) if *t == ticket => Arc::clone(user_id),
            _ => return,
        };
        cluster.claims.remove(&conn);
        let via = self.sessions.get(&conn).and_then(|s| match &s.state {
            SessionState::Authenticating { ticket: t, via, .. } if *t == ticket => Some(*via),
            _ => None,
        });
        let Some(via) = via else {
            if let ClaimResult::Claimed(_) = result {
                outbound.cluster(ClusterRequest::Release { conn, user_id });
            }
            return;
        };
        let outcome = match result {
            ClaimResult::Claimed(_) if self.logins.session_of(&user_id).is_some() => {
                outbound.cluster(ClusterRequest::Release {
                    conn,
                    user_id: Arc::clone(&user_id),
                });
                Err(ResultCode::LoginUserAlready)
            }
            ClaimResult::Claimed(unique_id) => Ok(unique_id),
            ClaimResult::Taken => Err(ResultCode::LoginUserAlready),
            ClaimResult::Unavailable => Err(ResultCode::LoginBackendUnavailable),
        };
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        match outcome {
            Ok(unique_id) => {
                self.logins.log_in_as(Arc::clone(&user_id), conn);
                self.logged_in(conn, User { user_id, unique_id }, via, outbound);
            }
            Err(code) => {
                session.state = SessionState::Connected;
                self.logins.release_slot();
                self.refuse_login(conn, via, code, outbound);
            }
        }
    }

    /// A logged-in session ended: its claim is released.
    pub(crate) fn cluster_logged_out(
        &mut self,
        conn: ConnId,
        user_id: &Arc<str>,
        outbound: &mut impl Outbound,
    ) {
        if let Some(c) = self.cluster.as_mut() {
            c.history.remove(&conn);
            outbound.cluster(ClusterRequest::Release {
                conn,
                user_id: Arc::clone(user_id),
            });
        }
    }

    /// Whether `conn` has a history request in flight.
    pub(crate) fn history_in_flight(&self, conn: ConnId) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.reading_history(conn))
    }

    /// Whether `conn` has an enter in flight.
    pub(crate) fn enter_in_flight(&self, conn: ConnId) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.entering.contains_key(&conn))
    }

    /// Members of `room` on other nodes (0 without a cluster).
    pub(crate) fn remote_count(&self, room: i32) -> usize {
        self.cluster
            .as_ref()
            .and_then(|c| c.views.get(&room))
            .map_or(0, |v| v.len())
    }

    /// Cluster mode: asks for the cluster-wide enter. Returns false without
    /// a cluster (enter locally).
    pub(crate) fn cluster_enter(
        &mut self,
        conn: ConnId,
        room: i32,
        user: &User,
        capacity: usize,
        via: EnterVia,
        outbound: &mut impl Outbound,
    ) -> bool {
        let created = !self.config.has_room(room);
        let Some(cluster) = self.cluster.as_mut() else {
            return false;
        };
        cluster.entering.insert(conn, (room, user.unique_id, via));
        cluster.views.entry(room).or_default();
        outbound.cluster(ClusterRequest::Enter {
            conn,
            room,
            unique_id: user.unique_id,
            user_id: Arc::clone(&user.user_id),
            max: capacity,
            created,
        });
        true
    }

    /// Whether `conn` has a create in flight.
    pub(crate) fn create_in_flight(&self, conn: ConnId) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.creating.contains_key(&conn))
    }

    /// Cluster mode: asks the shared registry to create `room`. Returns
    /// false without a cluster (create locally).
    pub(crate) fn cluster_create(
        &mut self,
        conn: ConnId,
        room: CreatedRoom,
        outbound: &mut impl Outbound,
    ) -> bool {
        let Some(cluster) = self.cluster.as_mut() else {
            return false;
        };
        let shared = SharedRoom {
            number: 0,
            name: Arc::clone(&room.name),
            key: Arc::from(&*room.key),
            max_users: room.max_users,
            creator: Arc::clone(&room.creator),
        };
        cluster.creating.insert(conn, room);
        outbound.cluster(ClusterRequest::Create {
            conn,
            room: shared,
            per_user: self.config.rooms_per_user,
            max_rooms: self.config.max_created_rooms,
            first_number: self.config.created_room_start,
        });
        true
    }

    fn finish_cluster_create(
        &mut self,
        conn: ConnId,
        result: CreateResult,
        outbound: &mut impl Outbound,
    ) {
        let Some(room) = self.cluster.as_mut().and_then(|c| c.creating.remove(&conn)) else {
            return;
        };
        if !self.sessions.contains_key(&conn) {
            // Created for a session that went away: the room stays open
            // (it is in the registry) and closes when its idle time is up.
            if let CreateResult::Created(number) = result {
                self.registry_open_local(number, room);
            }
            return;
        }
        let code = match result {
            CreateResult::Created(number) => {
                let Some(now) = self.now else {
                    return;
                };
                if self.created.get(number).is_some() {
                    // Its RoomOpened came first: answer, do not open twice.
                    self.stats.rooms_created += 1;
                    self.scratch.clear();
                    ringport_proto::RoomCreateRes {
                        result: ResultCode::None,
                        room_number: number,
                    }
                    .encode(&mut self.scratch);
                    outbound.send(conn, &self.scratch);
                    return;
                }
                return self.finish_create(conn, number, room, now, outbound);
            }
            CreateResult::Taken => ResultCode::RoomNameTaken,
            CreateResult::UserLimit => ResultCode::RoomCreateLimitUser,
            CreateResult::ServerLimit => ResultCode::RoomCreateLimitServer,
            CreateResult::Unavailable => ResultCode::RoomServiceUnavailable,
        };
        self.refuse_create(conn, code, outbound);
    }

    fn registry_open_local(&mut self, number: i32, room: CreatedRoom) -> bool {
        let Some(now) = self.now else {
            return false;
        };
        self.created.open(number, room, now)
    }

    /// The registry says `room` is open: open it here too.
    fn registry_open(&mut self, room: SharedRoom, outbound: &mut impl Outbound) {
        if self.created.get(room.number).is_some() {
            return;
        }
        let number = room.number;
        let local = CreatedRoom {
            name: room.name,
            key: Box::from(&*room.key),
            max_users: room.max_users,
            creator: room.creator,
            empty_since: None,
        };
        if self.registry_open_local(number, local) {
            if let Some(c) = self.cluster.as_mut() {
                c.stats.registry_changes += 1;
            }
            self.room_changed(number, outbound);
        }
    }

    /// The registry closed `number`: close it here, unless members of this
    /// node are in it (an enter the registry did not see, while the bus
    /// was down; the room then lives on here until it empties).
    fn registry_close(&mut self, number: i32, outbound: &mut impl Outbound) {
        if self.created.get(number).is_none() {
            return;
        }
        if !self.rooms.members(number).is_empty() {
            tracing::warn!(
                room = number,
                "registry closed a room with members here: kept"
            );
            return;
        }
        if let Some(c) = self.cluster.as_mut() {
            c.stats.registry_changes += 1;
            c.users.remove(&number);
        }
        self.close_room(number, outbound);
    }

    /// Cluster-wide members of `room` for the list, when this node has no
    /// view of it (no local member, no enter in flight).
    pub(crate) fn registry_users(&self, room: i32) -> Option<usize> {
        let cluster = self.cluster.as_ref()?;
        if cluster.views.contains_key(&room) {
            return None;
        }
        Some(cluster.users.get(&room).copied().unwrap_or(0))
    }

    fn finish_cluster_enter(
        &mut self,
        conn: ConnId,
        room: i32,
        result: EnterResult,
        outbound: &mut impl Outbound,
    ) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let (unique_id, via) = match cluster.entering.get(&conn) {
            Some(&(r, uid, via)) if r == room => (uid, via),
            _ => return,
        };
        cluster.entering.remove(&conn);
        let waiting = self.sessions.get(&conn).is_some_and(|s| {
            matches!(&s.state, SessionState::LoggedIn { room: None, user } if user.unique_id == unique_id)
        });
        if !waiting {
            if let EnterResult::Entered { .. } = result {
                outbound.cluster(ClusterRequest::Leave { room, unique_id });
            }
            self.forget_view_if_unused(room);
            return;
        }
        match result {
            EnterResult::Entered { .. }
                if self.rooms.members(room).len() >= self.capacity_of(room).unwrap_or(0) =>
            {
                // Admitted cluster-wide, but this node's own members already
                // fill the room (members it admitted while the bus was down
                // are re-added only at the host's next heartbeat): refused,
                // and the registration undone.
                outbound.cluster(ClusterRequest::Leave { room, unique_id });
                self.respond(
                    conn,
                    via.request_id(),
                    ResultCode::EnterRoomFullUser,
                    outbound,
                );
            }
            EnterResult::Entered { seq, members } => {
                let deltas = match self.view_mut(room) {
                    Some(view) => view.snapshot(seq, members),
                    None => Vec::new(),
                };
                for delta in deltas {
                    self.announce(room, &delta, outbound);
                }
                self.complete_enter(conn, room, via, outbound);
            }
            EnterResult::Full => {
                self.forget_view_if_unused(room);
                self.respond(
                    conn,
                    via.request_id(),
                    ResultCode::EnterRoomFullUser,
                    outbound,
                );
            }
            EnterResult::Gone => {
                self.forget_view_if_unused(room);
                let code = match via {
                    EnterVia::Number => ResultCode::RoomInvalidIndex,
                    EnterVia::Name => ResultCode::RoomNameUnknown,
                };
                self.respond(conn, via.request_id(), code, outbound);
            }
            EnterResult::Unavailable => {
                let capacity = self.capacity_of(room);
                let Some(capacity) = capacity else {
                    self.forget_view_if_unused(room);
                    return self.respond(
                        conn,
                        via.request_id(),
                        ResultCode::RoomInvalidIndex,
                        outbound,
                    );
                };
                if self.rooms.members(room).len() + self.remote_count(room) >= capacity {
                    self.forget_view_if_unused(room);
                    return self.respond(
                        conn,
                        via.request_id(),
                        ResultCode::EnterRoomFullUser,
                        outbound,
                    );
                }
                if let Some(c) = self.cluster.as_mut() {
                    c.stats.degraded_enters += 1;
                }
                self.complete_enter(conn, room, via, outbound);
            }
        }
    }

    /// A local member left `room` (217 already sent to the local members):
    /// tells the other nodes.
    pub(crate) fn cluster_left(&mut self, room: i32, unique_id: i64, outbound: &mut impl Outbound) {
        if self.cluster.is_none() {
            return;
        }
        outbound.cluster(ClusterRequest::Leave { room, unique_id });
        self.forget_view_if_unused(room);
    }

    /// A local chat (already sent to the local members): publishes it.
    pub(crate) fn cluster_chat(
        &mut self,
        room: i32,
        packet: &bytes::Bytes,
        outbound: &mut impl Outbound,
    ) {
        if self.cluster.is_some() {
            outbound.cluster(ClusterRequest::Chat {
                room,
                packet: packet.clone(),
            });
        }
    }

    /// Other nodes' members whose view goes with the 209 of an enter.
    pub(crate) fn remote_members(&self, room: i32) -> Vec<super::RemoteMember> {
        self.cluster
            .as_ref()
            .and_then(|c| c.views.get(&room))
            .map(|v| v.members().cloned().collect())
            .unwrap_or_default()
    }

    fn forget_view_if_unused(&mut self, room: i32) {
        let local = self.rooms.members(room).len();
        if let Some(c) = self.cluster.as_mut() {
            if local == 0 && c.entering_room(room) == 0 && c.views.remove(&room).is_some() {
                c.update_gauges();
            }
        }
    }

    fn remote_change(&mut self, room: i32, change: RoomChange, outbound: &mut impl Outbound) {
        let delta = match change {
            RoomChange::Chat { packet } => {
                // Not numbered (history off where it was sent).
                self.fan_out(room, &packet, None, Fan::All, outbound);
                if let Some(c) = self.cluster.as_mut() {
                    c.stats.remote_chats_in += 1;
                }
                return;
            }
            RoomChange::NumberedChat {
                number,
                own,
                packet,
            } => {
                if own {
                    // Its 223s went out when it was sent.
                    self.fan_out(room, &packet, Some(number), Fan::Numbered, outbound);
                } else {
                    self.fan_out(room, &packet, Some(number), Fan::All, outbound);
                    if let Some(c) = self.cluster.as_mut() {
                        c.stats.remote_chats_in += 1;
                    }
                }
                return;
            }
            RoomChange::Enter { seq, member } => match self.view_mut(room) {
                Some(view) => view.enter(seq, member),
                None => return,
            },
            RoomChange::Leave { seq, unique_id } => match self.view_mut(room) {
                Some(view) => view.leave(seq, unique_id),
                None => return,
            },
        };
        if let Some(delta) = delta {
            if let Some(c) = self.cluster.as_mut() {
                c.stats.remote_changes += 1;
            }
            self.announce(room, &delta, outbound);
        }
    }

    /// Sends a 208 or 217 about a member of another node to the local
    /// members of `room`, encoded once.
    fn announce(&mut self, room: i32, delta: &Delta, outbound: &mut impl Outbound) {
        let members = self.rooms.members(room);
        if members.is_empty() {
            return;
        }
        let packet = match delta {
            Delta::Added(member) => {
                let Ok(user_id) = UserId::new(&member.user_id) else {
                    return;
                };
                let ntf = RoomNewUserNtf {
                    user_unique_id: member.unique_id,
                    user_id,
                };
                encode_shared(ntf.encoded_len(), |buf| ntf.encode(buf))
            }
            Delta::Removed(unique_id) => {
                let ntf = RoomLeaveUserNtf {
                    user_unique_id: *unique_id,
                };
                encode_shared(RoomLeaveUserNtf::LEN, |buf| ntf.encode(buf))
            }
        };
        for member in members {
            outbound.send_shared(member.conn, &packet);
        }
    }
}
