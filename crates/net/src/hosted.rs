//! Running an [`Endpoint`](crate::Endpoint) application on the engine's one I/O thread.
//!
//! An application with shared state (the chat server) normally runs on its
//! own thread: the I/O thread hands it event batches and it hands back
//! outboxes, each hand-off a wake-up of the other thread. When the engine
//! has one I/O thread and both threads share one core, every round of that
//! is two context switches plus a futex and an eventfd write, and the two
//! threads wait for each other on the core: measured with room fan-out at
//! 100k deliveries/s (100 rooms × 10, one core), the hand-offs took about a
//! quarter of the core (docs/BENCHMARKS.md, "Logic on the I/O thread").
//!
//! A [`HostedApp`] keeps the same [`Endpoint`](crate::Endpoint) API and the same batches, but
//! the I/O thread calls it once per loop turn, right after shipping the
//! turn's events, and applies what it queued in the same turn: no thread
//! hand-off, no wake-up, and the sends of a turn leave together. Other
//! threads that feed the application (worker pools, say) wake the I/O
//! thread with an [`AppWaker`].
//!
//! Start with [`crate::Engine::start_hosted`], then give the application to
//! [`crate::Engine::host`]. A hosted application must not block: it holds
//! up every session.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::waker::Waker;

/// An application run on the engine's I/O thread (see the module docs). It
/// owns the [`Endpoint`](crate::Endpoint) `start_hosted` returned, takes
/// its events with [`Endpoint::try_recv`](crate::Endpoint::try_recv) and
/// queues its answers as usual; the engine applies them after the turn
/// (an [`Endpoint::flush`](crate::Endpoint::flush) is still needed).
pub trait HostedApp: Send + 'static {
    /// One turn: handle what is there (events, the application's own
    /// channels), queue answers, flush. Called once per I/O loop turn,
    /// after the turn's events were shipped, whether or not any arrived.
    /// Returns when the application next needs a turn although nothing
    /// arrives (a timer of its own; `Some(now)` or earlier for at once),
    /// or `None`.
    fn turn(&mut self) -> Option<Instant>;

    /// The engine has stopped: the last events have been shipped. Called
    /// once, after which the application is dropped on the I/O thread (or,
    /// if it was handed to [`crate::Engine::host`] after that thread had
    /// finished, on the caller's thread).
    fn stopped(&mut self) {
        self.turn();
    }
}

/// Wakes the I/O thread of a hosted application from its wait, so that it
/// runs a turn soon: for threads that hand the application work on
/// channels of its own (put the work there first, then wake). Cheap to
/// clone. Wake-ups between two turns are one: the first writes the
/// thread's eventfd, the rest only see the bell already rung.
#[derive(Debug, Clone)]
pub struct AppWaker {
    pub(crate) bell: Arc<Bell>,
    pub(crate) waker: Arc<Waker>,
}

impl AppWaker {
    /// Wakes the I/O thread, unless a wake-up is already on its way.
    pub fn wake(&self) {
        if self.bell.ring() {
            self.waker.wake();
        }
    }
}

/// What the I/O thread of a hosted engine starts with: where the
/// application arrives ([`crate::Engine::host`]) and the bell its wakers
/// ring.
#[derive(Debug, Clone)]
pub(crate) struct Seat {
    pub(crate) arrival: Arc<Arrival>,
    pub(crate) bell: Arc<Bell>,
}

/// Where the application waits between [`crate::Engine::host`] and the I/O
/// thread's next turn. Closed when the I/O thread finishes, so that an
/// application handed over too late is given back to the caller rather than
/// dropped unseen, and one handed over in time always gets its
/// [`HostedApp::stopped`] on the I/O thread.
#[derive(Default)]
pub(crate) struct Arrival {
    slot: Mutex<Slot>,
}

#[derive(Default)]
enum Slot {
    #[default]
    Waiting,
    Handed(Box<dyn HostedApp>),
    Closed,
}

impl std::fmt::Debug for Arrival {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Arrival")
    }
}

impl Arrival {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // The slot is only ever assigned whole: a panic elsewhere cannot
        // leave it half-written.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `app` in the slot; gives it back if the I/O thread has
    /// finished.
    pub(crate) fn hand_over(&self, app: Box<dyn HostedApp>) -> Result<(), Box<dyn HostedApp>> {
        let mut slot = self.slot();
        match *slot {
            Slot::Closed => Err(app),
            _ => {
                *slot = Slot::Handed(app);
                Ok(())
            }
        }
    }

    /// The application, if it has been handed over.
    pub(crate) fn take(&self) -> Option<Box<dyn HostedApp>> {
        let mut slot = self.slot();
        match std::mem::take(&mut *slot) {
            Slot::Handed(app) => Some(app),
            other => {
                *slot = other;
                None
            }
        }
    }

    /// No application is taken after this; returns one handed over since
    /// the last [`Arrival::take`].
    pub(crate) fn close(&self) -> Option<Box<dyn HostedApp>> {
        match std::mem::replace(&mut *self.slot(), Slot::Closed) {
            Slot::Handed(app) => Some(app),
            _ => None,
        }
    }
}

/// "A turn is wanted": rung by [`AppWaker::wake`], answered by the I/O
/// thread just before each turn. Every write is a swap, so either a ring
/// reads the answer that came before it (and wakes the thread), or the
/// answer reads the ring and the turn after it sees what the waker's
/// caller put on its channel before ringing (the handshake of
/// [`crate::wake_flag`], turned around: here the givers raise the flag).
#[derive(Debug, Default)]
pub(crate) struct Bell {
    rung: AtomicBool,
}

impl Bell {
    /// Rings; true if it was not rung yet (the caller must wake the thread).
    fn ring(&self) -> bool {
        !self.rung.swap(true, Ordering::AcqRel)
    }

    /// The I/O thread's side, before the application's turn.
    pub(crate) fn answer(&self) {
        self.rung.swap(false, Ordering::AcqRel);
    }
}
