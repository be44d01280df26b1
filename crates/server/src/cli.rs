//! Command-line interface. Flags mirror configuration keys and override them
//! only when given; they are made from the key definitions
//! ([`crate::config::flags`]).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::flags::{Flags, ForAll};
use crate::config::Config;
use crate::echo::EchoArgs;
use crate::serve::ServeArgs;
use crate::user_cmd::UserArgs;

/// ringport: a completion-based (io_uring) TCP server engine and the chat
/// server built on it.
#[derive(Debug, Parser)]
#[command(name = "ringport", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML; `ringport config example` prints one).
    /// Environment variables `RINGPORT_<SECTION>__<KEY>` override it, flags
    /// override both.
    #[arg(long, global = true, display_order = 100, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The `[log]` flags, taken by every subcommand.
    #[command(flatten)]
    pub settings: Flags<ForAll>,

    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the chat server (docs/PROTOCOL.md) on port 11021.
    Serve(Box<ServeArgs>),
    /// Run the bare engine as an echo server: raw bytes, or DEV_ECHO packets.
    Echo(EchoArgs),
    /// Administer accounts: `add`, `passwd`, `del`, `list` (passwords from a
    /// prompt or stdin, never from a flag).
    User(UserArgs),
    /// Print an example configuration, or check one.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `ringport config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a complete, commented configuration holding every default.
    Example,
    /// Check a configuration file (exit 0 when valid, 78 when not).
    Check {
        /// The file to check.
        path: PathBuf,
    },
}

impl Cli {
    /// Writes the global flags that were given over `config`.
    pub fn apply(&self, config: &mut Config) {
        self.settings.apply(config);
    }
}
