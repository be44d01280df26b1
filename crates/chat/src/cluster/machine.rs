//! The machine's cluster side: the constructor [`Chat::with_cluster`], the
//! cluster input ([`Chat::handle_cluster`]: answers to claims and enters,
//! other nodes' room traffic) and the hooks the `request` modules call in
//! cluster mode (claim, enter, leave, chat, release: each a
//! [`ClusterRequest`] to the host through [`Outbound::cluster`]).

use std::sync::Arc;

use ringport_proto::{
    LoginReq, ResultCode, RoomEnterReq, RoomLeaveUserNtf, RoomNewUserNtf, UserId,
};

use super::mirror::Delta;
use super::{
    ClaimResult, ClusterEvent, ClusterRequest, ClusterState, ClusterStats, EnterResult, RoomChange,
};
use crate::chat::{encode_shared, Chat};
use crate::config::ChatConfig;
use crate::conn::ConnId;
use crate::outbound::Outbound;
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
        let waiting = self.sessions.get(&conn).is_some_and(
            |s| matches!(&s.state, SessionState::Authenticating { ticket: t, .. } if *t == ticket),
        );
        if !waiting {
            if let ClaimResult::Claimed(_) = result {
                outbound.cluster(ClusterRequest::Release { conn, user_id });
            }
            return;
        }
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
                session.state = SessionState::LoggedIn {
                    user: User { user_id, unique_id },
                    room: None,
                };
                session.login_deadline = None;
                self.stats.logins_ok += 1;
                tracing::debug!(%conn, unique_id, "login ok (claimed cluster-wide)");
                self.respond(conn, LoginReq::ID, ResultCode::None, outbound);
            }
            Err(code) => {
                session.state = SessionState::Connected;
                self.logins.release_slot();
                tracing::debug!(%conn, %code, "login refused");
                self.record_login_failure(code);
                self.respond(conn, LoginReq::ID, code, outbound);
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
        if self.cluster.is_some() {
            outbound.cluster(ClusterRequest::Release {
                conn,
                user_id: Arc::clone(user_id),
            });
        }
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
        outbound: &mut impl Outbound,
    ) -> bool {
        let Some(cluster) = self.cluster.as_mut() else {
            return false;
        };
        cluster.entering.insert(conn, (room, user.unique_id));
        cluster.views.entry(room).or_default();
        outbound.cluster(ClusterRequest::Enter {
            conn,
            room,
            unique_id: user.unique_id,
            user_id: Arc::clone(&user.user_id),
            max: self.config.room_max_users,
        });
        true
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
        let unique_id = match cluster.entering.get(&conn) {
            Some(&(r, uid)) if r == room => uid,
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
                if self.rooms.members(room).len() >= self.config.room_max_users =>
            {
                // Admitted cluster-wide, but this node's own members already
                // fill the room (members it admitted while the bus was down
                // are re-added only at the host's next heartbeat): refused,
                // and the registration undone.
                outbound.cluster(ClusterRequest::Leave { room, unique_id });
                self.respond(
                    conn,
                    RoomEnterReq::ID,
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
                self.complete_enter(conn, room, outbound);
            }
            EnterResult::Full => {
                self.forget_view_if_unused(room);
                self.respond(
                    conn,
                    RoomEnterReq::ID,
                    ResultCode::EnterRoomFullUser,
                    outbound,
                );
            }
            EnterResult::Unavailable => {
                if self.rooms.members(room).len() + self.remote_count(room)
                    >= self.config.room_max_users
                {
                    self.forget_view_if_unused(room);
                    return self.respond(
                        conn,
                        RoomEnterReq::ID,
                        ResultCode::EnterRoomFullUser,
                        outbound,
                    );
                }
                if let Some(c) = self.cluster.as_mut() {
                    c.stats.degraded_enters += 1;
                }
                self.complete_enter(conn, room, outbound);
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
                let members = self.rooms.members(room);
                for member in members {
                    outbound.send_shared(member.conn, &packet);
                }
                let n = members.len() as u64;
                self.stats.deliveries_out += n;
                if let Some(c) = self.cluster.as_mut() {
                    c.stats.remote_chats_in += 1;
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
