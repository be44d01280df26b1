//! `ROOM_ENTER_NAME_REQ` (307): 52 unless logged in and not in a room, 100
//! for a bad name, 102 when no open room has it (case ignored), then as an
//! enter by number: 54 if full; on success 308(0) with the number, the
//! 209s and the 208s (see `enter`).

use ringport_proto::{ResultCode, RoomEnterNameReq, RoomName};

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::request::enter::EnterVia;

impl Chat {
    pub(crate) fn handle_enter_name(
        &mut self,
        conn: ConnId,
        req: RoomEnterNameReq<'_>,
        outbound: &mut impl Outbound,
    ) {
        let id = RoomEnterNameReq::ID;
        if !self.may_enter(conn) {
            return self.respond(conn, id, ResultCode::EnterRoomInvalidUserStatus, outbound);
        }
        let Ok(name) = RoomName::from_bytes(req.name) else {
            return self.respond(conn, id, ResultCode::RoomNameInvalid, outbound);
        };
        let Some(room) = self.created.by_key(&name.key()) else {
            return self.respond(conn, id, ResultCode::RoomNameUnknown, outbound);
        };
        self.enter(conn, room, EnterVia::Name, outbound);
    }
}
