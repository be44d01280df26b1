//! `ROOM_HISTORY_REQ` (314): 81 unless in a room, 110 without the history
//! feature, 63 when the session's chat rate limit is used up (a history
//! request costs one chat token); on success 315(0) with the room's epoch
//! and last sequence number, whether messages were lost and whether more
//! follow, then the messages as 313s, oldest first — all before any live
//! message sent after the request.

use std::time::Instant;

use ringport_proto::{Features, ResultCode, RoomHistoryReq, RoomHistoryRes};

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::request::room_chat::seq_packet;
use crate::session::SessionState;

impl Chat {
    pub(crate) fn handle_history(
        &mut self,
        conn: ConnId,
        req: RoomHistoryReq,
        now: Instant,
        outbound: &mut impl Outbound,
    ) {
        let id = RoomHistoryReq::ID;
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let SessionState::LoggedIn {
            room: Some(room), ..
        } = session.state
        else {
            return self.respond(conn, id, ResultCode::ChatRoomInvalidRoomNumber, outbound);
        };
        if !session.features.contains(Features::HISTORY) {
            return self.respond(conn, id, ResultCode::FeatureNotEnabled, outbound);
        }
        if !session.bucket.try_take(&self.rate, now) {
            self.stats.rate_limited += 1;
            return self.respond(conn, id, ResultCode::RoomTooManyPacket, outbound);
        }
        let wall_us = self.wall_ms().saturating_mul(1000);
        let page = self.history.page(
            room,
            wall_us,
            req.epoch,
            req.after_seq,
            usize::from(req.limit()),
        );
        self.scratch.clear();
        RoomHistoryRes {
            result: ResultCode::None,
            room,
            epoch: page.epoch,
            last_seq: page.last_seq,
            lost: page.lost,
            more: page.more,
            count: u16::try_from(page.messages.len()).unwrap_or(u16::MAX),
        }
        .encode(&mut self.scratch);
        outbound.send(conn, &self.scratch);
        for logged in &page.messages {
            let packet = seq_packet(room, page.epoch, logged.seq, logged.time_ms, &logged.packet);
            outbound.send_shared(conn, &packet);
        }
        self.stats.history_requests += 1;
        self.stats.history_messages_out += page.messages.len() as u64;
    }
}
