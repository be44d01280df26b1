//! [`Schedule`]: when each message of a `chat` load is due and who sends
//! it.
//!
//! Message `g` (0, 1, 2, ...) is due at `g / rate` seconds after the base
//! instant and is sent by `rotation.sender(g)` as its sequence number
//! `g div n`; the measured window and the end of the load are message
//! numbers on this grid.

use std::time::Duration;

use super::send_order::Rotation;
use crate::load::nanos;

/// The message grid of one load.
#[derive(Debug)]
pub(super) struct Schedule {
    /// Connections (senders and receivers).
    pub(super) n: u64,
    /// Members per room.
    pub(super) m: u64,
    /// Nanoseconds between two messages of the whole load.
    pub(super) interval_ns: f64,
    /// First message of the measured window.
    pub(super) first_measured: u64,
    /// Messages of the whole run (warmup and window).
    pub(super) total: u64,
    /// Who sends message `g`, and back.
    pub(super) rotation: Rotation,
}

impl Schedule {
    /// The grid of `rooms × members` members sending `rate` messages per
    /// second in the order `rotation`: `warmup`, then the measured
    /// `duration`.
    pub(super) fn new(
        rooms: u32,
        members: u32,
        rate: f64,
        rotation: Rotation,
        warmup: Duration,
        duration: Duration,
    ) -> Schedule {
        let mut schedule = Schedule {
            n: u64::from(rooms) * u64::from(members),
            m: u64::from(members),
            interval_ns: 1e9 / rate,
            first_measured: 0,
            total: 0,
            rotation,
        };
        schedule.first_measured = schedule.first_at_or_after(nanos(warmup));
        schedule.total = schedule.first_at_or_after(nanos(warmup + duration));
        schedule
    }

    /// Scheduled time of message `g`, in ns since the base instant.
    pub(super) fn sched_ns(&self, g: u64) -> u64 {
        (g as f64 * self.interval_ns) as u64
    }

    /// The first message scheduled at or after `ns`.
    fn first_at_or_after(&self, ns: u64) -> u64 {
        let mut g = (ns as f64 / self.interval_ns).ceil() as u64;
        while g > 0 && self.sched_ns(g - 1) >= ns {
            g -= 1;
        }
        while self.sched_ns(g) < ns {
            g += 1;
        }
        g
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::load::chat::send_order::SendOrder;

    /// `rooms` rooms of `m` members at `rate`, grouped order: 1 s of
    /// warmup, then 1 s measured.
    pub(crate) fn schedule(rooms: u32, m: u32, rate: f64) -> Schedule {
        let rotation = Rotation::new(SendOrder::Grouped, rooms, m, 0);
        Schedule::new(
            rooms,
            m,
            rate,
            rotation,
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn window_boundaries_follow_the_schedule() {
        let t = schedule(2, 3, 4.0); // every 250 ms
        assert_eq!(t.first_measured, 4); // at 1000 ms
        assert_eq!(t.total, 8); // the last at 1750 ms
        let t = schedule(2, 3, 7.0);
        assert!(t.sched_ns(t.first_measured) >= 1_000_000_000);
        assert!(t.sched_ns(t.first_measured - 1) < 1_000_000_000);
        assert!(t.sched_ns(t.total - 1) < 2_000_000_000);
        assert!(t.sched_ns(t.total) >= 2_000_000_000);
    }
}
