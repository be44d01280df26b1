//! `ringport`: the chat server and the echo server on the ringport-net engine.
//!
//! Exit codes: 0 after a clean shutdown, 1 when the server cannot start
//! (address in use, io_uring required but unavailable…), 2 for usage errors,
//! 130 when a second signal forces the exit.
#![forbid(unsafe_code)]

mod auth_pool;
mod chat_host;
mod cli;
mod cluster;
mod echo;
mod engine_args;
mod inbox;
mod listen;
mod logging;
mod packet_framing;
mod serve;
mod signals;
mod store_args;
mod user_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(&cli.log) {
        eprintln!("ringport: invalid --log filter: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Echo(args) => echo::run(args),
        Command::User(args) => user_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("ringport: {e:#}");
            ExitCode::from(1)
        }
    }
}
