//! [`MemoryBackend`]: accounts in a mutex-guarded map of argon2id PHC
//! strings. Lost at exit; for tests, demos and single-node development.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::backend::Backend;
use crate::hash::HashParams;
use crate::hashed::HashedStore;
use crate::StoreError;

/// The in-memory [`Backend`].
#[derive(Debug, Default)]
pub struct MemoryBackend {
    accounts: Mutex<BTreeMap<String, String>>,
}

/// An in-memory account store (`--accounts memory`).
pub type MemoryStore = HashedStore<MemoryBackend>;

impl MemoryStore {
    /// An empty store hashing new passwords with `params`.
    pub fn new(params: HashParams) -> MemoryStore {
        HashedStore::with_backend(MemoryBackend::default(), &params)
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.backend().lock().len()
    }

    /// Whether there is no account.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored PHC string of `user_id` (for tests and inspection; it
    /// never holds the password itself).
    pub fn stored_hash(&self, user_id: &str) -> Option<String> {
        self.backend().lock().get(user_id).cloned()
    }
}

impl MemoryBackend {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, String>> {
        // Every write is a single map operation, so a panic elsewhere cannot
        // leave the map half-updated: a poisoned lock is still consistent.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for MemoryBackend {
    fn get(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().get(user_id).cloned())
    }

    fn insert_new(&self, user_id: &str, phc: &str) -> Result<bool, StoreError> {
        let mut accounts = self.lock();
        if accounts.contains_key(user_id) {
            return Ok(false);
        }
        accounts.insert(user_id.to_owned(), phc.to_owned());
        Ok(true)
    }

    fn replace(&self, user_id: &str, phc: &str) -> Result<bool, StoreError> {
        Ok(match self.lock().get_mut(user_id) {
            Some(stored) => {
                phc.clone_into(stored);
                true
            }
            None => false,
        })
    }

    fn remove(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().remove(user_id).is_some())
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().keys().cloned().collect())
    }

    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountStore, AuthOutcome};

    #[test]
    fn stored_hash_is_argon2id_not_the_password() {
        let store = MemoryStore::new(HashParams::fast_for_tests());
        assert!(store.is_empty());
        assert_eq!(
            store.authenticate("bob", "pw", true).ok(),
            Some(AuthOutcome::Registered)
        );
        assert_eq!(store.len(), 1);
        let phc = store.stored_hash("bob").expect("stored");
        assert!(phc.starts_with("$argon2id$"));
        assert!(!phc.contains("pw$"));
    }
}
