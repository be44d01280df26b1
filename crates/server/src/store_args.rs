//! Account-store flags shared by `ringport serve` and `ringport user`, and
//! opening the store `[accounts]` names. Each flag overrides its key only
//! when given.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use ringport_accounts::{open_store, AccountStore};

use crate::config::AccountsSection;
use crate::engine_args::set;

/// Where accounts live and how passwords are hashed.
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArgs {
    /// Account store: `sqlite:PATH` (embedded file, created on first run),
    /// `redis://[:PASSWORD@]HOST:PORT[/DB]` (shared by several nodes), or
    /// `memory` (lost at exit). [accounts.store; default sqlite:ringport.db]
    #[arg(long, global = true)]
    pub accounts: Option<String>,

    /// Key prefix of the account hashes in Redis.
    /// [accounts.redis_prefix; default ringport:account:]
    #[arg(long, global = true)]
    pub accounts_prefix: Option<String>,

    /// Milliseconds one store call may take; a login the store cannot answer
    /// in time gets 34. [accounts.timeout_ms; default 2000]
    #[arg(long, global = true)]
    pub accounts_timeout_ms: Option<u64>,

    /// argon2id memory cost in KiB. [accounts.argon2_memory_kib; default 19456]
    #[arg(long, global = true)]
    pub argon2_memory_kib: Option<u32>,

    /// argon2id iterations. [accounts.argon2_iterations; default 2]
    #[arg(long, global = true)]
    pub argon2_iterations: Option<u32>,

    /// argon2id lanes. [accounts.argon2_parallelism; default 1]
    #[arg(long, global = true)]
    pub argon2_parallelism: Option<u32>,
}

impl StoreArgs {
    /// Writes the flags that were given over `accounts`.
    pub fn apply(&self, accounts: &mut AccountsSection) {
        set(&mut accounts.store, self.accounts.clone());
        set(&mut accounts.redis_prefix, self.accounts_prefix.clone());
        set(&mut accounts.timeout_ms, self.accounts_timeout_ms);
        set(&mut accounts.argon2_memory_kib, self.argon2_memory_kib);
        set(&mut accounts.argon2_iterations, self.argon2_iterations);
        set(&mut accounts.argon2_parallelism, self.argon2_parallelism);
    }
}

/// Opens the store `accounts` names (validated configuration).
///
/// # Errors
/// The SQLite file cannot be opened, or the Redis URL is malformed.
pub fn open(accounts: &AccountsSection) -> anyhow::Result<Arc<dyn AccountStore>> {
    let spec = accounts.spec().map_err(anyhow::Error::msg)?;
    open_store(&spec, &accounts.store_options())
        .with_context(|| format!("cannot open account store {spec}"))
}
