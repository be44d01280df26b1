//! Account-store flags shared by `ringport serve` and `ringport user`.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ringport_chat::accounts::{DEFAULT_KEY_PREFIX, DEFAULT_STORE};
use ringport_chat::{open_store, AccountStore, HashParams, StoreOptions, StoreSpec};

/// Where accounts live and how passwords are hashed.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Account store: `sqlite:PATH` (embedded file, created on first run),
    /// `redis://[:PASSWORD@]HOST:PORT[/DB]` (shared by several nodes), or
    /// `memory` (lost at exit; tests and demos).
    #[arg(long, global = true, default_value = DEFAULT_STORE)]
    pub accounts: StoreSpec,

    /// Key prefix of the account hashes in Redis (`<prefix><user id>`).
    #[arg(long, global = true, default_value = DEFAULT_KEY_PREFIX)]
    pub accounts_prefix: String,

    /// Bound on one store operation in milliseconds (Redis connect, read and
    /// write timeouts; SQLite busy timeout). A login the store cannot answer
    /// in time gets result 34.
    #[arg(long, global = true, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub accounts_timeout_ms: u64,

    /// argon2id memory cost in KiB for new password hashes.
    #[arg(long, global = true, default_value_t = HashParams::default().memory_kib)]
    pub argon2_memory_kib: u32,

    /// argon2id iterations for new password hashes.
    #[arg(long, global = true, default_value_t = HashParams::default().iterations)]
    pub argon2_iterations: u32,

    /// argon2id lanes for new password hashes.
    #[arg(long, global = true, default_value_t = HashParams::default().parallelism)]
    pub argon2_parallelism: u32,
}

impl StoreArgs {
    /// The store options these flags describe.
    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            hash: HashParams {
                memory_kib: self.argon2_memory_kib,
                iterations: self.argon2_iterations,
                parallelism: self.argon2_parallelism,
            },
            redis_prefix: self.accounts_prefix.clone(),
            timeout: Duration::from_millis(self.accounts_timeout_ms),
        }
    }

    /// Opens the store.
    ///
    /// # Errors
    ///
    /// The argon2 parameters are invalid, the SQLite file cannot be opened,
    /// or the Redis URL is malformed.
    pub fn open(&self) -> anyhow::Result<Arc<dyn AccountStore>> {
        let options = self.options();
        options
            .hash
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid argon2 settings: {e}"))?;
        open_store(&self.accounts, &options)
            .map_err(|e| anyhow::anyhow!("cannot open account store {}: {e}", self.accounts))
    }
}
