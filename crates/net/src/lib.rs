//! # ringport-net
//!
//! A completion-based TCP server engine: the Network layer of ringport.
//!
//! The engine accepts connections, cuts their byte streams into frames with a
//! [`Framing`] you supply, hands the frames to your application thread in
//! batches ([`Endpoint::recv`]), and sends what the application queues
//! ([`Endpoint::send`], [`Endpoint::send_shared`]) with at most one send in
//! flight per session and everything queued meanwhile leaving in one gathered
//! send.
//!
//! io_uring is the primary backend (multishot accept, multishot receive into
//! a provided-buffer ring, `sendmsg` with iovecs); a readiness backend (epoll
//! through mio) is the fallback, chosen automatically when io_uring cannot be
//! set up. Both behave the same and pass the same tests.
//!
//! ```no_run
//! use ringport_net::{Engine, EngineConfig, Event, RawFraming};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let (engine, mut endpoint) = Engine::start(listener, EngineConfig::default(), RawFraming)?;
//! let stop = engine.shutdown_handle();
//! # stop.shutdown();
//! while let Ok(batch) = endpoint.recv(None) {
//!     for event in batch.iter() {
//!         if let Event::Frame { session, frame } = event {
//!             endpoint.send(session, frame); // echo
//!         }
//!     }
//!     endpoint.flush();
//! }
//! engine.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Threads: `io_threads` I/O threads, each with its own ring or poller and
//! its own sessions (nothing shared on the hot path), and the application's
//! thread(s), connected by bounded queues with one wake-up per batch. With
//! one I/O thread the same [`Endpoint`] application can run on that thread
//! instead ([`Engine::start_hosted`], [`HostedApp`]): no hand-off at all;
//! per-session applications without shared state run inline
//! ([`Engine::start_inline`], [`Handler`]).
#![deny(unsafe_code)]

mod admission;
mod buf;
mod config;
mod endpoint;
mod engine;
mod error;
mod event;
mod framing;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod handler;
pub mod hosted;
mod id;
mod linger;
mod outbox;
mod read_pause;
mod shard;
mod stats;
mod sys;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;
mod transport;
mod wire;
// Public only for the loom model check (`tests/loom_handoff.rs`).
#[cfg(loom)]
#[doc(hidden)]
pub mod wake_flag;
#[cfg(not(loom))]
mod wake_flag;
mod waker;

pub use admission::peer_group;
pub use bytes::Bytes;
pub use config::{BackendChoice, BackendKind, EngineConfig};
pub use crossbeam_channel;
pub use endpoint::{Endpoint, Received, RecvError};
pub use engine::{Engine, ShutdownHandle, StatsHandle};
pub use error::EngineError;
pub use event::{CloseReason, Event, EventBatch};
pub use framing::{FrameError, Framing, RawFraming};
pub use handler::{Handler, Reply};
pub use hosted::{AppWaker, HostedApp};
pub use id::SessionId;
pub use rustls;
pub use stats::Stats;
pub use tls::TlsFailure;
pub use transport::{
    HttpPolicy, Listener, ListenerKind, Page, Transport, WebSocketConfig, DEFAULT_MAX_HEAD,
};
