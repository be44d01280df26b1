//! Command-line interface: the subcommands and their (bounded) arguments.
//!
//! This module holds the command tree, the limits every subcommand shares
//! and the argument groups several use ([`TargetArgs`], [`TlsArgs`],
//! [`ChatSystem`], [`Framing`]); the arguments themselves are grouped like the code they
//! drive: [`load`] (echo, idle, chat), [`scenario`] (the storms,
//! slow-consumer, soak) and [`server`] (the tokio baselines), with their
//! value parsers in [`parse`].

mod load;
mod parse;
mod scenario;
mod server;

use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use self::load::{check_chat_shape, ChatArgs, EchoArgs, IdleArgs};
pub use self::scenario::{
    ConnectStormArgs, LoginStormArgs, ReconnectStormArgs, SlowConsumerArgs, SoakArgs,
    MAX_STORM_RATE,
};
pub use self::server::{TokioChatArgs, TokioEchoArgs};
use crate::load::tls::{TlsClient, TlsOptions, Verify};

/// Most connections one run may open.
pub const MAX_CONNECTIONS: u32 = 20_000;

/// Longest duration, warmup or hold one run may ask for, in seconds.
pub const MAX_SECS: f64 = 600.0;

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
    /// Clients logged in with resume tokens all come back at once: the
    /// time until every token login is answered, beside the same with
    /// passwords.
    ///
    /// Exit status: 0 when the run completed (see `pass`), 1 on a setup
    /// error.
    ReconnectStorm(ReconnectStormArgs),
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

/// How a ringport chat load reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChatTransport {
    /// The packets over TCP.
    Tcp,
    /// The packets over WebSocket (`ringport serve --ws-listen`): an
    /// upgrade to `/ws`, then one packet per binary message.
    Ws,
}

impl ChatTransport {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ChatTransport::Tcp => "tcp",
            ChatTransport::Ws => "ws",
        }
    }
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

/// `--tls`: the connections inside TLS, and how the server's certificate
/// is checked.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// Connect with TLS (rustls): to the server's `--tls-listen` address,
    /// or with `--transport ws` to its WebSocket listener with
    /// `websocket.tls` on (wss). The handshake is part of the setup (of a
    /// login, in the storms), never of a message's latency.
    #[arg(long)]
    pub tls: bool,
    /// PEM file of the CA certificate(s) the server's certificate must be
    /// signed by (a self-signed server certificate is its own CA).
    /// Required with `--tls` unless `--tls-insecure`.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Take any server certificate, unchecked: for benchmarking only (the
    /// report says so).
    #[arg(long, requires = "tls", conflicts_with = "tls_ca")]
    pub tls_insecure: bool,
    /// The name the server's certificate must carry (DNS name or IP
    /// address), also sent as SNI.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "localhost",
        requires = "tls"
    )]
    pub tls_server_name: String,
}

impl TlsArgs {
    /// The TLS client of a run (`None` without `--tls`); `http` offers
    /// ALPN `http/1.1` (wss).
    ///
    /// # Errors
    ///
    /// `--tls` without `--tls-ca` or `--tls-insecure`, or a CA file or
    /// server name that does not do (see [`TlsClient::new`]).
    pub fn client(&self, http: bool) -> anyhow::Result<Option<Arc<TlsClient>>> {
        if !self.tls {
            return Ok(None);
        }
        let verify = match (&self.tls_ca, self.tls_insecure) {
            (Some(path), _) => Verify::Ca(path.clone()),
            (None, true) => Verify::Insecure,
            (None, false) => anyhow::bail!(
                "--tls needs --tls-ca FILE (the CA of the server's certificate), or \
                 --tls-insecure to take any certificate unchecked (benchmarking only)"
            ),
        };
        let options = TlsOptions {
            verify,
            server_name: self.tls_server_name.clone(),
        };
        Ok(Some(Arc::new(TlsClient::new(&options, http)?)))
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
