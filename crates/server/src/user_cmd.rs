//! `ringport user add|passwd|del|list`: account administration on the
//! configured store. Passwords are read from a prompt (with confirmation)
//! when stdin is a terminal, else as one line from stdin; never from a flag,
//! so they stay out of shell history and `ps`.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ringport_proto::{Password, UserId};

use crate::config::flags::{Flags, ForUser};
use crate::config::AccountsSection;

/// Flags of `ringport user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: UserAction,

    /// The store to administer: the `[accounts]` flags of the store and the
    /// password hashing.
    #[command(flatten)]
    pub settings: Flags<ForUser>,
}

/// `ringport user` actions.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create an account (fails if the id exists).
    Add {
        /// User id (1–32 bytes of UTF-8, as on the wire).
        id: String,
    },
    /// Set a new password for an existing account.
    Passwd {
        /// User id.
        id: String,
    },
    /// Delete an account.
    Del {
        /// User id.
        id: String,
    },
    /// List every user id, one per line, sorted.
    List,
}

fn check_id(id: &str) -> anyhow::Result<()> {
    UserId::new(id).map_err(|e| anyhow::anyhow!("invalid user id {id:?}: {e}"))?;
    Ok(())
}

/// Reads a new password: prompted twice on a terminal, else one line of
/// stdin (without its line ending).
fn read_password(id: &str) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {id}: "))
            .context("cannot read the password")?;
        let again = rpassword::prompt_password("again: ").context("cannot read the password")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let trimmed = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(trimmed);
        line
    };
    if password.is_empty() {
        bail!("empty password");
    }
    Password::new(&password).map_err(|e| anyhow::anyhow!("invalid password: {e}"))?;
    Ok(password)
}

/// Runs one action on the store `accounts` names (configuration file,
/// environment and flags, as for `serve`); a missing or existing account is
/// an error (exit 1).
pub fn run(args: &UserArgs, accounts: &AccountsSection) -> anyhow::Result<()> {
    if let UserAction::Add { id } | UserAction::Passwd { id } | UserAction::Del { id } =
        &args.action
    {
        check_id(id)?;
    }
    let store = crate::store_args::open(accounts)?;
    let name = ringport_accounts::redact(&accounts.store);
    match &args.action {
        UserAction::Add { id } => {
            let password = read_password(id)?;
            if !store.add_user(id, &password)? {
                bail!("user {id:?} already exists in {name} (use `ringport user passwd`)");
            }
            eprintln!("added {id} to {name}");
        }
        UserAction::Passwd { id } => {
            let password = read_password(id)?;
            if !store.set_password(id, &password)? {
                bail!("no user {id:?} in {name}");
            }
            eprintln!("password of {id} changed in {name}");
        }
        UserAction::Del { id } => {
            if !store.delete_user(id)? {
                bail!("no user {id:?} in {name}");
            }
            eprintln!("deleted {id} from {name}");
        }
        UserAction::List => {
            let mut out = std::io::stdout().lock();
            for id in store.list_users()? {
                use std::io::Write;
                writeln!(out, "{id}")?;
            }
        }
    }
    Ok(())
}
