//! [`StoreSpec`]: which account store to open, parsed from the `--accounts`
//! value (`sqlite:PATH`, `redis://HOST:PORT[/DB]`, `memory`), and
//! [`open_store`], which opens it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::hash::HashParams;
use crate::redact::redact;
use crate::{AccountStore, MemoryStore, RedisStore, SqliteStore, StoreError};

/// The default `--accounts` value: an SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite:ringport.db";

/// A parsed `--accounts` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSpec {
    /// `memory`: accounts live while the process runs.
    Memory,
    /// `sqlite:PATH`: an embedded SQLite file.
    Sqlite(PathBuf),
    /// `redis://…` or `rediss://…`: a Redis server (the URL as given).
    Redis(String),
}

/// Why an `--accounts` value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unsupported account store {0:?}: expected `sqlite:PATH`, `redis://HOST:PORT[/DB]` or `memory`"
)]
pub struct SpecError(String);

impl std::str::FromStr for StoreSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<StoreSpec, SpecError> {
        if s == "memory" {
            Ok(StoreSpec::Memory)
        } else if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(SpecError(s.to_owned()));
            }
            Ok(StoreSpec::Sqlite(PathBuf::from(path)))
        } else if s.starts_with("redis://") || s.starts_with("rediss://") {
            Ok(StoreSpec::Redis(s.to_owned()))
        } else {
            Err(SpecError(redact(s)))
        }
    }
}

impl std::fmt::Display for StoreSpec {
    /// The spec for logs: a Redis password is replaced by `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreSpec::Memory => f.write_str("memory"),
            StoreSpec::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreSpec::Redis(url) => f.write_str(&redact(url)),
        }
    }
}

/// How to open a store, beyond its [`StoreSpec`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// argon2id costs for new passwords.
    pub hash: HashParams,
    /// Key prefix of the account hashes in Redis.
    pub redis_prefix: String,
    /// Bound on one store operation: Redis connect/read/write timeout,
    /// SQLite busy timeout.
    pub timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            hash: HashParams::default(),
            redis_prefix: crate::redis::DEFAULT_KEY_PREFIX.to_owned(),
            timeout: Duration::from_secs(2),
        }
    }
}

/// Opens the store `spec` names.
///
/// # Errors
///
/// [`StoreError::Unavailable`] if an SQLite file cannot be opened or a Redis
/// URL is malformed. An unreachable Redis server is not an error here: the
/// store connects on first use and reconnects by itself.
pub fn open_store(
    spec: &StoreSpec,
    options: &StoreOptions,
) -> Result<Arc<dyn AccountStore>, StoreError> {
    Ok(match spec {
        StoreSpec::Memory => Arc::new(MemoryStore::new(options.hash.clone())),
        StoreSpec::Sqlite(path) => {
            Arc::new(SqliteStore::open(path, &options.hash, options.timeout)?)
        }
        StoreSpec::Redis(url) => Arc::new(RedisStore::open(
            url,
            &options.redis_prefix,
            options.timeout,
            &options.hash,
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!("memory".parse(), Ok(StoreSpec::Memory));
        assert_eq!(
            "sqlite:ringport.db".parse(),
            Ok(StoreSpec::Sqlite("ringport.db".into()))
        );
        assert_eq!(
            "sqlite:/var/lib/ringport/a.db".parse(),
            Ok(StoreSpec::Sqlite("/var/lib/ringport/a.db".into()))
        );
        assert_eq!(
            "redis://127.0.0.1:6379/2".parse(),
            Ok(StoreSpec::Redis("redis://127.0.0.1:6379/2".into()))
        );
        assert!("sqlite:".parse::<StoreSpec>().is_err());
        assert!("postgres://x".parse::<StoreSpec>().is_err());
        assert_eq!(
            DEFAULT_STORE.parse(),
            Ok(StoreSpec::Sqlite("ringport.db".into()))
        );
    }

    #[test]
    fn passwords_never_show() {
        let spec: StoreSpec = "redis://:s3cret@host:1".parse().expect("redis");
        assert!(!spec.to_string().contains("s3cret"));
        let err = "mysql://u:s3cret@h"
            .parse::<StoreSpec>()
            .expect_err("refused");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
