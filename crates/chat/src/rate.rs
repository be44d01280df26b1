//! [`RateLimit`] and [`Bucket`]: the per-session chat token bucket, kept as
//! one timestamp (the generic cell rate algorithm, GCRA).
//!
//! A bucket of `burst` tokens refilled at `rate` per second is the same as
//! this: each message moves a "theoretical arrival time" (TAT) one emission
//! interval `T = 1 s / rate` into the future, starting from `max(TAT, now)`;
//! a message is refused if that would put the TAT more than `burst × T` past
//! now. A full bucket is a TAT at or before now. So `burst` messages pass at
//! once, then one more every `T`; a refused message costs nothing. Time comes
//! from the caller, so tests drive it with a fake clock.

use std::time::{Duration, Instant};

/// The shared limit: emission interval and burst tolerance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateLimit {
    /// `None`: no limit (rate 0).
    inner: Option<Limit>,
}

#[derive(Debug, Clone, Copy)]
struct Limit {
    interval: Duration,
    tolerance: Duration,
}

impl RateLimit {
    /// `rate` messages per second with bursts of `burst`; rate 0 is no limit.
    pub(crate) fn new(rate: u32, burst: u32) -> RateLimit {
        Self::over(Duration::from_secs(1), rate, burst)
    }

    /// `rate` per minute with bursts of `burst`; rate 0 is no limit.
    pub(crate) fn per_minute(rate: u32, burst: u32) -> RateLimit {
        Self::over(Duration::from_secs(60), rate, burst)
    }

    /// Whether there is a limit at all.
    pub(crate) fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    fn over(period: Duration, rate: u32, burst: u32) -> RateLimit {
        if rate == 0 {
            return RateLimit { inner: None };
        }
        let interval = period / rate;
        let tolerance = interval.checked_mul(burst).unwrap_or(Duration::MAX);
        RateLimit {
            inner: Some(Limit {
                interval,
                tolerance,
            }),
        }
    }
}

/// One session's bucket: its theoretical arrival time (`None`: full).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bucket {
    tat: Option<Instant>,
}

impl Bucket {
    /// Whether the bucket is full at `now` (it then holds no state worth
    /// keeping).
    pub(crate) fn is_full(&self, now: Instant) -> bool {
        self.tat.is_none_or(|tat| tat <= now)
    }

    /// Takes one token at `now` if there is one; `false` means over the limit
    /// (and the bucket is unchanged).
    pub(crate) fn try_take(&mut self, limit: &RateLimit, now: Instant) -> bool {
        let Some(limit) = limit.inner else {
            return true;
        };
        let start = match self.tat {
            Some(tat) if tat > now => tat,
            _ => now,
        };
        let Some(next) = start.checked_add(limit.interval) else {
            return false;
        };
        // `next >= now` always holds, so the subtraction cannot saturate.
        if next.saturating_duration_since(now) > limit.tolerance {
            return false;
        }
        self.tat = Some(next);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_one_per_interval() {
        let limit = RateLimit::new(10, 20);
        let t0 = Instant::now();
        let mut bucket = Bucket::default();
        for i in 0..20 {
            assert!(bucket.try_take(&limit, t0), "message {i} of the burst");
        }
        assert!(!bucket.try_take(&limit, t0));
        assert!(!bucket.try_take(&limit, t0 + Duration::from_millis(99)));
        assert!(bucket.try_take(&limit, t0 + Duration::from_millis(100)));
        assert!(!bucket.try_take(&limit, t0 + Duration::from_millis(100)));
        // Quiet for long: the bucket is full again, not fuller.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..20 {
            assert!(bucket.try_take(&limit, later));
        }
        assert!(!bucket.try_take(&limit, later));
    }

    #[test]
    fn rate_zero_is_unlimited() {
        let limit = RateLimit::new(0, 0);
        let now = Instant::now();
        let mut bucket = Bucket::default();
        assert!((0..10_000).all(|_| bucket.try_take(&limit, now)));
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let now = Instant::now();
        for (rate, burst) in [(u32::MAX, u32::MAX), (1, u32::MAX), (u32::MAX, 1), (1, 0)] {
            let limit = RateLimit::new(rate, burst);
            let mut bucket = Bucket::default();
            for _ in 0..100 {
                bucket.try_take(&limit, now);
            }
        }
        // A clock going backwards is treated as "no time passed".
        let limit = RateLimit::new(1, 1);
        let mut bucket = Bucket::default();
        assert!(bucket.try_take(&limit, now + Duration::from_secs(5)));
        assert!(!bucket.try_take(&limit, now));
    }
}
