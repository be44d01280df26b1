//! `ROOM_CHAT_REQ` (221): 81 unless in a room, 63 over the session's rate
//! limit; on success 222(0) to the sender, then one 223 (sender's user id and
//! the message), encoded once, to every member, the sender included — or,
//! to members with the history feature, one 313 (the same with room, epoch,
//! sequence number and time), encoded once. The message is kept in the
//! room's history (a reference to the shared 223). In cluster mode with
//! history on, the cluster numbers it: members without the feature get the
//! 223 at once, history members their 313 when the numbered chat comes back
//! from the bus (see [`crate::cluster`]). The hot path: one
//! allocation per message (two when members asked for 313s), none per
//! recipient.

use std::time::Instant;

use bytes::Bytes;
use ringport_proto::{ResultCode, RoomChatNtf, RoomChatReq, RoomChatSeqNtf, ServerPacket, UserId};

use rustc_hash::FxHashMap;

use crate::chat::{encode_shared, Chat};
use crate::cluster::{ChatNumber, HistoryWait};
use crate::conn::ConnId;
use crate::history::{HistoryRecord, HistoryWrite};
use crate::outbound::Outbound;
use crate::session::SessionState;

/// Which local members of a room a chat goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fan {
    /// Everyone: 313 to history members (223 when not numbered), 223 to
    /// the others.
    All,
    /// Members without the history feature only (223): the sending node in
    /// cluster mode, before the cluster numbers the chat.
    Legacy,
    /// History members only: the sending node's own chat back from the
    /// cluster (313), or not numbered after all (223).
    Numbered,
}

impl Chat {
    /// Keeps a chat of `room` (its encoded 223) in the room's history and
    /// sends it to every local member: the 223 itself, or one 313 (room,
    /// epoch, sequence number, time), encoded once, to members with the
    /// history feature. With a persistent store, the numbered message is
    /// handed to the host ([`Outbound::history`]) to be written behind.
    pub(crate) fn deliver_chat(&mut self, room: i32, packet: &Bytes, outbound: &mut impl Outbound) {
        let number = if self.history.is_on() {
            let wall_ms = self.wall_ms();
            let time_ms = i64::try_from(wall_ms).unwrap_or(i64::MAX);
            let (epoch, seq) =
                self.history
                    .append(room, wall_ms.saturating_mul(1000), time_ms, packet);
            if self.history.is_persistent() {
                outbound.history(HistoryWrite::Append(HistoryRecord {
                    room,
                    epoch,
                    seq,
                    time_ms,
                    packet: packet.clone(),
                }));
            }
            Some(ChatNumber {
                epoch,
                seq,
                time_ms,
            })
        } else {
            None
        };
        self.fan_out(room, packet, number, Fan::All, outbound);
    }

    /// Sends a chat of `room` to the local members `fan` names: members
    /// with the history feature get one 313 (encoded once) when `number`
    /// is given, the 223 otherwise; the others get the 223. In cluster
    /// mode a history member whose history request is being read has its
    /// 313s held (and, right after the answer, those it already got are
    /// not sent again).
    pub(crate) fn fan_out(
        &mut self,
        room: i32,
        packet: &Bytes,
        number: Option<ChatNumber>,
        fan: Fan,
        outbound: &mut impl Outbound,
    ) {
        let waits = self
            .cluster
            .as_mut()
            .map(|c| &mut c.history)
            .filter(|w| !w.is_empty());
        let members = self.rooms.members(room);
        let mut numbered: Option<Bytes> = None;
        let mut sent = 0u64;
        let mut waits = waits;
        for member in members {
            if member.history {
                if fan == Fan::Legacy {
                    continue;
                }
                let Some(n) = number else {
                    outbound.send_shared(member.conn, packet);
                    sent += 1;
                    continue;
                };
                let numbered = numbered
                    .get_or_insert_with(|| seq_packet(room, n.epoch, n.seq, n.time_ms, packet));
                if let Some(waits) = waits.as_deref_mut() {
                    if hold(waits, member.conn, n, numbered) {
                        continue;
                    }
                }
                outbound.send_shared(member.conn, numbered);
            } else {
                if fan == Fan::Numbered {
                    continue;
                }
                outbound.send_shared(member.conn, packet);
            }
            sent += 1;
        }
        self.stats.deliveries_out += sent;
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
        if self.cluster.is_some() && self.history.is_on() {
            // The cluster numbers it: history members get their 313 when it
            // comes back from the bus, the others their 223 now.
            self.fan_out(room, &packet, None, Fan::Legacy, outbound);
        } else {
            self.deliver_chat(room, &packet, outbound);
        }
        self.stats.chats_in += 1;
        self.cluster_chat(room, &packet, outbound);
    }
}

/// Whether the 313 `numbered` (numbered `n`) for `conn` is held back or
/// not sent again (see [`HistoryWait`]); drops an answered wait at the
/// first 313 past it.
fn hold(
    waits: &mut FxHashMap<ConnId, HistoryWait>,
    conn: ConnId,
    n: ChatNumber,
    numbered: &Bytes,
) -> bool {
    match waits.get_mut(&conn) {
        None => false,
        Some(HistoryWait::Reading { held, .. }) => {
            held.push((n.epoch, n.seq, numbered.clone()));
            true
        }
        Some(HistoryWait::Answered { epoch, seq }) => {
            if *epoch == n.epoch && n.seq <= *seq {
                return true;
            }
            waits.remove(&conn);
            false
        }
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
