//! Accounts: the [`AccountStore`] trait the host calls off the logic thread
//! to answer an [`crate::AuthRequest`], its outcome and error types, the
//! argon2id [`HashParams`], and [`MemoryStore`], an in-memory store (tests,
//! single-node development). The SQLite and Redis stores implement the same
//! trait.
//!
//! Passwords are stored only as argon2id PHC strings (salted, parameters
//! included) and checked with the argon2 crate's constant-time verification;
//! they are never stored or logged in plain text.

mod hash;
mod memory;

pub use hash::HashParams;
pub use memory::MemoryStore;

use crate::outbound::AuthResult;

/// A place where accounts live.
///
/// Calls block (hashing takes milliseconds on purpose; a network store
/// waits on the network), so the host runs them on a worker pool, never on
/// the logic thread.
pub trait AccountStore: Send + Sync + 'static {
    /// Checks the password of `user_id`. With `auto_register` an unknown id
    /// is created with this password, atomically: of two concurrent
    /// registrations of one id one wins ([`AuthOutcome::Registered`]), the
    /// other is checked against the winner's password.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot be reached or fails;
    /// the login is answered with 34.
    fn authenticate(
        &self,
        user_id: &str,
        password: &str,
        auto_register: bool,
    ) -> Result<AuthOutcome, StoreError>;
}

/// What a store says about a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The id exists and the password is right.
    Accepted,
    /// The id did not exist and was created with this password.
    Registered,
    /// Wrong password, or unknown id without auto-registration.
    Rejected,
}

/// A store that could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or failed; the message is for logs (it
    /// never contains a password).
    #[error("account store unavailable: {0}")]
    Unavailable(String),
}

impl From<AuthOutcome> for AuthResult {
    fn from(outcome: AuthOutcome) -> AuthResult {
        match outcome {
            AuthOutcome::Accepted | AuthOutcome::Registered => AuthResult::Accepted,
            AuthOutcome::Rejected => AuthResult::Rejected,
        }
    }
}

impl From<StoreError> for AuthResult {
    fn from(_: StoreError) -> AuthResult {
        AuthResult::Unavailable
    }
}

impl From<Result<AuthOutcome, StoreError>> for AuthResult {
    fn from(answer: Result<AuthOutcome, StoreError>) -> AuthResult {
        answer.map_or_else(AuthResult::from, AuthResult::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_results() {
        assert_eq!(
            AuthResult::from(AuthOutcome::Accepted),
            AuthResult::Accepted
        );
        assert_eq!(
            AuthResult::from(AuthOutcome::Registered),
            AuthResult::Accepted
        );
        assert_eq!(
            AuthResult::from(AuthOutcome::Rejected),
            AuthResult::Rejected
        );
        let down = StoreError::Unavailable("connection refused".into());
        assert_eq!(
            down.to_string(),
            "account store unavailable: connection refused"
        );
        assert_eq!(AuthResult::from(Err(down)), AuthResult::Unavailable);
        assert_eq!(
            AuthResult::from(Ok(AuthOutcome::Registered)),
            AuthResult::Accepted
        );
    }
}
