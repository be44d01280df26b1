//! Idle connections: open many, hold them without traffic, then close, so a
//! script can measure how much memory a server spends per connection.
//!
//! As soon as every attempt has finished, one line `connected N of M in S s`
//! goes to stdout (flushed), so a script can wait for it before sampling the
//! server. While holding, each connection waits for the server to close it,
//! and the closes are counted.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use anyhow::{bail, Context};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::task::LocalSet;

use crate::cli::IdleArgs;
use crate::load::connect::{check_fd_limit, connect_all, resolve_target};
use crate::report::json::JsonObject;
use crate::report::out;

/// What an idle run saw.
#[derive(Debug)]
pub struct IdleOutcome {
    /// Connections asked for.
    pub requested: u32,
    /// Connections that opened.
    pub connected: u64,
    /// Attempts that failed.
    pub failed: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Connections the server closed (or reset, or sent data on) while held.
    pub lost_while_holding: u64,
}

/// Runs `idle` and prints its report.
///
/// # Errors
///
/// On a refused target, a too-low open-file limit, or when no connection
/// at all could be opened.
pub fn run(args: &IdleArgs) -> anyhow::Result<()> {
    let addr = resolve_target(&args.target)?;
    check_fd_limit(args.connections)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    let outcome = LocalSet::new().block_on(&runtime, async {
        let started = Instant::now();
        let connected = connect_all(addr, args.connections).await;
        out::line(&format!(
            "connected {} of {} in {:.2} s",
            connected.streams.len(),
            args.connections,
            started.elapsed().as_secs_f64()
        ))?;
        let lost = Rc::new(Cell::new(0u64));
        let count = connected.streams.len() as u64;
        for stream in connected.streams {
            tokio::task::spawn_local(watch(stream, Rc::clone(&lost)));
        }
        tokio::time::sleep(args.hold).await;
        anyhow::Ok(IdleOutcome {
            requested: args.connections,
            connected: count,
            failed: connected.failures,
            first_error: connected.first_error,
            lost_while_holding: lost.get(),
        })
    })?;
    // Dropping the runtime closes every connection.
    drop(runtime);
    let text = if args.json {
        JsonObject::new()
            .string("target", &addr.to_string())
            .int("requested", u64::from(outcome.requested))
            .int("connected", outcome.connected)
            .int("failed", outcome.failed)
            .opt_string("first_error", outcome.first_error.as_deref())
            .int("lost_while_holding", outcome.lost_while_holding)
            .float("hold_secs", args.hold.as_secs_f64(), 3)
            .finish()
    } else {
        let mut s = format!(
            "idle {addr}: {} of {} connected, held {:.1} s, {} lost while holding, {} failed",
            outcome.connected,
            outcome.requested,
            args.hold.as_secs_f64(),
            outcome.lost_while_holding,
            outcome.failed
        );
        if let Some(e) = &outcome.first_error {
            s.push_str(&format!("\n  first error: {e}"));
        }
        s
    };
    out::line(&text)?;
    if outcome.connected == 0 {
        bail!("no connection could be opened");
    }
    Ok(())
}

/// Waits until the server closes the connection (or sends anything, which
/// an idle connection should not get) and counts it.
async fn watch(mut stream: TcpStream, lost: Rc<Cell<u64>>) {
    let mut byte = [0u8; 1];
    let _ = stream.read(&mut byte).await;
    lost.set(lost.get() + 1);
    // Keep the socket open until the hold ends even if the server wrote.
    std::future::pending::<()>().await;
}
