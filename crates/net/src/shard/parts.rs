//! [`ThreadParts`]: everything an I/O thread is started with, from which
//! its backend builds the thread's [`Shard`](super::Shard) once it has
//! created the thread's waker ([`Shard::build`](super::Shard::build)).

use std::net::TcpListener;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::Shared;
use crate::config::EngineConfig;
use crate::event::{BatchBuf, EventBatch};
use crate::handler::Handler;
use crate::hosted::Seat;
use crate::outbox::Outbox;
use crate::transport::Transport;

/// Everything an I/O thread is started with (made by the engine).
pub(crate) struct ThreadParts<F> {
    pub(crate) index: usize,
    pub(crate) framing: F,
    pub(crate) cfg: EngineConfig,
    pub(crate) shared: Arc<Shared>,
    /// The thread's copies of the listeners, with what each speaks and its
    /// TLS configuration, if any (a session remembers its listener's index).
    pub(crate) listeners: Vec<(TcpListener, Transport, Option<Arc<rustls::ServerConfig>>)>,
    /// Filled event batches, to the application.
    pub(crate) events_tx: Sender<EventBatch>,
    /// This thread's free event batches, back from the application.
    pub(crate) free_batches: Receiver<BatchBuf>,
    /// Where the application returns them (kept by every batch's home).
    pub(crate) free_batches_tx: Sender<BatchBuf>,
    /// Outboxes of requests from the application.
    pub(crate) inbox: Receiver<Outbox>,
    /// Applied outboxes, back to the application for reuse.
    pub(crate) outbox_return: Sender<Outbox>,
    /// The application, when it runs on the I/O threads.
    pub(crate) inline: Option<Box<dyn Handler>>,
    /// Where an application hosted on this thread arrives, and the bell
    /// its wakers ring; `Some` only for an engine started hosted.
    pub(crate) hosted: Option<Seat>,
}
