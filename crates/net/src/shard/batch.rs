//! [`Batcher`]: the event batch an I/O thread is filling for the
//! application, and shipping it when full or at the end of a loop turn.
//!
//! Every I/O thread has a fixed number of batches; the application returns
//! one by dropping it. When none is free, shipping fails and the backend
//! holds input back until one comes back (the wake-up handshake is
//! [`crate::wake_flag`]'s).

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::event::{BatchBuf, BatchHome, EventBatch};
use crate::stats::ThreadStats;

/// The batch being filled, and the channels it travels on.
pub(crate) struct Batcher {
    pub(super) batch: BatchBuf,
    /// Ship a batch before it would hold more frame bytes than this.
    batch_bytes: usize,
    thread: usize,
    events_tx: Sender<EventBatch>,
    free_batches: Receiver<BatchBuf>,
    home: Arc<BatchHome>,
    stats: Arc<ThreadStats>,
}

impl Batcher {
    pub(super) fn new(
        thread: usize,
        batch_bytes: usize,
        events_tx: Sender<EventBatch>,
        free_batches: Receiver<BatchBuf>,
        home: Arc<BatchHome>,
        stats: Arc<ThreadStats>,
    ) -> Self {
        Batcher {
            batch: free_batches.try_recv().unwrap_or_default(),
            batch_bytes,
            thread,
            events_tx,
            free_batches,
            home,
            stats,
        }
    }

    /// Is there room for `need` more bytes of frames? Ships the current
    /// batch if that makes room. False: the application holds every batch.
    pub(super) fn room_for(&mut self, need: usize) -> bool {
        let data = &self.batch.data;
        if data.is_empty() || data.len() + need <= self.batch_bytes {
            return true;
        }
        self.ship()
    }

    /// Hands the current batch to the application if it holds anything and a
    /// fresh batch is available. Returns false if events remain unshipped.
    pub(super) fn ship(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let fresh = match self.free_batches.try_recv() {
            Ok(fresh) => fresh,
            Err(_) => {
                // Ask to be woken when the application returns a batch, then
                // look once more in case it did so in between.
                let free = &self.free_batches;
                match self.home.paused.pause_unless(|| free.try_recv().ok()) {
                    Some(fresh) => fresh,
                    None => {
                        ThreadStats::add(&self.stats.read_pauses, 1);
                        return false;
                    }
                }
            }
        };
        let full = std::mem::replace(&mut self.batch, fresh);
        let batch = EventBatch {
            buf: full,
            home: Some(self.home.clone()),
            thread: self.thread,
        };
        // If the application is gone the batch comes back through its Drop.
        let _ = self.events_tx.try_send(batch);
        true
    }

    /// Events are waiting for the application: in the batch being filled,
    /// or shipped and not yet taken.
    pub(super) fn has_waiting(&self) -> bool {
        !self.batch.is_empty() || !self.events_tx.is_empty()
    }

    /// Last call before the I/O thread exits: hands over whatever is left,
    /// even without a fresh batch to replace it.
    pub(super) fn ship_final(&mut self) {
        if !self.ship() {
            let full = std::mem::take(&mut self.batch);
            let _ = self.events_tx.try_send(EventBatch {
                buf: full,
                home: None,
                thread: self.thread,
            });
        }
    }
}
