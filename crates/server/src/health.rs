//! What `/health/ready` answers: the server is ready while it is listening,
//! not draining, and its account store answered the last time it was asked.

use std::sync::atomic::{AtomicBool, Ordering};

/// Readiness switches, shared by the host threads and the admin listener.
#[derive(Debug)]
pub struct Health {
    listening: AtomicBool,
    draining: AtomicBool,
    store_ok: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            listening: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            store_ok: AtomicBool::new(true),
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

    /// Whether the last call to the account store was answered (a wrong
    /// password is an answer; an unreachable database is not).
    pub fn set_store_ok(&self, ok: bool) {
        self.store_ok.store(ok, Ordering::Release);
    }

    /// Why the server is not ready, or `None` when it is.
    pub fn not_ready_because(&self) -> Option<&'static str> {
        if self.draining.load(Ordering::Acquire) {
            Some("draining")
        } else if !self.listening.load(Ordering::Acquire) {
            Some("not listening yet")
        } else if !self.store_ok.load(Ordering::Acquire) {
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
        h.start_draining();
        assert_eq!(h.not_ready_because(), Some("draining"));
        h.set_store_ok(true);
        assert!(!h.is_ready(), "draining is for good");
    }
}
