//! `ROOM_HISTORY_REQ` (314): 81 unless in a room, 110 without the history
//! feature, 63 when the session's chat rate limit is used up (a history
//! request costs one chat token); on success 315(0) with the room's epoch
//! and last sequence number, whether messages were lost and whether more
//! follow, then the messages as 313s, oldest first — all before any live
//! message sent after the request.

use std::time::Instant;

use ringport_proto::{Features, ResultCode, RoomHistoryReq, RoomHistoryRes};

use crate::chat::Chat;
use crate::cluster::{ClusterRequest, HistoryPage, HistoryWait};
use crate::conn::ConnId;
use crate::history::{Logged, RestoredLog};
use crate::outbound::Outbound;
use crate::request::room_chat::seq_packet;
use crate::session::SessionState;

impl Chat {
    /// Says whether a persistent store keeps the history (the host writes
    /// every [`crate::HistoryWrite`] behind): fixed rooms then keep their
    /// logs, and epochs, while empty; a created room's log is still
    /// forgotten after the idle time ([`crate::HistoryWrite::Forget`]).
    /// Call it before the first input. Without a store (the default) logs
    /// live in memory only.
    pub fn set_history_persistent(&mut self, persistent: bool) {
        self.history.set_persistent(persistent);
    }

    /// Puts back the logs a persistent store read at start, before the
    /// first input: each room's epoch, last sequence number and kept
    /// messages (of which the last `history_len` are kept). Logs of rooms
    /// that are not fixed rooms (created rooms do not survive a restart)
    /// and entries that are not 223 packets are skipped; the number of
    /// logs restored.
    pub fn restore_history(&mut self, logs: Vec<RestoredLog>) -> usize {
        let mut restored = 0;
        for log in logs {
            if !self.config.has_room(log.room) || log.epoch == 0 {
                continue;
            }
            let entries = log
                .entries
                .into_iter()
                .filter_map(|(seq, time_ms, packet)| Logged::new(seq, time_ms, &packet));
            self.history
                .restore(log.room, log.epoch, log.last_seq, entries);
            restored += 1;
        }
        self.update_gauges();
        restored
    }

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
        if let Some(cluster) = self.cluster.as_mut() {
            // The shared log, read by the host; the session waits.
            cluster.history.insert(
                conn,
                HistoryWait::Reading {
                    room,
                    held: Vec::new(),
                },
            );
            outbound.cluster(ClusterRequest::History {
                conn,
                room,
                epoch: req.epoch,
                after_seq: req.after_seq,
                max: req.limit(),
            });
            return;
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
            let packet = logged.seq_packet(room, page.epoch);
            outbound.send_shared(conn, &packet);
        }
        self.stats.history_requests += 1;
        self.stats.history_messages_out += page.messages.len() as u64;
    }

    /// Cluster mode: the answer to `conn`'s history request — 315 and the
    /// page's 313s (106 when the shared log could not be read), then the
    /// live 313s held meanwhile that the page does not hold.
    pub(crate) fn finish_cluster_history(
        &mut self,
        conn: ConnId,
        room: i32,
        page: Option<HistoryPage>,
        outbound: &mut impl Outbound,
    ) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let held = match cluster.history.remove(&conn) {
            Some(HistoryWait::Reading { room: r, held }) if r == room => held,
            Some(other) => {
                cluster.history.insert(conn, other);
                return;
            }
            None => return,
        };
        let in_room = self.sessions.get(&conn).is_some_and(
            |s| matches!(s.state, SessionState::LoggedIn { room: Some(r), .. } if r == room),
        );
        if !in_room {
            return;
        }
        let Some(page) = page else {
            cluster.stats.history_unavailable += 1;
            self.respond(
                conn,
                RoomHistoryReq::ID,
                ResultCode::RoomServiceUnavailable,
                outbound,
            );
            for (_, _, packet) in held {
                outbound.send_shared(conn, &packet);
            }
            return;
        };
        cluster.stats.history_reads += 1;
        cluster.history.insert(
            conn,
            HistoryWait::Answered {
                epoch: page.epoch,
                seq: page.last_seq,
            },
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
        for (seq, time_ms, packet) in &page.messages {
            let packet = seq_packet(room, page.epoch, *seq, *time_ms, packet);
            outbound.send_shared(conn, &packet);
        }
        for (epoch, seq, packet) in held {
            if epoch != page.epoch || seq > page.last_seq {
                outbound.send_shared(conn, &packet);
            }
        }
        self.stats.history_requests += 1;
        self.stats.history_messages_out += page.messages.len() as u64;
    }
}
