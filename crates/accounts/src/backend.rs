//! [`Backend`]: where a store keeps its records. A record is a user id, the
//! argon2id PHC string of its password and the time (Unix milliseconds) up
//! to which its resume tokens are revoked; hashing and checking happen
//! above the backend, in [`crate::HashedStore`], so every backend stores
//! only PHC strings and never sees a password.

use crate::StoreError;

/// Raw account records: user id → PHC string and token revocation time.
///
/// Revocation: each account keeps `tokens_revoked_ms`, 0 for an account
/// whose password never changed; a password change sets it. Deleting an
/// account keeps the deletion time for its id (a tombstone, a few bytes per
/// deleted id), so an id deleted and registered again does not accept the
/// tokens of the deleted account: [`Backend::tokens_revoked_ms`] answers
/// the later of the two.
///
/// Every call may block (disk, network) and must finish within the store's
/// configured timeout, failing with [`StoreError::Unavailable`] otherwise.
pub trait Backend: Send + Sync + 'static {
    /// The PHC string of `user_id`, if the account exists.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn get(&self, user_id: &str) -> Result<Option<String>, StoreError>;

    /// Creates `user_id` with `phc` if it does not exist, atomically: of two
    /// concurrent calls for one id exactly one returns `true`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn insert_new(&self, user_id: &str, phc: &str) -> Result<bool, StoreError>;

    /// Replaces the PHC string of an existing account and revokes its
    /// tokens issued up to `revoked_ms` (Unix milliseconds), in one write;
    /// `false` if there is no such account (nothing is created).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn replace(&self, user_id: &str, phc: &str, revoked_ms: u64) -> Result<bool, StoreError>;

    /// Deletes `user_id`, remembering that tokens of the id issued up to
    /// `revoked_ms` are revoked; `false` if there was no such account.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn remove(&self, user_id: &str, revoked_ms: u64) -> Result<bool, StoreError>;

    /// The time (Unix milliseconds) up to which tokens of `user_id` are
    /// revoked: the later of its password change and a deletion of the id;
    /// `None` if the account does not exist.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn tokens_revoked_ms(&self, user_id: &str) -> Result<Option<u64>, StoreError>;

    /// Every user id, sorted.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn list(&self) -> Result<Vec<String>, StoreError>;

    /// Whether the store answers right now (a cheap round trip).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if it does not.
    fn ping(&self) -> Result<(), StoreError>;
}
