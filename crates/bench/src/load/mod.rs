//! The load generators: what `echo`, `idle`, `chat` and the storms send,
//! and how they measure it.
//!
//! * ping-pong echo load: [`echo`] ([`payload`] builds and checks its
//!   messages);
//! * many idle connections, for memory measurements: [`idle`];
//! * room fan-out load against ringport, Redis or NATS: [`chat`];
//! * storms of new connections or logins: [`storm`];
//! * the target, the open-file limit, and opening many connections:
//!   [`connect`].
//!
//! # I/O style
//!
//! The generators whose figures depend on the generator's own cost per
//! event (the open-loop `chat` load and the storms: one thread, thousands
//! of sockets, every latency timed from a schedule) are written directly
//! on mio (edge-triggered epoll): no task per connection, no waker, one
//! shared read buffer, a timerfd on the send grid. That is the style of
//! the load generators, and the one a new generator should use.
//!
//! `echo` and `idle` still run on a current-thread tokio runtime (one task
//! per connection, [`connect::connect_all`]): the published echo figures
//! (generator CPU per round trip, latency) were measured with that
//! generator, and moving it to mio would change them, so porting it is a
//! change of behaviour, not of structure, and is left for a change of its
//! own. The tokio servers under [`crate::baseline`] are a different job
//! (being a typical tokio server) and stay on tokio for good.
//!
//! # Shared measurement
//!
//! Every latency histogram of a load is made by [`histogram`], with one
//! bound, [`MAX_TRACKED_NANOS`], and durations become ns by [`nanos`].

pub mod chat;
pub mod connect;
pub mod echo;
pub mod idle;
pub mod payload;
pub mod storm;
pub mod tls;

use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;

/// Highest latency the histograms track exactly; slower ones are clamped
/// to it (and still counted).
///
/// 120 s: the longest wait any load allows for one answer is a storm
/// attempt's `--timeout` or a chat drain, both far below, while a latency
/// can still exceed 60 s (a storm of logins queued behind password
/// hashing), which the smaller bound once used by `echo` and `chat` would
/// have clamped. Doubling the range costs one more bucket row of the
/// histogram (a few KiB), nothing per sample.
pub const MAX_TRACKED_NANOS: u64 = 120_000_000_000;

/// How often a running load reports its progress.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// An empty latency histogram of ns, `1..=MAX_TRACKED_NANOS`, 3
/// significant digits.
///
/// # Errors
///
/// Never with these bounds; the error is kept rather than unwrapped.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_TRACKED_NANOS, 3).context("creating a histogram")
}

/// `d` in ns, saturating at `u64::MAX`.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
