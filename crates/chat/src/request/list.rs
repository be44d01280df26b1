//! `ROOM_LIST_REQ` (303): 52 unless logged in, 63 when the session's chat
//! rate limit is used up (a list costs one chat token); on success 304(0)
//! and the list as 305 packets: fixed rooms by number (all of them, or only
//! those with members when there are more than [`LIST_ALL_FIXED`]), then
//! created rooms by number. The session then watches the list, or stops,
//! as the request says (see `crate::lobby`).

use std::time::Instant;

use ringport_proto::{
    encode_room_list, frame_len, ResultCode, RoomInfo, RoomListReq, MAX_FRAME_LIMIT,
};

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::session::SessionState;

/// Up to this many fixed rooms, all are listed; above, only those with
/// members.
pub(crate) const LIST_ALL_FIXED: u32 = 1024;

impl Chat {
    pub(crate) fn handle_list(
        &mut self,
        conn: ConnId,
        req: RoomListReq,
        now: Instant,
        outbound: &mut impl Outbound,
    ) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        if !matches!(session.state, SessionState::LoggedIn { .. }) {
            return self.respond(
                conn,
                RoomListReq::ID,
                ResultCode::EnterRoomInvalidUserStatus,
                outbound,
            );
        }
        if !session.bucket.try_take(&self.rate, now) {
            self.stats.rate_limited += 1;
            return self.respond(
                conn,
                RoomListReq::ID,
                ResultCode::RoomTooManyPacket,
                outbound,
            );
        }
        self.watch.set(conn, req.watch);
        self.stats.room_lists += 1;
        self.respond(conn, RoomListReq::ID, ResultCode::None, outbound);

        let mut list = std::mem::take(&mut self.scratch);
        list.clear();
        let mut infos = Vec::new();
        self.list_rooms(|info| infos.push(info));
        encode_room_list(infos, &mut list);
        let mut rest = list.as_slice();
        while let Ok(Some(len)) = frame_len(rest, MAX_FRAME_LIMIT) {
            let (packet, tail) = rest.split_at(len);
            outbound.send(conn, packet);
            rest = tail;
        }
        self.scratch = list;
    }

    /// Calls `each` with every room of the list, in list order.
    pub(crate) fn list_rooms<'a>(&'a self, mut each: impl FnMut(RoomInfo<'a>)) {
        let fixed: Vec<i32> = if self.config.rooms <= LIST_ALL_FIXED {
            (0..self.config.rooms)
                .filter_map(|i| {
                    i32::try_from(i64::from(self.config.room_start) + i64::from(i)).ok()
                })
                .collect()
        } else {
            let mut busy: Vec<i32> = self
                .rooms
                .numbers()
                .filter(|&n| self.config.has_room(n))
                .collect();
            busy.sort_unstable();
            busy
        };
        let created = self.created.iter().map(|(n, _)| n);
        for number in fixed.into_iter().chain(created) {
            if let Some(info) = self.room_info(number) {
                each(info);
            }
        }
    }
}
