//! [`RedisBackend`]: accounts in Redis (`--accounts redis://HOST:PORT[/DB]`),
//! shared by every node that points at the same server.
//!
//! Each account is one hash, `<prefix><user id>`, with the fields `phc` (the
//! argon2id PHC string), `created` (Unix seconds) and, once its password
//! changed, `tokens_revoked_ms` (its resume tokens issued up to then are
//! revoked). Registration is `HSETNX`, so of two nodes registering one id
//! at once exactly one wins. The hash named by the prefix alone (no user id
//! is empty) maps deleted ids to their deletion time in Unix milliseconds
//! (see [`Backend`]); it is not an account.
//!
//! Connections are opened on demand and kept in a small idle pool; one that
//! fails is dropped, and the next call opens a fresh one, so the store
//! reconnects by itself after a Redis restart. Every connect, read and write
//! is bounded by the configured timeout; after a failed connect, calls fail
//! at once for a short back-off instead of each waiting for the timeout, so
//! a Redis outage turns logins into prompt "unavailable" answers.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::backend::Backend;
use crate::hash::HashParams;
use crate::hashed::HashedStore;
use crate::redact::redact;
use crate::StoreError;

/// The key prefix used when none is configured.
pub const DEFAULT_KEY_PREFIX: &str = "ringport:account:";

/// The field of an account's hash holding its token revocation time.
const REVOKED_FIELD: &str = "tokens_revoked_ms";

/// Idle connections kept for reuse (one per concurrent caller is enough;
/// callers beyond this open and close their own).
const MAX_IDLE: usize = 16;

/// The Redis [`Backend`].
pub struct RedisBackend {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    idle: Mutex<Vec<redis::Connection>>,
    /// Set after a failed connect: no new attempt before this instant.
    down_until: Mutex<Option<Instant>>,
    /// The address for messages (without credentials).
    shown: String,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("server", &self.shown)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// An account store in Redis.
pub type RedisStore = HashedStore<RedisBackend>;

impl RedisStore {
    /// A store for the Redis server at `url` (`redis://[:PASSWORD@]HOST:PORT[/DB]`),
    /// keeping accounts under `prefix`. Nothing is connected yet; see
    /// [`crate::AccountStore::ping`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if `url` is not a Redis URL.
    pub fn open(
        url: &str,
        prefix: &str,
        timeout: Duration,
        params: &HashParams,
    ) -> Result<RedisStore, StoreError> {
        let shown = redact(url);
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Unavailable(format!("redis {shown}: {e}")))?;
        let backend = RedisBackend {
            client,
            prefix: prefix.to_owned(),
            timeout,
            idle: Mutex::new(Vec::new()),
            down_until: Mutex::new(None),
            shown,
        };
        Ok(HashedStore::with_backend(backend, params))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `prefix` as a SCAN MATCH pattern matching exactly the keys that start
/// with it.
fn match_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    pattern
}

impl RedisBackend {
    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        // The guarded values (a list of connections, an instant) are always
        // consistent between operations.
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn key(&self, user_id: &str) -> String {
        format!("{}{user_id}", self.prefix)
    }

    fn unavailable(&self, what: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("redis {}: {what}", self.shown))
    }

    fn connect(&self) -> Result<redis::Connection, StoreError> {
        if let Some(until) = *Self::lock(&self.down_until) {
            if Instant::now() < until {
                return Err(self.unavailable("unreachable (retrying shortly)"));
            }
        }
        let connected = self
            .client
            .get_connection_with_timeout(self.timeout)
            .and_then(|conn| {
                conn.set_read_timeout(Some(self.timeout))?;
                conn.set_write_timeout(Some(self.timeout))?;
                Ok(conn)
            });
        match connected {
            Ok(conn) => {
                *Self::lock(&self.down_until) = None;
                Ok(conn)
            }
            Err(e) => {
                let backoff = self.timeout.min(Duration::from_millis(500));
                *Self::lock(&self.down_until) = Some(Instant::now() + backoff);
                Err(self.unavailable(e))
            }
        }
    }

    /// Runs `f` on a pooled connection; a connection that failed is dropped
    /// rather than pooled, so the next call reconnects.
    fn with_conn<T>(
        &self,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let pooled = Self::lock(&self.idle).pop();
        let was_pooled = pooled.is_some();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let mut result = f(&mut conn);
        if was_pooled && matches!(&result, Err(e) if e.is_io_error() || e.is_connection_dropped()) {
            // An idle connection from before a Redis restart is dead; one
            // fresh attempt (every command used here may safely run twice).
            conn = self.connect()?;
            result = f(&mut conn);
        }
        match result {
            Ok(value) => {
                let mut idle = Self::lock(&self.idle);
                if idle.len() < MAX_IDLE {
                    idle.push(conn);
                }
                Ok(value)
            }
            Err(e) => Err(self.unavailable(e)),
        }
    }
}

impl Backend for RedisBackend {
    fn get(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        let key = self.key(user_id);
        self.with_conn(|c| redis::cmd("HGET").arg(&key).arg("phc").query(c))
    }

    fn insert_new(&self, user_id: &str, phc: &str) -> Result<bool, StoreError> {
        let key = self.key(user_id);
        let won: i64 =
            self.with_conn(|c| redis::cmd("HSETNX").arg(&key).arg("phc").arg(phc).query(c))?;
        if won == 1 {
            // Bookkeeping only; the account already exists and counts.
            let _ = self.with_conn(|c| {
                redis::cmd("HSET")
                    .arg(&key)
                    .arg("created")
                    .arg(unix_now())
                    .query::<i64>(c)
            });
        }
        Ok(won == 1)
    }

    fn replace(&self, user_id: &str, phc: &str, revoked_ms: u64) -> Result<bool, StoreError> {
        let key = self.key(user_id);
        // HSETNX never overwrites and HSET would create: check existence and
        // write in one MULTI so a concurrent delete cannot be undone.
        self.with_conn(|c| {
            redis::cmd("WATCH").arg(&key).query::<()>(c)?;
            let exists: bool = redis::cmd("EXISTS").arg(&key).query(c)?;
            if !exists {
                redis::cmd("UNWATCH").query::<()>(c)?;
                return Ok(false);
            }
            let done: Option<(i64,)> = redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(&key)
                .arg("phc")
                .arg(phc)
                .arg(REVOKED_FIELD)
                .arg(revoked_ms)
                .query(c)?;
            Ok(done.is_some())
        })
    }

    fn remove(&self, user_id: &str, revoked_ms: u64) -> Result<bool, StoreError> {
        let key = self.key(user_id);
        // One MULTI: the account goes and its tombstone comes together (a
        // tombstone for an id that did not exist revokes nothing valid).
        let (removed, _): (i64, i64) = self.with_conn(|c| {
            redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(&key)
                .cmd("HSET")
                .arg(&self.prefix)
                .arg(user_id)
                .arg(revoked_ms)
                .query(c)
        })?;
        Ok(removed == 1)
    }

    fn tokens_revoked_ms(&self, user_id: &str) -> Result<Option<u64>, StoreError> {
        let key = self.key(user_id);
        let ((phc, revoked), deleted): ((Option<String>, Option<u64>), Option<u64>) = self
            .with_conn(|c| {
                redis::pipe()
                    .atomic()
                    .cmd("HMGET")
                    .arg(&key)
                    .arg("phc")
                    .arg(REVOKED_FIELD)
                    .cmd("HGET")
                    .arg(&self.prefix)
                    .arg(user_id)
                    .query(c)
            })?;
        Ok(phc.map(|_| revoked.unwrap_or(0).max(deleted.unwrap_or(0))))
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        let pattern = match_pattern(&self.prefix);
        let mut ids = self.with_conn(|c| {
            let mut ids = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(c)?;
                // The prefix alone is the tombstone hash, not an account.
                ids.extend(keys.into_iter().filter_map(|k| {
                    k.strip_prefix(&self.prefix)
                        .filter(|id| !id.is_empty())
                        .map(str::to_owned)
                }));
                if next == 0 {
                    return Ok(ids);
                }
                cursor = next;
            }
        })?;
        ids.sort_unstable();
        ids.dedup(); // SCAN may return a key twice
        Ok(ids)
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|c| redis::cmd("PING").query::<String>(c))
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_pattern_escapes_glob_characters() {
        assert_eq!(match_pattern("ringport:account:"), "ringport:account:*");
        assert_eq!(match_pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
    }

    #[test]
    fn a_bad_url_is_refused_without_showing_the_password() {
        let err = RedisStore::open(
            "redis://:hunter2@[bad",
            DEFAULT_KEY_PREFIX,
            Duration::from_secs(1),
            &HashParams::fast_for_tests(),
        )
        .expect_err("bad url");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
