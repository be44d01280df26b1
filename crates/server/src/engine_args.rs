//! Engine flags shared by every server subcommand.

use std::time::Duration;

use clap::Args;
use ringport_net::{BackendChoice, EngineConfig};

/// Settings of the network engine.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// I/O backend: `auto` (io_uring, falling back to poll when the kernel
    /// refuses it), `io-uring`, or `poll` (epoll).
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    pub backend: BackendChoice,

    /// Number of I/O threads (default: number of cores).
    #[arg(long)]
    pub io_threads: Option<usize>,

    /// Sessions open at once; connections beyond it are accepted and closed.
    #[arg(long, default_value_t = 10_000)]
    pub max_sessions: usize,

    /// Sessions open at once from one address (IPv4, or IPv6 /64); more are
    /// accepted and closed (0: no per-address limit; behind NAT many users
    /// share an address).
    #[arg(long, default_value_t = 0)]
    pub max_sessions_per_ip: usize,

    /// Unsent bytes allowed per session before it is closed as a slow consumer.
    #[arg(long, default_value_t = 256 * 1024)]
    pub send_queue_limit: usize,

    /// Close sessions that send nothing for this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    pub idle_timeout: u64,

    /// Seconds a graceful shutdown waits for queued data to be flushed.
    #[arg(long, default_value_t = 10)]
    pub shutdown_grace: u64,

    /// Receive buffers per I/O thread (io_uring provided-buffer ring; a power
    /// of two, 8..=32768).
    #[arg(long, default_value_t = EngineConfig::default().recv_buffers)]
    pub recv_buffers: usize,

    /// Size of one receive buffer in bytes (512..=1048576).
    #[arg(long, default_value_t = EngineConfig::default().recv_buffer_size)]
    pub recv_buffer_size: usize,
}

fn parse_backend(s: &str) -> Result<BackendChoice, String> {
    s.parse()
}

impl EngineArgs {
    /// The engine configuration these flags describe.
    pub fn to_config(&self) -> EngineConfig {
        let defaults = EngineConfig::default();
        EngineConfig {
            backend: self.backend,
            io_threads: self.io_threads.unwrap_or(defaults.io_threads),
            max_sessions: self.max_sessions,
            max_sessions_per_ip: self.max_sessions_per_ip,
            send_queue_limit: self.send_queue_limit,
            idle_timeout: (self.idle_timeout > 0).then(|| Duration::from_secs(self.idle_timeout)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            recv_buffers: self.recv_buffers,
            recv_buffer_size: self.recv_buffer_size,
            ..defaults
        }
    }
}
