//! [`Hosting`]: the application that runs on this I/O thread, if the
//! engine was started hosted ([`crate::hosted`]): waiting for it to be
//! handed over, its turns, and its end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Shard;
use crate::framing::Framing;
use crate::hosted::{Arrival, Bell, HostedApp, Seat};

/// The hosted application of this I/O thread.
pub(crate) struct Hosting {
    /// Where it arrives from [`crate::Engine::host`].
    arrival: Arc<Arrival>,
    /// Rung by its [`crate::AppWaker`]s; answered before each turn.
    bell: Arc<Bell>,
    app: Option<Box<dyn HostedApp>>,
    /// When it asked for its next turn.
    next: Option<Instant>,
}

impl Hosting {
    pub(super) fn new(Seat { arrival, bell }: Seat) -> Self {
        Hosting {
            arrival,
            bell,
            app: None,
            next: None,
        }
    }
}

impl<F: Framing, S> Shard<F, S> {
    /// Runs the hosted application's turn (taking it over first if it has
    /// just been handed over), then applies what it queued. False when
    /// there is no application (yet): nothing was done.
    pub(crate) fn host_turn(&mut self) -> bool {
        let Some(hosting) = &mut self.hosting else {
            return false;
        };
        if hosting.app.is_none() {
            hosting.app = hosting.arrival.take();
        }
        let Some(app) = &mut hosting.app else {
            return false;
        };
        hosting.bell.answer();
        hosting.next = app.turn();
        self.apply_inbox();
        true
    }

    /// How long the I/O thread may wait before the hosted application
    /// needs a turn of its own (`None`: no limit from it).
    pub(crate) fn host_wait(&self, now: Instant) -> Option<Duration> {
        let next = self.hosting.as_ref()?.next?;
        Some(next.saturating_duration_since(now))
    }

    /// Events are waiting for the hosted application: in the batch being
    /// filled (for example the `Closed` of a session it just closed), or
    /// shipped after its turn (input held back for want of a batch and
    /// read once the turn returned batches). The thread should not sleep
    /// before the application's next turn.
    pub(crate) fn host_events_waiting(&self) -> bool {
        self.hosting.as_ref().is_some_and(|h| h.app.is_some()) && self.delivery.has_waiting()
    }

    /// The engine has stopped and the last events were shipped: the
    /// application's last turn (also if it was handed over only just now),
    /// then it is dropped here. One handed over after this goes back to
    /// the caller of [`crate::Engine::host`].
    pub(crate) fn host_stopped(&mut self) {
        let Some(hosting) = self.hosting.as_mut() else {
            return;
        };
        let late = hosting.arrival.close();
        if let Some(mut app) = hosting.app.take().or(late) {
            app.stopped();
            drop(app);
            // What it queued in its last turn goes nowhere: every session
            // is closed; the outboxes are dropped with the inbox.
        }
    }
}
