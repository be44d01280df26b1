//! Engine flags shared by every server subcommand. Each one overrides its
//! `[engine]` key only when given (defaults live in [`crate::config`]).

use clap::Args;
use ringport_net::BackendChoice;

use crate::config::EngineSection;

/// Settings of the network engine.
#[derive(Debug, Clone, Default, Args)]
pub struct EngineArgs {
    /// I/O backend: `auto` (io_uring, falling back to poll when the kernel
    /// refuses it), `io-uring`, or `poll` (epoll). [engine.backend; default auto]
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<BackendChoice>,

    /// Number of I/O threads; 0: one per core. [engine.io_threads; default 0]
    #[arg(long)]
    pub io_threads: Option<usize>,

    /// Sessions open at once; connections beyond it are accepted and closed.
    /// [engine.max_sessions; default 10000]
    #[arg(long)]
    pub max_sessions: Option<usize>,

    /// Sessions open at once from one address (IPv4, or IPv6 /64); more are
    /// accepted and closed (0: no limit; behind NAT many users share an
    /// address). [engine.max_sessions_per_ip; default 0]
    #[arg(long)]
    pub max_sessions_per_ip: Option<usize>,

    /// Hard limit of unsent bytes per session: past it the session is
    /// closed at once as a slow consumer. [engine.send_queue_limit; default
    /// 33554432]
    #[arg(long)]
    pub send_queue_limit: Option<usize>,

    /// Stop reading a session while more than this is queued for it (a
    /// client that sends faster than it reads is slowed, not cut).
    /// [engine.send_queue_high_water; default 65536]
    #[arg(long)]
    pub send_queue_high_water: Option<usize>,

    /// Read a paused session again at or below this many queued bytes.
    /// [engine.send_queue_low_water; default 16384]
    #[arg(long)]
    pub send_queue_low_water: Option<usize>,

    /// Close a session whose socket takes none of its queued bytes for this
    /// many seconds (0: never). [engine.send_stall_timeout; default 10]
    #[arg(long)]
    pub send_stall_timeout: Option<u64>,

    /// Kernel send buffer per socket in bytes (SO_SNDBUF; 0: the kernel's
    /// autotuned default). Smaller cuts slow readers off sooner.
    /// [engine.socket_send_buffer; default 0]
    #[arg(long)]
    pub socket_send_buffer: Option<usize>,

    /// Close sessions that send nothing for this many seconds (0: never).
    /// [engine.idle_timeout; default 0]
    #[arg(long)]
    pub idle_timeout: Option<u64>,

    /// Seconds a graceful shutdown waits for queued data to be flushed.
    /// [engine.shutdown_grace; default 10]
    #[arg(long)]
    pub shutdown_grace: Option<u64>,

    /// Receive buffers per I/O thread (io_uring provided-buffer ring; a power
    /// of two, 8..=32768). [engine.recv_buffers; default 4096]
    #[arg(long)]
    pub recv_buffers: Option<usize>,

    /// Size of one receive buffer in bytes (512..=1048576).
    /// [engine.recv_buffer_size; default 4096]
    #[arg(long)]
    pub recv_buffer_size: Option<usize>,
}

fn parse_backend(s: &str) -> Result<BackendChoice, String> {
    s.parse()
}

impl EngineArgs {
    /// Writes the flags that were given over `engine`.
    pub fn apply(&self, engine: &mut EngineSection) {
        set(&mut engine.backend, self.backend);
        set(&mut engine.io_threads, self.io_threads);
        set(&mut engine.max_sessions, self.max_sessions);
        set(&mut engine.max_sessions_per_ip, self.max_sessions_per_ip);
        set(&mut engine.send_queue_limit, self.send_queue_limit);
        set(
            &mut engine.send_queue_high_water,
            self.send_queue_high_water,
        );
        set(&mut engine.send_queue_low_water, self.send_queue_low_water);
        set(&mut engine.send_stall_timeout, self.send_stall_timeout);
        set(&mut engine.socket_send_buffer, self.socket_send_buffer);
        set(&mut engine.idle_timeout, self.idle_timeout);
        set(&mut engine.shutdown_grace, self.shutdown_grace);
        set(&mut engine.recv_buffers, self.recv_buffers);
        set(&mut engine.recv_buffer_size, self.recv_buffer_size);
    }
}

/// `*slot = flag` when the flag was given.
pub fn set<T: Clone>(slot: &mut T, flag: Option<T>) {
    if let Some(v) = flag {
        *slot = v;
    }
}
