//! The sections of the configuration file, one struct each, with their
//! defaults and the conversions to the engine's and the chat's own
//! configuration types. Field docs are the reference; `contrib/ringport.toml`
//! and docs/OPERATIONS.md repeat them for operators.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use ringport_accounts::{HashParams, StoreOptions, StoreSpec, DEFAULT_KEY_PREFIX, DEFAULT_STORE};
use ringport_chat::ChatConfig;
use ringport_net::{BackendChoice, EngineConfig};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address the chat (or echo) server accepts on. Default `0.0.0.0:11021`.
    pub listen: SocketAddr,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: SocketAddr::from(([0, 0, 0, 0], 11021)),
        }
    }
}

/// `[engine]`: see [`EngineConfig`] for what each limit does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// `auto`, `io-uring` or `poll`.
    #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
    pub backend: BackendChoice,
    /// I/O threads; 0 means one per core.
    pub io_threads: usize,
    /// Sessions open at once; more are accepted and closed at once.
    pub max_sessions: usize,
    /// Sessions open at once from one address (IPv4, or IPv6 /64); more are
    /// accepted and closed at once. 0: no per-address limit.
    pub max_sessions_per_ip: usize,
    /// Hard limit of unsent bytes per session: past it the session is
    /// closed at once as a slow consumer.
    pub send_queue_limit: usize,
    /// While more than this is queued for a session, its socket is not read
    /// (its requests wait), until the queue drains to the low-water mark.
    pub send_queue_high_water: usize,
    /// A session paused by the high-water mark is read again at or below
    /// this many queued bytes.
    pub send_queue_low_water: usize,
    /// Seconds a session's socket may take none of its queued bytes before
    /// it is closed as a slow consumer; 0 turns the rule off.
    pub send_stall_timeout: u64,
    /// Kernel send buffer per socket (SO_SNDBUF) in bytes; 0: the kernel's
    /// autotuned default.
    pub socket_send_buffer: usize,
    /// Seconds of silence before a session is closed; 0 turns it off.
    pub idle_timeout: u64,
    /// Seconds a shutdown waits for queued data to be flushed.
    pub shutdown_grace: u64,
    /// io_uring receive buffers per I/O thread (a power of two, 8..=32768).
    pub recv_buffers: usize,
    /// Bytes of one receive buffer (512..=1048576).
    pub recv_buffer_size: usize,
    /// Soft limit of frame bytes in one batch handed to the logic thread.
    pub batch_bytes: usize,
    /// Batches per I/O thread in flight to the logic thread before the I/O
    /// thread stops reading (backpressure); at least 2.
    pub batches_per_thread: usize,
    /// Milliseconds the socket of a session closed after its queue was
    /// flushed may linger (writing shut down, the client's late input read
    /// and dropped until its FIN), so a client writing after the close does
    /// not draw a reset that destroys the last bytes; 0: no lingering; at
    /// most 60000.
    pub linger_timeout_ms: u64,
    /// Sockets lingering at once per I/O thread; one more closes the oldest
    /// at once; 0: no lingering.
    pub linger_max: usize,
}

impl Default for EngineSection {
    fn default() -> Self {
        let d = EngineConfig::default();
        EngineSection {
            backend: d.backend,
            io_threads: 0,
            max_sessions: d.max_sessions,
            max_sessions_per_ip: d.max_sessions_per_ip,
            send_queue_limit: d.send_queue_limit,
            send_queue_high_water: d.send_queue_high_water,
            send_queue_low_water: d.send_queue_low_water,
            send_stall_timeout: d.send_stall_timeout.map_or(0, |t| t.as_secs()),
            socket_send_buffer: d.socket_send_buffer,
            idle_timeout: 0,
            shutdown_grace: d.shutdown_grace.as_secs(),
            recv_buffers: d.recv_buffers,
            recv_buffer_size: d.recv_buffer_size,
            batch_bytes: d.batch_bytes,
            batches_per_thread: d.batches_per_thread,
            linger_timeout_ms: u64::try_from(d.linger_timeout.as_millis()).unwrap_or(u64::MAX),
            linger_max: d.linger_max,
        }
    }
}

impl EngineSection {
    /// The engine configuration (I/O threads resolved to the core count
    /// when 0). Range checks are [`EngineConfig::validate`]'s.
    ///
    /// # Errors
    /// `linger_timeout_ms` above 60000 (checked here so the message names
    /// the key as written).
    pub fn to_engine_config(&self) -> Result<EngineConfig, String> {
        if self.linger_timeout_ms > 60_000 {
            return Err(format!(
                "linger_timeout_ms must be 0..=60000, got {}",
                self.linger_timeout_ms
            ));
        }
        let defaults = EngineConfig::default();
        Ok(EngineConfig {
            backend: self.backend,
            io_threads: if self.io_threads == 0 {
                defaults.io_threads
            } else {
                self.io_threads
            },
            max_sessions: self.max_sessions,
            max_sessions_per_ip: self.max_sessions_per_ip,
            send_queue_limit: self.send_queue_limit,
            send_queue_high_water: self.send_queue_high_water,
            send_queue_low_water: self.send_queue_low_water,
            send_stall_timeout: (self.send_stall_timeout > 0)
                .then(|| Duration::from_secs(self.send_stall_timeout)),
            socket_send_buffer: self.socket_send_buffer,
            idle_timeout: (self.idle_timeout > 0).then(|| Duration::from_secs(self.idle_timeout)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            recv_buffer_size: self.recv_buffer_size,
            recv_buffers: self.recv_buffers,
            batch_bytes: self.batch_bytes,
            batches_per_thread: self.batches_per_thread,
            linger_timeout: Duration::from_millis(self.linger_timeout_ms),
            linger_max: self.linger_max,
        })
    }
}

/// `[chat]`: see [`ChatConfig`] and docs/PROTOCOL.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatSection {
    /// Number of rooms.
    pub rooms: u32,
    /// Number of the first room.
    pub room_start: i32,
    /// Users per room at most (one more gets 54).
    pub room_max_users: usize,
    /// Users logged in at once at most (one more gets 32); 0 means
    /// `engine.max_sessions`.
    pub max_users: usize,
    /// Largest packet, header included (5..=32767).
    pub max_frame: usize,
    /// Chat messages per second per session (0: no limit).
    pub chat_rate: u32,
    /// Chat messages a session may send in a burst.
    pub chat_burst: u32,
    /// Seconds a new session has to log in.
    pub login_timeout: u64,
    /// Login attempts per minute from one address (IPv4, or IPv6 /64) over
    /// all its sessions; over it a login gets 63 and costs no hash (0: off).
    pub login_rate_per_ip: u32,
    /// Login attempts one address may make at once after being quiet.
    pub login_burst_per_ip: u32,
    /// Apply the per-address login limit to loopback clients too.
    pub login_limit_loopback: bool,
    /// Requests of one session waiting behind a password check or a
    /// cluster answer (answers go in request order) at which the session is
    /// no longer read until they are answered (at least 1).
    pub pipeline_frames: usize,
    /// Bytes of such waiting requests at which the session is no longer
    /// read (at least 1).
    pub pipeline_bytes: usize,
}

impl Default for ChatSection {
    fn default() -> Self {
        let d = ChatConfig::default();
        ChatSection {
            rooms: d.rooms,
            room_start: d.room_start,
            room_max_users: d.room_max_users,
            max_users: 0,
            max_frame: 8192,
            chat_rate: d.chat_rate,
            chat_burst: d.chat_burst,
            login_timeout: d.login_timeout.as_secs(),
            login_rate_per_ip: d.login_rate_per_ip,
            login_burst_per_ip: d.login_burst_per_ip,
            login_limit_loopback: d.login_limit_loopback,
            pipeline_frames: d.pipeline_frames,
            pipeline_bytes: d.pipeline_bytes,
        }
    }
}

impl ChatSection {
    /// The state machine's configuration.
    pub fn to_chat_config(&self, max_sessions: usize, auto_register: bool) -> ChatConfig {
        ChatConfig {
            room_start: self.room_start,
            rooms: self.rooms,
            room_max_users: self.room_max_users,
            max_users: if self.max_users == 0 {
                max_sessions
            } else {
                self.max_users
            },
            chat_rate: self.chat_rate,
            chat_burst: self.chat_burst,
            login_timeout: Duration::from_secs(self.login_timeout),
            auto_register,
            login_rate_per_ip: self.login_rate_per_ip,
            login_burst_per_ip: self.login_burst_per_ip,
            login_limit_loopback: self.login_limit_loopback,
            pipeline_frames: self.pipeline_frames,
            pipeline_bytes: self.pipeline_bytes,
        }
    }

    /// Checks what [`ChatConfig::validate`] does not.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let max = ringport_proto::header::MAX_FRAME_LIMIT;
        let min = ringport_proto::header::HEADER_LEN;
        if !(min..=max).contains(&self.max_frame) {
            return Err(format!(
                "chat.max_frame must be {min}..={max}, got {}",
                self.max_frame
            ));
        }
        Ok(())
    }
}

/// `[accounts]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsSection {
    /// Where accounts live: `sqlite:PATH` (an embedded file, created on
    /// first run), `redis://[:PASSWORD@]HOST:PORT[/DB]` (shared by several
    /// nodes) or `memory` (while the server runs).
    pub store: String,
    /// Key prefix of the account hashes in Redis.
    pub redis_prefix: String,
    /// Milliseconds one store call may take (Redis connect/read/write
    /// timeouts, SQLite busy wait); a login the store cannot answer in time
    /// gets 34.
    pub timeout_ms: u64,
    /// Create unknown user ids on first login with the given password.
    pub auto_register: bool,
    /// argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
    /// Threads that check passwords, off the I/O and logic threads.
    pub workers: usize,
    /// Logins waiting for a worker at most; beyond it a login is answered 34
    /// at once.
    pub queue: usize,
    /// Milliseconds a login may be expected to wait for its password check
    /// (admission control): a login whose estimated wait — logins ahead ×
    /// the moving average of a check's duration ÷ `workers` — is longer is
    /// answered 34 at once instead of being queued, and a login that still
    /// waited longer for a worker is answered 34 without being checked.
    pub max_login_wait_ms: u64,
}

impl Default for AccountsSection {
    fn default() -> Self {
        let h = HashParams::default();
        AccountsSection {
            store: DEFAULT_STORE.into(),
            redis_prefix: DEFAULT_KEY_PREFIX.into(),
            timeout_ms: 2000,
            auto_register: true,
            argon2_memory_kib: h.memory_kib,
            argon2_iterations: h.iterations,
            argon2_parallelism: h.parallelism,
            workers: 2,
            queue: 1024,
            max_login_wait_ms: 5000,
        }
    }
}

impl AccountsSection {
    /// The password hashing cost.
    pub fn hash_params(&self) -> HashParams {
        HashParams {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        }
    }

    /// The parsed `store` value.
    ///
    /// # Errors
    /// A value that names no known store.
    pub fn spec(&self) -> Result<StoreSpec, String> {
        self.store
            .parse()
            .map_err(|e| format!("accounts.store: {e}"))
    }

    /// How to open the store.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            hash: self.hash_params(),
            redis_prefix: self.redis_prefix.clone(),
            timeout: Duration::from_millis(self.timeout_ms),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        self.spec()?;
        if !(1..=600_000).contains(&self.timeout_ms) {
            return Err(format!(
                "accounts.timeout_ms must be 1..=600000, got {}",
                self.timeout_ms
            ));
        }
        self.hash_params()
            .validate()
            .map_err(|e| format!("accounts.argon2_*: {e}"))?;
        if self.argon2_iterations == 0 {
            return Err("accounts.argon2_iterations must be at least 1".into());
        }
        if self.argon2_memory_kib < 8 {
            return Err(format!(
                "accounts.argon2_memory_kib must be at least 8, got {}",
                self.argon2_memory_kib
            ));
        }
        if self.workers == 0 || self.workers > 1024 {
            return Err(format!(
                "accounts.workers must be 1..=1024, got {}",
                self.workers
            ));
        }
        if self.queue == 0 {
            return Err("accounts.queue must be at least 1".into());
        }
        if !(1..=600_000).contains(&self.max_login_wait_ms) {
            return Err(format!(
                "accounts.max_login_wait_ms must be 1..=600000, got {}",
                self.max_login_wait_ms
            ));
        }
        Ok(())
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format {other:?} (expected text or json)"
            )),
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// Filter in `RUST_LOG` syntax.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
    /// `DIR/PREFIX`: also write to `DIR/PREFIX.YYYY-MM-DD`, a new file each
    /// day (UTC). Empty: stderr only.
    pub file: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            filter: "info".into(),
            format: LogFormat::Text,
            file: String::new(),
        }
    }
}

impl LogSection {
    pub(crate) fn validate(&self) -> Result<(), String> {
        tracing_subscriber::EnvFilter::try_new(&self.filter)
            .map_err(|e| format!("log.filter {:?}: {e}", self.filter))?;
        if !self.file.is_empty() && std::path::Path::new(&self.file).file_name().is_none() {
            return Err(format!(
                "log.file {:?} must end in a file name prefix (DIR/PREFIX)",
                self.file
            ));
        }
        Ok(())
    }
}

/// Where the admin listener listens, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminListen {
    /// No admin listener (`none`).
    Off,
    /// Listen here.
    On(SocketAddr),
}

impl FromStr for AdminListen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "none" {
            return Ok(AdminListen::Off);
        }
        s.parse()
            .map(AdminListen::On)
            .map_err(|_| format!("{s:?} is neither an address (IP:PORT) nor `none`"))
    }
}

impl fmt::Display for AdminListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminListen::Off => f.write_str("none"),
            AdminListen::On(addr) => write!(f, "{addr}"),
        }
    }
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    /// Address of the metrics and health listener, or `none`. Default
    /// `127.0.0.1:9100` (loopback only: it has no authentication).
    #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
    pub listen: AdminListen,
    /// Seconds a client has to send its request (and to take the answer).
    pub request_timeout: u64,
    /// Largest request head in bytes; a larger one is answered 431.
    pub max_request: usize,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection {
            listen: AdminListen::On(SocketAddr::from(([127, 0, 0, 1], 9100))),
            request_timeout: 2,
            max_request: 8192,
        }
    }
}

impl AdminSection {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(1..=60).contains(&self.request_timeout) {
            return Err(format!(
                "admin.request_timeout must be 1..=60 seconds, got {}",
                self.request_timeout
            ));
        }
        if !(256..=1 << 20).contains(&self.max_request) {
            return Err(format!(
                "admin.max_request must be 256..=1048576 bytes, got {}",
                self.max_request
            ));
        }
        Ok(())
    }
}

/// `[cluster]`: scale-out through Redis (docs/SCALING.md). Off while `url`
/// is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSection {
    /// `redis://[[USER]:PASSWORD@]HOST:PORT[/DB]` (a single server or a
    /// Sentinel-managed primary; not Redis Cluster). Empty: no cluster.
    pub url: String,
    /// Prefix of every cluster key and channel.
    pub prefix: String,
    /// This node's id (1 to 64 printable ASCII characters, no spaces).
    /// Empty: one made from the process id and the start time.
    pub node_id: String,
    /// Milliseconds a node may stay silent before it is dead (100..=600000).
    pub lease_ms: u64,
    /// Milliseconds between heartbeats (10..=60000); below `lease_ms` and
    /// `claim_ttl_ms`.
    pub heartbeat_ms: u64,
    /// Milliseconds a login claim lives without refresh (100..=3600000).
    pub claim_ttl_ms: u64,
    /// Milliseconds one Redis operation may take (1..=60000).
    pub timeout_ms: u64,
    /// Requests queued for the node thread at most (1..=16777216).
    pub queue: usize,
}

impl Default for ClusterSection {
    fn default() -> Self {
        ClusterSection {
            url: String::new(),
            prefix: "ringport:".into(),
            node_id: String::new(),
            lease_ms: 5000,
            heartbeat_ms: 1000,
            claim_ttl_ms: 15_000,
            timeout_ms: 1000,
            queue: 65_536,
        }
    }
}

impl ClusterSection {
    /// Whether a cluster is configured.
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    /// `url` with any password replaced by `***` (for logs and errors);
    /// `off` when no cluster is configured.
    pub fn shown_url(&self) -> String {
        if self.enabled() {
            ringport_accounts::redact(&self.url)
        } else {
            "off".into()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.enabled() {
            crate::cluster::check_url(&self.url)
                .map_err(|e| format!("cluster.url {}: {e}", self.shown_url()))?;
        }
        if self.prefix.contains(char::is_whitespace) {
            return Err(format!(
                "cluster.prefix must not contain spaces, got {:?}",
                self.prefix
            ));
        }
        if !self.node_id.is_empty() && !ringport_chat::cluster::wire::valid_node_id(&self.node_id) {
            return Err(format!(
                "cluster.node_id must be 1 to 64 printable ASCII characters without spaces, got {:?}",
                self.node_id
            ));
        }
        for (key, value, min, max) in [
            ("lease_ms", self.lease_ms, 100, 600_000),
            ("heartbeat_ms", self.heartbeat_ms, 10, 60_000),
            ("claim_ttl_ms", self.claim_ttl_ms, 100, 3_600_000),
            ("timeout_ms", self.timeout_ms, 1, 60_000),
        ] {
            if !(min..=max).contains(&value) {
                return Err(format!("cluster.{key} must be {min}..={max}, got {value}"));
            }
        }
        if !(1..=16_777_216).contains(&self.queue) {
            return Err(format!(
                "cluster.queue must be 1..=16777216, got {}",
                self.queue
            ));
        }
        if self.heartbeat_ms >= self.lease_ms || self.heartbeat_ms >= self.claim_ttl_ms {
            return Err(format!(
                "cluster.heartbeat_ms ({}) must be below cluster.lease_ms ({}) and cluster.claim_ttl_ms ({})",
                self.heartbeat_ms, self.lease_ms, self.claim_ttl_ms
            ));
        }
        Ok(())
    }
}

fn as_display<T: fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn from_str<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: FromStr<Err = String>,
    D: Deserializer<'de>,
{
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}
