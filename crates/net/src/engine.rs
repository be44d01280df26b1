//! Starting, observing and stopping the engine.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::admission::Admission;
use crate::config::{BackendChoice, BackendKind, EngineConfig};
use crate::endpoint::{Endpoint, LaneParts};
use crate::error::EngineError;
use crate::event::BatchBuf;
use crate::framing::Framing;
use crate::handler::Handler;
use crate::hosted::{AppWaker, Arrival, Bell, HostedApp, Seat};
use crate::shard::{Shared, ThreadParts, TlsHandshakes};
use crate::stats::{Stats, ThreadStats};
use crate::sys;
use crate::transport::{Listener, Transport};
use crate::waker::Waker;

/// Requests per I/O thread inbox before the application waits for the
/// thread to catch up.
const INBOX_DEPTH: usize = 64;

/// A running engine: its I/O threads, counters and shutdown switch.
/// Dropping it shuts it down and waits for its threads.
#[derive(Debug)]
pub struct Engine {
    threads: Vec<JoinHandle<()>>,
    /// Where [`Engine::host`] hands the application to the I/O thread
    /// (engines started with [`Engine::start_hosted`] only).
    arrival: Option<Arc<Arrival>>,
    shutdown: ShutdownHandle,
    backend: BackendKind,
    local_addrs: Vec<SocketAddr>,
}

/// Starts a graceful shutdown from anywhere (a signal handler thread, a test).
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
    wakers: Arc<Vec<Arc<Waker>>>,
}

impl ShutdownHandle {
    /// Stops accepting, flushes what is queued for every session (up to the
    /// grace period), closes every session, then lets the I/O threads exit.
    /// The application's [`Endpoint::recv`] returns
    /// [`crate::RecvError::Stopped`] once every event has been delivered.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::Release);
        for w in self.wakers.iter() {
            w.wake();
        }
    }

    /// Whether a shutdown was requested.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutting_down()
    }
}

/// Reads the engine's counters from another thread (a metrics endpoint),
/// while the engine runs and after it has stopped.
#[derive(Debug, Clone)]
pub struct StatsHandle {
    shared: Arc<Shared>,
    backend: BackendKind,
}

impl StatsHandle {
    /// The counters, summed over the I/O threads (see [`Engine::stats`]).
    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            backend: Some(self.backend),
            sessions_open: self.shared.admission.open() as u64,
            tls_handshakes_in_progress: self.shared.tls_handshakes.in_progress() as u64,
            ..Stats::default()
        };
        for t in &self.shared.stats {
            s.absorb(t);
        }
        s
    }
}

impl Engine {
    /// Starts the engine on an already bound listener (bind `127.0.0.1:0` in
    /// tests). Returns the engine and the application's [`Endpoint`].
    ///
    /// # Errors
    /// An invalid configuration, io_uring required but unavailable, or a
    /// failing system call while setting up.
    pub fn start<F: Framing>(
        listener: TcpListener,
        config: EngineConfig,
        framing: F,
    ) -> Result<(Engine, Endpoint), EngineError> {
        Self::start_listeners(
            vec![Listener::new(listener, Transport::Tcp)],
            config,
            framing,
        )
    }

    /// Starts the engine on several listeners, each with its transport
    /// (for example the binary protocol over TCP and over WebSocket): the
    /// same I/O threads, sessions, limits and counters serve all of them.
    /// [`Engine::local_addr`] is the first listener's address.
    ///
    /// # Errors
    /// As [`Engine::start`]; also no listener at all.
    pub fn start_listeners<F: Framing>(
        listeners: Vec<Listener>,
        config: EngineConfig,
        framing: F,
    ) -> Result<(Engine, Endpoint), EngineError> {
        let (engine, endpoint, _) = Self::start_with(listeners, config, framing, Mode::Threads)?;
        Ok((engine, endpoint))
    }

    /// Starts the engine on one I/O thread for an application that will run
    /// on that thread (see [`crate::hosted`]): returns the engine, the
    /// application's [`Endpoint`] (to be owned by the application) and a
    /// waker for the application's other sources. Hand the application over
    /// with [`Engine::host`]; until then events wait in their batches.
    ///
    /// # Errors
    /// As [`Engine::start_listeners`]; also `io_threads` other than 1.
    pub fn start_hosted<F: Framing>(
        listeners: Vec<Listener>,
        config: EngineConfig,
        framing: F,
    ) -> Result<(Engine, Endpoint, AppWaker), EngineError> {
        if config.io_threads != 1 {
            return Err(EngineError::Config(format!(
                "an application on the I/O thread needs io_threads = 1, got {}",
                config.io_threads
            )));
        }
        let (engine, mut endpoint, waker) =
            Self::start_with(listeners, config, framing, Mode::Hosted)?;
        let Some(waker) = waker else {
            return Err(EngineError::Config("no I/O thread".into())); // cannot happen: one was checked
        };
        endpoint.set_hosted();
        Ok((engine, endpoint, waker))
    }

    /// Hands `app` to the I/O thread of an engine started with
    /// [`Engine::start_hosted`]; from its next turn on it runs there, and
    /// its [`HostedApp::stopped`] runs there and it is dropped there when
    /// the engine stops.
    ///
    /// # Errors
    /// [`EngineError::Config`] if the engine was not started hosted or
    /// already has its application (`app` is dropped);
    /// [`EngineError::Stopped`] if the I/O thread has already finished (a
    /// shutdown came first): then `app`'s `stopped` runs here, on the
    /// caller's thread, and it is dropped here.
    pub fn host(&mut self, app: Box<dyn HostedApp>) -> Result<(), EngineError> {
        let Some(arrival) = self.arrival.take() else {
            return Err(EngineError::Config(
                "Engine::host: not started with Engine::start_hosted, or already hosting".into(),
            ));
        };
        if let Err(mut app) = arrival.hand_over(app) {
            app.stopped();
            return Err(EngineError::Stopped);
        }
        self.shutdown.wakers.iter().for_each(|w| w.wake());
        Ok(())
    }

    /// Starts the engine with the application running on the I/O threads:
    /// each I/O thread gets its own clone of `handler` (see [`Handler`]).
    ///
    /// # Errors
    /// As [`Engine::start`].
    pub fn start_inline<F: Framing, H: Handler + Clone>(
        listener: TcpListener,
        config: EngineConfig,
        framing: F,
        handler: H,
    ) -> Result<Engine, EngineError> {
        let make = move || -> Box<dyn Handler> { Box::new(handler.clone()) };
        let listeners = vec![Listener::new(listener, Transport::Tcp)];
        let (engine, _endpoint, _) =
            Self::start_with(listeners, config, framing, Mode::Inline(&make))?;
        Ok(engine)
    }

    fn start_with<F: Framing>(
        listeners: Vec<Listener>,
        config: EngineConfig,
        framing: F,
        mode: Mode<'_>,
    ) -> Result<(Engine, Endpoint, Option<AppWaker>), EngineError> {
        config.validate().map_err(EngineError::Config)?;
        let backend = match config.backend {
            BackendChoice::Poll => BackendKind::Poll,
            BackendChoice::IoUring => {
                sys::uring::probe(&config).map_err(EngineError::IoUringUnavailable)?;
                BackendKind::IoUring
            }
            BackendChoice::Auto => match sys::uring::probe(&config) {
                Ok(()) => BackendKind::IoUring,
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "io_uring cannot be set up here; using the poll backend instead"
                    );
                    BackendKind::Poll
                }
            },
        };
        if listeners.is_empty() || listeners.len() > usize::from(u8::MAX) {
            return Err(EngineError::Config(format!(
                "1 to 255 listeners, got {}",
                listeners.len()
            )));
        }
        let mut local_addrs = Vec::with_capacity(listeners.len());
        for l in &listeners {
            l.socket
                .set_nonblocking(true)
                .map_err(|e| EngineError::io("making the listener non-blocking", e))?;
            local_addrs.push(
                l.socket
                    .local_addr()
                    .map_err(|e| EngineError::io("reading the listener's address", e))?,
            );
        }

        let n = config.io_threads;
        let shared = Arc::new(Shared {
            admission: Admission::new(config.max_sessions, config.max_sessions_per_ip),
            shutdown: AtomicBool::new(false),
            tls_handshakes: TlsHandshakes::new(config.max_tls_handshakes),
            stats: (0..n).map(|_| Arc::new(ThreadStats::default())).collect(),
        });
        let (events_tx, events_rx) = crossbeam_channel::bounded(n * config.batches_per_thread + n);
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(n);
        let (arrival, seat) = match mode {
            Mode::Hosted => {
                let arrival = Arc::new(Arrival::default());
                let bell = Arc::new(Bell::default());
                (Some(arrival.clone()), Some(Seat { arrival, bell }))
            }
            _ => (None, None),
        };
        let mut lanes = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        for index in 0..n {
            let (free_tx, free_rx) = crossbeam_channel::bounded(config.batches_per_thread);
            for _ in 0..config.batches_per_thread {
                let _ = free_tx.try_send(BatchBuf::with_capacity(config.batch_bytes, 1024));
            }
            let (inbox_tx, inbox_rx) = crossbeam_channel::bounded(INBOX_DEPTH);
            let (return_tx, return_rx) = crossbeam_channel::bounded(INBOX_DEPTH + 2);
            let mut copies = Vec::with_capacity(listeners.len());
            for l in &listeners {
                let socket = l
                    .socket
                    .try_clone()
                    .map_err(|e| EngineError::io("duplicating the listener", e))?;
                copies.push((socket, l.transport.clone(), l.tls.clone()));
            }
            let parts = ThreadParts {
                index,
                framing: framing.clone(),
                cfg: config.clone(),
                shared: shared.clone(),
                listeners: copies,
                events_tx: events_tx.clone(),
                free_batches: free_rx,
                free_batches_tx: free_tx,
                inbox: inbox_rx,
                outbox_return: return_tx,
                inline: match mode {
                    Mode::Inline(make) => Some(make()),
                    _ => None,
                },
                hosted: if index == 0 { seat.clone() } else { None },
            };
            let ready_tx = ready_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("ringport-io-{index}"))
                .spawn(move || run_thread(backend, parts, ready_tx))
                .map_err(|e| EngineError::io("spawning an I/O thread", e))?;
            threads.push(handle);
            lanes.push((inbox_tx, return_rx));
        }
        drop(events_tx);
        drop(ready_tx);

        let mut wakers: Vec<Option<Arc<Waker>>> = vec![None; n];
        let mut failure = None;
        for _ in 0..n {
            match ready_rx.recv() {
                Ok((index, Ok(waker))) => wakers[index] = Some(waker),
                Ok((_, Err(e))) => failure = Some(e),
                Err(_) => failure = Some(std::io::Error::other("an I/O thread died at start")),
            }
        }
        let wakers: Vec<Arc<Waker>> = wakers.into_iter().flatten().collect();
        let shutdown = ShutdownHandle {
            shared,
            wakers: Arc::new(wakers.clone()),
        };
        if let Some(e) = failure {
            shutdown.shutdown();
            for t in threads {
                let _ = t.join();
            }
            return Err(EngineError::io("setting up an I/O thread", e));
        }
        let app_waker = seat
            .zip(wakers.first().cloned())
            .map(|(seat, waker)| AppWaker {
                bell: seat.bell,
                waker,
            });
        let endpoint = Endpoint::new(
            events_rx,
            lanes
                .into_iter()
                .zip(wakers)
                .map(|((inbox, outbox_return), waker)| LaneParts {
                    inbox,
                    outbox_return,
                    waker,
                })
                .collect(),
        );
        tracing::debug!(?local_addrs, backend = %backend, io_threads = n, "engine started");
        Ok((
            Engine {
                threads,
                arrival,
                shutdown,
                backend,
                local_addrs,
            },
            endpoint,
            app_waker,
        ))
    }

    /// The backend in use.
    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// The address the engine accepts on (its first listener's).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addrs[0]
    }

    /// Every listener's address, in the order they were given.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// A handle that can start the shutdown from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Starts a graceful shutdown (see [`ShutdownHandle::shutdown`]).
    pub fn shutdown(&self) {
        self.shutdown.shutdown();
    }

    /// The counters, summed over the I/O threads.
    pub fn stats(&self) -> Stats {
        self.stats_handle().stats()
    }

    /// A handle that reads the counters from another thread.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            shared: self.shutdown.shared.clone(),
            backend: self.backend,
        }
    }

    /// Waits until every I/O thread has exited (after a shutdown) and
    /// returns the final counters.
    ///
    /// # Errors
    /// [`EngineError::ThreadPanicked`] if an I/O thread panicked.
    pub fn join(mut self) -> Result<Stats, EngineError> {
        self.join_threads()?;
        Ok(self.stats())
    }

    fn join_threads(&mut self) -> Result<(), EngineError> {
        let mut result = Ok(());
        for (i, t) in self.threads.drain(..).enumerate() {
            if t.join().is_err() {
                result = Err(EngineError::ThreadPanicked(i));
            }
        }
        result
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.shutdown();
            let _ = self.join_threads();
        }
    }
}

/// Where the application runs.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// On threads of its own, through the [`Endpoint`].
    Threads,
    /// On the I/O threads, as per-session [`Handler`]s made by this.
    Inline(&'a dyn Fn() -> Box<dyn Handler>),
    /// On the one I/O thread, through the [`Endpoint`] ([`HostedApp`]).
    Hosted,
}

type Ready = crossbeam_channel::Sender<(usize, std::io::Result<Arc<Waker>>)>;

fn run_thread<F: Framing>(backend: BackendKind, parts: ThreadParts<F>, ready: Ready) {
    let index = parts.index;
    match backend {
        BackendKind::Poll => start_driver(index, sys::poll::setup(parts), ready),
        BackendKind::IoUring => start_driver(index, sys::uring::setup(parts), ready),
    }
}

/// Reports the thread's set-up to `start` (its waker or its error), then
/// runs the driver's loop.
fn start_driver<D: sys::Driver>(
    index: usize,
    setup: std::io::Result<(D, Arc<Waker>)>,
    ready: Ready,
) {
    match setup {
        Ok((driver, waker)) => {
            let _ = ready.send((index, Ok(waker)));
            drop(ready);
            sys::run(driver);
        }
        Err(e) => {
            let _ = ready.send((index, Err(e)));
        }
    }
}
