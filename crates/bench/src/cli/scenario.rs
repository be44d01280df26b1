//! Arguments of the scenarios: `connect-storm`, `login-storm`,
//! `slow-consumer` and `soak`.

use std::time::Duration;

use clap::Args;

use super::load::MAX_CHAT_MEMBERS;
use super::parse::{
    parse_factor, parse_percent, parse_rate, parse_sample_secs, parse_secs, parse_secs_or_zero,
    parse_soak_secs, parse_storm_rate,
};
use super::{ChatSystem, TargetArgs, TlsArgs, MAX_CONNECTIONS};

/// Longest `soak`, in seconds (a day).
pub const MAX_SOAK_SECS: f64 = 86_400.0;

/// Highest attempt rate of the storms, per second.
pub const MAX_STORM_RATE: f64 = 100_000.0;

/// Most attempts one storm makes.
pub const MAX_STORM_ATTEMPTS: u64 = 1_000_000;

/// Arguments of `connect-storm`.
#[derive(Debug, Clone, Args)]
pub struct ConnectStormArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
    /// TLS under the connections.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Connection attempts per second of the first step.
    #[arg(long, default_value = "100", value_parser = parse_storm_rate)]
    pub start_rate: f64,
    /// Each step's rate is the previous one's times this (1 to 10; 1: one
    /// step).
    #[arg(long, default_value = "2", value_parser = parse_factor)]
    pub factor: f64,
    /// Highest rate of the schedule, per second.
    #[arg(long, default_value = "6400", value_parser = parse_storm_rate)]
    pub max_rate: f64,
    /// Seconds per step (at most 600).
    #[arg(long, default_value = "1", value_parser = parse_secs)]
    pub step_secs: Duration,
    /// Connections opened at most (1 to 20000): held connections take a
    /// file descriptor each, on both sides.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONNECTIONS)))]
    pub connections: u32,
    /// Close each connection once it answered, instead of holding all of
    /// them open to the end (then up to 1,000,000 attempts).
    #[arg(long)]
    pub close: bool,
    /// Attempts at most with --close (1 to 1000000).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=MAX_STORM_ATTEMPTS))]
    pub attempts: u64,
    /// Stop after a step in which more than this share (%) of the attempts
    /// failed.
    #[arg(long, default_value = "1", value_parser = parse_percent)]
    pub max_failure_percent: f64,
    /// Longest wait for one attempt (connect and echo), in seconds, from its
    /// scheduled start.
    #[arg(long, default_value = "5", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Print one JSON object instead of the human-readable summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `reconnect-storm`.
#[derive(Debug, Clone, Args)]
pub struct ReconnectStormArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Clients that come back at once.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=i64::from(super::MAX_CONNECTIONS)))]
    pub clients: u32,
    /// Password logins per second during the setup (argon2 sets the pace:
    /// about 40/s on two cores at the default cost).
    #[arg(long, default_value = "40", value_parser = parse_storm_rate)]
    pub setup_rate: f64,
    /// User ids are this prefix and the client's number; the default is
    /// new on every run.
    #[arg(long)]
    pub user_prefix: Option<String>,
    /// Longest wait for one connect or answer, in seconds.
    #[arg(long, default_value = "60", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Print one JSON object instead of the human-readable summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `login-storm`.
#[derive(Debug, Clone, Args)]
pub struct LoginStormArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
    /// TLS under the connections.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Logins per second (each on a new connection, closed once answered).
    #[arg(long, default_value = "50", value_parser = parse_storm_rate)]
    pub rate: f64,
    /// Seconds the storm lasts (at most 600).
    #[arg(long, default_value = "5", value_parser = parse_secs)]
    pub duration: Duration,
    /// A burst instead of a rate: this many logins at once (connections
    /// opened and their LOGIN_REQ sent as fast as the generator can, at
    /// most 100,000/s), as after a restart of a busy server. Replaces
    /// `--rate` and `--duration`; passes when every login is answered
    /// (any code), none closed or left unanswered.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_STORM_ATTEMPTS))]
    pub burst: Option<u64>,
    /// User ids are this prefix and the attempt number; the default is new
    /// on every run (from the clock), so every id is fresh.
    #[arg(long)]
    pub user_prefix: Option<String>,
    /// Longest wait for one login (connect and answer), in seconds, from its
    /// scheduled start.
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Also run a busy chat room of this many members during the storm and
    /// report its latency (0: none).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_CHAT_MEMBERS)))]
    pub chat_room_members: u32,
    /// Messages per second in that room, all members together.
    #[arg(long, default_value = "100", value_parser = parse_rate)]
    pub chat_rate: f64,
    /// The room's number.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub chat_room: i32,
    /// Also sample this server process's CPU time during the chat room's
    /// window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print one JSON object instead of the human-readable summary.
    #[arg(long)]
    pub json: bool,
}

impl LoginStormArgs {
    /// The user id prefix: given, or `ls` and the clock in hex.
    pub fn prefix(&self) -> String {
        self.user_prefix.clone().unwrap_or_else(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            format!("ls{:x}_", secs & 0xFFFF_FFFF)
        })
    }

    /// Checks what clap cannot check alone.
    ///
    /// # Errors
    ///
    /// Too many logins, or ids that do not fit.
    pub fn validate(&self) -> anyhow::Result<()> {
        let logins = self
            .burst
            .map_or(self.rate * self.duration.as_secs_f64(), |n| n as f64);
        if logins > MAX_STORM_ATTEMPTS as f64 {
            anyhow::bail!(
                "--rate {} x --duration {} s is {logins:.0} logins, more than the {MAX_STORM_ATTEMPTS} allowed",
                self.rate,
                self.duration.as_secs_f64()
            );
        }
        let prefix = self.prefix();
        let longest = format!("{prefix}{}", logins.ceil() as u64);
        if prefix.is_empty() || longest.len() > 32 || prefix.contains('\0') {
            anyhow::bail!(
                "--user-prefix {prefix:?}: user ids like {longest:?} must be 1 to 32 bytes without NUL"
            );
        }
        Ok(())
    }
}

/// Arguments of `slow-consumer`.
#[derive(Debug, Clone, Args)]
pub struct SlowConsumerArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
    /// TLS under the connections.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Members of the room, the slow one included (3 to 1000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(3..=i64::from(MAX_CHAT_MEMBERS)))]
    pub members: u32,
    /// The room's number.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub room: i32,
    /// Messages per second, the other members together (the slow one sends
    /// nothing). The server's kernel send buffer (up to `tcp_wmem`'s
    /// maximum, 4 MiB by default) fills before its own queue limit counts,
    /// so cutting a slow member off takes a few MiB of traffic.
    #[arg(long, default_value = "5000", value_parser = parse_rate)]
    pub rate: f64,
    /// Message text size in bytes (39 to 256).
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Seconds into the load when the slow member stops reading (default:
    /// the end of the warmup).
    #[arg(long, value_parser = parse_secs_or_zero)]
    pub stop_after: Option<Duration>,
    /// Measured duration in seconds (at most 600).
    #[arg(long, default_value = "5", value_parser = parse_secs)]
    pub duration: Duration,
    /// Warmup before measuring, in seconds.
    #[arg(long, default_value = "1", value_parser = parse_secs_or_zero)]
    pub warmup: Duration,
    /// Longest wait after the last send for the others' late deliveries.
    #[arg(long, default_value = "2", value_parser = parse_secs_or_zero)]
    pub drain: Duration,
    /// Longest wait, after the load, for the slow member's connection to
    /// end while its socket is read empty.
    #[arg(long, default_value = "3", value_parser = parse_secs_or_zero)]
    pub slow_drain: Duration,
    /// User ids are this prefix and the member index; password `pw`.
    #[arg(long, default_value = "slow")]
    pub user_prefix: String,
    /// Also sample this server process's CPU time over the window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print one JSON object instead of the human-readable summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `soak`.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
    /// TLS under the connections.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// What the server speaks.
    #[arg(long, value_enum, default_value_t = ChatSystem::Ringport)]
    pub system: ChatSystem,
    /// Rooms to fill.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONNECTIONS)))]
    pub rooms: u32,
    /// Members per room (rooms x members connections, at most 20000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CHAT_MEMBERS)))]
    pub members: u32,
    /// Messages per second, all members together.
    #[arg(long, default_value = "100", value_parser = parse_rate)]
    pub rate: f64,
    /// Message text size in bytes (39 to 256).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Seconds to run (at most 86400, a day).
    #[arg(long, default_value = "60", value_parser = parse_soak_secs)]
    pub duration: Duration,
    /// Warmup before measuring, in seconds.
    #[arg(long, default_value = "1", value_parser = parse_secs_or_zero)]
    pub warmup: Duration,
    /// Longest wait after the last send for late deliveries.
    #[arg(long, default_value = "2", value_parser = parse_secs_or_zero)]
    pub drain: Duration,
    /// Seconds between two samples of the server's RSS and open fds (0.1
    /// to 600).
    #[arg(long, default_value = "5", value_parser = parse_sample_secs)]
    pub sample_every: Duration,
    /// The server process to sample (required: RSS and fds come from
    /// /proc/PID).
    #[arg(long)]
    pub server_pid: u32,
    /// ringport user ids are this prefix and the member index.
    #[arg(long, default_value = "soak")]
    pub user_prefix: String,
    /// Print one JSON object instead of the human-readable summary.
    #[arg(long)]
    pub json: bool,
}
