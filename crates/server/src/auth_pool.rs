//! Account checks off the hot threads: a few worker threads run the account
//! store (argon2 hashing, database calls) and send the answers back to the
//! logic thread as messages.
//!
//! One file (about 380 lines of code, the rest tests): the queue, the
//! workers and the admission estimate share one lock and one invariant
//! (every login gets exactly one answer), which reads best in one place.
//!
//! Admission control: a login is refused with 34 at once, without queueing,
//! when the estimated time until its answer exceeds `max_wait`
//! (`accounts.max_login_wait_ms`). The estimate is (logins queued + logins
//! being checked + 1) × the average check duration ÷ workers, the average
//! being an exponentially weighted moving average (weight 1/5) of the
//! duration of every store call. Until a first check has been measured
//! every login is admitted (up to `queue`), and a login that still waited
//! longer than `max_wait` for a worker is answered 34 without being
//! checked: so a login is answered at most `max_wait` plus one check after
//! it was submitted, whatever the estimate says.
//!
//! Each worker keeps its argon2 working memory for its whole life (one
//! buffer, reused by every hash it computes: see `ringport_accounts`'s
//! `hash` module), so the pool holds at most `workers × argon2 memory`
//! however many logins pass through it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::Histogram;

use ringport_accounts::AccountStore;
use ringport_chat::{AuthRequest, AuthResult, ConnId, Credential};
use ringport_net::crossbeam_channel::Sender;

use crate::health::Health;

/// Where the workers report on the store: how long each call took, and
/// whether it answered.
#[derive(Debug, Clone)]
pub struct StoreWatch {
    /// Seconds per store call.
    pub latency: Histogram,
    /// Readiness, told whether the store answers.
    pub health: Arc<Health>,
}

/// An answer for the logic thread.
#[derive(Debug)]
pub struct AuthAnswer {
    /// The session that asked.
    pub conn: ConnId,
    /// The ticket of its login attempt.
    pub ticket: u64,
    /// What the store said.
    pub result: AuthResult,
}

/// A request and when it was queued.
struct Queued {
    request: AuthRequest,
    at: Instant,
}

/// Weight of the newest check duration in the moving average.
const EWMA_WEIGHT: f64 = 0.2;

/// What the logic thread and the workers share, under one lock (a few
/// dozen logins a second at most pass through it).
#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    /// When each worker's current request was submitted (`None`: idle).
    checking: Vec<Option<Instant>>,
    /// Moving average of a store call's duration, in seconds.
    ewma: Option<f64>,
    closed: bool,
}

impl State {
    fn in_progress(&self) -> usize {
        self.checking.iter().filter(|c| c.is_some()).count()
    }
}

/// Why a login was refused with 34 for overload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The queue is at `accounts.queue`.
    QueueFull,
    /// The estimated wait exceeds `accounts.max_login_wait_ms`.
    TooLong,
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
    workers: usize,
    capacity: usize,
    max_wait: Duration,
    refused_full: AtomicU64,
    refused_estimate: AtomicU64,
    refused_waited: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker that panicked mid-update leaves plain numbers behind:
        // keep going with them.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A read-only view of the pool for `/metrics`.
#[derive(Clone)]
pub struct AuthProbe {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AuthProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthProbe").finish_non_exhaustive()
    }
}

/// The pool's figures at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AuthPoolStats {
    /// Logins queued or being checked.
    pub waiting: u64,
    /// How long the oldest of them has waited since it was submitted.
    pub oldest_wait: Duration,
    /// Logins refused with 34 because the queue was full.
    pub refused_queue_full: u64,
    /// Logins refused with 34 at once because the estimated wait exceeded
    /// the bound.
    pub refused_estimate: u64,
    /// Logins answered 34 without a check because they waited longer than
    /// the bound for a worker (the estimate was wrong, or none yet).
    pub refused_waited: u64,
    /// The moving average of a check's duration (zero before the first).
    pub check_seconds: f64,
}

impl AuthProbe {
    /// The figures now.
    pub fn stats(&self) -> AuthPoolStats {
        let now = Instant::now();
        let shared = &self.shared;
        let state = shared.lock();
        let oldest = state
            .queue
            .front()
            .map(|q| q.at)
            .into_iter()
            .chain(state.checking.iter().flatten().copied())
            .min();
        AuthPoolStats {
            waiting: (state.queue.len() + state.in_progress()) as u64,
            oldest_wait: oldest.map_or(Duration::ZERO, |at| now.saturating_duration_since(at)),
            refused_queue_full: shared.refused_full.load(Ordering::Relaxed),
            refused_estimate: shared.refused_estimate.load(Ordering::Relaxed),
            refused_waited: shared.refused_waited.load(Ordering::Relaxed),
            check_seconds: state.ewma.unwrap_or(0.0),
        }
    }
}

/// The worker threads and their queue.
pub struct AuthPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl AuthPool {
    /// Starts `workers` threads over `store`; answers are sent on `answers`
    /// (the logic thread's inbox). At most `queue` requests wait; beyond
    /// that, or when the estimated wait exceeds `max_wait`, a login is
    /// refused at once (see the module docs) rather than stalling the logic
    /// thread. A request that still waited longer than `max_wait` for a
    /// worker is answered "unavailable" without spending a check on it.
    pub fn start<T: From<AuthAnswer> + Send + 'static>(
        store: Arc<dyn AccountStore>,
        workers: usize,
        queue: usize,
        max_wait: Duration,
        watch: StoreWatch,
        answers: Sender<T>,
    ) -> std::io::Result<AuthPool> {
        let workers = workers.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                checking: vec![None; workers],
                ..State::default()
            }),
            ready: Condvar::new(),
            workers,
            capacity: queue,
            max_wait,
            refused_full: AtomicU64::new(0),
            refused_estimate: AtomicU64::new(0),
            refused_waited: AtomicU64::new(0),
        });
        let mut handles = Vec::with_capacity(workers);
        let health = Arc::new(StoreHealth::default());
        for i in 0..workers {
            let ans_tx = answers.clone();
            let store = store.clone();
            let health = Arc::clone(&health);
            let watch = watch.clone();
            let mine = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("ringport-auth-{i}"))
                .spawn(move || work(i, &*store, &health, &watch, &mine, &ans_tx));
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // Stop the workers already started.
                    drop(AuthPool {
                        shared,
                        workers: handles,
                    });
                    return Err(e);
                }
            }
        }
        Ok(AuthPool {
            shared,
            workers: handles,
        })
    }

    /// A view for `/metrics`.
    pub fn probe(&self) -> AuthProbe {
        AuthProbe {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Queues a request, or gives it back with the reason it is refused.
    pub fn submit(&self, request: AuthRequest) -> Result<(), (AuthRequest, Refusal)> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.closed || state.queue.len() >= shared.capacity {
            shared.refused_full.fetch_add(1, Ordering::Relaxed);
            return Err((request, Refusal::QueueFull));
        }
        if let Some(per_check) = state.ewma {
            let ahead = state.queue.len() + state.in_progress() + 1;
            let estimate = per_check * ahead as f64 / shared.workers as f64;
            if estimate > shared.max_wait.as_secs_f64() {
                shared.refused_estimate.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    conn = request.conn.0,
                    estimate,
                    ahead,
                    "login refused: the hashing queue is too long"
                );
                return Err((request, Refusal::TooLong));
            }
        }
        state.queue.push_back(Queued {
            request,
            at: Instant::now(),
        });
        drop(state);
        shared.ready.notify_one();
        Ok(())
    }
}

impl Drop for AuthPool {
    fn drop(&mut self) {
        self.shared.lock().closed = true; // workers see it and exit
        self.shared.ready.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Whether the store failed last time: logs one line when it goes down and
/// one when it comes back, not one per login.
#[derive(Default)]
struct StoreHealth {
    down: AtomicBool,
}

impl StoreHealth {
    fn failed(&self, error: &ringport_accounts::StoreError) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "account store unavailable; logins answer 34 until it returns");
        }
    }

    fn answered(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("account store reachable again");
        }
    }
}

/// Takes the next request for worker `me`, marking it busy; `None` once
/// the pool closes.
fn next(shared: &Shared, me: usize) -> Option<Queued> {
    let mut state = shared.lock();
    if let Some(slot) = state.checking.get_mut(me) {
        *slot = None;
    }
    loop {
        if state.closed {
            return None;
        }
        if let Some(q) = state.queue.pop_front() {
            if let Some(slot) = state.checking.get_mut(me) {
                *slot = Some(q.at);
            }
            return Some(q);
        }
        state = shared
            .ready
            .wait(state)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
}

fn work<T: From<AuthAnswer>>(
    me: usize,
    store: &dyn AccountStore,
    health: &StoreHealth,
    watch: &StoreWatch,
    shared: &Shared,
    answers: &Sender<T>,
) {
    while let Some(Queued { request: req, at }) = next(shared, me) {
        let result = if at.elapsed() > shared.max_wait {
            shared.refused_waited.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                conn = req.conn.0,
                "login waited past accounts.max_login_wait_ms; not checked"
            );
            AuthResult::Unavailable
        } else {
            let started = Instant::now();
            let answer = match &req.credential {
                Credential::Password(password) => {
                    store.authenticate(&req.user_id, password.expose(), req.auto_register)
                }
                // Token revocation is not wired to the stores yet: refuse as
                // "store unavailable" (34) rather than accept unchecked.
                Credential::Token { .. } => Err(ringport_accounts::StoreError::Unavailable(
                    "token logins are not supported by this store yet".into(),
                )),
            };
            let took = started.elapsed().as_secs_f64();
            watch.latency.observe(took);
            {
                let mut state = shared.lock();
                state.ewma = Some(match state.ewma {
                    Some(avg) => avg + EWMA_WEIGHT * (took - avg),
                    None => took,
                });
            }
            watch.health.set_store_ok(answer.is_ok());
            match answer {
                Ok(outcome) => {
                    health.answered();
                    AuthResult::from(outcome)
                }
                Err(e) => {
                    health.failed(&e);
                    AuthResult::Unavailable
                }
            }
        };
        if answers
            .send(T::from(AuthAnswer {
                conn: req.conn,
                ticket: req.ticket,
                result,
            }))
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringport_accounts::{AuthOutcome, StoreError};
    use ringport_chat::Secret;
    use ringport_net::crossbeam_channel;

    /// A store whose every check takes `delay`.
    struct Slow(Duration);

    impl AccountStore for Slow {
        fn authenticate(&self, _: &str, _: &str, _: bool) -> Result<AuthOutcome, StoreError> {
            std::thread::sleep(self.0);
            Ok(AuthOutcome::Accepted)
        }
        fn add_user(&self, _: &str, _: &str) -> Result<bool, StoreError> {
            Ok(true)
        }
        fn set_password(&self, _: &str, _: &str) -> Result<bool, StoreError> {
            Ok(true)
        }
        fn delete_user(&self, _: &str) -> Result<bool, StoreError> {
            Ok(true)
        }
        fn list_users(&self) -> Result<Vec<String>, StoreError> {
            Ok(Vec::new())
        }
        fn ping(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn request(n: u64) -> AuthRequest {
        AuthRequest {
            conn: ConnId(n),
            ticket: n,
            user_id: format!("u{n}"),
            credential: Credential::Password(Secret::new("pw")),
            auto_register: true,
        }
    }

    fn pool(
        delay: Duration,
        queue: usize,
        max_wait: Duration,
    ) -> (AuthPool, crossbeam_channel::Receiver<AuthAnswer>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let watch = StoreWatch {
            latency: crate::metrics::Metrics::store_histogram(),
            health: Arc::new(Health::default()),
        };
        let pool = AuthPool::start(Arc::new(Slow(delay)), 1, queue, max_wait, watch, tx)
            .unwrap_or_else(|e| panic!("cannot start the pool: {e}"));
        (pool, rx)
    }

    #[test]
    fn refuses_at_once_once_the_measured_wait_exceeds_the_bound() {
        // 400 ms a check, one worker, 1.4 s bound: with one check measured,
        // three logins fit (3 × 400 ≤ 1400), the fourth is refused at once
        // (4 × 400 > 1400). A loaded machine's sleeps overrun: the three
        // still fit with checks measured up to 466 ms.
        let (pool, rx) = pool(Duration::from_millis(400), 100, Duration::from_millis(1400));
        assert!(pool.submit(request(0)).is_ok());
        let first = rx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("no answer: {e}"));
        assert_eq!(first.result, AuthResult::Accepted);
        assert!(pool.probe().stats().check_seconds >= 0.4);
        for n in 1..=3 {
            assert!(pool.submit(request(n)).is_ok(), "login {n} fits");
        }
        let refused = pool
            .submit(request(4))
            .err()
            .map(|(r, why)| (r.ticket, why));
        assert_eq!(refused, Some((4, Refusal::TooLong)));
        let s = pool.probe().stats();
        assert_eq!(s.refused_estimate, 1);
        assert_eq!(s.waiting, 3);
        for _ in 1..=3 {
            let a = rx
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("no answer: {e}"));
            assert_eq!(a.result, AuthResult::Accepted);
        }
        assert_eq!(pool.probe().stats().waiting, 0);
    }

    #[test]
    fn without_a_measure_a_login_that_waited_past_the_bound_is_answered_34_unchecked() {
        let (pool, rx) = pool(Duration::from_millis(300), 100, Duration::from_millis(450));
        for n in 0..4 {
            assert!(pool.submit(request(n)).is_ok(), "nothing measured yet");
        }
        let mut results = Vec::new();
        for _ in 0..4 {
            let a = rx
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("no answer: {e}"));
            results.push((a.ticket, a.result));
        }
        // 0 at 300 ms, 1 starts at 300 ms (≤ 450, with 150 ms to spare for
        // a loaded machine's overrun) and ends at 600 ms; 2 and 3 have
        // waited 600 ms by then: 34 without a check.
        assert_eq!(
            results,
            [
                (0, AuthResult::Accepted),
                (1, AuthResult::Accepted),
                (2, AuthResult::Unavailable),
                (3, AuthResult::Unavailable),
            ]
        );
        assert_eq!(pool.probe().stats().refused_waited, 2);
    }

    #[test]
    fn a_full_queue_refuses_at_once() {
        let (pool, _rx) = pool(Duration::from_millis(200), 1, Duration::from_secs(60));
        let mut refused = Vec::new();
        for n in 0..4 {
            if let Err((r, why)) = pool.submit(request(n)) {
                refused.push((r.ticket, why));
            }
        }
        // One taken by the worker (or queued), one queued, the rest refused.
        assert!(!refused.is_empty());
        assert!(refused.iter().all(|(_, why)| *why == Refusal::QueueFull));
        assert_eq!(
            pool.probe().stats().refused_queue_full,
            refused.len() as u64
        );
        assert!(pool.probe().stats().oldest_wait < Duration::from_secs(5));
    }
}
