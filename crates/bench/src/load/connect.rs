//! Resolving the target, refusing non-loopback targets, and opening many
//! connections with bounded concurrency.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::cli::TargetArgs;

/// Connection attempts in flight at once: enough to be quick, few enough not
/// to overflow a listener's accept backlog of the traditional 128 (overflow
/// turns into 1 s SYN retransmits and skews the start of a run).
const CONNECT_CONCURRENCY: usize = 128;

/// Longest wait for one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// File descriptors kept free for everything besides the connections.
const SPARE_FDS: u64 = 32;

/// Resolves `args.target` to one address and refuses it unless it is a
/// loopback address or `--allow-remote` was given.
///
/// # Errors
///
/// When the name does not resolve, or resolves to a non-loopback address
/// without `--allow-remote`.
pub fn resolve_target(args: &TargetArgs) -> anyhow::Result<SocketAddr> {
    let mut addrs = args
        .target
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve --target {:?}", args.target))?;
    let Some(addr) = addrs.next() else {
        bail!("--target {:?} resolves to no address", args.target);
    };
    if !addr.ip().is_loopback() && !args.allow_remote {
        bail!(
            "refusing non-loopback target {addr}: this tool generates heavy load; \
             pass --allow-remote if you really mean to load another machine"
        );
    }
    Ok(addr)
}

/// Checks that the open-file limit leaves room for `connections` sockets.
///
/// # Errors
///
/// When the soft `RLIMIT_NOFILE` is too low, with a hint to raise it.
pub fn check_fd_limit(connections: u32) -> anyhow::Result<()> {
    let Some(soft) = soft_fd_limit() else {
        return Ok(()); // unknown or unlimited: let connect() report it
    };
    let needed = u64::from(connections) + SPARE_FDS;
    if soft < needed {
        bail!(
            "open-file limit is {soft}, {connections} connections need about {needed}: \
             raise it first (e.g. `ulimit -n {needed}`)"
        );
    }
    Ok(())
}

/// The soft open-file limit from `/proc/self/limits`, if known and finite.
fn soft_fd_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Connections that were opened, and how the others failed.
#[derive(Debug, Default)]
pub struct Connected {
    /// Open connections, `TCP_NODELAY` set, in no particular order.
    pub streams: Vec<TcpStream>,
    /// Attempts that failed or timed out.
    pub failures: u64,
    /// The first failure, to show the user.
    pub first_error: Option<String>,
}

/// Opens `count` connections to `addr`, at most [`CONNECT_CONCURRENCY`] at
/// a time. Failures are counted, not fatal.
pub async fn connect_all(addr: SocketAddr, count: u32) -> Connected {
    let mut out = Connected {
        streams: Vec::with_capacity(usize::try_from(count).unwrap_or(0)),
        ..Connected::default()
    };
    let mut pending = JoinSet::new();
    let mut started = 0u32;
    loop {
        while started < count && pending.len() < CONNECT_CONCURRENCY {
            started += 1;
            pending.spawn(connect_one(addr));
        }
        let Some(joined) = pending.join_next().await else {
            break;
        };
        match joined {
            Ok(Ok(stream)) => out.streams.push(stream),
            Ok(Err(e)) => out.fail(format!("{e:#}")),
            Err(e) => out.fail(format!("connect task failed: {e}")),
        }
    }
    out
}

impl Connected {
    fn fail(&mut self, message: String) {
        self.failures += 1;
        self.first_error.get_or_insert(message);
    }
}

async fn connect_one(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .with_context(|| format!("connecting to {addr} timed out"))?
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true).context("setting TCP_NODELAY")?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(t: &str, allow_remote: bool) -> TargetArgs {
        TargetArgs {
            target: t.into(),
            allow_remote,
        }
    }

    #[test]
    fn loopback_only_unless_allowed() {
        assert!(resolve_target(&target("127.0.0.1:1", false)).is_ok());
        assert!(resolve_target(&target("[::1]:1", false)).is_ok());
        let err = resolve_target(&target("192.0.2.1:1", false)).unwrap_err();
        assert!(err.to_string().contains("--allow-remote"));
        assert!(resolve_target(&target("192.0.2.1:1", true)).is_ok());
        assert!(resolve_target(&target("no port", false)).is_err());
    }

    #[test]
    fn fd_limit_is_known() {
        assert!(soft_fd_limit().is_some());
        assert!(check_fd_limit(1).is_ok());
    }
}
