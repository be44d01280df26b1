//! ringport-bench: the load generator ("dummy client") and the baseline
//! servers ringport is measured against.
//!
//! * `echo`: ping-pong echo load with byte-for-byte checks, latency
//!   histogram, and generator/server CPU use.
//! * `tokio-echo`: the plain tokio echo server used as the baseline.
//! * `idle`: hold many idle connections open, for memory measurements.
//! * `chat`: room fan-out load against ringport (or `tokio-chat`) or Redis
//!   pub/sub: open-loop messages at a fixed rate, every delivery checked and
//!   timed from its scheduled send time.
//! * `tokio-chat`: a straightforward tokio chat server, the chat baseline.
//! * `connect-storm`, `login-storm`, `slow-consumer`, `soak`: the
//!   scenarios of [`scenario`].
//! * `chart`: throughput against p99 latency per system, as a PNG.
//!
//! The source, by concept: [`cli`] (the subcommands and their bounded
//! arguments), [`load`] (the load generators), [`baseline`] (the tokio
//! servers measured against), [`scenario`] (the scenarios built on the
//! loads), [`report`] (summaries, JSON, the progress bar, the chart) and
//! [`cpu`] (CPU time of a process, sampled by the loads).
#![forbid(unsafe_code)]

mod baseline;
mod cli;
mod cpu;
mod load;
mod report;
mod scenario;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{ChatArgs, ChatTransport, Cli, Command, EchoArgs};
use crate::load::chat::ChatPlan;
use crate::load::connect::{check_fd_limit, resolve_target};
use crate::load::echo::EchoPlan;
use crate::load::{chat, echo, idle};
use crate::report::chat::ChatReport;
use crate::report::echo::EchoReport;
use crate::report::{chart, out, progress};

/// Exit status when an echo did not match what was sent.
const EXIT_MISMATCH: u8 = 2;

/// Exit status when no round trip completed in the measured window (echo), or
/// no connection opened at all (connect-storm).
pub(crate) const EXIT_NO_PROGRESS: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Echo(args) => echo(&args),
        Command::TokioEcho(args) => baseline::echo::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Idle(args) => idle::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Chat(args) => chat(&args),
        Command::TokioChat(args) => baseline::chat::run(&args).map(|()| ExitCode::SUCCESS),
        Command::ConnectStorm(args) => scenario::connect_storm(&args),
        Command::LoginStorm(args) => scenario::login_storm(&args),
        Command::ReconnectStorm(args) => scenario::reconnect_storm(&args),
        Command::SlowConsumer(args) => scenario::slow_consumer(&args),
        Command::Soak(args) => scenario::soak(&args),
        Command::Chart(args) => chart::run(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ringport-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `echo`, prints its report and picks the exit status.
fn echo(args: &EchoArgs) -> anyhow::Result<ExitCode> {
    args.validate()?;
    let addr = resolve_target(&args.target)?;
    check_fd_limit(args.connections)?;
    let plan = EchoPlan {
        addr,
        connections: args.connections,
        size: args.size,
        framing: args.framing,
        warmup: args.warmup,
        duration: args.duration,
        server_pid: args.server_pid,
    };
    let outcome = echo::run(&plan)?;
    let report = EchoReport::new(&plan, &outcome);
    if args.json {
        out::line(&report.json())?;
    } else {
        out::line(report.human().trim_end())?;
    }
    if outcome.mismatches > 0 {
        eprintln!(
            "ringport-bench: {} echo mismatch(es): the server returned wrong bytes",
            outcome.mismatches
        );
        return Ok(ExitCode::from(EXIT_MISMATCH));
    }
    if outcome.completed == 0 {
        eprintln!("ringport-bench: no round trip completed in the measured window");
        return Ok(ExitCode::from(EXIT_NO_PROGRESS));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `chat` and prints its report.
fn chat(args: &ChatArgs) -> anyhow::Result<ExitCode> {
    args.validate()?;
    let addr = resolve_target(&args.target)?;
    check_fd_limit(u32::try_from(args.connections()).unwrap_or(u32::MAX))?;
    let tls = args.tls.client(args.transport == ChatTransport::Ws)?;
    let plan = ChatPlan {
        addr,
        system: args.system,
        transport: args.transport,
        tls,
        rooms: args.rooms,
        members: args.members,
        room_start: args.room_start,
        rate: args.rate,
        size: args.size,
        warmup: args.warmup,
        duration: args.duration,
        drain: args.drain,
        user_prefix: args.user_prefix.clone(),
        server_pid: args.server_pid,
        slow: None,
        order: args.order,
        seed: args.seed,
    };
    let bar = progress::Bar::new("chat", plan.warmup + plan.duration);
    let outcome = chat::run(&plan, &mut |p| {
        bar.update(p.elapsed, || progress::chat_message(p));
    })?;
    bar.finish();
    let report = ChatReport::new(&plan, &outcome);
    if args.json {
        out::line(&report.json())?;
    } else {
        out::line(report.human().trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}
