//! [`Shared`]: the little state all I/O threads share (never touched per
//! frame): admission, the shutdown switch, every thread's counters.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::admission::{Admission, Refusal};
use crate::stats::ThreadStats;

/// State shared by all I/O threads (never touched per frame).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) admission: Admission,
    pub(crate) shutdown: AtomicBool,
    pub(crate) tls_handshakes: TlsHandshakes,
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

/// TLS handshakes in progress over all I/O threads, and their bound
/// (`max_tls_handshakes`).
#[derive(Debug)]
pub(crate) struct TlsHandshakes {
    now: AtomicUsize,
    max: usize,
}

impl TlsHandshakes {
    pub(crate) fn new(max: usize) -> TlsHandshakes {
        TlsHandshakes {
            now: AtomicUsize::new(0),
            max,
        }
    }

    /// Takes a place for a new handshake; false when all are taken.
    pub(crate) fn begin(&self) -> bool {
        self.now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives a place back (the handshake completed, failed, or its
    /// connection ended).
    pub(crate) fn end(&self) {
        let _ = self
            .now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Handshakes in progress now.
    pub(crate) fn in_progress(&self) -> usize {
        self.now.load(Ordering::Acquire)
    }
}
