//! [`Inbox`]: everything the logic thread waits for besides engine events —
//! account answers from the auth workers and, with `--cluster`, cluster
//! answers and other nodes' room traffic — on one channel, so
//! `Endpoint::recv_with` waits on both sources at once.
//!
//! When the logic runs on the I/O thread (`chat.logic_thread = io`), nobody
//! waits on that channel: an [`InboxSender`] also wakes the I/O thread
//! (ringport-net's `AppWaker`: one wake-up per burst, until the logic's
//! next turn).

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

/// The sending side of the logic's inbox: a channel, and the I/O thread's
/// waker when the logic runs there.
#[derive(Debug)]
pub struct InboxSender<T> {
    tx: Sender<T>,
    waker: Option<AppWaker>,
}

impl<T> Clone for InboxSender<T> {
    fn clone(&self) -> Self {
        InboxSender {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
        }
    }
}

impl<T> InboxSender<T> {
    /// Sends on `tx`, waking with `waker` after each message if there is
    /// one.
    pub fn new(tx: Sender<T>, waker: Option<AppWaker>) -> Self {
        InboxSender { tx, waker }
    }

    /// Sends `message` (the channel is unbounded: never waits).
    ///
    /// # Errors
    /// The receiving side is gone; the message is given back.
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.tx.send(message)?;
        if let Some(waker) = &self.waker {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> From<Sender<T>> for InboxSender<T> {
    fn from(tx: Sender<T>) -> Self {
        InboxSender::new(tx, None)
    }
}
