//! Command-line interface: the subcommands and their (bounded) arguments.

use crate::load::chat::send_order::SendOrder;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use ringport_proto::{DEFAULT_MAX_FRAME, HEADER_LEN};

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
    /// Room fan-out load: open-loop chat messages at a fixed rate, every
    /// delivery checked and timed from its scheduled send time.
    ///
    /// Exit status: 0 when the run completed (whether or not it passed: see
    /// `pass` in the report), 1 on a setup error.
    Chat(ChatArgs),
    /// Baseline: a straightforward tokio chat server (login, enter, leave,
    /// chat).
    TokioChat(TokioChatArgs),
    /// New connections at a rising rate until they fail: the rate reached,
    /// failures by kind, connect latency.
    ///
    /// Exit status: 0 when the storm ran, 3 if no connection opened at
    /// all, 1 on a setup error.
    ConnectStorm(ConnectStormArgs),
    /// Logins with fresh ids at a fixed rate: logins/s achieved, result
    /// codes by name, login latency; optionally a busy chat room alongside
    /// whose latency is measured during the storm.
    ///
    /// Exit status: 0 when the storm ran (see `pass`), 1 on a setup error.
    LoginStorm(LoginStormArgs),
    /// A room where one member stops reading: the others' deliveries and
    /// latency, and whether the server cuts the slow one off.
    ///
    /// Exit status: 0 when the run completed (see `pass`), 1 on a setup
    /// error.
    SlowConsumer(SlowConsumerArgs),
    /// Many connections chatting at a moderate rate for a long time while
    /// the server's RSS and open fds are sampled: the curve, and zero
    /// missing deliveries.
    ///
    /// Exit status: 0 when the run completed (see `pass`), 1 on a setup
    /// error.
    Soak(SoakArgs),
    /// Draws throughput against p99 latency per system from a `compare.sh`
    /// steps file into a PNG chart.
    Chart(ChartArgs),
}

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

/// Arguments of `login-storm`.
#[derive(Debug, Clone, Args)]
pub struct LoginStormArgs {
    /// Where to connect.
    #[command(flatten)]
    pub target: TargetArgs,
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

/// Arguments of `chart`.
#[derive(Debug, Clone, Args)]
pub struct ChartArgs {
    /// Steps file of `bench/compare.sh` (TSV: system, offered msg/s,
    /// deliveries/s, p99 µs, pass).
    #[arg(long)]
    pub steps: std::path::PathBuf,
    /// PNG file to write.
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Chart title.
    #[arg(long, default_value = "Room fan-out: throughput vs p99 latency")]
    pub title: String,
    /// A TrueType font for the labels (default: DejaVu Sans or Liberation
    /// Sans where the system has them).
    #[arg(long)]
    pub font: Option<std::path::PathBuf>,
}

/// The server a `chat` load talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChatSystem {
    /// A ringport chat server (or `tokio-chat`): login, enter, chat packets.
    Ringport,
    /// Redis pub/sub over RESP3: SUBSCRIBE and PUBLISH on one connection.
    Redis,
    /// NATS core protocol: SUB and PUB on one connection.
    Nats,
}

impl ChatSystem {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ChatSystem::Ringport => "ringport",
            ChatSystem::Redis => "redis",
            ChatSystem::Nats => "nats",
        }
    }
}

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

/// Arguments of `tokio-chat`.
#[derive(Debug, Clone, Args)]
pub struct TokioChatArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:11021")]
    pub listen: SocketAddr,
    /// Number of rooms.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rooms: u32,
    /// Number of the first room.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub room_start: i32,
    /// Users per room at most.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub room_max_users: u32,
    /// Worker threads of the multi-thread runtime (default: one per
    /// available core, which respects `taskset`).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
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

/// Parses a finite number; `what` names the expected kind in the error.
fn finite(text: &str, what: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|e| format!("not a {what}: {e}"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("not a finite {what}"))
    }
}

/// Parses a chat rate: more than 0, at most [`MAX_CHAT_RATE`].
fn parse_rate(text: &str) -> Result<f64, String> {
    let rate = finite(text, "number of messages per second")?;
    if rate <= 0.0 || rate > MAX_CHAT_RATE {
        return Err(format!("must be more than 0 and at most {MAX_CHAT_RATE}"));
    }
    Ok(rate)
}

/// Parses a storm rate: more than 0, at most [`MAX_STORM_RATE`].
fn parse_storm_rate(text: &str) -> Result<f64, String> {
    let rate = finite(text, "number per second")?;
    if rate <= 0.0 || rate > MAX_STORM_RATE {
        return Err(format!("must be more than 0 and at most {MAX_STORM_RATE}"));
    }
    Ok(rate)
}

/// Parses a step factor in `1..=10`.
fn parse_factor(text: &str) -> Result<f64, String> {
    let f = finite(text, "number")?;
    if !(1.0..=10.0).contains(&f) {
        return Err("must be between 1 and 10".into());
    }
    Ok(f)
}

/// Parses a percentage in `0..=100`.
fn parse_percent(text: &str) -> Result<f64, String> {
    let p = finite(text, "number")?;
    if !(0.0..=100.0).contains(&p) {
        return Err("must be between 0 and 100".into());
    }
    Ok(p)
}

/// Parses a soak length: more than 0, at most [`MAX_SOAK_SECS`].
fn parse_soak_secs(text: &str) -> Result<Duration, String> {
    let secs = finite(text, "number of seconds")?;
    if secs <= 0.0 || secs > MAX_SOAK_SECS {
        return Err(format!(
            "must be more than 0 and at most {MAX_SOAK_SECS} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a sampling period: 0.1 to 600 seconds.
fn parse_sample_secs(text: &str) -> Result<Duration, String> {
    let d = parse_secs(text)?;
    if d < Duration::from_millis(100) {
        return Err("must be at least 0.1 seconds".into());
    }
    Ok(d)
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
    let secs = finite(text, "number of seconds")?;
    if !(0.0..=MAX_SECS).contains(&secs) {
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
