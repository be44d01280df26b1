//! [`RoomView`]: what a node knows of one room's members on other nodes.
//!
//! A view exists while the node has local members in the room or an enter
//! waiting for its answer. Changes carry the room's change number (`seq`),
//! taken atomically with the change in Redis, so:
//!
//! - a change numbered at or below what the view has applied is already
//!   reflected and is skipped;
//! - a snapshot numbered below what the view has applied is older than the
//!   view and is skipped (the next one repairs whatever is missing);
//! - before the first snapshot (the enter's answer) the view is not ready:
//!   changes are kept (bounded) and replayed over the snapshot.
//!
//! Every call returns what changed, so the caller sends 208/217 to the
//! local members.

use std::collections::BTreeMap;

use super::RemoteMember;

/// Changes kept while a view waits for its first snapshot; beyond this the
/// oldest are dropped (a later snapshot repairs them).
const MAX_PENDING: usize = 1024;

/// A difference to announce to the local members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delta {
    /// A member appeared: 208.
    Added(RemoteMember),
    /// A member went away: 217.
    Removed(i64),
}

#[derive(Debug, Clone)]
enum Pending {
    Enter(u64, RemoteMember),
    Leave(u64, i64),
}

/// One room's members on other nodes.
#[derive(Debug, Default)]
pub(crate) struct RoomView {
    members: BTreeMap<i64, RemoteMember>,
    applied: u64,
    ready: bool,
    pending: Vec<Pending>,
}

impl RoomView {
    /// The members on other nodes, by unique id.
    pub(crate) fn members(&self) -> impl Iterator<Item = &RemoteMember> {
        self.members.values()
    }

    /// How many members on other nodes.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    fn remember(&mut self, change: Pending) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(change);
    }

    /// A member entered on another node (change `seq`).
    pub(crate) fn enter(&mut self, seq: u64, member: RemoteMember) -> Option<Delta> {
        if !self.ready {
            self.remember(Pending::Enter(seq, member));
            return None;
        }
        if seq <= self.applied {
            return None;
        }
        self.applied = seq;
        let uid = member.unique_id;
        match self.members.insert(uid, member.clone()) {
            Some(_) => None,
            None => Some(Delta::Added(member)),
        }
    }

    /// A member left another node's part of the room (change `seq`).
    pub(crate) fn leave(&mut self, seq: u64, unique_id: i64) -> Option<Delta> {
        if !self.ready {
            self.remember(Pending::Leave(seq, unique_id));
            return None;
        }
        if seq <= self.applied {
            return None;
        }
        self.applied = seq;
        self.members
            .remove(&unique_id)
            .map(|_| Delta::Removed(unique_id))
    }

    /// The room's members on other nodes as of change `seq`. Returns the
    /// differences (empty when the snapshot is older than the view).
    pub(crate) fn snapshot(&mut self, seq: u64, members: Vec<RemoteMember>) -> Vec<Delta> {
        if self.ready && seq < self.applied {
            return Vec::new();
        }
        let mut fresh: BTreeMap<i64, RemoteMember> =
            members.into_iter().map(|m| (m.unique_id, m)).collect();
        self.applied = seq;
        if !self.ready {
            self.ready = true;
            for change in std::mem::take(&mut self.pending) {
                match change {
                    Pending::Enter(s, m) if s > self.applied => {
                        fresh.insert(m.unique_id, m);
                        self.applied = s;
                    }
                    Pending::Leave(s, uid) if s > self.applied => {
                        fresh.remove(&uid);
                        self.applied = s;
                    }
                    _ => {}
                }
            }
        }
        let mut deltas = Vec::new();
        for uid in self.members.keys() {
            if !fresh.contains_key(uid) {
                deltas.push(Delta::Removed(*uid));
            }
        }
        for (uid, member) in &fresh {
            if !self.members.contains_key(uid) {
                deltas.push(Delta::Added(member.clone()));
            }
        }
        self.members = fresh;
        deltas
    }

    /// The bus reconnected: change numbers may have restarted, so the next
    /// snapshot and changes are taken whatever their number.
    pub(crate) fn resync(&mut self) {
        self.applied = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn m(uid: i64) -> RemoteMember {
        RemoteMember {
            unique_id: uid,
            user_id: Arc::from(format!("u{uid}")),
        }
    }

    #[test]
    fn changes_before_the_first_snapshot_are_replayed_over_it() {
        let mut view = RoomView::default();
        assert_eq!(view.enter(6, m(3)), None);
        assert_eq!(view.leave(7, 1), None);
        assert_eq!(view.enter(4, m(9)), None); // older than the snapshot
        let deltas = view.snapshot(5, vec![m(1), m(2)]);
        let uids: Vec<i64> = view.members().map(|m| m.unique_id).collect();
        assert_eq!(uids, vec![2, 3]);
        assert_eq!(deltas.len(), 2);
    }

    #[test]
    fn old_changes_and_old_snapshots_are_skipped() {
        let mut view = RoomView::default();
        view.snapshot(10, vec![m(1)]);
        assert_eq!(view.enter(10, m(2)), None);
        assert_eq!(view.enter(11, m(2)), Some(Delta::Added(m(2))));
        assert_eq!(view.leave(12, 1), Some(Delta::Removed(1)));
        // A snapshot taken before change 12 would bring 1 back: skipped.
        assert!(view.snapshot(11, vec![m(1), m(2)]).is_empty());
        assert_eq!(view.len(), 1);
        // A newer one repairs: 2 gone (a dead node), 5 appeared.
        let deltas = view.snapshot(14, vec![m(5)]);
        assert_eq!(deltas, vec![Delta::Removed(2), Delta::Added(m(5))]);
    }

    #[test]
    fn resync_accepts_restarted_numbers() {
        let mut view = RoomView::default();
        view.snapshot(100, vec![m(1)]);
        view.resync();
        assert_eq!(view.snapshot(2, vec![m(1), m(4)]), vec![Delta::Added(m(4))]);
    }
}
