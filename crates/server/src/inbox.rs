//! [`Inbox`]: everything the logic thread waits for besides engine events —
//! account answers from the auth workers and, with `--cluster`, cluster
//! answers and other nodes' room traffic — on one channel, so
//! `Endpoint::recv_with` waits on both sources at once.
//!
//! When the logic runs on the I/O thread (`chat.logic = io_thread`), nobody
//! waits on that channel: an [`InboxSender`] also rings the I/O thread's
//! [`Doorbell`], at most one wake-up until the logic's next turn answers it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ringport_chat::ClusterEvent;
use ringport_net::crossbeam_channel::{SendError, Sender};
use ringport_net::AppWaker;

use crate::auth_pool::AuthAnswer;

/// One message for the logic thread.
#[derive(Debug)]
pub enum Inbox {
    /// A password check's answer.
    Auth(AuthAnswer),
    /// A cluster answer or another node's room traffic.
    Cluster(ClusterEvent),
}

impl From<AuthAnswer> for Inbox {
    fn from(answer: AuthAnswer) -> Inbox {
        Inbox::Auth(answer)
    }
}

/// Wakes the I/O thread that runs the logic when something was sent to
/// it: once per burst. The sender puts its message on the channel, then
/// rings; the logic answers (lowers the flag) before it drains the
/// channel. Every write of the flag is a swap, so either the ring reads the
/// answer that came before it and wakes the thread, or the answer reads
/// the ring and the drain after it sees the message (the same handshake as
/// ringport-net's `WakeFlag`).
#[derive(Debug)]
pub struct Doorbell {
    rung: AtomicBool,
    waker: AppWaker,
}

impl Doorbell {
    /// A doorbell that wakes with `waker`.
    pub fn new(waker: AppWaker) -> Arc<Doorbell> {
        Arc::new(Doorbell {
            rung: AtomicBool::new(false),
            waker,
        })
    }

    fn ring(&self) {
        if !self.rung.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// The logic's side, before it drains its channels: later messages
    /// ring again.
    pub fn answer(&self) {
        self.rung.swap(false, Ordering::AcqRel);
    }
}

/// The sending side of the logic's inbox: a channel, and the doorbell of
/// the I/O thread when the logic runs there.
#[derive(Debug)]
pub struct InboxSender<T> {
    tx: Sender<T>,
    bell: Option<Arc<Doorbell>>,
}

impl<T> Clone for InboxSender<T> {
    fn clone(&self) -> Self {
        InboxSender {
            tx: self.tx.clone(),
            bell: self.bell.clone(),
        }
    }
}

impl<T> InboxSender<T> {
    /// Sends on `tx`, ringing `bell` after each message if there is one.
    pub fn new(tx: Sender<T>, bell: Option<Arc<Doorbell>>) -> Self {
        InboxSender { tx, bell }
    }

    /// Sends `message` (the channel is unbounded: never waits).
    ///
    /// # Errors
    /// The receiving side is gone; the message is given back.
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.tx.send(message)?;
        if let Some(bell) = &self.bell {
            bell.ring();
        }
        Ok(())
    }
}

impl<T> From<Sender<T>> for InboxSender<T> {
    fn from(tx: Sender<T>) -> Self {
        InboxSender::new(tx, None)
    }
}
