//! `ringport`: the chat server and the echo server on the ringport-net engine.
//!
//! Exit codes: 0 after a clean shutdown, 1 when the server cannot start
//! (address in use, io_uring required but unavailable…), 2 for usage errors,
//! 78 (`EX_CONFIG`) for a configuration that cannot be used, 130 when a
//! second signal forces the exit.
#![forbid(unsafe_code)]

mod admin;
mod auth_pool;
mod chat_host;
mod cli;
mod cluster;
mod config;
mod echo;
mod health;
mod history_store;
mod inbox;
mod listen;
mod logging;
mod metrics;
mod notify;
mod packet_framing;
mod serve;
mod signals;
mod store_args;
mod tls;
mod token_secret;
mod user_cmd;
mod web_assets;
mod web_policy;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config::{Config, ConfigError};

/// `EX_CONFIG` from sysexits.h: a configuration error.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let cli = Cli::parse(); // usage errors exit 2 here
    match &cli.command {
        Command::Config(ConfigCommand::Example) => {
            print!("{}", config::render::example());
            return ExitCode::SUCCESS;
        }
        Command::Config(ConfigCommand::Check { path }) => {
            let checked = Config::from_file(path).and_then(|c| {
                c.validate()
                    .map_err(|e| ConfigError(format!("{}: {e}", path.display())))
            });
            return match checked {
                Ok(()) => {
                    println!("{}: ok", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => config_failure(&e),
            };
        }
        Command::Serve(_) | Command::Echo(_) | Command::User(_) => {}
    }
    let config = match resolve(&cli) {
        Ok(c) => c,
        Err(e) => return config_failure(&e),
    };
    // Held until exit: the log file's writer thread flushes on drop.
    let _log_guard = match logging::init(&config.log) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("ringport: cannot set up logging: {e}");
            return ExitCode::from(1);
        }
    };
    let result = match cli.command {
        Command::Serve(_) => serve::run(config),
        Command::Echo(args) => echo::run(args, config),
        Command::User(args) => user_cmd::run(&args, &config.accounts),
        Command::Config(_) => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            // The TLS certificate and key are read when the listeners are
            // set up: a pair that cannot be used is a configuration error.
            if let Some(config_error) = e.downcast_ref::<ConfigError>() {
                return config_failure(config_error);
            }
            eprintln!("ringport: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Defaults, file, environment, then the flags given; validated.
fn resolve(cli: &Cli) -> Result<Config, ConfigError> {
    let mut config = Config::load(cli.config.as_deref())?;
    cli.apply(&mut config);
    match &cli.command {
        Command::Serve(args) => args.apply(&mut config),
        Command::Echo(args) => args.apply(&mut config),
        Command::User(args) => args.settings.apply(&mut config),
        Command::Config(_) => {}
    }
    config.validate().map_err(|e| match &cli.config {
        Some(path) => ConfigError(format!(
            "{e} (settings from {}, RINGPORT_* variables and flags)",
            path.display()
        )),
        None => e,
    })?;
    Ok(config)
}

fn config_failure(e: &ConfigError) -> ExitCode {
    eprintln!("ringport: configuration error: {e}");
    ExitCode::from(EXIT_CONFIG)
}
