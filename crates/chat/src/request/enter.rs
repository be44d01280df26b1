//! `ROOM_ENTER_REQ` (206): 52 unless logged in and not in a room, 61 unless
//! the number is a fixed room or an open created room, 54 if the room is
//! full (at its capacity). On success, in this order: 207(0) to the user;
//! the other members as 209 packets (always at least one, count 0 for an
//! empty room, split at 127); one 208 about the user, encoded once, to every
//! other member. In cluster mode the capacity is checked cluster-wide first
//! (see `crate::cluster`), and the 209 lists the members on other nodes
//! after the local ones. `ROOM_ENTER_NAME_REQ` (307, `enter_name`) ends in
//! the same enter, answered with 308 instead of 207.

use ringport_proto::{
    encode_user_list, frame_len, ResultCode, RoomEnterNameReq, RoomEnterNameRes, RoomEnterReq,
    RoomMember, RoomNewUserNtf, UserId, MAX_FRAME_LIMIT,
};

use crate::chat::{encode_shared, Chat};
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::room::Member;
use crate::session::SessionState;

/// Which request asked to enter, so which response answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnterVia {
    /// 206, answered with 207.
    Number,
    /// 307, answered with 308 (which carries the number).
    Name,
}

impl EnterVia {
    /// The request's id.
    pub(crate) const fn request_id(self) -> u16 {
        match self {
            EnterVia::Number => RoomEnterReq::ID,
            EnterVia::Name => RoomEnterNameReq::ID,
        }
    }
}

impl Chat {
    pub(crate) fn handle_enter(
        &mut self,
        conn: ConnId,
        req: RoomEnterReq,
        outbound: &mut impl Outbound,
    ) {
        let room = req.room_number;
        if !self.may_enter(conn) {
            return self.respond(
                conn,
                RoomEnterReq::ID,
                ResultCode::EnterRoomInvalidUserStatus,
                outbound,
            );
        }
        if self.capacity_of(room).is_none() {
            return self.respond(
                conn,
                RoomEnterReq::ID,
                ResultCode::RoomInvalidIndex,
                outbound,
            );
        }
        self.enter(conn, room, EnterVia::Number, outbound);
    }

    /// Whether `conn` is logged in, not in a room and not entering one.
    pub(crate) fn may_enter(&self, conn: ConnId) -> bool {
        let idle = self
            .sessions
            .get(&conn)
            .is_some_and(|s| matches!(s.state, SessionState::LoggedIn { room: None, .. }));
        idle && !self.enter_in_flight(conn)
    }

    /// The capacity of `room`: a fixed room's, or an open created room's;
    /// `None` for a room that does not exist.
    pub(crate) fn capacity_of(&self, room: i32) -> Option<usize> {
        if self.config.has_room(room) {
            return Some(self.config.room_max_users);
        }
        self.created.get(room).map(|r| r.max_users)
    }

    /// Members of `room` now: local, and on other nodes as far as known.
    pub(crate) fn member_count(&self, room: i32) -> usize {
        let local = self.rooms.members(room).len();
        if local == 0 {
            if let Some(users) = self.registry_users(room) {
                return users;
            }
        }
        local + self.remote_count(room)
    }

    /// Enters `conn` (checked with [`Self::may_enter`]) into the existing
    /// `room`: 54 if full, else the enter (cluster-wide first in cluster
    /// mode).
    pub(crate) fn enter(
        &mut self,
        conn: ConnId,
        room: i32,
        via: EnterVia,
        outbound: &mut impl Outbound,
    ) {
        let Some(capacity) = self.capacity_of(room) else {
            return;
        };
        let Some(user) = self.sessions.get(&conn).and_then(|s| match &s.state {
            SessionState::LoggedIn { user, room: None } => Some(user.clone()),
            _ => None,
        }) else {
            return;
        };
        if self.member_count(room) >= capacity {
            return self.respond(
                conn,
                via.request_id(),
                ResultCode::EnterRoomFullUser,
                outbound,
            );
        }
        if self.cluster_enter(conn, room, &user, capacity, via, outbound) {
            // Cluster mode: finished when the cluster-wide check answers.
            return;
        }
        self.complete_enter(conn, room, via, outbound);
    }

    /// The enter of `conn` into `room` was allowed: 207(0) (or 308), the
    /// 209s, the 208 to the other local members, and the membership.
    pub(crate) fn complete_enter(
        &mut self,
        conn: ConnId,
        room: i32,
        via: EnterVia,
        outbound: &mut impl Outbound,
    ) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let SessionState::LoggedIn {
            user,
            room: current @ None,
        } = &mut session.state
        else {
            return;
        };
        *current = Some(room);
        let member = Member {
            conn,
            unique_id: user.unique_id,
            user_id: user.user_id.clone(),
            history: session.features.contains(ringport_proto::Features::HISTORY),
        };

        match via {
            EnterVia::Number => self.respond(conn, RoomEnterReq::ID, ResultCode::None, outbound),
            EnterVia::Name => {
                self.scratch.clear();
                RoomEnterNameRes {
                    result: ResultCode::None,
                    room_number: room,
                }
                .encode(&mut self.scratch);
                outbound.send(conn, &self.scratch);
            }
        }

        let remote = self.remote_members(room);
        let others = self.rooms.members(room);
        self.scratch.clear();
        let local = others.iter().map(|m| (m.unique_id, &*m.user_id));
        let list = local
            .chain(remote.iter().map(|m| (m.unique_id, &*m.user_id)))
            .filter_map(|(unique_id, user_id)| {
                // Stored ids were checked at login (or when they came from
                // the bus); one that somehow is not valid is left out rather
                // than sent broken.
                Some(RoomMember {
                    user_unique_id: unique_id,
                    user_id: UserId::new(user_id).ok()?,
                })
            });
        encode_user_list(list, &mut self.scratch);
        let mut rest = self.scratch.as_slice();
        while let Ok(Some(len)) = frame_len(rest, MAX_FRAME_LIMIT) {
            let (packet, tail) = rest.split_at(len);
            outbound.send(conn, packet);
            rest = tail;
        }

        if let (false, Ok(user_id)) = (others.is_empty(), UserId::new(&member.user_id)) {
            let ntf = RoomNewUserNtf {
                user_unique_id: member.unique_id,
                user_id,
            };
            let packet = encode_shared(ntf.encoded_len(), |buf| ntf.encode(buf));
            for other in others {
                outbound.send_shared(other.conn, &packet);
            }
        }
        tracing::debug!(%conn, room, members = others.len() + 1, "entered room");
        if self.rooms.join(room, member).len() == 1 {
            self.created.occupied(room);
            self.history.occupied(room);
        }
        self.room_changed(room, outbound);
    }
}
