//! [`Logins`]: who is logged in (user id → connection, for the 31 check), how
//! many login slots are taken (for the 32 check), and the two counters that
//! never repeat: account-check tickets and `user_unique_id`s.

use std::sync::Arc;

use crate::conn::ConnId;

/// Login bookkeeping shared by all sessions.
#[derive(Debug)]
pub(crate) struct Logins {
    /// Logged-in user ids. Keys are chosen by peers (any id can be
    /// auto-registered), so this map keeps std's keyed SipHash.
    by_user_id: std::collections::HashMap<Arc<str>, ConnId>,
    /// Sessions logged in or with a login in flight.
    slots_taken: usize,
    next_ticket: u64,
    next_unique_id: i64,
}

impl Default for Logins {
    fn default() -> Logins {
        Logins {
            by_user_id: std::collections::HashMap::default(),
            slots_taken: 0,
            next_ticket: 1,
            next_unique_id: 1,
        }
    }
}

impl Logins {
    /// Sessions logged in or logging in.
    pub(crate) fn slots_taken(&self) -> usize {
        self.slots_taken
    }

    /// A login starts (its account check is asked).
    pub(crate) fn take_slot(&mut self) {
        self.slots_taken += 1;
    }

    /// A login in flight failed or went away, or a logged-in session ended.
    pub(crate) fn release_slot(&mut self) {
        self.slots_taken = self.slots_taken.saturating_sub(1);
    }

    /// A fresh account-check ticket.
    pub(crate) fn next_ticket(&mut self) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        ticket
    }

    /// The session `user_id` is logged in on.
    pub(crate) fn session_of(&self, user_id: &str) -> Option<ConnId> {
        self.by_user_id.get(user_id).copied()
    }

    /// Records a successful login and gives it a `user_unique_id`; `None`
    /// (nothing recorded) once all 2^63 − 1 ids are used, which the caller
    /// reports as a full server rather than reuse an id.
    pub(crate) fn log_in(&mut self, user_id: Arc<str>, conn: ConnId) -> Option<i64> {
        let unique_id = self.next_unique_id;
        self.next_unique_id = unique_id.checked_add(1)?;
        self.by_user_id.insert(user_id, conn);
        Some(unique_id)
    }

    /// Records a login whose unique id was given elsewhere (by the cluster).
    pub(crate) fn log_in_as(&mut self, user_id: Arc<str>, conn: ConnId) {
        self.by_user_id.insert(user_id, conn);
    }

    /// Releases the login of `user_id` if it belongs to `conn`.
    pub(crate) fn log_out(&mut self, user_id: &str, conn: ConnId) {
        if self.by_user_id.get(user_id) == Some(&conn) {
            self.by_user_id.remove(user_id);
        }
    }

    /// Logged-in users.
    pub(crate) fn logged_in(&self) -> usize {
        self.by_user_id.len()
    }

    /// Every login (for the invariant checks).
    #[cfg(feature = "testing")]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, ConnId)> {
        self.by_user_id.iter().map(|(u, &c)| (&**u, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_count_from_1_and_are_never_reused() {
        let mut logins = Logins::default();
        assert_eq!(logins.log_in(Arc::from("a"), ConnId(1)), Some(1));
        logins.log_out("a", ConnId(1));
        assert_eq!(logins.log_in(Arc::from("a"), ConnId(2)), Some(2));
        // Logging out someone else's login does nothing.
        logins.log_out("a", ConnId(1));
        assert_eq!(logins.session_of("a"), Some(ConnId(2)));
    }

    #[test]
    fn exhausted_unique_ids_refuse_instead_of_wrapping() {
        let mut logins = Logins {
            next_unique_id: i64::MAX - 1,
            ..Logins::default()
        };
        assert_eq!(logins.log_in(Arc::from("a"), ConnId(1)), Some(i64::MAX - 1));
        assert_eq!(logins.log_in(Arc::from("b"), ConnId(2)), None);
        assert_eq!(logins.session_of("b"), None);
        assert_eq!(logins.logged_in(), 1);
    }

    #[test]
    fn tickets_differ() {
        let mut logins = Logins::default();
        let a = logins.next_ticket();
        let b = logins.next_ticket();
        assert_ne!(a, b);
    }
}
