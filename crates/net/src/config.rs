//! Engine configuration: every limit the engine enforces, with its default.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Which backend to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// io_uring when the kernel lets us set up a ring; the readiness backend
    /// otherwise (with one warning saying why).
    #[default]
    Auto,
    /// io_uring or fail.
    IoUring,
    /// The readiness (epoll through mio) backend.
    Poll,
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "io-uring" | "io_uring" | "uring" => Ok(BackendChoice::IoUring),
            "poll" | "epoll" => Ok(BackendChoice::Poll),
            other => Err(format!(
                "unknown backend {other:?} (expected auto, io-uring or poll)"
            )),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::IoUring => "io-uring",
            BackendChoice::Poll => "poll",
        })
    }
}

/// The backend actually in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Completion-based: io_uring.
    IoUring,
    /// Readiness-based: epoll through mio.
    Poll,
}

impl BackendKind {
    /// Name as used on the command line and in stats.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::IoUring => "io-uring",
            BackendKind::Poll => "poll",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest `linger_timeout` accepted: a bound on a closing socket's life,
/// not a keep-alive.
const MAX_LINGER_TIMEOUT: Duration = Duration::from_secs(60);

/// Engine settings. Build with [`EngineConfig::default`] and change fields.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Backend to use.
    pub backend: BackendChoice,
    /// Number of I/O threads (each owns its ring or poller and its sessions).
    /// Default: the number of available cores.
    pub io_threads: usize,
    /// Sessions open at once, over all I/O threads. A connection beyond it is
    /// accepted and closed at once (counted as refused). Default 10,000.
    pub max_sessions: usize,
    /// Sessions open at once from one address (IPv4 address, or IPv6 /64),
    /// over all I/O threads; a connection beyond it is accepted and closed at
    /// once (counted as refused and `refused_per_ip`). 0: no per-address
    /// bound. Default 0 (behind a NAT or a load balancer many users share an
    /// address; set it where clients connect directly).
    pub max_sessions_per_ip: usize,
    /// Hard limit on the bytes queued for one session and not yet sent: a
    /// session whose queue would grow past it is closed at once as a slow
    /// consumer. It bounds the memory one session can hold. A session that
    /// reads stays near `send_queue_high_water` unless others send to it
    /// (room fan-out) faster than it reads for long enough to queue this
    /// much. Default 32 MiB (as Redis's hard limit for
    /// pub/sub clients): room payloads are shared, so one chat queued for
    /// many members is counted for each but held once.
    pub send_queue_limit: usize,
    /// High-water mark of a session's send queue: while more than this is
    /// queued for a session, its socket is not read (its own requests, which
    /// would add answers, wait in the kernel), until the queue drains to
    /// `send_queue_low_water`. A client that sends faster than it reads is
    /// slowed down instead of cut off. Default 64 KiB.
    pub send_queue_high_water: usize,
    /// Low-water mark: a session paused by `send_queue_high_water` is read
    /// again once its queue is at or below this. Default 16 KiB.
    pub send_queue_low_water: usize,
    /// A session with bytes queued whose socket has taken none of them for
    /// this long (its peer reads nothing) is closed as a slow consumer (a
    /// write deadline, as NATS's `write_deadline`). Checked every 250 ms.
    /// `None`: only `send_queue_limit` cuts a session that does not read.
    /// Default 10 s.
    pub send_stall_timeout: Option<Duration>,
    /// Kernel send buffer of each session's socket (`SO_SNDBUF`), in bytes.
    /// 0: the kernel's default, which autotunes up to `net.ipv4.tcp_wmem`'s
    /// maximum (4 MiB on most systems). `send_queue_limit` only counts what
    /// the kernel has not taken yet, so a slow reader can hold up to this
    /// buffer plus the queue limit before it is cut off; set it (for example
    /// 65,536) to cut slow readers sooner and bound their memory, at the cost
    /// of throughput to fast readers on long, fast links. The kernel doubles
    /// the value and clamps it to `net.core.wmem_max`. Default 0.
    pub socket_send_buffer: usize,
    /// Close a session that has sent nothing for this long. `None`: never.
    /// Default: `None` (the host decides).
    pub idle_timeout: Option<Duration>,
    /// How long a closing session (server close or shutdown) may take to
    /// flush its queued data before it is closed anyway. Default 10 s.
    pub shutdown_grace: Duration,
    /// Size of one receive buffer. Default 4 KiB.
    pub recv_buffer_size: usize,
    /// Receive buffers per I/O thread (io_uring provided-buffer ring; a power
    /// of two, at most 32,768). Default 4,096: every receive that completes
    /// between two reaps takes one, and when they run out the kernel ends
    /// multishot receives, which then cost a re-arm each (`recv_rearms`).
    /// 4,096 × 4 KiB = 16 MiB per I/O thread, touched as used.
    pub recv_buffers: usize,
    /// Soft limit of frame bytes in one event batch handed to the
    /// application. Default 256 KiB.
    pub batch_bytes: usize,
    /// Event batches per I/O thread that may be on their way to or held by the
    /// application at once; when all are out, the I/O thread stops reading
    /// (backpressure) until one comes back. Default 8.
    pub batches_per_thread: usize,
    /// How long the socket of a session closed after its queue was flushed
    /// (server close, shutdown) may linger: writing is shut down (the kernel
    /// sends FIN after the last queued bytes) and whatever the peer still
    /// sends is read and dropped until its FIN or this deadline, then the
    /// descriptor is closed. Without it, a peer writing after the close
    /// draws a reset that destroys bytes still on their way to it. The
    /// session's slot is released at once; lingering costs only the
    /// descriptor. Checked every 250 ms, so a socket lingers up to this
    /// plus 250 ms. Zero: no lingering (close at once). At most 60 s.
    /// Default 2 s.
    pub linger_timeout: Duration,
    /// Sockets lingering at once per I/O thread. When one more arrives, the
    /// oldest is closed at once (counted as `linger_evicted`). 0: no
    /// lingering. Default 1,024.
    pub linger_max: usize,
    /// TLS handshakes in progress at once, over all I/O threads and TLS
    /// listeners. A connection to a TLS listener beyond it is accepted and
    /// closed at once (counted as refused and as the TLS failure `busy`).
    /// It bounds the memory (a few KiB each) and CPU (about 0.3 ms each) a
    /// burst of handshakes can take; the application's own deadline (the
    /// chat server's login timeout) ends a handshake that stalls. Default
    /// 10,000, as `max_sessions`: a burst of reconnects after a restart
    /// (every client at once) is served, not refused; lower it where
    /// handshake floods matter more than reconnect storms.
    pub max_tls_handshakes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            backend: BackendChoice::Auto,
            io_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            max_sessions: 10_000,
            max_sessions_per_ip: 0,
            send_queue_limit: 32 << 20,
            send_queue_high_water: 64 * 1024,
            send_queue_low_water: 16 * 1024,
            send_stall_timeout: Some(Duration::from_secs(10)),
            socket_send_buffer: 0,
            idle_timeout: None,
            shutdown_grace: Duration::from_secs(10),
            recv_buffer_size: 4 * 1024,
            recv_buffers: 4096,
            batch_bytes: 256 * 1024,
            batches_per_thread: 8,
            linger_timeout: Duration::from_secs(2),
            linger_max: 1024,
            max_tls_handshakes: 10_000,
        }
    }
}

impl EngineConfig {
    /// Checks the settings, naming the first one that is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.io_threads == 0 || self.io_threads > crate::id::MAX_IO_THREADS {
            return Err(format!(
                "io_threads must be 1..={}, got {}",
                crate::id::MAX_IO_THREADS,
                self.io_threads
            ));
        }
        if self.max_sessions == 0 || self.max_sessions > crate::id::MAX_SLOTS_PER_THREAD {
            return Err(format!(
                "max_sessions must be 1..={}, got {}",
                crate::id::MAX_SLOTS_PER_THREAD,
                self.max_sessions
            ));
        }
        if self.send_queue_limit == 0 {
            return Err("send_queue_limit must be at least 1 byte".into());
        }
        if self.send_queue_high_water == 0 || self.send_queue_high_water > self.send_queue_limit {
            return Err(format!(
                "send_queue_high_water must be 1..=send_queue_limit ({}), got {}",
                self.send_queue_limit, self.send_queue_high_water
            ));
        }
        if self.send_queue_low_water >= self.send_queue_high_water {
            return Err(format!(
                "send_queue_low_water must be below send_queue_high_water ({}), got {}",
                self.send_queue_high_water, self.send_queue_low_water
            ));
        }
        if self.send_stall_timeout == Some(Duration::ZERO) {
            return Err("send_stall_timeout must be above zero (or none)".into());
        }
        if self.socket_send_buffer != 0 && !(4096..=1 << 30).contains(&self.socket_send_buffer) {
            return Err(format!(
                "socket_send_buffer must be 0 (kernel default) or 4096..=1073741824, got {}",
                self.socket_send_buffer
            ));
        }
        if !(512..=1 << 20).contains(&self.recv_buffer_size) {
            return Err(format!(
                "recv_buffer_size must be 512..=1048576, got {}",
                self.recv_buffer_size
            ));
        }
        if !self.recv_buffers.is_power_of_two() || !(8..=32_768).contains(&self.recv_buffers) {
            return Err(format!(
                "recv_buffers must be a power of two in 8..=32768, got {}",
                self.recv_buffers
            ));
        }
        if self.max_tls_handshakes == 0 {
            return Err("max_tls_handshakes must be at least 1".into());
        }
        if self.batches_per_thread < 2 {
            return Err("batches_per_thread must be at least 2".into());
        }
        if self.batch_bytes < self.recv_buffer_size {
            return Err("batch_bytes must be at least recv_buffer_size".into());
        }
        if self.idle_timeout == Some(Duration::ZERO) {
            return Err("idle_timeout must be above zero (or none)".into());
        }
        if self.linger_timeout > MAX_LINGER_TIMEOUT {
            return Err(format!(
                "linger_timeout must be at most 60 s (0: no lingering), got {:?}",
                self.linger_timeout
            ));
        }
        if self.linger_max > crate::id::MAX_SLOTS_PER_THREAD {
            return Err(format!(
                "linger_max must be 0..={}, got {}",
                crate::id::MAX_SLOTS_PER_THREAD,
                self.linger_max
            ));
        }
        Ok(())
    }
}
