//! `ROOM_CHAT_REQ` (221): 81 unless in a room, 63 over the session's rate
//! limit; on success 222(0) to the sender, then one 223 (sender's user id and
//! the message), encoded once, to every member, the sender included — or,
//! to members with the history feature, one 313 (the same with room, epoch,
//! sequence number and time), encoded once. The message is kept in the
//! room's history (a reference to the shared 223). The hot path: one
//! allocation per message (two when members asked for 313s), none per
//! recipient.

use std::time::Instant;

use bytes::Bytes;
use ringport_proto::{ResultCode, RoomChatNtf, RoomChatReq, RoomChatSeqNtf, ServerPacket, UserId};

use crate::chat::{encode_shared, Chat};
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::session::SessionState;

impl Chat {
    /// Keeps a chat of `room` (its encoded 223) in the room's history and
    /// sends it to every local member: the 223 itself, or one 313 (room,
    /// epoch, sequence number, time), encoded once, to members with the
    /// history feature.
    pub(crate) fn deliver_chat(&mut self, room: i32, packet: &Bytes, outbound: &mut impl Outbound) {
        let wall_ms = self.wall_ms();
        let time_ms = i64::try_from(wall_ms).unwrap_or(i64::MAX);
        let (epoch, seq) = if self.history.is_on() {
            self.history
                .append(room, wall_ms.saturating_mul(1000), time_ms, packet)
        } else {
            (0, 0)
        };
        let members = self.rooms.members(room);
        let mut numbered: Option<Bytes> = None;
        for member in members {
            if member.history {
                let numbered =
                    numbered.get_or_insert_with(|| seq_packet(room, epoch, seq, time_ms, packet));
                outbound.send_shared(member.conn, numbered);
            } else {
                outbound.send_shared(member.conn, packet);
            }
        }
        self.stats.deliveries_out += members.len() as u64;
    }

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
        self.deliver_chat(room, &packet, outbound);
        self.stats.chats_in += 1;
        self.cluster_chat(room, &packet, outbound);
    }
}

/// The 313 for a chat whose 223 is `packet` (an empty packet if it somehow
/// is not one: it was encoded by this machine or checked off the bus).
pub(crate) fn seq_packet(room: i32, epoch: u64, seq: u64, time_ms: i64, packet: &[u8]) -> Bytes {
    let Ok(ServerPacket::RoomChatNtf(ntf)) = ServerPacket::decode(packet) else {
        return Bytes::new();
    };
    let numbered = RoomChatSeqNtf {
        room,
        epoch,
        seq,
        time_ms,
        user_id: ntf.user_id,
        message: ntf.message,
    };
    encode_shared(RoomChatSeqNtf::LEN, |buf| numbered.encode(buf))
}
