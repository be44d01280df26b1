//! Command-line interface.

use clap::{Parser, Subcommand};

use crate::echo::EchoArgs;
use crate::serve::ServeArgs;
use crate::user_cmd::UserArgs;

/// ringport: a completion-based (io_uring) TCP server engine and the chat
/// server built on it.
#[derive(Debug, Parser)]
#[command(name = "ringport", version, about, long_about = None)]
pub struct Cli {
    /// Log filter, `RUST_LOG` syntax (e.g. `info`, `ringport_net=debug`).
    /// Falls back to the `RUST_LOG` environment variable, then `info`.
    #[arg(long, global = true)]
    pub log: Option<String>,

    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the chat server (docs/PROTOCOL.md) on port 11021.
    Serve(ServeArgs),
    /// Run the bare engine as an echo server: raw bytes, or DEV_ECHO packets.
    Echo(EchoArgs),
    /// Administer accounts: `add`, `passwd`, `del`, `list` (passwords from a
    /// prompt or stdin, never from a flag).
    User(UserArgs),
}
