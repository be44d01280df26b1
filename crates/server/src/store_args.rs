//! Opening the account store `[accounts]` names (`ringport serve` and
//! `ringport user`).

use std::sync::Arc;

use anyhow::Context;
use ringport_accounts::{open_store, AccountStore};

use crate::config::AccountsSection;

/// Opens the store `accounts` names (validated configuration).
///
/// # Errors
/// The SQLite file cannot be opened, or the Redis URL is malformed.
pub fn open(accounts: &AccountsSection) -> anyhow::Result<Arc<dyn AccountStore>> {
    let spec = accounts.spec().map_err(anyhow::Error::msg)?;
    open_store(&spec, &accounts.store_options())
        .with_context(|| format!("cannot open account store {spec}"))
}
