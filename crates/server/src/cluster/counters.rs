//! What the cluster threads count for `/metrics`: Redis failures and
//! reconnects of both connections, chats published and dropped, whether
//! the command connection is up, and the request queue's depth. Atomics
//! written by the threads as things happen, read at scrape time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use ringport_chat::ClusterRequest;
use ringport_net::crossbeam_channel::Receiver;

/// Counters shared by the node thread, the subscriber thread and the
/// logic thread's [`super::ClusterHandle`].
#[derive(Debug, Default)]
pub struct Counters {
    redis_errors: AtomicU64,
    reconnects: AtomicU64,
    chats_published: AtomicU64,
    chats_dropped: AtomicU64,
    redis_up: AtomicBool,
}

impl Counters {
    /// A Redis call failed (connect, command, read), on either connection.
    pub fn redis_error(&self) {
        self.redis_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection to Redis was made again after the thread's first one.
    pub fn reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` chats went out to the other nodes.
    pub fn published(&self, n: u64) {
        self.chats_published.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` chats were not published (Redis unavailable, or the queue full).
    pub fn dropped(&self, n: u64) {
        self.chats_dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Whether the node thread's command connection is up.
    pub fn set_up(&self, up: bool) {
        self.redis_up.store(up, Ordering::Relaxed);
    }
}

/// A snapshot of the node's cluster counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Failed Redis calls, both connections.
    pub redis_errors: u64,
    /// Connections made again after a thread's first one.
    pub reconnects: u64,
    /// Chats published to the other nodes.
    pub chats_published: u64,
    /// Chats not published (Redis unavailable or the queue full).
    pub chats_dropped: u64,
    /// Whether the command connection is up.
    pub redis_up: bool,
    /// Requests waiting for the node thread.
    pub queue_depth: u64,
}

/// What `/metrics` reads the node's cluster counters from. Holding it does
/// not keep the request queue open (only its senders do).
#[derive(Debug, Clone)]
pub struct ClusterProbe {
    counters: Arc<Counters>,
    queue: Receiver<ClusterRequest>,
}

impl ClusterProbe {
    pub(super) fn new(counters: Arc<Counters>, queue: Receiver<ClusterRequest>) -> ClusterProbe {
        ClusterProbe { counters, queue }
    }

    /// The counters now.
    pub fn stats(&self) -> NodeStats {
        let c = &self.counters;
        NodeStats {
            redis_errors: c.redis_errors.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            chats_published: c.chats_published.load(Ordering::Relaxed),
            chats_dropped: c.chats_dropped.load(Ordering::Relaxed),
            redis_up: c.redis_up.load(Ordering::Relaxed),
            queue_depth: self.queue.len() as u64,
        }
    }
}
