//! Account checks off the hot threads: a few worker threads run the account
//! store (argon2 hashing, database calls) and send the answers back to the
//! logic thread as messages.
//!
//! Each worker keeps its argon2 working memory for its whole life (one
//! buffer, reused by every hash it computes: see `ringport_chat`'s
//! `accounts::hash`), so the pool holds at most `workers × argon2 memory`
//! however many logins pass through it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::Histogram;

use ringport_chat::{AccountStore, AuthRequest, AuthResult, ConnId};
use ringport_net::crossbeam_channel::{self, Receiver, Sender, TrySendError};

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

/// The worker threads and their queue.
pub struct AuthPool {
    requests: Option<Sender<Queued>>,
    workers: Vec<JoinHandle<()>>,
}

impl AuthPool {
    /// Starts `workers` threads over `store`; answers are sent on `answers`
    /// (the logic thread's inbox). At most `queue` requests wait; beyond
    /// that a login is answered "unavailable" at once rather than stalling
    /// the logic thread.
    /// A request that waited longer than `max_wait` (the login deadline: its
    /// session is being closed anyway) is answered "unavailable" without
    /// spending a hash on it, so a backlog drains quickly.
    pub fn start<T: From<AuthAnswer> + Send + 'static>(
        store: Arc<dyn AccountStore>,
        workers: usize,
        queue: usize,
        max_wait: Duration,
        watch: StoreWatch,
        answers: Sender<T>,
    ) -> std::io::Result<AuthPool> {
        let (req_tx, req_rx) = crossbeam_channel::bounded::<Queued>(queue);
        let ans_tx = answers;
        let mut handles = Vec::with_capacity(workers);
        let health = Arc::new(StoreHealth::default());
        for i in 0..workers.max(1) {
            let req_rx = req_rx.clone();
            let ans_tx = ans_tx.clone();
            let store = store.clone();
            let health = Arc::clone(&health);
            let watch = watch.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("ringport-auth-{i}"))
                    .spawn(move || work(&*store, &health, &watch, &req_rx, &ans_tx, max_wait))?,
            );
        }
        Ok(AuthPool {
            requests: Some(req_tx),
            workers: handles,
        })
    }

    /// Queues a request; `Err` gives it back when the queue is full.
    pub fn submit(&self, request: AuthRequest) -> Result<(), AuthRequest> {
        match self.requests.as_ref() {
            Some(tx) => tx
                .try_send(Queued {
                    request,
                    at: Instant::now(),
                })
                .map_err(|e| match e {
                    TrySendError::Full(q) | TrySendError::Disconnected(q) => q.request,
                }),
            None => Err(request),
        }
    }
}

impl Drop for AuthPool {
    fn drop(&mut self) {
        self.requests = None; // workers see the queue close and exit
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
    fn failed(&self, error: &ringport_chat::StoreError) {
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

fn work<T: From<AuthAnswer>>(
    store: &dyn AccountStore,
    health: &StoreHealth,
    watch: &StoreWatch,
    requests: &Receiver<Queued>,
    answers: &Sender<T>,
    max_wait: Duration,
) {
    while let Ok(Queued { request: req, at }) = requests.recv() {
        let result = if at.elapsed() > max_wait {
            tracing::debug!(
                conn = req.conn.0,
                "login waited past its deadline; not checked"
            );
            AuthResult::Unavailable
        } else {
            let started = Instant::now();
            let answer = store.authenticate(&req.user_id, req.password.expose(), req.auto_register);
            watch.latency.observe(started.elapsed().as_secs_f64());
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
