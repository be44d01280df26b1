//! `ROOM_ENTER_REQ` (206): 52 unless logged in and not in a room, 61 unless
//! the number is a configured room, 54 if the room is full. On success, in
//! this order: 207(0) to the user; the other members as 209 packets (always
//! at least one, count 0 for an empty room, split at 127); one 208 about the
//! user, encoded once, to every other member.

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
        out: &mut impl Outbound,
    ) {
        let room = req.room_number;
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let SessionState::LoggedIn {
            user,
            room: current @ None,
        } = &mut session.state
        else {
            return self.respond(
                conn,
                RoomEnterReq::ID,
                ResultCode::EnterRoomInvalidUserStatus,
                out,
            );
        };
        if !self.config.has_room(room) {
            return self.respond(conn, RoomEnterReq::ID, ResultCode::RoomInvalidIndex, out);
        }
        if self.rooms.members(room).len() >= self.config.room_max_users {
            return self.respond(conn, RoomEnterReq::ID, ResultCode::EnterRoomFullUser, out);
        }
        *current = Some(room);
        let member = Member {
            conn,
            unique_id: user.unique_id,
            user_id: user.user_id.clone(),
        };

        self.respond(conn, RoomEnterReq::ID, ResultCode::None, out);

        let others = self.rooms.members(room);
        self.scratch.clear();
        let list = others.iter().filter_map(|m| {
            // Stored ids were checked at login; one that somehow is not valid
            // is left out rather than sent broken.
            Some(RoomMember {
                user_unique_id: m.unique_id,
                user_id: UserId::new(&m.user_id).ok()?,
            })
        });
        encode_user_list(list, &mut self.scratch);
        let mut rest = self.scratch.as_slice();
        while let Ok(Some(len)) = frame_len(rest, MAX_FRAME_LIMIT) {
            let (packet, tail) = rest.split_at(len);
            out.send(conn, packet);
            rest = tail;
        }

        if let (false, Ok(user_id)) = (others.is_empty(), UserId::new(&member.user_id)) {
            let ntf = RoomNewUserNtf {
                user_unique_id: member.unique_id,
                user_id,
            };
            let packet = encode_shared(ntf.encoded_len(), |buf| ntf.encode(buf));
            for other in others {
                out.send_shared(other.conn, &packet);
            }
        }
        tracing::debug!(%conn, room, members = others.len() + 1, "entered room");
        self.rooms.join(room, member);
    }
}
