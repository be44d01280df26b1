//! The periodic sweep: idle sessions, stalled send queues, drains past
//! their deadline, and the queue-size gauges.

use std::sync::atomic::Ordering;

use super::{Shard, State};
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::stats::ThreadStats;

impl<F: Framing, S> Shard<F, S> {
    /// Periodic check: idle sessions, sessions whose peer has taken nothing
    /// for `send_stall_timeout`, and drains past their deadline.
    pub(crate) fn sweep(&mut self) {
        let now = self.now;
        let (mut queued, mut longest) = (0u64, 0u64);
        for slot in 0..self.slots.len() {
            let s = &self.slots[slot];
            if matches!(s.state, State::Open | State::Draining) {
                let q = s.sendq.pending_bytes() as u64;
                queued += q;
                longest = longest.max(q);
            }
            match s.state {
                State::Open => {
                    let stalled = self.stall_timeout.is_some_and(|stall| {
                        !s.sendq.is_empty()
                            && now.saturating_duration_since(s.send_progress) >= stall
                    });
                    if stalled {
                        ThreadStats::add(&self.stats.send_stalls, 1);
                        self.close(slot, CloseReason::SlowConsumer);
                    } else if let Some(idle) = self.idle_timeout {
                        if now.saturating_duration_since(s.last_rx) >= idle {
                            if s.wire.exchanges_messages() {
                                // A WebSocket peer is told why (1008).
                                self.drain(slot, CloseReason::IdleTimeout);
                            } else {
                                self.close(slot, CloseReason::IdleTimeout);
                            }
                        }
                    }
                }
                State::Draining => {
                    if s.deadline.is_some_and(|d| now >= d) {
                        self.close(slot, CloseReason::Shutdown);
                    }
                }
                State::Free | State::Closing => {}
            }
        }
        self.stats.queued_bytes.store(queued, Ordering::Relaxed);
        self.stats
            .max_queued_bytes
            .store(longest, Ordering::Relaxed);
    }
}
