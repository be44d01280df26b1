//! `ROOM_CHAT_REQ` (221): 81 unless in a room, 63 over the session's rate
//! limit; on success 222(0) to the sender, then one 223 (sender's user id and
//! the message), encoded once, to every member, the sender included. The
//! hot path: one allocation per message (the shared 223), none per
//! recipient.

use std::time::Instant;

use ringport_proto::{ResultCode, RoomChatNtf, RoomChatReq, UserId};

use crate::chat::{encode_shared, Chat};
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::session::SessionState;

impl Chat {
    pub(crate) fn handle_chat(
        &mut self,
        conn: ConnId,
        req: RoomChatReq<'_>,
        now: Instant,
        outbound: &mut impl Outbound,
    ) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let SessionState::LoggedIn {
            user,
            room: Some(room),
        } = &session.state
        else {
            return self.respond(
                conn,
                RoomChatReq::ID,
                ResultCode::ChatRoomInvalidRoomNumber,
                outbound,
            );
        };
        let room = *room;
        if !session.bucket.try_take(&self.rate, now) {
            self.stats.rate_limited += 1;
            return self.respond(
                conn,
                RoomChatReq::ID,
                ResultCode::RoomTooManyPacket,
                outbound,
            );
        }
        // Checked at login; cannot fail.
        let Ok(user_id) = UserId::new(&user.user_id) else {
            return;
        };
        let ntf = RoomChatNtf {
            user_id,
            message: req.message,
        };
        let packet = encode_shared(RoomChatNtf::LEN, |buf| ntf.encode(buf));

        self.respond(conn, RoomChatReq::ID, ResultCode::None, outbound);
        let members = self.rooms.members(room);
        for member in members {
            outbound.send_shared(member.conn, &packet);
        }
        self.stats.chats_in += 1;
        self.stats.deliveries_out += members.len() as u64;
        self.cluster_chat(room, &packet, outbound);
    }
}
