//! [`MemoryStore`]: accounts in a mutex-guarded map of argon2id PHC strings.
//! Lost at exit; for tests and single-node development.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use argon2::Argon2;

use super::hash::{hash_password, verify_password, HashParams};
use super::{AccountStore, AuthOutcome, StoreError};

/// An in-memory [`AccountStore`].
///
/// The lock is held only to read or insert an entry, never while hashing, so
/// concurrent checks run in parallel. A registration hashes first, then
/// inserts only if the id is still free; if another registration won
/// meanwhile, the password is checked against the winner's hash.
#[derive(Debug)]
pub struct MemoryStore {
    accounts: Mutex<HashMap<String, String>>,
    /// The hasher for new accounts, or why the parameters were refused
    /// (every call then fails with [`StoreError::Unavailable`]).
    hasher: Result<Argon2<'static>, String>,
    /// A hash of nothing in particular, checked when an unknown id logs in
    /// without auto-registration, so that answer takes as long as a wrong
    /// password and does not tell which ids exist.
    decoy: Option<String>,
}

impl MemoryStore {
    /// An empty store hashing new passwords with `params`.
    pub fn new(params: HashParams) -> MemoryStore {
        let hasher = params.hasher().map_err(|e| e.to_string());
        let decoy = hasher
            .as_ref()
            .ok()
            .and_then(|h| hash_password(h, "decoy password").ok());
        MemoryStore {
            accounts: Mutex::new(HashMap::new()),
            hasher,
            decoy,
        }
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there is no account.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored PHC string of `user_id` (for tests and inspection; it
    /// never holds the password itself).
    pub fn stored_hash(&self, user_id: &str) -> Option<String> {
        self.lock().get(user_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic elsewhere cannot leave the map half-updated (one insert is
        // the only write), so a poisoned lock is still consistent.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check(phc: &str, password: &str) -> Result<AuthOutcome, StoreError> {
        Ok(if verify_password(phc, password)? {
            AuthOutcome::Accepted
        } else {
            AuthOutcome::Rejected
        })
    }
}

impl AccountStore for MemoryStore {
    fn authenticate(
        &self,
        user_id: &str,
        password: &str,
        auto_register: bool,
    ) -> Result<AuthOutcome, StoreError> {
        let hasher = self
            .hasher
            .as_ref()
            .map_err(|e| StoreError::Unavailable(e.clone()))?;
        let existing = self.lock().get(user_id).cloned();
        if let Some(phc) = existing {
            return Self::check(&phc, password);
        }
        if !auto_register {
            if let Some(decoy) = &self.decoy {
                let _ = verify_password(decoy, password);
            }
            return Ok(AuthOutcome::Rejected);
        }
        let phc = hash_password(hasher, password)?;
        let mut accounts = self.lock();
        if let Some(winner) = accounts.get(user_id) {
            let winner = winner.clone();
            drop(accounts);
            return Self::check(&winner, password);
        }
        accounts.insert(user_id.to_owned(), phc);
        Ok(AuthOutcome::Registered)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn store() -> MemoryStore {
        MemoryStore::new(HashParams::fast_for_tests())
    }

    #[test]
    fn registers_then_checks() {
        let store = store();
        assert!(store.is_empty());
        assert_eq!(
            store.authenticate("bob", "pw", true).ok(),
            Some(AuthOutcome::Registered)
        );
        assert_eq!(
            store.authenticate("bob", "pw", true).ok(),
            Some(AuthOutcome::Accepted)
        );
        assert_eq!(
            store.authenticate("bob", "pw", false).ok(),
            Some(AuthOutcome::Accepted)
        );
        assert_eq!(
            store.authenticate("bob", "nope", true).ok(),
            Some(AuthOutcome::Rejected)
        );
        assert_eq!(store.len(), 1);
        let phc = store.stored_hash("bob").expect("stored");
        assert!(phc.starts_with("$argon2id$"));
        assert!(!phc.contains("pw$"));
    }

    #[test]
    fn unknown_id_without_auto_registration_is_rejected() {
        let store = store();
        assert_eq!(
            store.authenticate("ann", "pw", false).ok(),
            Some(AuthOutcome::Rejected)
        );
        assert!(store.is_empty());
    }

    #[test]
    fn invalid_params_make_the_store_unavailable() {
        let store = MemoryStore::new(HashParams {
            memory_kib: 0,
            iterations: 0,
            parallelism: 0,
        });
        assert!(matches!(
            store.authenticate("bob", "pw", true),
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn concurrent_registrations_of_one_id_have_one_winner() {
        for _ in 0..20 {
            let store = Arc::new(store());
            let threads: Vec<_> = ["first", "second", "third", "first"]
                .into_iter()
                .map(|pw| {
                    let store = Arc::clone(&store);
                    std::thread::spawn(move || (pw, store.authenticate("same", pw, true).ok()))
                })
                .collect();
            let answers: Vec<_> = threads.into_iter().filter_map(|t| t.join().ok()).collect();
            let winners: Vec<_> = answers
                .iter()
                .filter(|(_, a)| *a == Some(AuthOutcome::Registered))
                .collect();
            assert_eq!(winners.len(), 1, "{answers:?}");
            let winner_pw = winners[0].0;
            for (pw, answer) in &answers {
                let expected = if *pw == winner_pw {
                    [Some(AuthOutcome::Registered), Some(AuthOutcome::Accepted)]
                } else {
                    [Some(AuthOutcome::Rejected), Some(AuthOutcome::Rejected)]
                };
                assert!(expected.contains(answer), "{pw}: {answer:?}");
            }
        }
    }
}
