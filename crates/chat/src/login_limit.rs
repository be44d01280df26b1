//! [`LoginLimiter`]: login attempts per peer address group, so that one
//! address cannot make the server hash passwords without bound (argon2 is
//! expensive for the server as much as for an attacker).
//!
//! One GCRA bucket (see `rate.rs`) per address group — the host passes the
//! group (IPv4 address, IPv6 /64), not the raw address. A bucket exists only
//! while it is not full: [`LoginLimiter::prune`] drops full buckets, so the
//! map holds only groups that tried to log in within the last
//! `burst / rate`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::rate::{Bucket, RateLimit};

/// How often full buckets are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// The per-address login buckets.
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    limit: RateLimit,
    buckets: HashMap<IpAddr, Bucket>,
    next_prune: Option<Instant>,
}

impl LoginLimiter {
    /// `per_minute` attempts per minute per address group, in bursts of
    /// `burst`; 0 turns the limit off.
    pub(crate) fn new(per_minute: u32, burst: u32) -> LoginLimiter {
        LoginLimiter {
            limit: RateLimit::per_minute(per_minute, burst),
            buckets: HashMap::new(),
            next_prune: None,
        }
    }

    /// Takes one attempt for `group` at `now`; `false`: over the limit.
    pub(crate) fn try_take(&mut self, group: IpAddr, now: Instant) -> bool {
        if !self.limit.is_on() {
            return true;
        }
        self.buckets
            .entry(group)
            .or_default()
            .try_take(&self.limit, now)
    }

    /// Drops the buckets that are full again (at most once a second).
    pub(crate) fn prune(&mut self, now: Instant) {
        if self.next_prune.is_some_and(|at| now < at) {
            return;
        }
        self.next_prune = now.checked_add(PRUNE_EVERY);
        self.buckets.retain(|_, bucket| !bucket.is_full(now));
    }

    /// Address groups with a bucket that is not full.
    pub(crate) fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_group_and_forgets_quiet_ones() {
        let mut l = LoginLimiter::new(60, 3); // one a second, bursts of 3
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| l.try_take(a, t0)));
        assert!(!l.try_take(a, t0), "burst used up");
        assert!(l.try_take(b, t0), "other groups unaffected");
        assert!(l.try_take(a, t0 + Duration::from_secs(1)), "refilled one");
        assert_eq!(l.tracked(), 2);
        l.prune(t0 + Duration::from_secs(60));
        assert_eq!(l.tracked(), 0, "full buckets are dropped");
        assert!((0..3).all(|_| l.try_take(a, t0 + Duration::from_secs(60))));
    }

    #[test]
    fn zero_is_off_and_tracks_nothing() {
        let mut l = LoginLimiter::new(0, 0);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!((0..1000).all(|_| l.try_take(a, Instant::now())));
        assert_eq!(l.tracked(), 0);
    }
}
