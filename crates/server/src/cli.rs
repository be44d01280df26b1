//! Command-line interface. Flags mirror configuration keys (see
//! [`crate::config`]) and override them only when given.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};
use crate::echo::EchoArgs;
use crate::engine_args::set;
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

    /// Log filter, `RUST_LOG` syntax (e.g. `info`, `ringport_net=debug`).
    /// [log.filter; default info, or RUST_LOG]
    #[arg(long, global = true, display_order = 100, value_parser = parse_filter)]
    pub log: Option<String>,

    /// Log format: `text` or `json`. [log.format; default text]
    #[arg(long, global = true, display_order = 100, value_parser = parse_format)]
    pub log_format: Option<LogFormat>,

    /// Also log to DIR/PREFIX.YYYY-MM-DD, a new file each day.
    /// [log.file; default none]
    #[arg(long, global = true, display_order = 100, value_name = "DIR/PREFIX")]
    pub log_file: Option<String>,

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

fn parse_filter(s: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

fn parse_format(s: &str) -> Result<LogFormat, String> {
    s.parse()
}

impl Cli {
    /// Writes the global flags that were given over `config`.
    pub fn apply(&self, config: &mut Config) {
        set(&mut config.log.filter, self.log.clone());
        set(&mut config.log.format, self.log_format);
        set(&mut config.log.file, self.log_file.clone());
    }
}
