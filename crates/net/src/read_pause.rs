//! [`ReadPause`]: why a session's socket is not being read.
//!
//! Two independent reasons stop the engine from reading a session, and the
//! session is read again only once neither holds:
//!
//! - the application asked ([`crate::Endpoint::pause_reading`]), for example
//!   because requests of that session are waiting behind a slow one;
//! - the session's own output is past the send queue's high-water mark
//!   (`EngineConfig::send_queue_high_water`) and has not yet drained below
//!   the low-water mark: a client that sends faster than it reads is slowed
//!   down, not cut off.
//!
//! While paused, the kernel's receive buffer fills and TCP flow control
//! stops the peer; nothing is buffered in the engine beyond what was already
//! received.

/// The reasons a session is not read. `Default`: read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReadPause {
    by_application: bool,
    by_output: bool,
}

impl ReadPause {
    /// Whether the session must not be read.
    pub(crate) fn is_paused(self) -> bool {
        self.by_application || self.by_output
    }

    /// Sets the application's reason; returns whether [`Self::is_paused`]
    /// changed.
    pub(crate) fn set_by_application(&mut self, on: bool) -> bool {
        let before = self.is_paused();
        self.by_application = on;
        before != self.is_paused()
    }

    /// Sets the output reason; returns whether [`Self::is_paused`] changed.
    pub(crate) fn set_by_output(&mut self, on: bool) -> bool {
        let before = self.is_paused();
        self.by_output = on;
        before != self.is_paused()
    }

    /// Whether the output reason holds.
    pub(crate) fn by_output(self) -> bool {
        self.by_output
    }
}

#[cfg(test)]
mod tests {
    use super::ReadPause;

    #[test]
    fn read_again_only_when_no_reason_holds() {
        let mut p = ReadPause::default();
        assert!(!p.is_paused());
        assert!(p.set_by_output(true));
        assert!(!p.set_by_application(true), "already paused");
        assert!(!p.set_by_output(false), "the application still holds it");
        assert!(p.is_paused());
        assert!(p.set_by_application(false));
        assert!(!p.is_paused());
        assert!(!p.set_by_application(false), "idempotent");
    }
}
