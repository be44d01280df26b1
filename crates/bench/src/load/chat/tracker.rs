//! [`Tracker`]: checks every delivery of a `chat` load and counts it.
//!
//! For every (receiver, sender) pair it keeps the next expected sequence
//! number: a jump is counted as missing messages, a step back as a
//! duplicate; a sender outside the receiver's room is foreign, a stamp that
//! does not match the schedule is corrupt. Messages of the warmup are
//! checked but not counted.

use hdrhistogram::Histogram;

use super::schedule::Schedule;
use super::wire::{read_text, Incoming, Stamp};
use crate::load::histogram;

/// Counts deliveries and checks their order.
#[derive(Debug)]
pub(super) struct Tracker {
    /// The message grid the deliveries are checked against.
    pub(super) schedule: Schedule,
    /// Per receiver and sender slot (the sender's place in the room): the
    /// next expected sequence number.
    pub(super) next_seq: Vec<u32>,
    pub(super) delivered_all: u64,
    pub(super) delivered: u64,
    pub(super) gaps: u64,
    pub(super) duplicates: u64,
    pub(super) foreign: u64,
    pub(super) corrupt: u64,
    pub(super) acks: u64,
    pub(super) rejected: u64,
    /// Refusals by result code, ascending.
    pub(super) rejected_codes: Vec<(u16, u64)>,
    /// The member that stops reading: its deliveries are counted apart.
    pub(super) slow: Option<u64>,
    /// Deliveries the slow member read (before it stopped).
    pub(super) slow_delivered: u64,
    /// 217s received by members other than the slow one.
    pub(super) left: u64,
    /// When the first of them arrived, ns since the base instant.
    pub(super) first_left_ns: Option<u64>,
    pub(super) latency_ns: Histogram<u64>,
}

impl Tracker {
    /// A tracker of nothing received yet, for the load on `schedule`;
    /// `slow` is the member that stops reading, if any.
    ///
    /// # Errors
    ///
    /// When the latency histogram cannot be created.
    pub(super) fn new(schedule: Schedule, slow: Option<u64>) -> anyhow::Result<Tracker> {
        Ok(Tracker {
            next_seq: vec![0; (schedule.n * schedule.m) as usize],
            schedule,
            delivered_all: 0,
            delivered: 0,
            gaps: 0,
            duplicates: 0,
            foreign: 0,
            corrupt: 0,
            acks: 0,
            rejected: 0,
            rejected_codes: Vec::new(),
            slow,
            slow_delivered: 0,
            left: 0,
            first_left_ns: None,
            latency_ns: histogram()?,
        })
    }

    /// Counts one event received by member `receiver` at `now_ns`.
    pub(super) fn incoming(&mut self, receiver: usize, event: Incoming<'_>, now_ns: u64) {
        match event {
            Incoming::Delivery(text) => self.delivery(receiver as u64, text, now_ns),
            Incoming::Ack { ok, code } => {
                self.acks += 1;
                if !ok {
                    self.rejected += 1;
                    match self.rejected_codes.binary_search_by_key(&code, |&(c, _)| c) {
                        Ok(at) => self.rejected_codes[at].1 += 1,
                        Err(at) => self.rejected_codes.insert(at, (code, 1)),
                    }
                }
            }
            Incoming::Left => {
                if self.slow != Some(receiver as u64) {
                    self.left += 1;
                    self.first_left_ns.get_or_insert(now_ns);
                }
            }
            Incoming::Ping | Incoming::Other => {}
        }
    }

    /// Checks and counts one delivery of `text` to member `receiver`.
    pub(super) fn delivery(&mut self, receiver: u64, text: &[u8], now_ns: u64) {
        if self.slow == Some(receiver) {
            self.slow_delivered += 1;
            return;
        }
        let Some(Stamp {
            sender,
            seq,
            sched_ns,
        }) = read_text(text)
        else {
            self.corrupt += 1;
            return;
        };
        let sender = u64::from(sender);
        if sender >= self.schedule.n || sender / self.schedule.m != receiver / self.schedule.m {
            self.foreign += 1;
            return;
        }
        let Some(g) = self.schedule.rotation.message(sender, seq) else {
            self.corrupt += 1;
            return;
        };
        if g >= self.schedule.total || self.schedule.sched_ns(g) != sched_ns {
            self.corrupt += 1;
            return;
        }
        let slot = (receiver * self.schedule.m + sender % self.schedule.m) as usize;
        let Some(next) = self.next_seq.get_mut(slot) else {
            self.corrupt += 1;
            return;
        };
        let next_seq = u64::from(*next);
        if seq < next_seq {
            self.duplicates += 1;
            return;
        }
        self.gaps += seq - next_seq;
        *next = u32::try_from(seq + 1).unwrap_or(u32::MAX);
        self.delivered_all += 1;
        if g >= self.schedule.first_measured {
            self.delivered += 1;
            self.latency_ns
                .saturating_record(now_ns.saturating_sub(sched_ns).max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::chat::schedule::tests::schedule;
    use crate::load::chat::wire::write_text;

    /// A tracker of `rooms` rooms of `m` members at `rate` (see
    /// [`schedule`]).
    fn tracker(rooms: u32, m: u32, rate: f64) -> Tracker {
        Tracker::new(schedule(rooms, m, rate), None).unwrap()
    }

    fn text(t: &Tracker, g: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let stamp = Stamp {
            sender: t.schedule.rotation.sender(g) as u32,
            seq: g / t.schedule.n,
            sched_ns: t.schedule.sched_ns(g),
        };
        write_text(&mut out, stamp, 64);
        out
    }

    #[test]
    fn deliveries_are_checked_per_sender_and_receiver() {
        // 2 rooms of 3: members 0-2 and 3-5.
        let mut t = tracker(2, 3, 60.0);
        let g0 = t.schedule.first_measured; // a measured message
        let sender = g0 % 6;
        let room_mate = sender / 3 * 3 + (sender + 1) % 3;
        let stranger = (sender + 3) % 6;
        let now = t.schedule.sched_ns(g0) + 1000;
        t.delivery(room_mate, &text(&t, g0), now);
        assert_eq!((t.delivered, t.gaps, t.duplicates), (1, g0 / 6, 0));
        assert_eq!(t.latency_ns.max(), 1000);
        t.delivery(room_mate, &text(&t, g0), now);
        assert_eq!(t.duplicates, 1);
        t.delivery(stranger, &text(&t, g0), now);
        assert_eq!(t.foreign, 1);
        let mut bad = text(&t, g0);
        bad[30] = if bad[30] == b'0' { b'1' } else { b'0' }; // wrong time
        t.delivery(sender, &bad, now);
        t.delivery(sender, b"hello", now);
        assert_eq!(t.corrupt, 2);
        // The next message of the same sender, skipping one.
        t.delivery(room_mate, &text(&t, g0 + 12), now);
        assert_eq!((t.delivered, t.gaps), (2, g0 / 6 + 1));
        // A warmup message is checked but not counted.
        let mut t = tracker(2, 3, 60.0);
        t.delivery(0, &text(&t, 0), 5);
        assert_eq!((t.delivered_all, t.delivered), (1, 0));
    }
}
