//! [`MemoryBackend`]: accounts in a mutex-guarded map of argon2id PHC
//! strings and token revocation times. Lost at exit; for tests, demos and
//! single-node development.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::backend::Backend;
use crate::hash::HashParams;
use crate::hashed::HashedStore;
use crate::StoreError;

/// The in-memory [`Backend`].
#[derive(Debug, Default)]
pub struct MemoryBackend {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// User id → (PHC string, tokens revoked up to this Unix ms).
    accounts: BTreeMap<String, (String, u64)>,
    /// Deleted ids → when they were deleted (Unix ms).
    deleted: BTreeMap<String, u64>,
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
        self.backend().lock().accounts.len()
    }

    /// Whether there is no account.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored PHC string of `user_id` (for tests and inspection; it
    /// never holds the password itself).
    pub fn stored_hash(&self, user_id: &str) -> Option<String> {
        self.backend()
            .lock()
            .accounts
            .get(user_id)
            .map(|(phc, _)| phc.clone())
    }
}

impl MemoryBackend {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every write is a map operation or two that cannot panic, so a
        // panic elsewhere cannot leave the maps half-updated: a poisoned
        // lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for MemoryBackend {
    fn get(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .accounts
            .get(user_id)
            .map(|(phc, _)| phc.clone()))
    }

    fn insert_new(&self, user_id: &str, phc: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.accounts.contains_key(user_id) {
            return Ok(false);
        }
        inner
            .accounts
            .insert(user_id.to_owned(), (phc.to_owned(), 0));
        Ok(true)
    }

    fn replace(&self, user_id: &str, phc: &str, revoked_ms: u64) -> Result<bool, StoreError> {
        Ok(match self.lock().accounts.get_mut(user_id) {
            Some((stored, revoked)) => {
                phc.clone_into(stored);
                *revoked = revoked_ms;
                true
            }
            None => false,
        })
    }

    fn remove(&self, user_id: &str, revoked_ms: u64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let existed = inner.accounts.remove(user_id).is_some();
        if existed {
            inner.deleted.insert(user_id.to_owned(), revoked_ms);
        }
        Ok(existed)
    }

    fn tokens_revoked_ms(&self, user_id: &str) -> Result<Option<u64>, StoreError> {
        let inner = self.lock();
        let deleted = inner.deleted.get(user_id).copied().unwrap_or(0);
        Ok(inner
            .accounts
            .get(user_id)
            .map(|&(_, revoked)| revoked.max(deleted)))
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().accounts.keys().cloned().collect())
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
