//! [`ClusterState`]: the cluster side of a [`crate::Chat`] — logins waiting
//! for their cluster-wide claim, enters waiting for the cluster-wide
//! capacity check, and the views of other nodes' members per room.

use std::sync::Arc;

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
    pub(crate) stats: ClusterStats,
}

impl ClusterState {
    /// Enters in flight for `room`.
    pub(crate) fn entering_room(&self, room: i32) -> usize {
        self.entering
            .values()
            .filter(|(r, _, _)| *r == room)
            .count()
    }

    /// Recomputes the gauge.
    pub(crate) fn update_gauges(&mut self) {
        self.stats.remote_members = self.views.values().map(|v| v.len() as u64).sum();
    }
}
