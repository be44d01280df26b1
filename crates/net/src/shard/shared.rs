//! [`Shared`]: the little state all I/O threads share (never touched per
//! frame): admission, the shutdown switch, every thread's counters.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::admission::{Admission, Refusal};
use crate::stats::ThreadStats;

/// State shared by all I/O threads (never touched per frame).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) admission: Admission,
    pub(crate) shutdown: AtomicBool,
    pub(crate) stats: Vec<Arc<ThreadStats>>,
}

impl Shared {
    /// Admits a connection from `peer` or counts why not; the backend closes
    /// a refused connection at once.
    pub(crate) fn admit(&self, peer: SocketAddr, stats: &ThreadStats) -> bool {
        match self.admission.admit(peer.ip()) {
            Ok(()) => true,
            Err(refusal) => {
                ThreadStats::add(&stats.refused, 1);
                if refusal == Refusal::PerIp {
                    ThreadStats::add(&stats.refused_per_ip, 1);
                }
                false
            }
        }
    }

    pub(crate) fn unadmit(&self, peer: SocketAddr) {
        self.admission.release(peer.ip());
    }

    pub(crate) fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }
}
