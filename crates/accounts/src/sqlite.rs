//! [`SqliteBackend`]: accounts in an embedded SQLite file
//! (`--accounts sqlite:PATH`, the default).
//!
//! The file is created on first use. It runs in WAL mode with
//! `synchronous = FULL`: a registration is answered only after its commit is
//! in the WAL and the WAL is fsync'd, so neither a killed process (SIGKILL)
//! nor a power cut loses an account the server has confirmed. A
//! `schema_version` table records the layout so later versions can migrate
//! it; a file with a newer version than this build knows is refused.
//!
//! Schema 2 (resume tokens) adds `accounts.tokens_revoked_ms` (0 until the
//! password changes) and the table `deleted_accounts` (user id → deletion
//! time), see [`Backend`]; a version 1 file is migrated in place when it is
//! opened (and a version 1 ringport then refuses it as too new).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use crate::backend::Backend;
use crate::hash::HashParams;
use crate::hashed::HashedStore;
use crate::StoreError;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 2;

/// The SQLite [`Backend`]: one connection, used under a mutex (every
/// statement is a single indexed row operation; hashing happens outside).
#[derive(Debug)]
pub struct SqliteBackend {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// An account store in an SQLite file (`--accounts sqlite:PATH`).
pub type SqliteStore = HashedStore<SqliteBackend>;

impl SqliteStore {
    /// Opens (creating if needed) the account file at `path`. `busy_timeout`
    /// bounds how long a statement waits for another process holding the
    /// file's write lock (`ringport user` while the server runs).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the file cannot be opened or created,
    /// is not an SQLite database, or has a newer schema than this build.
    pub fn open(
        path: &Path,
        params: &HashParams,
        busy_timeout: Duration,
    ) -> Result<SqliteStore, StoreError> {
        let backend = SqliteBackend::open(path, busy_timeout)?;
        Ok(HashedStore::with_backend(backend, params))
    }
}

fn unavailable(path: &Path, e: &rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite {}: {e}", path.display()))
}

impl SqliteBackend {
    fn open(path: &Path, busy_timeout: Duration) -> Result<SqliteBackend, StoreError> {
        let err = |e: rusqlite::Error| unavailable(path, &e);
        let mut conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(busy_timeout).map_err(err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!(
                "sqlite {}: cannot switch to WAL mode (journal_mode is {mode})",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        migrate(&mut conn).map_err(|e| match e {
            Migration::Sql(e) => unavailable(path, &e),
            Migration::TooNew(v) => StoreError::Unavailable(format!(
                "sqlite {}: schema version {v} is newer than this ringport understands \
                 ({SCHEMA_VERSION}); use a newer ringport",
                path.display()
            )),
        })?;
        Ok(SqliteBackend {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent
        // (statements are atomic), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn err(&self, e: &rusqlite::Error) -> StoreError {
        unavailable(&self.path, e)
    }
}

enum Migration {
    Sql(rusqlite::Error),
    TooNew(i64),
}

impl From<rusqlite::Error> for Migration {
    fn from(e: rusqlite::Error) -> Migration {
        Migration::Sql(e)
    }
}

/// Brings the schema to [`SCHEMA_VERSION`] in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), Migration> {
    let tx = conn.transaction()?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let version: Option<i64> = tx
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| {
            row.get(0)
        })
        .optional()?
        .flatten();
    match version {
        None => {
            tx.execute_batch(
                "CREATE TABLE accounts (
                     user_id           TEXT PRIMARY KEY NOT NULL,
                     phc               TEXT NOT NULL,
                     created_at        INTEGER NOT NULL,
                     tokens_revoked_ms INTEGER NOT NULL DEFAULT 0
                 );
                 CREATE TABLE deleted_accounts (
                     user_id           TEXT PRIMARY KEY NOT NULL,
                     tokens_revoked_ms INTEGER NOT NULL
                 );
                 INSERT INTO schema_version (version) VALUES (2);",
            )?;
        }
        Some(1) => {
            // 1 → 2: token revocation. Existing accounts revoke nothing.
            tx.execute_batch(
                "ALTER TABLE accounts
                     ADD COLUMN tokens_revoked_ms INTEGER NOT NULL DEFAULT 0;
                 CREATE TABLE deleted_accounts (
                     user_id           TEXT PRIMARY KEY NOT NULL,
                     tokens_revoked_ms INTEGER NOT NULL
                 );
                 INSERT INTO schema_version (version) VALUES (2);",
            )?;
        }
        Some(v) if v > SCHEMA_VERSION => return Err(Migration::TooNew(v)),
        Some(_) => {}
    }
    tx.commit()?;
    Ok(())
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A Unix millisecond time as an SQLite integer (which is signed).
fn as_sql(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

impl Backend for SqliteBackend {
    fn get(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        self.lock()
            .prepare_cached("SELECT phc FROM accounts WHERE user_id = ?1")
            .and_then(|mut stmt| stmt.query_row([user_id], |row| row.get(0)).optional())
            .map_err(|e| self.err(&e))
    }

    fn insert_new(&self, user_id: &str, phc: &str) -> Result<bool, StoreError> {
        self.lock()
            .prepare_cached(
                "INSERT OR IGNORE INTO accounts (user_id, phc, created_at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut stmt| stmt.execute(params![user_id, phc, now_unix()]))
            .map(|changed| changed == 1)
            .map_err(|e| self.err(&e))
    }

    fn replace(&self, user_id: &str, phc: &str, revoked_ms: u64) -> Result<bool, StoreError> {
        self.lock()
            .prepare_cached(
                "UPDATE accounts SET phc = ?2, tokens_revoked_ms = ?3 WHERE user_id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![user_id, phc, as_sql(revoked_ms)]))
            .map(|changed| changed == 1)
            .map_err(|e| self.err(&e))
    }

    fn remove(&self, user_id: &str, revoked_ms: u64) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let removed = (|| {
            let tx = conn.transaction()?;
            let changed = tx.execute("DELETE FROM accounts WHERE user_id = ?1", [user_id])?;
            if changed == 1 {
                tx.execute(
                    "INSERT OR REPLACE INTO deleted_accounts (user_id, tokens_revoked_ms) \
                     VALUES (?1, ?2)",
                    params![user_id, as_sql(revoked_ms)],
                )?;
            }
            tx.commit()?;
            Ok(changed == 1)
        })();
        removed.map_err(|e: rusqlite::Error| self.err(&e))
    }

    fn tokens_revoked_ms(&self, user_id: &str) -> Result<Option<u64>, StoreError> {
        let revoked: Option<i64> = self
            .lock()
            .prepare_cached(
                "SELECT MAX(a.tokens_revoked_ms, COALESCE(d.tokens_revoked_ms, 0)) \
                 FROM accounts a LEFT JOIN deleted_accounts d ON d.user_id = a.user_id \
                 WHERE a.user_id = ?1",
            )
            .and_then(|mut stmt| stmt.query_row([user_id], |row| row.get(0)).optional())
            .map_err(|e| self.err(&e))?;
        Ok(revoked.map(|ms| u64::try_from(ms).unwrap_or(0)))
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT user_id FROM accounts ORDER BY user_id")
            .map_err(|e| self.err(&e))?;
        let rows = stmt
            .query_map([], |row| row.get(0))
            .map_err(|e| self.err(&e))?;
        rows.collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.err(&e))
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.lock()
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(|e| self.err(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_schema_once_and_refuses_newer_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("accounts.db");
        let params = HashParams::fast_for_tests();
        let timeout = Duration::from_secs(1);
        drop(SqliteStore::open(&path, &params, timeout).expect("create"));
        drop(SqliteStore::open(&path, &params, timeout).expect("reopen"));
        let conn = Connection::open(&path).expect("raw open");
        let versions: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
            .expect("count");
        assert_eq!(versions, 1);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        conn.execute("INSERT INTO schema_version (version) VALUES (99)", [])
            .expect("bump");
        drop(conn);
        let err = SqliteStore::open(&path, &params, timeout).expect_err("too new");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    #[test]
    fn a_version_1_file_is_migrated_and_keeps_its_accounts() {
        use crate::AccountStore;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let params = HashParams::fast_for_tests();
        let phc =
            crate::hash::hash_password(&params.hasher().expect("hasher"), "pw").expect("hash");
        {
            // Exactly what the previous version created.
            let conn = Connection::open(&path).expect("raw open");
            conn.execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE schema_version (version INTEGER NOT NULL);
                 CREATE TABLE accounts (
                     user_id    TEXT PRIMARY KEY NOT NULL,
                     phc        TEXT NOT NULL,
                     created_at INTEGER NOT NULL
                 );
                 INSERT INTO schema_version (version) VALUES (1);",
            )
            .expect("v1 schema");
            conn.execute(
                "INSERT INTO accounts (user_id, phc, created_at) VALUES ('old', ?1, 1)",
                [&phc],
            )
            .expect("v1 account");
        }
        let timeout = Duration::from_secs(1);
        let store = SqliteStore::open(&path, &params, timeout).expect("migrate");
        assert_eq!(
            store.authenticate("old", "pw", false).ok(),
            Some(crate::AuthOutcome::Accepted)
        );
        assert_eq!(store.check_token("old", 5).ok(), Some(true));
        assert!(store.set_password("old", "new").expect("passwd"));
        assert_eq!(store.check_token("old", 5).ok(), Some(false));
        drop(store);
        // Reopening a migrated file migrates nothing again.
        let store = SqliteStore::open(&path, &params, timeout).expect("reopen");
        assert_eq!(
            store.authenticate("old", "new", false).ok(),
            Some(crate::AuthOutcome::Accepted)
        );
        drop(store);
        let conn = Connection::open(&path).expect("raw open");
        let versions: Vec<i64> = conn
            .prepare("SELECT version FROM schema_version ORDER BY version")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("versions");
        assert_eq!(versions, [1, 2]);
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![b'x'; 4096]).expect("write");
        let err = SqliteStore::open(&path, &HashParams::fast_for_tests(), Duration::from_secs(1))
            .expect_err("junk");
        assert!(err.to_string().contains("junk.db"), "{err}");
    }
}
