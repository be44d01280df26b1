//! Arguments of the baseline servers: `tokio-echo` and `tokio-chat`.

use std::net::SocketAddr;

use clap::Args;

use super::Framing;

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
