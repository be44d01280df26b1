//! Account checks off the hot threads: a few worker threads run the account
//! store (argon2 hashing, database calls) and send the answers back to the
//! logic thread as messages.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

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

/// The worker threads and their queue.
pub struct AuthPool {
    requests: Option<Sender<AuthRequest>>,
    workers: Vec<JoinHandle<()>>,
}

impl AuthPool {
    /// Starts `workers` threads over `store`; answers arrive on the returned
    /// receiver. At most `queue` requests wait; beyond that a login is
    /// answered "unavailable" at once rather than stalling the logic thread.
    pub fn start(
        store: Arc<dyn AccountStore>,
        workers: usize,
        queue: usize,
        watch: StoreWatch,
    ) -> std::io::Result<(AuthPool, Receiver<AuthAnswer>)> {
        let (req_tx, req_rx) = crossbeam_channel::bounded::<AuthRequest>(queue);
        let (ans_tx, ans_rx) = crossbeam_channel::unbounded();
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers.max(1) {
            let req_rx = req_rx.clone();
            let ans_tx = ans_tx.clone();
            let store = store.clone();
            let watch = watch.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("ringport-auth-{i}"))
                    .spawn(move || work(&*store, &req_rx, &ans_tx, &watch))?,
            );
        }
        Ok((
            AuthPool {
                requests: Some(req_tx),
                workers: handles,
            },
            ans_rx,
        ))
    }

    /// Queues a request; `Err` gives it back when the queue is full.
    pub fn submit(&self, request: AuthRequest) -> Result<(), AuthRequest> {
        match self.requests.as_ref() {
            Some(tx) => tx.try_send(request).map_err(|e| match e {
                TrySendError::Full(r) | TrySendError::Disconnected(r) => r,
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

fn work(
    store: &dyn AccountStore,
    requests: &Receiver<AuthRequest>,
    answers: &Sender<AuthAnswer>,
    watch: &StoreWatch,
) {
    while let Ok(req) = requests.recv() {
        let started = Instant::now();
        let answer = store.authenticate(&req.user_id, req.password.expose(), req.auto_register);
        watch.latency.observe(started.elapsed().as_secs_f64());
        watch.health.set_store_ok(answer.is_ok());
        let result = match answer {
            Ok(outcome) => AuthResult::from(outcome),
            Err(e) => {
                tracing::warn!(error = %e, "account store unavailable");
                AuthResult::Unavailable
            }
        };
        if answers
            .send(AuthAnswer {
                conn: req.conn,
                ticket: req.ticket,
                result,
            })
            .is_err()
        {
            return;
        }
    }
}
