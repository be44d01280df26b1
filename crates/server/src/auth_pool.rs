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
//! Token logins (317) take a fast lane. A token check is one indexed read
//! of the store (no hash: see `AccountStore::check_token`), a thousand
//! times cheaper than a password check, and a thousand clients coming back
//! after a restart or a network blip all send one at once — while password
//! logins may be queued for seconds. So token checks have their own queue
//! and their own worker thread (`ringport-auth-token`), which never hashes,
//! and the password workers take a waiting token check before their next
//! password: a token login waits at most for the token checks ahead of it,
//! never behind a hash. Admission control stays the passwords': the
//! estimate counts and measures only password checks (a token check would
//! drag the average down and let too many hashes in), and a token check is
//! refused only when its own, larger queue is full ([`TOKEN_QUEUE`]) or it
//! waited longer than `max_wait` (as a password check would be).
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

use crate::inbox::InboxSender;
use ringport_accounts::{AccountStore, StoreError};
use ringport_chat::{AuthRequest, AuthResult, ConnId, Credential};

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

/// Token checks waiting at most: far more than a password queue, since each
/// costs one store read, so that every session of a server coming back can
/// wait for its answer (one small request each: a few MB at most).
const TOKEN_QUEUE: usize = 65_536;

/// Which queue a request waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// A password: argon2, the slow lane with admission control.
    Password,
    /// A resume token: one store read, the fast lane.
    Token,
}

impl Lane {
    fn of(request: &AuthRequest) -> Lane {
        match request.credential {
            Credential::Password(_) => Lane::Password,
            Credential::Token { .. } => Lane::Token,
        }
    }
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
    /// Password checks waiting.
    queue: VecDeque<Queued>,
    /// Token checks waiting.
    tokens: VecDeque<Queued>,
    /// When each worker's current request was submitted, and its lane
    /// (`None`: idle). The password workers first, the token worker last.
    checking: Vec<Option<(Instant, Lane)>>,
    /// Moving average of a password check's duration, in seconds.
    ewma: Option<f64>,
    closed: bool,
}

impl State {
    /// Password checks being computed (what the admission estimate counts).
    fn in_progress(&self) -> usize {
        self.checking
            .iter()
            .filter(|c| matches!(c, Some((_, Lane::Password))))
            .count()
    }

    /// Checks of either lane being computed.
    fn busy(&self) -> usize {
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
    /// Wakes the password workers (for either lane).
    ready: Condvar,
    /// Wakes the token worker.
    token_ready: Condvar,
    /// Password workers.
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
    /// Logins queued or being checked (passwords and tokens).
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
    /// The moving average of a password check's duration (zero before the
    /// first).
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
            .into_iter()
            .chain(state.tokens.front())
            .map(|q| q.at)
            .chain(state.checking.iter().flatten().map(|&(at, _)| at))
            .min();
        AuthPoolStats {
            waiting: (state.queue.len() + state.tokens.len() + state.busy()) as u64,
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
    /// Starts `workers` password threads and one token thread over `store`
    /// (see the module docs); answers are sent on `answers`
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
        answers: InboxSender<T>,
    ) -> std::io::Result<AuthPool> {
        let workers = workers.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                checking: vec![None; workers + 1],
                ..State::default()
            }),
            ready: Condvar::new(),
            token_ready: Condvar::new(),
            workers,
            capacity: queue,
            max_wait,
            refused_full: AtomicU64::new(0),
            refused_estimate: AtomicU64::new(0),
            refused_waited: AtomicU64::new(0),
        });
        let mut handles = Vec::with_capacity(workers + 1);
        let health = Arc::new(StoreHealth::default());
        // Worker `workers` (the last) is the token worker.
        for i in 0..=workers {
            let ans_tx = answers.clone();
            let store = store.clone();
            let health = Arc::clone(&health);
            let watch = watch.clone();
            let mine = Arc::clone(&shared);
            let name = if i == workers {
                "ringport-auth-token".to_owned()
            } else {
                format!("ringport-auth-{i}")
            };
            let spawned = std::thread::Builder::new()
                .name(name)
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
        if Lane::of(&request) == Lane::Token {
            if state.closed || state.tokens.len() >= TOKEN_QUEUE {
                shared.refused_full.fetch_add(1, Ordering::Relaxed);
                return Err((request, Refusal::QueueFull));
            }
            state.tokens.push_back(Queued {
                request,
                at: Instant::now(),
            });
            drop(state);
            // The token worker, and an idle password worker if there is one:
            // whichever comes first takes it, the other waits again.
            shared.token_ready.notify_one();
            shared.ready.notify_one();
            return Ok(());
        }
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
        self.shared.token_ready.notify_all();
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
    fn failed(&self, error: &StoreError) {
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
/// the pool closes. The token worker takes only token checks; a password
/// worker takes a waiting token check before a password.
fn next(shared: &Shared, me: usize) -> Option<(Queued, Lane)> {
    let token_worker = me == shared.workers;
    let mut state = shared.lock();
    if let Some(slot) = state.checking.get_mut(me) {
        *slot = None;
    }
    loop {
        if state.closed {
            return None;
        }
        let taken = match state.tokens.pop_front() {
            Some(q) => Some((q, Lane::Token)),
            None if token_worker => None,
            None => state.queue.pop_front().map(|q| (q, Lane::Password)),
        };
        if let Some((q, lane)) = taken {
            if let Some(slot) = state.checking.get_mut(me) {
                *slot = Some((q.at, lane));
            }
            return Some((q, lane));
        }
        let ready = if token_worker {
            &shared.token_ready
        } else {
            &shared.ready
        };
        state = ready
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
    answers: &InboxSender<T>,
) {
    while let Some((Queued { request: req, at }, lane)) = next(shared, me) {
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
                Credential::Password(password) => store
                    .authenticate(&req.user_id, password.expose(), req.auto_register)
                    .map(AuthResult::from),
                // No hash: one read of the user's revocation time.
                Credential::Token { issued_ms } => store
                    .check_token(&req.user_id, *issued_ms)
                    .map(|holds| ringport_accounts::token_result(Ok(holds))),
            };
            let took = started.elapsed().as_secs_f64();
            watch.latency.observe(took);
            if lane == Lane::Password {
                let mut state = shared.lock();
                state.ewma = Some(match state.ewma {
                    Some(avg) => avg + EWMA_WEIGHT * (took - avg),
                    None => took,
                });
            }
            // One account's unusable record is that login's failure, not
            // the store's: readiness and the store's state stay as they are.
            let store_down = matches!(answer, Err(StoreError::Unavailable(_)));
            watch.health.set_store_ok(!store_down);
            match answer {
                Ok(result) => {
                    health.answered();
                    result
                }
                Err(e @ StoreError::BadRecord(_)) => {
                    health.answered();
                    tracing::warn!(user = %req.user_id, error = %e, "login answered 34");
                    AuthResult::Unavailable
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
        fn check_token(&self, user_id: &str, _: u64) -> Result<bool, StoreError> {
            Ok(user_id != "revoked")
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
        let pool = AuthPool::start(Arc::new(Slow(delay)), 1, queue, max_wait, watch, tx.into())
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

    fn token_request(n: u64, user: &str) -> AuthRequest {
        AuthRequest {
            conn: ConnId(n),
            ticket: n,
            user_id: user.to_owned(),
            credential: Credential::Token { issued_ms: 1 },
            auto_register: false,
        }
    }

    #[test]
    fn token_checks_pass_queued_passwords() {
        // One password worker, 300 ms a hash, four passwords queued: the
        // passwords take 1.2 s, yet 1,000 token checks (and a revoked one)
        // are all answered long before the second password.
        let (pool, rx) = pool(Duration::from_millis(300), 100, Duration::from_secs(60));
        let started = Instant::now();
        for n in 0..4 {
            assert!(pool.submit(request(n)).is_ok());
        }
        for n in 100..1100 {
            assert!(pool.submit(token_request(n, "ann")).is_ok(), "token {n}");
        }
        assert!(pool.submit(token_request(2000, "revoked")).is_ok());
        let mut tokens = 0;
        let mut passwords = 0;
        while tokens < 1001 {
            let a = rx
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("no answer: {e}"));
            match a.ticket {
                0..=3 => passwords += 1,
                2000 => {
                    assert_eq!(a.result, AuthResult::Rejected);
                    tokens += 1;
                }
                _ => {
                    assert_eq!(a.result, AuthResult::Accepted);
                    tokens += 1;
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "1,001 token checks took {:?}",
            started.elapsed()
        );
        assert!(passwords <= 1, "{passwords} passwords before the tokens");
        // The passwords still all come, and only they were measured.
        for _ in passwords..4 {
            let a = rx
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("no answer: {e}"));
            assert_eq!(a.result, AuthResult::Accepted);
        }
        assert!(pool.probe().stats().check_seconds >= 0.29);
        assert_eq!(pool.probe().stats().waiting, 0);
    }
}
