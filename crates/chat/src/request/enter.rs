//! `ROOM_ENTER_REQ` (206): 52 unless logged in and not in a room, 61 unless
//! the number is a configured room, 54 if the room is full. On success, in
//! this order: 207(0) to the user; the other members as 209 packets (always
//! at least one, count 0 for an empty room, split at 127); one 208 about the
//! user, encoded once, to every other member. In cluster mode the capacity
//! is checked cluster-wide first (see `crate::cluster`), and the 209 lists
//! the members on other nodes after the local ones.

use ringport_proto::{
    encode_user_list, frame_len, ResultCode, RoomEnterReq, RoomMember, RoomNewUserNtf, UserId,
    MAX_FRAME_LIMIT,
};

use crate::chat::{encode_shared, Chat};
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::room::Member;
use crate::session::SessionState;

impl Chat {
    pub(crate) fn handle_enter(
        &mut self,
        conn: ConnId,
        req: RoomEnterReq,
        outbound: &mut impl Outbound,
    ) {
        let room = req.room_number;
        let Some(session) = self.sessions.get(&conn) else {
            return;
        };
        let SessionState::LoggedIn { user, room: None } = &session.state else {
            return self.respond(
                conn,
                RoomEnterReq::ID,
                ResultCode::EnterRoomInvalidUserStatus,
                outbound,
            );
        };
        let user = user.clone();
        if !self.config.has_room(room) {
            return self.respond(
                conn,
                RoomEnterReq::ID,
                ResultCode::RoomInvalidIndex,
                outbound,
            );
        }
        if self.enter_in_flight(conn) {
            return self.respond(
                conn,
                RoomEnterReq::ID,
                ResultCode::EnterRoomInvalidUserStatus,
                outbound,
            );
        }
        if self.rooms.members(room).len() + self.remote_count(room) >= self.config.room_max_users {
            return self.respond(
                conn,
                RoomEnterReq::ID,
                ResultCode::EnterRoomFullUser,
                outbound,
            );
        }
        if self.cluster_enter(conn, room, &user, outbound) {
            // Cluster mode: finished when the cluster-wide check answers.
            return;
        }
        self.complete_enter(conn, room, outbound);
    }

    /// The enter of `conn` into `room` was allowed: 207(0), the 209s, the
    /// 208 to the other local members, and the membership.
    pub(crate) fn complete_enter(&mut self, conn: ConnId, room: i32, outbound: &mut impl Outbound) {
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
        };

        self.respond(conn, RoomEnterReq::ID, ResultCode::None, outbound);

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
        self.rooms.join(room, member);
    }
}
