//! What `/health/ready` answers: the server is ready while it is listening,
//! not draining, and its account store has not failed recently.
//!
//! The store is judged by the logins' own calls (the store trait has no
//! probe): a failure makes the server unready until a call succeeds or
//! [`STORE_FAILURE_HOLD`] passes without another failure. The hold matters
//! behind a load balancer: an unready node gets no new clients, so no
//! logins, so no successful call would ever make it ready again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one store failure keeps the server unready, absent a success.
pub const STORE_FAILURE_HOLD: Duration = Duration::from_secs(10);

/// Readiness switches, shared by the host threads and the admin listener.
#[derive(Debug)]
pub struct Health {
    listening: AtomicBool,
    draining: AtomicBool,
    /// Milliseconds after `epoch` of the last store failure not followed by
    /// a success; 0: none.
    store_failed_at: AtomicU64,
    epoch: Instant,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            listening: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            store_failed_at: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Health {
    /// The engine accepts connections.
    pub fn set_listening(&self) {
        self.listening.store(true, Ordering::Release);
    }

    /// A shutdown has begun: no longer ready, for good.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether a call to the account store was answered (a wrong password
    /// is an answer; an unreachable database is not).
    pub fn set_store_ok(&self, ok: bool) {
        self.set_store_ok_at(ok, Instant::now());
    }

    fn millis(&self, at: Instant) -> u64 {
        // +1: 0 means "no failure", even for one in the first millisecond.
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX - 1)
            + 1
    }

    fn set_store_ok_at(&self, ok: bool, at: Instant) {
        let value = if ok { 0 } else { self.millis(at) };
        self.store_failed_at.store(value, Ordering::Release);
    }

    fn store_failing_at(&self, now: Instant) -> bool {
        let failed = self.store_failed_at.load(Ordering::Acquire);
        failed != 0
            && self.millis(now).saturating_sub(failed) < STORE_FAILURE_HOLD.as_millis() as u64
    }

    /// Why the server is not ready, or `None` when it is.
    pub fn not_ready_because(&self) -> Option<&'static str> {
        self.not_ready_at(Instant::now())
    }

    fn not_ready_at(&self, now: Instant) -> Option<&'static str> {
        if self.draining.load(Ordering::Acquire) {
            Some("draining")
        } else if !self.listening.load(Ordering::Acquire) {
            Some("not listening yet")
        } else if self.store_failing_at(now) {
            Some("account store unreachable")
        } else {
            None
        }
    }

    /// Whether the server is ready for traffic.
    pub fn is_ready(&self) -> bool {
        self.not_ready_because().is_none()
    }

    /// Whether a shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_listening_with_a_store_and_not_draining() {
        let h = Health::default();
        assert_eq!(h.not_ready_because(), Some("not listening yet"));
        h.set_listening();
        assert!(h.is_ready());
        h.set_store_ok(false);
        assert_eq!(h.not_ready_because(), Some("account store unreachable"));
        h.set_store_ok(true);
        assert!(h.is_ready());
        // A failure holds for a while, then lapses without a new one.
        let t = Instant::now();
        h.set_store_ok_at(false, t);
        assert!(h.not_ready_at(t + Duration::from_secs(9)).is_some());
        assert_eq!(h.not_ready_at(t + STORE_FAILURE_HOLD), None);
        h.set_store_ok_at(false, t + Duration::from_secs(20));
        assert!(h.not_ready_at(t + Duration::from_secs(25)).is_some());
        h.set_store_ok(true);
        assert!(h.is_ready());
        h.start_draining();
        assert_eq!(h.not_ready_because(), Some("draining"));
        h.set_store_ok(true);
        assert!(!h.is_ready(), "draining is for good");
    }
}
