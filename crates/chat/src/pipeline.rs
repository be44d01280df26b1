//! [`Pipeline`]: the requests of one session that wait behind an
//! asynchronous one, so that every request is answered in the order it was
//! received.
//!
//! A session is *busy* while one of its requests waits for an answer from
//! outside the machine: a password check (`SessionState::Authenticating`),
//! and in cluster mode the login claim (still `Authenticating`) and the
//! capacity-checked enter. Frames that arrive meanwhile are queued here,
//! with the time they arrived, and handled in order when the pending request
//! is answered, until another asynchronous request starts or the queue is
//! empty.
//!
//! The queue is bounded by [`crate::ChatConfig::pipeline_frames`] and
//! [`crate::ChatConfig::pipeline_bytes`]: once it reaches either bound the
//! machine asks the host to stop reading the session
//! ([`crate::Outbound::pause_reading`]), and asks it to read again
//! ([`crate::Outbound::resume_reading`]) once the queue has drained. Frames
//! the host had already read when it paused are still queued, never
//! dropped: the queue may exceed its bounds by what the host had in flight
//! (see `docs/ARCHITECTURE.md`).

use std::collections::VecDeque;
use std::time::Instant;

/// One queued frame: a whole packet, as received, and when.
#[derive(Debug)]
pub(crate) struct Queued {
    /// When the frame arrived; it is handled as of this time (rate limits
    /// charge it then).
    pub(crate) at: Instant,
    /// The frame, header included.
    pub(crate) frame: Box<[u8]>,
}

/// The waiting requests of one session.
#[derive(Debug, Default)]
pub(crate) struct Pipeline {
    frames: VecDeque<Queued>,
    bytes: usize,
    /// Whether the host was asked to stop reading the session (and not yet
    /// asked to resume).
    pub(crate) paused: bool,
}

impl Pipeline {
    /// Queues `frame`, received at `at`.
    pub(crate) fn push(&mut self, frame: &[u8], at: Instant) {
        self.bytes = self.bytes.saturating_add(frame.len());
        self.frames.push_back(Queued {
            at,
            frame: frame.into(),
        });
    }

    /// The oldest queued frame.
    pub(crate) fn pop(&mut self) -> Option<Queued> {
        let queued = self.frames.pop_front()?;
        self.bytes = self.bytes.saturating_sub(queued.frame.len());
        Some(queued)
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Frames waiting.
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// Bytes waiting.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the queue has reached either bound.
    pub(crate) fn is_full(&self, max_frames: usize, max_bytes: usize) -> bool {
        self.frames.len() >= max_frames || self.bytes >= max_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_frames_and_bytes_in_order() {
        let now = Instant::now();
        let mut p = Pipeline::default();
        assert!(p.is_empty() && !p.is_full(1, 1));
        p.push(&[1, 2, 3], now);
        p.push(&[4], now);
        assert_eq!((p.len(), p.bytes()), (2, 4));
        assert!(p.is_full(2, 100) && p.is_full(100, 4) && !p.is_full(3, 5));
        assert_eq!(p.pop().map(|q| q.frame.to_vec()), Some(vec![1, 2, 3]));
        assert_eq!((p.len(), p.bytes()), (1, 1));
        assert_eq!(p.pop().map(|q| q.frame.to_vec()), Some(vec![4]));
        assert!(p.pop().is_none() && p.is_empty() && p.bytes() == 0);
    }
}
