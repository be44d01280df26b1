//! ringport account stores: the [`AccountStore`] trait a host calls off the
//! logic thread to answer the chat machine's password checks (and that
//! `ringport user` calls to administer accounts), its outcome and error
//! types, the argon2id [`HashParams`], and three stores:
//!
//! - [`SqliteStore`] (`sqlite:PATH`, the default): one embedded file;
//! - [`RedisStore`] (`redis://HOST:PORT[/DB]`): shared by several nodes;
//! - [`MemoryStore`] (`memory`): tests and demos.
//!
//! All three are a [`HashedStore`] over a [`Backend`] that keeps PHC strings:
//! the hashing, the checks and the registration race are written once.
//! Passwords are stored only as argon2id PHC strings (salted, parameters
//! included) and checked with the argon2 crate's constant-time verification;
//! they are never stored or logged in plain text.
//!
//! # Place
//!
//! This is the I/O side of a login; `ringport-chat` (the sans-IO machine)
//! is the other. The machine owns the request and answer types
//! ([`AuthRequest`], [`AuthResult`]) and the [`Authenticator`] interface;
//! this crate implements it for every store and maps an [`AuthOutcome`] or
//! a [`StoreError`] to an [`AuthResult`]. Dependencies point one way: this
//! crate depends on the machine, the machine does not know it.
//!
//! # Modules
//!
//! `backend` (the [`Backend`] contract), `hash` (argon2id, one reused
//! buffer per thread), `hashed` ([`HashedStore`]), `memory`, `sqlite`,
//! `redis` (the three backends), `spec` ([`StoreSpec`]: which store
//! `--accounts` names, and [`open_store`]), `redact` (URLs without their
//! password, for logs; used by `spec`, `redis` and the host) and `testing`
//! (feature `testing`: a real `redis-server` for tests).
#![forbid(unsafe_code)]

mod backend;
mod hash;
mod hashed;
mod memory;
mod redact;
mod redis;
mod spec;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use backend::Backend;
pub use hash::HashParams;
pub use hashed::HashedStore;
pub use memory::{MemoryBackend, MemoryStore};
pub use redact::redact;
pub use redis::{RedisBackend, RedisStore, DEFAULT_KEY_PREFIX};
pub use spec::{open_store, SpecError, StoreOptions, StoreSpec, DEFAULT_STORE};
pub use sqlite::{SqliteBackend, SqliteStore, SCHEMA_VERSION};

use ringport_chat::{AuthRequest, AuthResult, Authenticator, Credential};

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

    /// Creates `user_id` with `password`; `false` (and no change) if it
    /// exists already.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn add_user(&self, user_id: &str, password: &str) -> Result<bool, StoreError>;

    /// Sets a new password for an existing account and revokes the resume
    /// tokens issued before; `false` if there is no such account (none is
    /// created).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn set_password(&self, user_id: &str, password: &str) -> Result<bool, StoreError>;

    /// Deletes `user_id`; `false` if there was no such account. Its resume
    /// tokens are revoked (also if the id is registered again).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn delete_user(&self, user_id: &str) -> Result<bool, StoreError>;

    /// Whether a resume token of `user_id` issued at `issued_ms` (Unix
    /// milliseconds), whose signature and expiry were checked already,
    /// still holds: `false` if the user's tokens were revoked at or after
    /// `issued_ms` (a password change, a deletion) or the user is gone.
    /// One read, no password hash.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn check_token(&self, user_id: &str, issued_ms: u64) -> Result<bool, StoreError>;

    /// Every user id, sorted.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the store cannot answer.
    fn list_users(&self) -> Result<Vec<String>, StoreError>;

    /// Whether the store answers right now (readiness checks, start-up).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if it does not.
    fn ping(&self) -> Result<(), StoreError>;
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
    /// The store answered, but this account's record cannot be used (a
    /// stored hash that is unreadable, or whose cost is beyond the caps):
    /// that login fails (34), the store is not down. The message is for
    /// logs (it never contains the hash or a password).
    #[error("account record unusable: {0}")]
    BadRecord(String),
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

/// The answer a store's reply gives the machine: accepted or registered is
/// [`AuthResult::Accepted`], rejected is [`AuthResult::Rejected`], a store
/// that could not answer is [`AuthResult::Unavailable`] (34).
pub fn auth_result(answer: Result<AuthOutcome, StoreError>) -> AuthResult {
    answer.map_or_else(AuthResult::from, AuthResult::from)
}

/// The answer a token check gives the machine: holds is
/// [`AuthResult::Accepted`], revoked or gone is [`AuthResult::Rejected`]
/// (113), a store that could not answer is [`AuthResult::Unavailable`] (34).
pub fn token_result(answer: Result<bool, StoreError>) -> AuthResult {
    match answer {
        Ok(true) => AuthResult::Accepted,
        Ok(false) => AuthResult::Rejected,
        Err(e) => AuthResult::from(e),
    }
}

impl<B: Backend> Authenticator for HashedStore<B> {
    fn check(&self, request: &AuthRequest) -> AuthResult {
        match &request.credential {
            Credential::Password(password) => auth_result(self.authenticate(
                &request.user_id,
                password.expose(),
                request.auto_register,
            )),
            Credential::Token { issued_ms } => {
                token_result(self.check_token(&request.user_id, *issued_ms))
            }
        }
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
        assert_eq!(auth_result(Err(down)), AuthResult::Unavailable);
        assert_eq!(
            auth_result(Ok(AuthOutcome::Registered)),
            AuthResult::Accepted
        );
    }
}
