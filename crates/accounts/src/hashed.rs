//! [`HashedStore`]: the [`AccountStore`] every backend shares — argon2id
//! hashing, constant-time checks, atomic auto-registration — over a
//! [`Backend`] that keeps PHC strings.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::backend::Backend;
use crate::hash::{decoy_hash, hash_password, verify_password, HashParams, Hasher};
use crate::{AccountStore, AuthOutcome, StoreError};

/// An [`AccountStore`] over a [`Backend`].
///
/// Hashing never happens while the backend holds a lock or a connection
/// busy: a registration hashes first, then inserts only if the id is still
/// free; if another registration won meanwhile, the password is checked
/// against the winner's hash.
#[derive(Debug)]
pub struct HashedStore<B> {
    backend: B,
    /// The hasher for new passwords, or why the parameters were refused
    /// (every call that hashes then fails with [`StoreError::Unavailable`]).
    hasher: Result<Hasher, String>,
    /// A hash of no password, with the configured cost, checked when an
    /// unknown id logs in without auto-registration, so that answer takes
    /// as long as a wrong password and does not tell which ids exist. Made
    /// without hashing (random salt and output), so building a store costs
    /// no argon2 memory on the thread that builds it.
    decoy: Option<String>,
}

impl<B: Backend> HashedStore<B> {
    /// A store over `backend` hashing new passwords with `params`.
    pub fn with_backend(backend: B, params: &HashParams) -> HashedStore<B> {
        let hasher = params.hasher().map_err(|e| e.to_string());
        let decoy = hasher.as_ref().ok().and_then(|h| decoy_hash(h).ok());
        HashedStore {
            backend,
            hasher,
            decoy,
        }
    }

    /// The backend (for inspection in tests and tools).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn hash(&self, password: &str) -> Result<String, StoreError> {
        let hasher = self
            .hasher
            .as_ref()
            .map_err(|e| StoreError::Unavailable(e.clone()))?;
        hash_password(hasher, password)
    }

    fn check(phc: &str, password: &str) -> Result<AuthOutcome, StoreError> {
        Ok(if verify_password(phc, password)? {
            AuthOutcome::Accepted
        } else {
            AuthOutcome::Rejected
        })
    }
}

impl<B: Backend> AccountStore for HashedStore<B> {
    fn authenticate(
        &self,
        user_id: &str,
        password: &str,
        auto_register: bool,
    ) -> Result<AuthOutcome, StoreError> {
        if let Some(phc) = self.backend.get(user_id)? {
            return Self::check(&phc, password);
        }
        if !auto_register {
            if let Some(decoy) = &self.decoy {
                let _ = verify_password(decoy, password);
            }
            return Ok(AuthOutcome::Rejected);
        }
        let phc = self.hash(password)?;
        if self.backend.insert_new(user_id, &phc)? {
            return Ok(AuthOutcome::Registered);
        }
        match self.backend.get(user_id)? {
            Some(winner) => Self::check(&winner, password),
            // Registered and deleted again in between: treat as a lost race.
            None => Ok(AuthOutcome::Rejected),
        }
    }

    fn add_user(&self, user_id: &str, password: &str) -> Result<bool, StoreError> {
        let phc = self.hash(password)?;
        self.backend.insert_new(user_id, &phc)
    }

    fn set_password(&self, user_id: &str, password: &str) -> Result<bool, StoreError> {
        let phc = self.hash(password)?;
        self.backend.replace(user_id, &phc, unix_ms_now())
    }

    fn delete_user(&self, user_id: &str) -> Result<bool, StoreError> {
        self.backend.remove(user_id, unix_ms_now())
    }

    fn check_token(&self, user_id: &str, issued_ms: u64) -> Result<bool, StoreError> {
        // One indexed read, no hashing: token logins stay cheap.
        Ok(matches!(
            self.backend.tokens_revoked_ms(user_id)?,
            Some(revoked) if issued_ms > revoked
        ))
    }

    fn list_users(&self) -> Result<Vec<String>, StoreError> {
        self.backend.list()
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.backend.ping()
    }
}

/// The Unix time in milliseconds (0 before 1970: nothing is revoked then).
pub(crate) fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
