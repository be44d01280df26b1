//! [`Backend`]: where a store keeps its records. A record is a user id and
//! the argon2id PHC string of its password; hashing and checking happen
//! above the backend, in [`crate::HashedStore`], so every backend stores
//! only PHC strings and never sees a password.

use crate::StoreError;

/// Raw account records: user id → PHC string.
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

    /// Replaces the PHC string of an existing account; `false` if there is
    /// no such account (nothing is created).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn replace(&self, user_id: &str, phc: &str) -> Result<bool, StoreError>;

    /// Deletes `user_id`; `false` if there was no such account.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn remove(&self, user_id: &str) -> Result<bool, StoreError>;

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
