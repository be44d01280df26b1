//! Command-line interface: the subcommands and their (bounded) arguments.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::frame::{HEADER_LEN, MAX_FRAME};

/// Most connections one run may open.
pub const MAX_CONNECTIONS: u32 = 20_000;

/// Longest duration, warmup or hold one run may ask for, in seconds.
pub const MAX_SECS: f64 = 600.0;

/// Largest raw-framing message, in bytes.
pub const MAX_RAW_SIZE: usize = 1 << 20;

/// Most memory all connections' message buffers may take together.
pub const MAX_BUFFER_BYTES: u64 = 1 << 30;

/// ringport load generator and baseline echo server.
#[derive(Debug, Parser)]
#[command(name = "ringport-bench", version, about, long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ping-pong echo load: one message outstanding per connection.
    ///
    /// Exit status: 0 on success, 2 if any echo did not match what was
    /// sent, 3 if no round trip completed in the measured window.
    Echo(EchoArgs),
    /// Baseline: a plain tokio echo server.
    TokioEcho(TokioEchoArgs),
    /// Open connections and hold them idle (to measure a server's memory).
    Idle(IdleArgs),
}

/// How messages are framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Framing {
    /// Bare bytes: the server echoes whatever it reads.
    Raw,
    /// `DEV_ECHO` packets with the 5-byte protocol header.
    Packet,
}

impl Framing {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Framing::Raw => "raw",
            Framing::Packet => "packet",
        }
    }
}

/// Where to connect, and whether non-loopback targets are allowed.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Server address (host:port).
    #[arg(long, default_value = "127.0.0.1:11021")]
    pub target: String,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
}

/// Arguments of `echo`.
#[derive(Debug, Clone, Args)]
pub struct EchoArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Number of connections (1 to 20000).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONNECTIONS)))]
    pub connections: u32,
    /// Total message size in bytes (packet framing: header included, 5 to 8192;
    /// raw: 1 to 1048576).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Measured duration in seconds (fractions allowed, at most 600).
    #[arg(long, default_value = "5", value_parser = parse_secs)]
    pub duration: Duration,
    /// Warmup before measuring, in seconds (not counted).
    #[arg(long, default_value = "1", value_parser = parse_secs_or_zero)]
    pub warmup: Duration,
    /// Message framing.
    #[arg(long, value_enum, default_value_t = Framing::Raw)]
    pub framing: Framing,
    /// Also sample this server process's CPU time over the measured window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print one JSON object instead of the human-readable summary.
    #[arg(long)]
    pub json: bool,
}

impl EchoArgs {
    /// Checks the combination of arguments clap cannot check alone.
    ///
    /// # Errors
    ///
    /// When `size` does not fit the framing.
    pub fn validate(&self) -> anyhow::Result<()> {
        let (min, max) = match self.framing {
            Framing::Raw => (1, MAX_RAW_SIZE),
            Framing::Packet => (HEADER_LEN, MAX_FRAME),
        };
        if !(min..=max).contains(&self.size) {
            anyhow::bail!(
                "--size {} is out of range for {} framing ({min} to {max} bytes)",
                self.size,
                self.framing.name()
            );
        }
        // Each connection holds a send and a receive buffer of `size` bytes.
        let buffers = 2 * self.size as u64 * u64::from(self.connections);
        if buffers > MAX_BUFFER_BYTES {
            anyhow::bail!(
                "--size {} x --connections {} needs {} MiB of buffers, more than the {} MiB allowed",
                self.size,
                self.connections,
                buffers >> 20,
                MAX_BUFFER_BYTES >> 20
            );
        }
        Ok(())
    }
}

/// Arguments of `tokio-echo`.
#[derive(Debug, Clone, Args)]
pub struct TokioEchoArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:11021")]
    pub listen: SocketAddr,
    /// Message framing.
    #[arg(long, value_enum, default_value_t = Framing::Raw)]
    pub framing: Framing,
    /// Worker threads of the multi-thread runtime (default: one per
    /// available core, which respects `taskset`).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
}

/// Arguments of `idle`.
#[derive(Debug, Clone, Args)]
pub struct IdleArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Number of connections (1 to 20000).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONNECTIONS)))]
    pub connections: u32,
    /// How long to hold the connections open, in seconds (at most 600).
    #[arg(long, default_value = "10", value_parser = parse_secs_or_zero)]
    pub hold: Duration,
    /// Print one JSON object instead of the human-readable summary.
    #[arg(long)]
    pub json: bool,
}

/// Parses a positive number of seconds, at most [`MAX_SECS`].
fn parse_secs(text: &str) -> Result<Duration, String> {
    let d = parse_secs_or_zero(text)?;
    if d.is_zero() {
        return Err("must be more than 0 seconds".into());
    }
    Ok(d)
}

/// Parses a number of seconds in `0..=MAX_SECS`.
fn parse_secs_or_zero(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|e| format!("not a number of seconds: {e}"))?;
    if !secs.is_finite() || !(0.0..=MAX_SECS).contains(&secs) {
        return Err(format!("must be between 0 and {MAX_SECS} seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_bounded() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_secs("0").is_err());
        assert_eq!(parse_secs_or_zero("0"), Ok(Duration::ZERO));
        assert!(parse_secs("601").is_err());
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("NaN").is_err());
        assert!(parse_secs("inf").is_err());
        assert!(parse_secs("x").is_err());
    }

    #[test]
    fn connection_cap_is_enforced() {
        let parse = |n: &str| Cli::try_parse_from(["ringport-bench", "echo", "--connections", n]);
        assert!(parse("20000").is_ok());
        assert!(parse("20001").is_err());
        assert!(parse("0").is_err());
    }

    #[test]
    fn size_is_checked_against_framing() {
        let args = |size: &str, framing: &str| {
            let cli = Cli::try_parse_from([
                "ringport-bench",
                "echo",
                "--size",
                size,
                "--framing",
                framing,
            ])
            .unwrap();
            match cli.command {
                Command::Echo(a) => a.validate(),
                _ => unreachable!(),
            }
        };
        assert!(args("5", "packet").is_ok());
        assert!(args("4", "packet").is_err());
        assert!(args("8193", "packet").is_err());
        assert!(args("1", "raw").is_ok());
        assert!(args("0", "raw").is_err());
        assert!(args("1048576", "raw").is_ok());
        let big = Cli::try_parse_from([
            "ringport-bench",
            "echo",
            "--size",
            "1048576",
            "--connections",
            "1000",
        ])
        .unwrap();
        match big.command {
            Command::Echo(a) => assert!(a.validate().is_err()),
            _ => unreachable!(),
        }
    }
}
