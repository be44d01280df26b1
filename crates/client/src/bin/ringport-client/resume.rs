//! The pure parts of reconnecting (docs/PROTOCOL.md, "History and
//! resume"): what was seen per room ([`Seen`]), the merge of a catch-up
//! ([`merge`]), and the backoff between attempts ([`backoff`]).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::net::SeqChat;

/// The first delay before reconnecting (before jitter).
pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);
/// The longest delay before reconnecting (before jitter).
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Where a room's messages were seen up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// The room's history epoch.
    pub epoch: u64,
    /// The last sequence number seen (or known to be old) in it.
    pub last: u64,
}

/// Per room, the epoch and the last sequence number seen.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    rooms: HashMap<i32, Mark>,
}

impl Seen {
    /// The mark of `room`, if any.
    pub fn get(&self, room: i32) -> Option<Mark> {
        self.rooms.get(&room).copied()
    }

    /// Whether the numbered message `(epoch, seq)` of `room` is new (to be
    /// shown); notes it if so. A message of the same epoch at or below the
    /// mark was shown already; one of another epoch starts that epoch.
    pub fn accept(&mut self, room: i32, epoch: u64, seq: u64) -> bool {
        match self.rooms.get_mut(&room) {
            Some(mark) if mark.epoch == epoch => {
                if seq <= mark.last {
                    return false;
                }
                mark.last = seq;
            }
            _ => {
                self.rooms.insert(room, Mark { epoch, last: seq });
            }
        }
        true
    }

    /// Notes that everything of `room` up to `(epoch, last)` is known (a
    /// room's state when entering it: older messages are not this
    /// client's to show).
    pub fn note(&mut self, room: i32, epoch: u64, last: u64) {
        match self.rooms.get_mut(&room) {
            Some(mark) if mark.epoch == epoch => mark.last = mark.last.max(last),
            _ => {
                self.rooms.insert(room, Mark { epoch, last });
            }
        }
    }

    /// Starts `epoch` for `room` with nothing seen in it (the room's history
    /// restarted while this client was away).
    pub fn restart(&mut self, room: i32, epoch: u64) {
        self.rooms.insert(room, Mark { epoch, last: 0 });
    }
}

/// The messages of a catch-up (the history answer and the live messages
/// held while it was asked for) that were not shown yet: in order of
/// sequence number, each once; `seen` notes them.
pub fn merge(seen: &mut Seen, mut chats: Vec<SeqChat>) -> Vec<SeqChat> {
    // Stable: messages of one epoch keep their order by number.
    chats.sort_by_key(|c| c.seq);
    chats
        .into_iter()
        .filter(|c| seen.accept(c.room, c.epoch, c.seq))
        .collect()
}

/// The delay before reconnect attempt `attempt` (from 1): 0.5 s doubling
/// up to 30 s, times `0.5 + jitter` (`jitter` in `[0, 1)`: ±50 %).
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let base = BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .min(BACKOFF_MAX);
    base.mul_f64(0.5 + jitter.clamp(0.0, 1.0))
}

/// A random number in `[0, 1)` (from the standard library's randomly
/// seeded hasher; no crate needed for jitter).
pub fn jitter() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    // 53 random bits, as a fraction.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(epoch: u64, seq: u64) -> SeqChat {
        SeqChat {
            room: 3,
            epoch,
            seq,
            time_ms: 0,
            from: "bob".into(),
            message: format!("m{seq}"),
        }
    }

    fn seqs(chats: &[SeqChat]) -> Vec<u64> {
        chats.iter().map(|c| c.seq).collect()
    }

    #[test]
    fn live_messages_are_shown_once() {
        let mut seen = Seen::default();
        assert!(seen.accept(3, 7, 1));
        assert!(seen.accept(3, 7, 2));
        assert!(!seen.accept(3, 7, 2), "a repeat");
        assert!(!seen.accept(3, 7, 1), "an older one");
        assert!(seen.accept(4, 7, 1), "rooms are apart");
        assert!(seen.accept(3, 8, 1), "a new epoch starts afresh");
        assert_eq!(seen.get(3), Some(Mark { epoch: 8, last: 1 }));
    }

    #[test]
    fn a_note_moves_the_mark_forward_only_within_an_epoch() {
        let mut seen = Seen::default();
        seen.note(3, 7, 10);
        assert!(!seen.accept(3, 7, 10));
        seen.note(3, 7, 4);
        assert_eq!(seen.get(3), Some(Mark { epoch: 7, last: 10 }));
        seen.note(3, 9, 4);
        assert_eq!(seen.get(3), Some(Mark { epoch: 9, last: 4 }));
        seen.restart(3, 11);
        assert!(seen.accept(3, 11, 1));
    }

    #[test]
    fn a_catch_up_merges_history_and_held_live_messages_in_order_once() {
        let mut seen = Seen::default();
        seen.note(3, 7, 5);
        // Live 8 and 9 came before the history answer (6..=9); 4 and 5
        // were shown before the drop; 10 is live after the answer.
        let chats = vec![chat(7, 8), chat(7, 9), chat(7, 6), chat(7, 7), chat(7, 8)];
        let mut all = chats;
        all.extend([chat(7, 9), chat(7, 5), chat(7, 4), chat(7, 10)]);
        let shown = merge(&mut seen, all);
        assert_eq!(seqs(&shown), [6, 7, 8, 9, 10]);
        assert_eq!(shown[0].message, "m6");
        assert_eq!(seen.get(3), Some(Mark { epoch: 7, last: 10 }));
        // Nothing twice, even when asked again.
        assert!(merge(&mut seen, vec![chat(7, 9), chat(7, 10)]).is_empty());
    }

    #[test]
    fn a_restarted_epoch_shows_everything_kept() {
        let mut seen = Seen::default();
        seen.note(3, 7, 50);
        seen.restart(3, 8);
        let shown = merge(&mut seen, vec![chat(8, 2), chat(8, 1), chat(8, 3)]);
        assert_eq!(seqs(&shown), [1, 2, 3]);
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter() {
        let ms = |attempt, jitter| backoff(attempt, jitter).as_millis();
        assert_eq!(ms(1, 0.5), 500);
        assert_eq!(ms(2, 0.5), 1000);
        assert_eq!(ms(3, 0.5), 2000);
        assert_eq!(ms(7, 0.5), 30_000, "32 s is capped");
        assert_eq!(ms(u32::MAX, 0.5), 30_000);
        assert_eq!(ms(1, 0.0), 250, "-50 %");
        assert_eq!(ms(1, 0.999_999), 749, "+50 %, just below");
        assert_eq!(ms(7, 0.0), 15_000);
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
