//! Arguments of the load generators: `echo`, `idle` and `chat`, with the
//! checks clap cannot make alone.

use std::time::Duration;

use clap::Args;
use ringport_proto::{DEFAULT_MAX_FRAME, HEADER_LEN};

use super::parse::{parse_rate, parse_secs, parse_secs_or_zero};
use super::{ChatSystem, ChatTransport, Framing, TargetArgs, TlsArgs, MAX_CONNECTIONS};
use crate::load::chat::send_order::SendOrder;

/// Largest raw-framing message, in bytes.
pub const MAX_RAW_SIZE: usize = 1 << 20;

/// Most memory all connections' message buffers may take together.
pub const MAX_BUFFER_BYTES: u64 = 1 << 30;

/// Most members of one room `chat` tracks (it keeps a sequence counter per
/// sender and receiver pair).
pub const MAX_CHAT_MEMBERS: u32 = 1000;

/// Highest message rate `chat` accepts, in messages per second.
pub const MAX_CHAT_RATE: f64 = 10_000_000.0;

/// Arguments of `chat`.
#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
    /// What the server speaks.
    #[arg(long, value_enum, default_value_t = ChatSystem::Ringport)]
    pub system: ChatSystem,
    /// How ringport is reached: its TCP listener, or its WebSocket listener
    /// (`--target` then names the `--ws-listen` address).
    #[arg(long, value_enum, default_value_t = ChatTransport::Tcp)]
    pub transport: ChatTransport,
    /// TLS under the transport.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Rooms to fill.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONNECTIONS)))]
    pub rooms: u32,
    /// Members per room (rooms x members connections, at most 20000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CHAT_MEMBERS)))]
    pub members: u32,
    /// Number of the first room (ringport room numbers; Redis channels
    /// `room:N`).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub room_start: i32,
    /// Messages per second, all members together, spread evenly over them
    /// (each delivered to every member of the sender's room).
    #[arg(long, default_value = "100", value_parser = parse_rate)]
    pub rate: f64,
    /// Message text size in bytes (39 to 256).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Measured duration in seconds (fractions allowed, at most 600).
    #[arg(long, default_value = "5", value_parser = parse_secs)]
    pub duration: Duration,
    /// Warmup before measuring, in seconds (sent and checked, not counted).
    #[arg(long, default_value = "1", value_parser = parse_secs_or_zero)]
    pub warmup: Duration,
    /// Longest wait after the last send for deliveries still on their way.
    #[arg(long, default_value = "2", value_parser = parse_secs_or_zero)]
    pub drain: Duration,
    /// ringport user ids are this prefix and the member index (`b0`, `b1`,
    /// ...); the password is `pw`.
    #[arg(long, default_value = "b")]
    pub user_prefix: String,
    /// Also sample this server process's CPU time over the measured window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Which member sends next: every member sends once per round, in one
    /// seeded random order across rooms (`random`, realistic), room by room
    /// in turn (`rotate`), or all of one room's members back to back
    /// (`grouped`: the order of the figures published before this option).
    #[arg(long, value_enum, default_value_t = SendOrder::Random)]
    pub order: SendOrder,
    /// Seed of `--order random`.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of the human-readable summary.
    #[arg(long)]
    pub json: bool,
}

impl ChatArgs {
    /// Number of connections (members of all rooms).
    pub fn connections(&self) -> u64 {
        u64::from(self.rooms) * u64::from(self.members)
    }

    /// Checks the combination of arguments clap cannot check alone.
    ///
    /// # Errors
    ///
    /// Too many connections, a size out of range, a user prefix too long
    /// for the largest member index, or more messages per sender than the
    /// sequence field holds.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.transport == ChatTransport::Ws && self.system != ChatSystem::Ringport {
            anyhow::bail!("--transport ws is for --system ringport");
        }
        if self.tls.tls && self.system != ChatSystem::Ringport {
            anyhow::bail!("--tls is for --system ringport");
        }
        check_chat_shape(
            self.rooms,
            self.members,
            self.size,
            &self.user_prefix,
            self.rate,
            self.warmup + self.duration,
        )
    }
}

/// Checks a chat load's shape: connections within the cap, the message
/// size, user ids that fit, and sequence numbers that fit.
///
/// # Errors
///
/// Too many connections, a size out of range, a user prefix too long for
/// the largest member index, or more messages per sender than the sequence
/// field holds.
pub fn check_chat_shape(
    rooms: u32,
    members: u32,
    size: usize,
    user_prefix: &str,
    rate: f64,
    length: Duration,
) -> anyhow::Result<()> {
    let connections = u64::from(rooms) * u64::from(members);
    if connections > u64::from(MAX_CONNECTIONS) {
        anyhow::bail!(
            "--rooms {rooms} x --members {members} is {connections} connections, more than the {MAX_CONNECTIONS} allowed"
        );
    }
    let (min, max) = (
        crate::load::chat::wire::MIN_SIZE,
        crate::load::chat::wire::MAX_SIZE,
    );
    if !(min..=max).contains(&size) {
        anyhow::bail!("--size {size} is out of range ({min} to {max} bytes)");
    }
    let longest = format!("{user_prefix}{}", connections - 1);
    if user_prefix.is_empty() || longest.len() > 32 || user_prefix.contains('\0') {
        anyhow::bail!(
            "--user-prefix {user_prefix:?}: user ids like {longest:?} must be 1 to 32 bytes without NUL"
        );
    }
    let secs = length.as_secs_f64();
    let per_sender = rate * secs / connections as f64;
    if per_sender > f64::from(u32::MAX) - 1.0 {
        anyhow::bail!("--rate {rate} over {secs} s is too many messages per sender");
    }
    Ok(())
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
            Framing::Packet => (HEADER_LEN, DEFAULT_MAX_FRAME),
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

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    #[test]
    fn chat_arguments_are_bounded() {
        let parse = |args: &[&str]| {
            let mut all = vec!["ringport-bench", "chat"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).map(|cli| match cli.command {
                Command::Chat(a) => a,
                _ => unreachable!(),
            })
        };
        assert!(parse(&[]).unwrap().validate().is_ok());
        assert!(parse(&["--rate", "0"]).is_err());
        assert!(parse(&["--rate", "1e8"]).is_err());
        assert!(parse(&["--members", "1001"]).is_err());
        assert!(parse(&["--rooms", "21", "--members", "1000"])
            .unwrap()
            .validate()
            .is_err());
        assert!(parse(&["--rooms", "20", "--members", "1000"])
            .unwrap()
            .validate()
            .is_ok());
        assert!(parse(&["--size", "38"]).unwrap().validate().is_err());
        assert!(parse(&["--size", "257"]).unwrap().validate().is_err());
        assert!(parse(&["--size", "256"]).unwrap().validate().is_ok());
        // 100 members by default: ids up to "<prefix>99".
        let long = "x".repeat(30);
        assert!(parse(&["--user-prefix", &long]).unwrap().validate().is_ok());
        let long = "x".repeat(31);
        assert!(parse(&["--user-prefix", &long])
            .unwrap()
            .validate()
            .is_err());
        assert!(parse(&["--user-prefix", ""]).unwrap().validate().is_err());
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
