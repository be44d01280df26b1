//! The sections of the configuration, each key defined once (see
//! [`super::settings`]): its type, default, flag, range and the text
//! operators read in `--help`, `contrib/ringport.toml` and
//! docs/OPERATIONS.md. Below each section: its conversion to the engine's or
//! the chat's own configuration type and the checks that involve more than
//! one key.
//!
//! One file (over 500 lines, nearly all definitions): every key of every
//! section in one table to read, in the order of the example file.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ringport_accounts::{HashParams, StoreOptions, StoreSpec, DEFAULT_KEY_PREFIX, DEFAULT_STORE};
use ringport_chat::ChatConfig;
use ringport_net::{BackendChoice, EngineConfig};
use ringport_proto::header::{HEADER_LEN, MAX_FRAME_LIMIT};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::settings::settings;

settings! {
    /// Where clients connect.
    pub struct ServerSection in server {
        /// Address the chat server (or the echo server) accepts on, in the
        /// clear, or `none` (the chat server then needs `tls_listen` or
        /// `websocket.listen`). Passwords cross it readable by anyone on the
        /// path: keep it for clients that cannot do TLS (the tutorial's C#
        /// client), on networks you trust.
        #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
        listen: ListenAddr = ListenAddr::On(SocketAddr::from(([0, 0, 0, 0], 11021))),
            flag(Host, "listen");
        /// Address of the TLS listener: the same binary protocol inside TLS
        /// 1.3 or 1.2 (e.g. `0.0.0.0:11022`), or `none`. Needs `tls.cert`
        /// and `tls.key`.
        #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
        tls_listen: ListenAddr = ListenAddr::Off, flag(Serve, "tls-listen");
    }
}

settings! {
    /// The network engine: I/O threads, session limits, send queues and
    /// receive buffers (see ringport-net's `EngineConfig`).
    pub struct EngineSection in engine, defaults(d = EngineConfig::default()) {
        /// I/O backend: `auto` (io_uring, falling back to poll with one
        /// warning naming the reason when the kernel refuses a ring),
        /// `io-uring` (or fail, exit 1), `poll` (epoll).
        #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
        backend: BackendChoice = d.backend, flag(Host, "backend");
        /// I/O threads, each with its own ring or poller and its own
        /// sessions; 0: one per core.
        io_threads: usize = 0, flag(Host, "io-threads");
        /// Sessions open at once; connections beyond it are accepted and
        /// closed at once (`ringport_sessions_refused_total`). Each session
        /// needs one file descriptor.
        max_sessions: usize = d.max_sessions, flag(Host, "max-sessions");
        /// Sessions open at once from one address (IPv4, or IPv6 /64); more
        /// are accepted and closed at once
        /// (`ringport_sessions_refused_per_ip_total`); 0: no limit. Behind
        /// NAT or a load balancer many users share an address: set it only
        /// where clients connect directly.
        max_sessions_per_ip: usize = d.max_sessions_per_ip,
            flag(Host, "max-sessions-per-ip");
        /// Hard limit of unsent bytes per session: a session whose queue
        /// would pass it is closed at once as a slow consumer. Bounds one
        /// session's memory.
        send_queue_limit: usize = d.send_queue_limit, flag(Host, "send-queue-limit");
        /// While more than this many bytes are queued for a session, its
        /// socket is not read (its requests wait; TCP holds the client
        /// back): a client that sends faster than it reads is slowed, not
        /// cut (`ringport_output_pauses_total`). At most
        /// `send_queue_limit`.
        send_queue_high_water: usize = d.send_queue_high_water,
            flag(Host, "send-queue-high-water");
        /// A session paused by the high-water mark is read again at or below
        /// this many queued bytes; below `send_queue_high_water`.
        send_queue_low_water: usize = d.send_queue_low_water,
            flag(Host, "send-queue-low-water");
        /// Seconds a session's socket may take none of its queued bytes (the
        /// client reads nothing) before the session is closed as a slow
        /// consumer (`ringport_send_stalls_total`); 0: off (then only
        /// `send_queue_limit` cuts it).
        send_stall_timeout: u64 = secs_or_zero(d.send_stall_timeout),
            flag(Host, "send-stall-timeout");
        /// Kernel send buffer per socket (SO_SNDBUF) in bytes, 0 or
        /// 4096..=1073741824; 0: the kernel's default, autotuned up to
        /// `net.ipv4.tcp_wmem`'s maximum (often 4 MiB). A slow reader is cut
        /// off only once this buffer and `send_queue_limit` are full: e.g.
        /// 65536 cuts it sooner and bounds its memory (fast readers on long,
        /// fast links may then get less throughput).
        socket_send_buffer: usize = d.socket_send_buffer, flag(Host, "socket-send-buffer");
        /// Seconds without receiving anything before a session is closed;
        /// 0: never.
        idle_timeout: u64 = secs_or_zero(d.idle_timeout), flag(Host, "idle-timeout");
        /// Seconds a shutdown (drain) waits for queued data to reach clients
        /// before the remaining sessions are closed anyway.
        shutdown_grace: u64 = d.shutdown_grace.as_secs(), flag(Host, "shutdown-grace");
        /// io_uring receive buffers per I/O thread (a power of two,
        /// 8..=32768); too few for the load shows as
        /// `ringport_recv_rearms_total`.
        recv_buffers: usize = d.recv_buffers, flag(Host, "recv-buffers");
        /// Bytes of one receive buffer (512..=1048576).
        recv_buffer_size: usize = d.recv_buffer_size, flag(Host, "recv-buffer-size");
        /// Soft limit of received bytes per batch handed to the logic thread
        /// (at least `recv_buffer_size`).
        batch_bytes: usize = d.batch_bytes;
        /// Batches per I/O thread in flight to the logic thread before that
        /// I/O thread stops reading (backpressure); at least 2.
        batches_per_thread: usize = d.batches_per_thread;
        /// After a session is closed with everything queued for it sent
        /// (login timeout, drain), its socket lingers: writing is shut down
        /// (the client gets EOF after the last bytes) and whatever the client
        /// still sends is read and dropped until it closes, for at most this
        /// many milliseconds (0: close at once, and a client writing late may
        /// then get a reset that destroys the last bytes). The session is
        /// released at once; a lingering socket costs one descriptor, and a
        /// drain waits up to this long for the last lingering sockets.
        linger_timeout_ms: u64 = millis(d.linger_timeout), range(..=60_000);
        /// Sockets lingering at once per I/O thread; one more closes the
        /// oldest at once (`ringport_linger_evicted_total`); 0: no lingering.
        linger_max: usize = d.linger_max;
        /// TLS handshakes in progress at once; a connection to a TLS
        /// listener beyond it is closed at once
        /// (`ringport_tls_handshake_failures_total{reason="busy"}`). A
        /// handshake that stalls ends at `chat.login_timeout`. At least 1.
        /// The default, as `max_sessions`, serves every client of a
        /// reconnect storm after a restart; lower it to bound a handshake
        /// flood's CPU (about 0.3 ms each) and memory (a few KiB each).
        max_tls_handshakes: usize = d.max_tls_handshakes;
    }
}

impl EngineSection {
    /// The engine configuration (I/O threads resolved to the core count
    /// when 0). Range checks are [`EngineConfig::validate`]'s, and
    /// [`EngineSection::check_ranges`]'s for the keys whose unit differs.
    pub fn to_engine_config(&self) -> EngineConfig {
        let defaults = EngineConfig::default();
        EngineConfig {
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
            max_tls_handshakes: self.max_tls_handshakes,
        }
    }
}

settings! {
    /// Rooms, frames, rates and timeouts of the chat protocol
    /// (docs/PROTOCOL.md).
    pub struct ChatSection in chat, defaults(d = ChatConfig::default()) {
        /// Number of rooms: rooms are numbered `room_start` ..
        /// `room_start + rooms - 1`.
        rooms: u32 = d.rooms, flag(Serve, "rooms");
        /// Number of the first room.
        room_start: i32 = d.room_start,
            flag(Serve, "room-start", allow_negative_numbers(true));
        /// Members per room; one more is refused with 54.
        room_max_users: usize = d.room_max_users, flag(Serve, "room-max-users");
        /// Users logged in at once; one more is refused with 32. 0:
        /// `engine.max_sessions`.
        max_users: usize = 0;
        /// Largest packet, header included; a longer one closes the session
        /// (reason `bad_frame`).
        max_frame: usize = 8192, flag(Serve, "max-frame"), range(HEADER_LEN..=MAX_FRAME_LIMIT);
        /// Chat messages per second per session (token bucket; 0: no limit);
        /// over it a chat is refused with 63.
        chat_rate: u32 = d.chat_rate, flag(Serve, "chat-rate");
        /// Chat messages a session may send at once after a quiet time.
        chat_burst: u32 = d.chat_burst, flag(Serve, "chat-burst");
        /// Seconds a connection has to send a login before it is closed. A
        /// session whose login is still being answered at the deadline is
        /// kept (every login is answered) and its deadline moves
        /// `login_timeout` on, so a client answered 34 late may retry; it is
        /// closed at the moved deadline if not logged in
        /// (`ringport_login_deadlines_extended_total`).
        login_timeout: u64 = d.login_timeout.as_secs(), flag(Serve, "login-timeout");
        /// Login attempts per minute from one address (IPv4, or IPv6 /64)
        /// over all its sessions; an attempt over it is answered 63 and costs
        /// no password hash (`ringport_logins_rate_limited_total`), so one
        /// address cannot keep the argon2 workers busy. 0: no limit.
        login_rate_per_ip: u32 = d.login_rate_per_ip, flag(Serve, "login-rate-per-ip");
        /// Login attempts one address may make at once after a quiet time.
        login_burst_per_ip: u32 = d.login_burst_per_ip, flag(Serve, "login-burst-per-ip");
        /// Apply the per-address login limit to loopback clients too (off:
        /// local load generators log in many users from 127.0.0.1).
        login_limit_loopback: bool = d.login_limit_loopback,
            flag(Serve, "login-limit-loopback");
        /// Requests are answered in the order received: requests a session
        /// sends while its login's password check (with a cluster: its login
        /// claim or room enter) is pending wait for it; at this many waiting
        /// requests the session is not read until they are answered
        /// (`ringport_pipeline_pauses_total`). Nothing is dropped; at least 1.
        pipeline_frames: usize = d.pipeline_frames, flag(Serve, "pipeline-frames");
        /// The same bound in bytes (headers included); at least 1. Frames the
        /// engine had already read when the pause took effect are queued
        /// beyond the bounds: at most `batches_per_thread` × `batch_bytes`
        /// per I/O thread (2 MiB with the defaults), in practice a receive or
        /// two.
        pipeline_bytes: usize = d.pipeline_bytes, flag(Serve, "pipeline-bytes");
        /// Largest capacity a user may give a room it creates (301); above it
        /// the create is refused with 103. At least `room_max_users` (which
        /// is also a created room's capacity when none is asked), at most
        /// 65535.
        room_max_users_limit: usize = d.room_max_users_limit,
            flag(Serve, "room-max-users-limit");
        /// Seconds a created room may stay empty (since its creation or its
        /// last member leaving) before it closes, its name and number freed;
        /// at least 1. Fixed rooms never close.
        room_idle_close_secs: u64 = d.room_idle_close.as_secs(),
            flag(Serve, "room-idle-close-secs");
        /// Created rooms one user id may have open; one more is refused with
        /// 104. 0: users cannot create rooms.
        rooms_per_user: u32 = d.rooms_per_user, flag(Serve, "rooms-per-user");
        /// Created rooms open on the server (cluster-wide with a cluster);
        /// one more is refused with 105.
        max_created_rooms: usize = d.max_created_rooms, flag(Serve, "max-created-rooms");
        /// Room creates per minute per session (token bucket; 0: no limit);
        /// over it a create is refused with 63.
        room_create_rate: u32 = d.room_create_rate;
        /// Creates a session may make at once after a quiet time.
        room_create_burst: u32 = d.room_create_burst;
        /// Number of the first created room; created rooms are numbered from
        /// here up, and the range must lie above the fixed rooms.
        created_room_start: i32 = d.created_room_start;
        /// Messages each room keeps for catch-up after a reconnect (clients
        /// that said hello ask for what they missed, docs/PROTOCOL.md
        /// "History and resume"); at most 100000. 0: no history. Memory:
        /// about 50 bytes plus the text per message (under 330), for rooms with members or empty for
        /// less than `room_idle_close_secs`.
        history_len: usize = d.history_len, flag(Serve, "history-len");
        /// Where the history is kept: `memory` (lost at a restart: rooms
        /// start new epochs), `sqlite` (the file `history_sqlite`) or
        /// `redis` (the server `history_redis`): written behind by a
        /// thread of its own, read back at start, so fixed rooms keep their
        /// messages and epochs across restarts. In cluster mode the history
        /// is always kept in the cluster's Redis (numbered there, shared by
        /// the nodes): `memory` or `redis` only.
        history_store: String = "memory".into(), flag(Serve, "history-store");
        /// SQLite file of `history_store = "sqlite"`. Empty: the account
        /// store's file when `accounts.store` is `sqlite:PATH`, else
        /// `ringport-history.db` in the working directory.
        history_sqlite: String = String::new(), flag(Serve, "history-sqlite");
        /// Redis of `history_store = "redis"`
        /// (`redis://[[USER]:PASSWORD@]HOST:PORT[/DB]`; keys under
        /// `cluster.prefix`). Empty: `cluster.url`.
        history_redis: String = String::new(), flag(Serve, "history-redis");
        /// Where the chat logic runs: `own` (a thread of its own, fed by the
        /// I/O threads in batches), `io` (on the I/O thread itself, no
        /// hand-off between threads; needs `engine.io_threads = 1`) or
        /// `auto` (`io` when there is one I/O thread, else `own`). With
        /// one I/O thread the two threads share a core's work and every
        /// hand-off is a wake-up; `io` saves that (docs/BENCHMARKS.md,
        /// "Logic on the I/O thread").
        #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
        logic_thread: LogicThread = LogicThread::Auto, flag(Serve, "logic-thread");
    }
}

impl ChatSection {
    /// Whether the logic runs on the I/O thread, given the number of I/O
    /// threads (after `0` is resolved).
    ///
    /// # Errors
    /// `io` with more than one I/O thread.
    pub fn logic_on_io_thread(&self, io_threads: usize) -> Result<bool, String> {
        match self.logic_thread {
            LogicThread::Own => Ok(false),
            LogicThread::Auto => Ok(io_threads == 1),
            LogicThread::Io if io_threads == 1 => Ok(true),
            LogicThread::Io => Err(format!(
                "chat.logic_thread: io needs engine.io_threads = 1 (there are {io_threads})"
            )),
        }
    }
}

/// Where the chat logic runs (`chat.logic_thread`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicThread {
    /// On the I/O thread when there is one, else on its own.
    Auto,
    /// On a thread of its own.
    Own,
    /// On the (one) I/O thread.
    Io,
}

impl FromStr for LogicThread {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(LogicThread::Auto),
            "own" => Ok(LogicThread::Own),
            "io" => Ok(LogicThread::Io),
            other => Err(format!("{other:?} is not auto, own or io")),
        }
    }
}

impl fmt::Display for LogicThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogicThread::Auto => "auto",
            LogicThread::Own => "own",
            LogicThread::Io => "io",
        })
    }
}

impl ChatSection {
    /// Where the history is kept (see `history_store`), given the account
    /// store and the cluster.
    ///
    /// # Errors
    /// An unknown `history_store`, `sqlite` in cluster mode, `redis`
    /// without a URL, or a URL that is not `redis://`.
    pub fn history_kind(
        &self,
        accounts: &AccountsSection,
        cluster: &ClusterSection,
    ) -> Result<crate::history_store::Kind, String> {
        use crate::history_store::Kind;
        match self.history_store.as_str() {
            "memory" => Ok(Kind::Memory),
            "sqlite" if cluster.enabled() => Err(
                "chat.history_store: sqlite cannot be used in cluster mode (the history is kept in the cluster's Redis)"
                    .into(),
            ),
            "sqlite" => {
                let path = if !self.history_sqlite.is_empty() {
                    std::path::PathBuf::from(&self.history_sqlite)
                } else if let Ok(StoreSpec::Sqlite(path)) = accounts.spec() {
                    path
                } else {
                    std::path::PathBuf::from("ringport-history.db")
                };
                Ok(Kind::Sqlite(path))
            }
            "redis" => {
                let url = if self.history_redis.is_empty() {
                    cluster.url.clone()
                } else {
                    self.history_redis.clone()
                };
                if url.is_empty() {
                    return Err("chat.history_redis: needed for history_store = \"redis\" without cluster.url".into());
                }
                crate::cluster::check_url(&url).map_err(|e| format!("chat.history_redis: {e}"))?;
                Ok(Kind::Redis {
                    url,
                    prefix: cluster.prefix.clone(),
                })
            }
            other => Err(format!(
                "chat.history_store: {other:?} is not memory, sqlite or redis"
            )),
        }
    }

    /// The state machine's configuration. Range checks are
    /// [`ChatConfig::validate`]'s.
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
            room_max_users_limit: self.room_max_users_limit,
            room_idle_close: Duration::from_secs(self.room_idle_close_secs),
            rooms_per_user: self.rooms_per_user,
            max_created_rooms: self.max_created_rooms,
            room_create_rate: self.room_create_rate,
            room_create_burst: self.room_create_burst,
            created_room_start: self.created_room_start,
            history_len: self.history_len,
            token_key: None,
            token_ttl: ChatConfig::default().token_ttl,
        }
    }
}

/// The token secret file of a Redis account store when none is configured,
/// in the working directory.
pub const DEFAULT_TOKEN_SECRET_FILE: &str = "ringport-token-secret";

settings! {
    /// The account store and password hashing.
    pub struct AccountsSection in accounts,
        defaults(hash = HashParams::default(), chat = ChatConfig::default())
    {
        /// Account store: `sqlite:PATH` (an embedded file, created on first
        /// run; WAL, `synchronous=FULL`: a registration answered 0 survives a
        /// crash or power cut; a relative PATH is relative to the working
        /// directory), `redis://[:PASSWORD@]HOST:PORT[/DB]` (shared by
        /// several nodes) or `memory` (only while the server runs).
        store: String = DEFAULT_STORE.into(),
            flag(Store, "accounts", value_name("STORE"));
        /// Key prefix of the account hashes in Redis: one hash per account,
        /// `<prefix><id>` with fields `phc` and `created`.
        redis_prefix: String = DEFAULT_KEY_PREFIX.into(),
            flag(Store, "accounts-prefix", value_name("PREFIX"));
        /// Milliseconds one store call may take (Redis connect/read/write
        /// timeout, SQLite busy wait); a login the store cannot answer in
        /// time gets 34.
        timeout_ms: u64 = 2000, flag(Store, "accounts-timeout-ms"), range(1..=600_000);
        /// Create unknown user ids on first login with the given password.
        /// Turn it off in production and create accounts beforehand.
        auto_register: bool = chat.auto_register, flag(Serve, "auto-register");
        /// argon2id memory cost of a password hash in KiB (the hashing
        /// library takes at most 262144, 256 MiB).
        argon2_memory_kib: u32 = hash.memory_kib, flag(Store, "argon2-memory-kib"), range(8..);
        /// argon2id iterations (the hashing library takes at most 64).
        argon2_iterations: u32 = hash.iterations, flag(Store, "argon2-iterations"), range(1..);
        /// argon2id lanes.
        argon2_parallelism: u32 = hash.parallelism, flag(Store, "argon2-parallelism");
        /// Threads that check passwords, off the I/O and logic threads; each
        /// keeps one `argon2_memory_kib` buffer from its first login on,
        /// reused for every hash (see docs/OPERATIONS.md, Sizing).
        workers: usize = 2, flag(Serve, "auth-workers"), range(1..=1024);
        /// Logins waiting for a worker at most; beyond it a login is answered
        /// 34 (backend unavailable) at once instead of stalling the server.
        queue: usize = 1024, range(1..);
        /// Admission control for login bursts, in milliseconds: a login whose
        /// estimated wait for its check — (logins queued + being checked + 1)
        /// × `ringport_login_check_seconds` (a moving average of one check,
        /// weight 1/5) ÷ `workers` — is longer is answered 34 at once,
        /// unhashed, instead of queueing; a login that still waited longer
        /// for a worker (before the first check is measured every login is
        /// admitted) is answered 34 unhashed. So every login is answered
        /// within this plus one check.
        max_login_wait_ms: u64 = 5000, flag(Serve, "max-login-wait-ms"), range(1..=600_000);
        /// Seconds a resume token holds (sent as 316 after each login to
        /// clients that said hello with RESUME; they log in again with it,
        /// 317, without the password and without a hash). At most 30 days.
        token_ttl_secs: u64 = chat.token_ttl.as_secs(), flag(Serve, "token-ttl-secs"),
            range(1..=2_592_000);
        /// File with the 32-byte secret resume tokens are signed with,
        /// created (mode 0600) on first start; the server refuses to start
        /// if it is unreadable, not 32 bytes, or open to group or others.
        /// Empty: `<PATH>.token-secret` next to an `sqlite:PATH` store,
        /// `ringport-token-secret` in the working directory with a Redis
        /// store, and a fresh key at each start with `memory` (tokens then
        /// die with the process). Cluster nodes must share one file.
        /// Replacing it invalidates every token.
        token_secret_file: String = String::new(),
            flag(Serve, "token-secret-file", value_name("FILE"));
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

    /// How long a resume token holds.
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs)
    }

    /// Where the token secret lives: the file `token_secret_file` names,
    /// else the default for the store (see the key's docs); `None`: a fresh
    /// key at each start (the memory store).
    ///
    /// # Errors
    /// A store value that names no known store.
    pub fn token_secret_path(&self) -> Result<Option<PathBuf>, String> {
        if !self.token_secret_file.is_empty() {
            return Ok(Some(PathBuf::from(&self.token_secret_file)));
        }
        Ok(match self.spec()? {
            StoreSpec::Memory => None,
            StoreSpec::Sqlite(db) => {
                let mut name = db.into_os_string();
                name.push(".token-secret");
                Some(PathBuf::from(name))
            }
            StoreSpec::Redis(_) => Some(PathBuf::from(DEFAULT_TOKEN_SECRET_FILE)),
        })
    }

    /// Checks what the ranges of the definition do not.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.spec()?;
        self.hash_params()
            .validate()
            .map_err(|e| format!("accounts.argon2_*: {e}"))
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

settings! {
    /// Filter, format and an optional rolling file of the log.
    pub struct LogSection in log {
        /// Filter in `RUST_LOG` syntax (`info`, `warn,ringport_net=debug`).
        /// `RUST_LOG` in the environment also sets it
        /// (`RINGPORT_LOG__FILTER` wins).
        filter: String = "info".into(),
            flag(Global, "log", value_parser(parse_filter), value_name("FILTER"));
        /// `text` (human-readable, coloured on a terminal) or `json` (one
        /// object per line).
        format: LogFormat = LogFormat::Text, flag(Global, "log-format");
        /// `DIR/PREFIX`: also write the log to `DIR/PREFIX.YYYY-MM-DD`, a new
        /// file each day (UTC); old files are kept — rotate them away with
        /// your usual tooling. Empty: stderr only.
        file: String = String::new(), flag(Global, "log-file", value_name("DIR/PREFIX"));
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

/// Checks a `--log` filter when the flag is parsed (a bad one is a usage
/// error).
fn parse_filter(s: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// Where a listener (admin, WebSocket) listens, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAddr {
    /// No admin listener (`none`).
    Off,
    /// Listen here.
    On(SocketAddr),
}

impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "none" {
            return Ok(ListenAddr::Off);
        }
        s.parse()
            .map(ListenAddr::On)
            .map_err(|_| format!("{s:?} is neither an address (IP:PORT) nor `none`"))
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Off => f.write_str("none"),
            ListenAddr::On(addr) => write!(f, "{addr}"),
        }
    }
}

settings! {
    /// The metrics and health listener: `GET /metrics` (Prometheus text
    /// format), `/health/live`, `/health/ready`. It serves one connection
    /// at a time and closes each after its answer.
    pub struct AdminSection in admin {
        /// Address of the metrics and health listener, or `none`. It has no
        /// authentication: keep it on loopback or a private network.
        /// (Prometheus's node exporter also defaults to 9100; pick another
        /// port where it runs.)
        #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
        listen: ListenAddr = ListenAddr::On(SocketAddr::from(([127, 0, 0, 1], 9100))),
            flag(Serve, "admin-listen");
        /// Seconds a client has to send its request and to take the answer.
        request_timeout: u64 = 2, range(1..=60);
        /// Largest request head in bytes; a larger one is answered 431.
        max_request: usize = 8192, range(256..=1 << 20);
    }
}

settings! {
    /// Browsers: the chat protocol over WebSocket (RFC 6455, one packet per
    /// binary message; docs/PROTOCOL.md) beside the TCP listener, on the same
    /// sessions, limits and rooms, and the web client at `GET /`.
    pub struct WebSocketSection in websocket {
        /// Address of the WebSocket listener, or `none` (off). Browsers open
        /// `http://ADDR/` for the web client, which connects to `/ws`.
        #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
        listen: ListenAddr = ListenAddr::Off, flag(Serve, "ws-listen");
        /// Origins (`scheme://host[:port]`, comma-separated) whose pages may
        /// open WebSocket sessions besides the page ringport serves itself
        /// (its own origin is always allowed); `*`: any. Other browser pages
        /// get 403; programs (no `Origin` header) are not checked.
        #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
        allowed_origins: OriginList = OriginList::default(),
            flag(Serve, "ws-allowed-origins");
        /// Host names (`name` or `name:port`, comma-separated) the listener
        /// answers to; a request whose `Host` is not one of them gets 421
        /// and nothing else, page or upgrade. Empty: any. Set it to the
        /// names browsers use: a page on an attacker's name that resolves
        /// to this listener (DNS rebinding) is then refused.
        #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
        allowed_hosts: HostList = HostList::default(), flag(Serve, "ws-allowed-hosts");
        /// Largest HTTP request head in bytes; a longer one is answered 400
        /// and the connection closed.
        max_request_head: usize = ringport_net::DEFAULT_MAX_HEAD, range(1024..=65_536);
        /// Serve `wss://` (and the web client over `https://`) instead of
        /// `ws://`: TLS with `tls.cert` and `tls.key`, ALPN `http/1.1`.
        tls: bool = false, flag(Serve, "ws-tls");
    }
}

settings! {
    /// The certificate of the TLS listeners (`server.tls_listen`,
    /// `websocket.tls`). Both files are read again on `SIGHUP`: new
    /// sessions get the new pair, open sessions keep theirs, and a pair
    /// that cannot be used is refused with a log line while the old one
    /// stays.
    pub struct TlsSection in tls {
        /// PEM file of the certificate chain: the server's certificate
        /// first, then any intermediates. Refused if expired or not yet
        /// valid; days left on `/metrics`.
        cert: String = String::new(), flag(Serve, "tls-cert", value_name("FILE"));
        /// PEM file of the private key (PKCS#8, RSA or EC) matching `cert`.
        /// Keep it readable by the server's user only.
        key: String = String::new(), flag(Serve, "tls-key", value_name("FILE"));
    }
}

impl TlsSection {
    /// Whether a certificate is configured (both files named).
    pub fn is_set(&self) -> bool {
        !self.cert.is_empty() && !self.key.is_empty()
    }
}

/// Origins allowed to open WebSocket sessions, as written: comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginList(pub Vec<String>);

impl FromStr for OriginList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut origins = Vec::new();
        for origin in s.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            // scheme://host[:port], no path: what browsers send as Origin.
            let host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            let valid = origin == "*"
                || host.is_some_and(|h| {
                    !h.is_empty()
                        && !h.trim_end_matches('/').contains('/')
                        && !h.contains(char::is_whitespace)
                });
            if !valid {
                return Err(format!(
                    "{origin:?} is not an origin (scheme://host[:port], or *)"
                ));
            }
            origins.push(origin.to_string());
        }
        Ok(OriginList(origins))
    }
}

/// Host names a WebSocket listener answers to, as written: comma-separated
/// `name` or `name:port` (lowercase when compared).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostList(pub Vec<String>);

impl FromStr for HostList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut hosts = Vec::new();
        for host in s.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let valid = !host.contains(['/', '@', '?', '#'])
                && !host.contains(char::is_whitespace)
                && !host.starts_with(':');
            if !valid {
                return Err(format!(
                    "{host:?} is not a host (name or name:port, as browsers send in Host)"
                ));
            }
            hosts.push(host.to_ascii_lowercase());
        }
        Ok(HostList(hosts))
    }
}

impl fmt::Display for HostList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl fmt::Display for OriginList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

settings! {
    /// Several nodes sharing rooms, presence and logins through one Redis
    /// (docs/SCALING.md); off while `url` is empty.
    pub struct ClusterSection in cluster {
        /// `redis://[[USER]:PASSWORD@]HOST:PORT[/DB]`: a single server or a
        /// Sentinel-managed primary, not Redis Cluster. The password is shown
        /// as `***` in the log and in errors. Empty: off, one node with
        /// everything in the process.
        url: String = String::new(), flag(Serve, "cluster", value_name("URL"));
        /// Prefix of every cluster key and channel (no spaces); deployments
        /// sharing one Redis need different prefixes.
        prefix: String = "ringport:".into(), flag(Serve, "cluster-prefix", value_name("PREFIX"));
        /// This node's id, 1 to 64 printable ASCII characters without spaces,
        /// unique among the nodes sharing the prefix. Empty: made from the
        /// process id and the start time.
        node_id: String = String::new(), flag(Serve, "cluster-node-id", value_name("ID"));
        /// Milliseconds a node may stay silent before the others take it for
        /// dead and remove its room members.
        lease_ms: u64 = 5000, flag(Serve, "cluster-lease-ms"), range(100..=600_000);
        /// Milliseconds between heartbeats: the lease is renewed, login claims
        /// refreshed and each served room's membership re-read. Below
        /// `lease_ms` and `claim_ttl_ms` (well below the lease).
        heartbeat_ms: u64 = 1000, flag(Serve, "cluster-heartbeat-ms"), range(10..=60_000);
        /// Milliseconds a login claim lives without refresh: how long a
        /// crashed node's users stay logged in (31) cluster-wide.
        claim_ttl_ms: u64 = 15_000, flag(Serve, "cluster-claim-ttl-ms"), range(100..=3_600_000);
        /// Milliseconds one Redis operation may take (connect, read, write);
        /// during an outage reconnects are tried at most every min(this,
        /// 500 ms) and logins are answered 34.
        timeout_ms: u64 = 1000, flag(Serve, "cluster-timeout-ms"), range(1..=60_000);
        /// Requests (publishes, enters, claims) queued for the cluster thread
        /// at most; beyond it a chat is not published
        /// (`ringport_cluster_chats_dropped_total`) and a login or enter is
        /// answered as if Redis were down.
        queue: usize = 65_536, flag(Serve, "cluster-queue"), range(1..=16_777_216);
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

    /// Checks what the ranges of the definition do not.
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
        if self.heartbeat_ms >= self.lease_ms || self.heartbeat_ms >= self.claim_ttl_ms {
            return Err(format!(
                "cluster.heartbeat_ms ({}) must be below cluster.lease_ms ({}) and cluster.claim_ttl_ms ({})",
                self.heartbeat_ms, self.lease_ms, self.claim_ttl_ms
            ));
        }
        Ok(())
    }
}

/// Whole seconds of an optional duration; `None` is 0 (off).
fn secs_or_zero(d: Option<Duration>) -> u64 {
    d.map_or(0, |d| d.as_secs())
}

/// Whole milliseconds of a duration (saturating).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
