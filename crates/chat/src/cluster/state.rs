//! [`ClusterState`]: the cluster side of a [`crate::Chat`] — logins waiting
//! for their cluster-wide claim, enters waiting for the cluster-wide
//! capacity check, and the views of other nodes' members per room.

use std::sync::Arc;

use bytes::Bytes;

use rustc_hash::FxHashMap;

use super::mirror::RoomView;
use super::ClusterStats;
use crate::conn::ConnId;
use crate::created::CreatedRoom;
use crate::request::enter::EnterVia;

/// Cluster bookkeeping of one machine.
#[derive(Debug, Default)]
pub(crate) struct ClusterState {
    /// Sessions whose password was accepted and whose claim is in flight,
    /// with their login ticket and user id.
    pub(crate) claims: FxHashMap<ConnId, (u64, Arc<str>)>,
    /// Sessions whose enter is in flight, with the room, their unique id
    /// and the request that asked.
    pub(crate) entering: FxHashMap<ConnId, (i32, i64, EnterVia)>,
    /// Sessions whose create is in flight, with the room asked for.
    pub(crate) creating: FxHashMap<ConnId, CreatedRoom>,
    /// Cluster-wide member counts of rooms (for the list).
    pub(crate) users: FxHashMap<i32, usize>,
    /// Rooms with local members or an enter in flight: other nodes'
    /// members.
    pub(crate) views: FxHashMap<i32, RoomView>,
    /// Sessions whose history request is in flight, or just answered.
    pub(crate) history: FxHashMap<ConnId, HistoryWait>,
    pub(crate) stats: ClusterStats,
}

/// A session's history request in cluster mode.
#[derive(Debug)]
pub(crate) enum HistoryWait {
    /// In flight for `room`: live 313s (sequence number, epoch, packet)
    /// are held until the answer.
    Reading {
        /// The room.
        room: i32,
        /// The held 313s, in order.
        held: Vec<(u64, u64, Bytes)>,
    },
    /// Answered up to `seq` of `epoch`: live 313s at or below it (published
    /// before the read, arriving after the answer) are not sent again.
    /// Dropped at the first live 313 after it.
    Answered {
        /// The epoch answered.
        epoch: u64,
        /// The last sequence number answered.
        seq: u64,
    },
}

impl ClusterState {
    /// Enters in flight for `room`.
    pub(crate) fn entering_room(&self, room: i32) -> usize {
        self.entering
            .values()
            .filter(|(r, _, _)| *r == room)
            .count()
    }

    /// Whether `conn`'s history request is in flight.
    pub(crate) fn reading_history(&self, conn: ConnId) -> bool {
        !self.history.is_empty()
            && matches!(self.history.get(&conn), Some(HistoryWait::Reading { .. }))
    }

    /// Recomputes the gauge.
    pub(crate) fn update_gauges(&mut self) {
        self.stats.remote_members = self.views.values().map(|v| v.len() as u64).sum();
    }
}
