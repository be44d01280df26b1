//! The baseline servers ringport is measured against: plain tokio servers
//! written the way a competent tokio user would (a multi-thread runtime,
//! one task per connection). Being "a typical tokio server" is their job,
//! so they stay on tokio; the load generators under [`crate::load`] are a
//! different job (see there for their I/O style).
//!
//! * `tokio-echo`, the echo baseline, is [`echo`];
//! * `tokio-chat`, the chat baseline, is [`chat`].
//!
//! This module holds what both share: the runtime and the accept loop.

pub mod chat;
pub mod echo;

use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};

use crate::report::out;

/// Pause after a failed `accept` (for example out of file descriptors), so
/// the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The multi-thread runtime the tokio baselines run on, as a plain tokio
/// server would (`None`: tokio's default worker count).
///
/// # Errors
///
/// When the runtime cannot be built.
pub fn runtime(worker_threads: Option<u16>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = worker_threads {
        builder.worker_threads(usize::from(n));
    }
    builder
        .enable_all()
        .build()
        .context("building the tokio runtime")
}

/// The tokio baselines' listener: binds `addr`, prints `listening on ADDR`
/// on stdout, then hands every accepted connection to `on_connection`,
/// pausing briefly after a failed accept (for example out of descriptors)
/// so the loop does not spin. Runs until the process is killed.
///
/// # Errors
///
/// When the address cannot be bound or the announcement cannot be written.
pub async fn accept_loop(
    addr: std::net::SocketAddr,
    name: &str,
    mut on_connection: impl FnMut(TcpStream),
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    out::line(&format!("listening on {local}"))?;
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => on_connection(stream),
            Err(e) => {
                eprintln!("{name}: accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}
