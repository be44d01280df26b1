//! `ROOM_LEAVE_REQ` (215): 61 unless in a room; on success 216(0) to the
//! user, then one 217, encoded once, to the remaining members. A disconnect
//! in a room uses the same leave without the 216.

use ringport_proto::{ResultCode, RoomLeaveReq, RoomLeaveUserNtf};

use crate::chat::{encode_shared, Chat};
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::session::SessionState;

impl Chat {
    pub(crate) fn handle_leave(&mut self, conn: ConnId, outbound: &mut impl Outbound) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let SessionState::LoggedIn { user, room } = &mut session.state else {
            return self.respond(
                conn,
                RoomLeaveReq::ID,
                ResultCode::RoomInvalidIndex,
                outbound,
            );
        };
        let Some(number) = room.take() else {
            return self.respond(
                conn,
                RoomLeaveReq::ID,
                ResultCode::RoomInvalidIndex,
                outbound,
            );
        };
        let unique_id = user.unique_id;
        self.respond(conn, RoomLeaveReq::ID, ResultCode::None, outbound);
        self.leave_room(conn, number, unique_id, outbound);
    }

    /// Removes `conn` from `room` and tells the remaining members (217).
    pub(crate) fn leave_room(
        &mut self,
        conn: ConnId,
        room: i32,
        unique_id: i64,
        outbound: &mut impl Outbound,
    ) {
        let fixed = self.config.has_room(room);
        let remaining = self.rooms.leave(room, conn);
        tracing::debug!(%conn, room, remaining = remaining.len(), "left room");
        if remaining.is_empty() {
            if let Some(now) = self.now {
                self.created.emptied(room, now);
                self.history.emptied(room, now, fixed);
            }
            self.room_changed(room, outbound);
            return self.cluster_left(room, unique_id, outbound);
        }
        let ntf = RoomLeaveUserNtf {
            user_unique_id: unique_id,
        };
        let packet = encode_shared(RoomLeaveUserNtf::LEN, |buf| ntf.encode(buf));
        for member in remaining {
            outbound.send_shared(member.conn, &packet);
        }
        self.room_changed(room, outbound);
        self.cluster_left(room, unique_id, outbound);
    }
}
