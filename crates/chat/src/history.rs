//! [`Histories`]: each room's recent messages, with sequence numbers and
//! an epoch, for catch-up after a reconnect (see `docs/PROTOCOL.md`,
//! "History and resume").
//!
//! A room's log keeps its last `history_len` messages: the encoded 223 that
//! was shared with the members (so keeping a message costs a reference, not
//! a copy), its sequence number and its time. The log starts — and its
//! epoch is drawn — at the room's first message or first history request,
//! and is forgotten once the room has been empty for the idle time (a
//! created room then closes too), so a room's epoch changes exactly when
//! what is kept of it restarts. Memory is bounded by `history_len` ×
//! (rooms with members, or empty for less than the idle time) × (~50 bytes + the text, under 330).
//!
//! With a persistent store ([`Histories::set_persistent`]) the host keeps a
//! copy of every log (write-behind, see [`crate::HistoryWrite`]) and hands
//! the logs back at start ([`Histories::restore`]); the logs of *fixed*
//! rooms are then never forgotten, so their epochs survive idle times and
//! restarts (memory: `history_len` × fixed rooms that had a message ×
//! ~50 bytes + the text), while a created room's log is still forgotten — and
//! deleted from the store — once the room has been empty for the idle time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ringport_proto::{Message, RoomChatSeqNtf, ServerPacket, UserId};
use rustc_hash::FxHashMap;

/// A change of the history for the host's store
/// ([`crate::Outbound::history`]): written behind, off the logic thread;
/// the machine never waits for it.
#[derive(Debug, Clone)]
pub enum HistoryWrite {
    /// A message was numbered and kept.
    Append(HistoryRecord),
    /// A room's log was forgotten (a created room empty for the idle time):
    /// delete it.
    Forget {
        /// The room.
        room: i32,
    },
}

/// One numbered message of a room's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    /// The room.
    pub room: i32,
    /// Its log's epoch.
    pub epoch: u64,
    /// Its sequence number in the epoch (from 1).
    pub seq: u64,
    /// When it was accepted, Unix milliseconds.
    pub time_ms: i64,
    /// The encoded 223 (`ROOM_CHAT_NTF`: sender's user id and the
    /// message), as sent to the members.
    pub packet: Bytes,
}

/// A room's log as a store read it back, for [`crate::Chat::restore_history`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoredLog {
    /// The room.
    pub room: i32,
    /// The log's epoch.
    pub epoch: u64,
    /// The last sequence number given.
    pub last_seq: u64,
    /// The kept messages, oldest first: sequence number, time (Unix ms),
    /// encoded 223.
    pub entries: Vec<(u64, i64, Bytes)>,
}

/// One kept message, compact: `u8 user_len, user id, message` (about a
/// third of the padded 295-byte 223 for a typical line, so a room's
/// history costs ~130 bytes a message, not ~400).
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    /// Its sequence number (from 1 in its epoch).
    pub(crate) seq: u64,
    /// When it was accepted, Unix milliseconds.
    pub(crate) time_ms: i64,
    text: Box<[u8]>,
}

impl Logged {
    /// The message of the 223 `packet`; `None` if it is not one.
    pub(crate) fn new(seq: u64, time_ms: i64, packet: &[u8]) -> Option<Logged> {
        let Ok(ServerPacket::RoomChatNtf(ntf)) = ServerPacket::decode(packet) else {
            return None;
        };
        let (user, message) = (ntf.user_id.as_str(), ntf.message.as_str());
        let mut text = Vec::with_capacity(1 + user.len() + message.len());
        // A user id holds at most 32 bytes.
        text.push(u8::try_from(user.len()).unwrap_or(u8::MAX));
        text.extend_from_slice(user.as_bytes());
        text.extend_from_slice(message.as_bytes());
        Some(Logged {
            seq,
            time_ms,
            text: text.into_boxed_slice(),
        })
    }

    /// The 313 for this message in `room`'s `epoch` (empty if the kept
    /// text somehow does not make one: it was checked when kept).
    pub(crate) fn seq_packet(&self, room: i32, epoch: u64) -> Bytes {
        let Some((&len, rest)) = self.text.split_first() else {
            return Bytes::new();
        };
        let Some((user, message)) = rest.split_at_checked(usize::from(len)) else {
            return Bytes::new();
        };
        let (Ok(user), Ok(message)) = (std::str::from_utf8(user), std::str::from_utf8(message))
        else {
            return Bytes::new();
        };
        let (Ok(user_id), Ok(message)) = (UserId::new(user), Message::new(message)) else {
            return Bytes::new();
        };
        let ntf = RoomChatSeqNtf {
            room,
            epoch,
            seq: self.seq,
            time_ms: self.time_ms,
            user_id,
            message,
        };
        let mut out = Vec::with_capacity(RoomChatSeqNtf::LEN);
        ntf.encode(&mut out);
        Bytes::from(out)
    }
}

/// One room's log.
#[derive(Debug)]
pub(crate) struct RoomLog {
    /// Identifies this log: another epoch means another history.
    pub(crate) epoch: u64,
    /// The last sequence number given (0: none yet).
    pub(crate) last_seq: u64,
    /// The kept messages, oldest first.
    pub(crate) entries: VecDeque<Logged>,
    /// When the room became empty (`None` while it has members).
    empty_since: Option<Instant>,
}

/// What a history request gets.
#[derive(Debug)]
pub(crate) struct Page<'a> {
    /// The log's epoch and last sequence number.
    pub(crate) epoch: u64,
    pub(crate) last_seq: u64,
    /// Messages were lost between the client's position and these.
    pub(crate) lost: bool,
    /// More follow these.
    pub(crate) more: bool,
    /// The messages, oldest first.
    pub(crate) messages: Vec<&'a Logged>,
}

/// The logs of all rooms.
#[derive(Debug)]
pub(crate) struct Histories {
    logs: FxHashMap<i32, RoomLog>,
    len: usize,
    idle: Duration,
    last_epoch: u64,
    forgets: BinaryHeap<Reverse<(Instant, i32)>>,
    /// A persistent store keeps the logs: those of fixed rooms are never
    /// forgotten.
    persistent: bool,
}

impl Histories {
    /// Logs of `len` messages (0: history off), forgotten after `idle`
    /// empty.
    pub(crate) fn new(len: usize, idle: Duration) -> Histories {
        Histories {
            logs: FxHashMap::default(),
            len,
            idle,
            last_epoch: 0,
            forgets: BinaryHeap::new(),
            persistent: false,
        }
    }

    /// Whether a persistent store keeps the logs (see the module docs).
    pub(crate) fn set_persistent(&mut self, persistent: bool) {
        self.persistent = persistent;
    }

    /// Whether a persistent store keeps the logs.
    pub(crate) fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// Puts back a log read from a store: `entries` (sequence number, time,
    /// encoded 223), oldest first, of which the last `history_len` are
    /// kept. Entries at or below an earlier one, or above `last_seq`, are
    /// skipped. Replaces a log the room already has; later epochs drawn
    /// here are above `epoch`.
    pub(crate) fn restore(
        &mut self,
        room: i32,
        epoch: u64,
        last_seq: u64,
        entries: impl IntoIterator<Item = Logged>,
    ) {
        if self.len == 0 {
            return;
        }
        let mut kept: VecDeque<Logged> = VecDeque::new();
        for entry in entries {
            if entry.seq == 0
                || entry.seq > last_seq
                || kept.back().is_some_and(|b| b.seq >= entry.seq)
            {
                continue;
            }
            if kept.len() >= self.len {
                kept.pop_front();
            }
            kept.push_back(entry);
        }
        self.last_epoch = self.last_epoch.max(epoch);
        self.logs.insert(
            room,
            RoomLog {
                epoch,
                last_seq,
                entries: kept,
                empty_since: None,
            },
        );
    }

    /// Whether history is on.
    pub(crate) fn is_on(&self) -> bool {
        self.len > 0
    }

    /// Rooms with a log.
    pub(crate) fn rooms(&self) -> usize {
        self.logs.len()
    }

    /// The log of `room`, started now (epoch from `wall_us`) if it has none.
    pub(crate) fn log(&mut self, room: i32, wall_us: u64) -> &mut RoomLog {
        let last_epoch = &mut self.last_epoch;
        self.logs.entry(room).or_insert_with(|| {
            // Increasing within the process, and from the wall clock so a
            // restarted server does not reuse one.
            *last_epoch = wall_us.max(*last_epoch + 1);
            RoomLog {
                epoch: *last_epoch,
                last_seq: 0,
                entries: VecDeque::new(),
                empty_since: None,
            }
        })
    }

    /// Keeps a message of `room` (one whose 223 is `packet`) and returns
    /// its sequence number and epoch.
    pub(crate) fn append(
        &mut self,
        room: i32,
        wall_us: u64,
        time_ms: i64,
        packet: &Bytes,
    ) -> (u64, u64) {
        let len = self.len;
        let log = self.log(room, wall_us);
        log.last_seq += 1;
        if log.entries.len() >= len {
            log.entries.pop_front();
        }
        if let Some(logged) = Logged::new(log.last_seq, time_ms, packet) {
            log.entries.push_back(logged);
        }
        (log.epoch, log.last_seq)
    }

    /// The messages after `after_seq` of `epoch` (`u64::MAX`: the last
    /// `max`), at most `max`.
    pub(crate) fn page(
        &mut self,
        room: i32,
        wall_us: u64,
        epoch: u64,
        after_seq: u64,
        max: usize,
    ) -> Page<'_> {
        let log = self.log(room, wall_us);
        let first = log.entries.front().map_or(log.last_seq + 1, |e| e.seq);
        let (start, lost) = if after_seq == u64::MAX {
            (log.entries.len().saturating_sub(max), false)
        } else if epoch != log.epoch || after_seq.saturating_add(1) < first {
            // The client's position is gone: from the oldest kept. A client
            // of another epoch that has nothing (after_seq 0) and finds an
            // empty log lost nothing.
            let nothing_missed = after_seq == 0 && epoch != log.epoch && log.last_seq == 0;
            (0, !nothing_missed)
        } else {
            let skip = usize::try_from(after_seq.saturating_add(1) - first).unwrap_or(usize::MAX);
            (skip.min(log.entries.len()), false)
        };
        let messages: Vec<&Logged> = log.entries.iter().skip(start).take(max).collect();
        let more = start + messages.len() < log.entries.len();
        Page {
            epoch: log.epoch,
            last_seq: log.last_seq,
            lost,
            more,
            messages,
        }
    }

    /// `room` has members again: its log is kept.
    pub(crate) fn occupied(&mut self, room: i32) {
        if let Some(log) = self.logs.get_mut(&room) {
            log.empty_since = None;
        }
    }

    /// `room` became empty at `now`: its log is forgotten after the idle
    /// time unless someone enters — unless `keep` (a fixed room whose log a
    /// persistent store keeps).
    pub(crate) fn emptied(&mut self, room: i32, now: Instant, keep: bool) {
        if keep && self.persistent {
            return;
        }
        if let Some(log) = self.logs.get_mut(&room) {
            log.empty_since = Some(now);
            if let Some(at) = now.checked_add(self.idle) {
                self.forgets.push(Reverse((at, room)));
            }
        }
    }

    /// Forgets `room`'s log at once (a created room closed).
    pub(crate) fn forget(&mut self, room: i32) {
        self.logs.remove(&room);
    }

    /// Forgets the logs of rooms empty for the idle time at `now`; the
    /// rooms forgotten.
    pub(crate) fn forget_idle(&mut self, now: Instant) -> Vec<i32> {
        let mut forgotten = Vec::new();
        while let Some(Reverse((at, room))) = self.forgets.peek().copied() {
            if at > now {
                break;
            }
            self.forgets.pop();
            let due = self
                .logs
                .get(&room)
                .and_then(|l| l.empty_since)
                .and_then(|t| t.checked_add(self.idle))
                == Some(at);
            if due {
                self.logs.remove(&room);
                forgotten.push(room);
            }
        }
        forgotten
    }

    /// When the next log may be forgotten.
    pub(crate) fn next_forget(&self) -> Option<Instant> {
        self.forgets.peek().map(|Reverse((at, _))| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(n: u8) -> Bytes {
        let text = format!("m{n}");
        let ntf = ringport_proto::RoomChatNtf {
            user_id: UserId::new("ann").unwrap(),
            message: Message::new(&text).unwrap(),
        };
        let mut out = Vec::new();
        ntf.encode(&mut out);
        Bytes::from(out)
    }

    #[test]
    fn a_kept_message_becomes_the_same_313() {
        let logged = Logged::new(7, 1_234, &packet(9)).unwrap();
        assert!(logged.text.len() < 10, "kept compact");
        match ServerPacket::decode(&logged.seq_packet(3, 99)) {
            Ok(ServerPacket::RoomChatSeqNtf(n)) => assert_eq!(
                (
                    n.room,
                    n.epoch,
                    n.seq,
                    n.time_ms,
                    n.user_id.as_str(),
                    n.message.as_str()
                ),
                (3, 99, 7, 1_234, "ann", "m9")
            ),
            other => panic!("{other:?}"),
        }
        assert!(Logged::new(1, 0, &[1, 2, 3]).is_none());
    }

    fn seqs(page: &Page<'_>) -> Vec<u64> {
        page.messages.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn keeps_the_last_messages_with_increasing_numbers() {
        let mut h = Histories::new(3, Duration::from_secs(300));
        for n in 1..=5 {
            assert_eq!(h.append(7, 1_000, 0, &packet(n)).1, u64::from(n));
        }
        let epoch = h.log(7, 0).epoch;
        assert_eq!(epoch, 1_000);
        let page = h.page(7, 0, epoch, 3, 100);
        assert_eq!(
            (seqs(&page), page.lost, page.more),
            (vec![4, 5], false, false)
        );
        let page = h.page(7, 0, epoch, u64::MAX, 2);
        assert_eq!(seqs(&page), vec![4, 5]);
        // Position 1 is older than what is kept (3, 4, 5): lost.
        let page = h.page(7, 0, epoch, 1, 2);
        assert_eq!(
            (seqs(&page), page.lost, page.more),
            (vec![3, 4], true, true)
        );
        // Nothing missed: an empty page, not lost.
        let page = h.page(7, 0, epoch, 5, 10);
        assert!(page.messages.is_empty() && !page.lost && page.last_seq == 5);
        // Another epoch: lost, from the oldest kept.
        let page = h.page(7, 0, epoch + 1, 5, 10);
        assert_eq!((seqs(&page), page.lost), (vec![3, 4, 5], true));
    }

    #[test]
    fn an_idle_room_forgets_its_log_and_starts_a_new_epoch() {
        let t0 = Instant::now();
        let idle = Duration::from_secs(300);
        let mut h = Histories::new(10, idle);
        h.append(1, 5_000, 0, &packet(1));
        let old = h.log(1, 0).epoch;
        h.emptied(1, t0, false);
        h.forget_idle(t0 + idle - Duration::from_secs(1));
        assert_eq!(h.rooms(), 1);
        assert_eq!(h.forget_idle(t0 + idle), vec![1]);
        assert_eq!(h.rooms(), 0);
        // A clock that went back still gives a new epoch.
        h.append(1, 10, 0, &packet(2));
        assert!(h.log(1, 0).epoch > old);
        // Entered again before the time: kept.
        h.emptied(1, t0, false);
        h.occupied(1);
        h.forget_idle(t0 + idle * 2);
        assert_eq!(h.rooms(), 1);
    }

    #[test]
    fn a_restored_log_continues_its_epoch_and_numbers() {
        let mut h = Histories::new(2, Duration::from_secs(1));
        h.set_persistent(true);
        let entries = [1u64, 3, 2, 4, 9].map(|seq| Logged::new(seq, 0, &packet(1)).unwrap());
        h.restore(5, 777, 4, entries);
        // Out of order and beyond last_seq skipped, the last two kept.
        let page = h.page(5, 0, 777, 0, 10);
        assert_eq!((seqs(&page), page.lost), (vec![3, 4], true));
        assert_eq!(h.append(5, 1, 0, &packet(2)), (777, 5));
        // A fixed room's log is kept empty; a new room's epoch is later.
        let t0 = Instant::now();
        h.emptied(5, t0, true);
        assert!(h.forget_idle(t0 + Duration::from_secs(5)).is_empty());
        assert!(h.log(6, 1).epoch > 777);
    }
}
