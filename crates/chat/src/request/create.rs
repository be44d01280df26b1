//! `ROOM_CREATE_REQ` (301): 52 unless logged in, 100 for a bad name, 103
//! for a capacity above `room_max_users_limit`, 63 over the session's create
//! rate, 104 when the user has `rooms_per_user` rooms open, 105 when the
//! server holds `max_created_rooms` (or no number is free), 101 when an open
//! room has the name (case ignored). On success 302(0) with the number, and
//! a 306 to the watchers. The room starts empty (its idle clock running);
//! creating does not enter. In cluster mode the registry in Redis decides
//! (see `crate::cluster`).

use std::sync::Arc;
use std::time::Instant;

use ringport_proto::{ResultCode, RoomCreateReq, RoomCreateRes, RoomName};

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::created::CreatedRoom;
use crate::outbound::Outbound;
use crate::session::SessionState;

impl Chat {
    pub(crate) fn handle_create(
        &mut self,
        conn: ConnId,
        req: RoomCreateReq<'_>,
        now: Instant,
        outbound: &mut impl Outbound,
    ) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let SessionState::LoggedIn { user, .. } = &session.state else {
            return self.refuse_create(conn, ResultCode::EnterRoomInvalidUserStatus, outbound);
        };
        let creator = Arc::clone(&user.user_id);
        let name = match RoomName::from_bytes(req.name) {
            Ok(name) => name,
            Err(error) => {
                tracing::debug!(%conn, %error, "create refused: bad name");
                return self.refuse_create(conn, ResultCode::RoomNameInvalid, outbound);
            }
        };
        let max_users = match usize::from(req.max_users) {
            0 => self.config.room_max_users,
            asked if asked > self.config.room_max_users_limit => {
                return self.refuse_create(conn, ResultCode::RoomCapacityInvalid, outbound);
            }
            asked => asked,
        };
        if !session.create_bucket.try_take(&self.create_rate, now) {
            return self.refuse_create(conn, ResultCode::RoomTooManyPacket, outbound);
        }
        if self.created.created_by(&creator) >= self.config.rooms_per_user {
            return self.refuse_create(conn, ResultCode::RoomCreateLimitUser, outbound);
        }
        if self.created.len() >= self.config.max_created_rooms {
            return self.refuse_create(conn, ResultCode::RoomCreateLimitServer, outbound);
        }
        let key = name.key();
        if self.created.by_key(&key).is_some() {
            return self.refuse_create(conn, ResultCode::RoomNameTaken, outbound);
        }
        let room = CreatedRoom {
            name: Arc::from(name.as_str()),
            key: key.into(),
            max_users,
            creator,
            empty_since: None,
        };
        if self.cluster_create(conn, room.clone(), outbound) {
            // Cluster mode: finished when the registry answers.
            return;
        }
        let Some(number) = self.created.free_number() else {
            return self.refuse_create(conn, ResultCode::RoomCreateLimitServer, outbound);
        };
        self.finish_create(conn, number, room, now, outbound);
    }

    /// `room` was given `number`: registered, 302(0), a 306 to watchers.
    pub(crate) fn finish_create(
        &mut self,
        conn: ConnId,
        number: i32,
        room: CreatedRoom,
        now: Instant,
        outbound: &mut impl Outbound,
    ) {
        tracing::debug!(%conn, number, name = %room.name, "room created");
        if !self.created.open(number, room, now) {
            // Only a cluster registry out of step with this node can get
            // here: the number or name is already open locally.
            return self.refuse_create(conn, ResultCode::RoomNameTaken, outbound);
        }
        self.stats.rooms_created += 1;
        self.scratch.clear();
        RoomCreateRes {
            result: ResultCode::None,
            room_number: number,
        }
        .encode(&mut self.scratch);
        outbound.send(conn, &self.scratch);
        self.room_changed(number, outbound);
    }

    pub(crate) fn refuse_create(
        &mut self,
        conn: ConnId,
        code: ResultCode,
        outbound: &mut impl Outbound,
    ) {
        tracing::debug!(%conn, %code, "create refused");
        self.stats.create_failures.record(code);
        self.respond(conn, RoomCreateReq::ID, code, outbound);
    }
}
