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

use std::sync::Arc;
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
    /// once, after which the application is dropped on the I/O thread.
    fn stopped(&mut self) {
        self.turn();
    }
}

/// Wakes the I/O thread of a hosted application from its wait, so that it
/// runs a turn soon: for threads that hand the application work on
/// channels of its own. Cheap to clone; waking a thread that is awake
/// costs one `write` and a turn.
#[derive(Debug, Clone)]
pub struct AppWaker(pub(crate) Arc<Waker>);

impl AppWaker {
    /// Wakes the I/O thread.
    pub fn wake(&self) {
        self.0.wake();
    }
}
