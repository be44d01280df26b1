//! `ringport serve`: the chat server of docs/PROTOCOL.md on the engine, with
//! its admin listener (metrics, health), systemd notification and graceful
//! drain.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ringport_accounts::AccountStore;
use ringport_chat::Chat;
use ringport_net::Engine;

use crate::auth_pool::{AuthPool, StoreWatch};
use crate::chat_host::Published;
use crate::cluster::ClusterArgs;
use crate::config::{AccountsSection, AdminListen, Config};
use crate::engine_args::{set, EngineArgs};
use crate::health::Health;
use crate::metrics::{Metrics, Sources};
use crate::packet_framing::PacketFraming;
use crate::store_args::StoreArgs;

/// Flags of `ringport serve`. Each overrides its configuration key only when
/// given; the key and its default are in brackets.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on. [server.listen; default 0.0.0.0:11021]
    #[arg(long)]
    pub listen: Option<SocketAddr>,

    /// Number of rooms. [chat.rooms; default 10]
    #[arg(long)]
    pub rooms: Option<u32>,

    /// Number of the first room. [chat.room_start; default 0]
    #[arg(long, allow_negative_numbers = true)]
    pub room_start: Option<i32>,

    /// Users per room at most. [chat.room_max_users; default 4]
    #[arg(long)]
    pub room_max_users: Option<usize>,

    /// Largest packet accepted, header included (5..=32767).
    /// [chat.max_frame; default 8192]
    #[arg(long)]
    pub max_frame: Option<usize>,

    /// Chat messages per second per session (0: no limit).
    /// [chat.chat_rate; default 10]
    #[arg(long)]
    pub chat_rate: Option<u32>,

    /// Chat messages a session may send in a burst. [chat.chat_burst; default 20]
    #[arg(long)]
    pub chat_burst: Option<u32>,

    /// Seconds a new session has to log in before it is closed.
    /// [chat.login_timeout; default 10]
    #[arg(long)]
    pub login_timeout: Option<u64>,

    /// Create unknown user ids on first login with the given password.
    /// [accounts.auto_register; default true]
    #[arg(long, action = clap::ArgAction::Set)]
    pub auto_register: Option<bool>,

    /// Login attempts per minute from one address (IPv4, or IPv6 /64); over
    /// it a login gets 63 without a password hash (0: no limit).
    /// [chat.login_rate_per_ip; default 600]
    #[arg(long)]
    pub login_rate_per_ip: Option<u32>,

    /// Login attempts one address may make at once after being quiet.
    /// [chat.login_burst_per_ip; default 100]
    #[arg(long)]
    pub login_burst_per_ip: Option<u32>,

    /// Apply the per-address login limit to loopback clients too.
    /// [chat.login_limit_loopback; default false]
    #[arg(long, action = clap::ArgAction::Set)]
    pub login_limit_loopback: Option<bool>,

    /// Requests of one session that may wait behind a password check or a
    /// cluster answer (requests are answered in order) before the session
    /// is no longer read until they are answered. [chat.pipeline_frames;
    /// default 64]
    #[arg(long)]
    pub pipeline_frames: Option<usize>,

    /// Bytes of such waiting requests at which the session is no longer
    /// read. [chat.pipeline_bytes; default 16384]
    #[arg(long)]
    pub pipeline_bytes: Option<usize>,

    /// Account store and password hashing.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Threads checking passwords (argon2 work stays off the I/O and logic
    /// threads). [accounts.workers; default 2]
    #[arg(long)]
    pub auth_workers: Option<usize>,

    /// Milliseconds a login may be expected to wait for its password check:
    /// a login whose estimated wait (queue ahead × measured check time ÷
    /// workers) is longer is answered 34 at once, and one that waited
    /// longer for a worker is answered 34 unchecked.
    /// [accounts.max_login_wait_ms; default 5000]
    #[arg(long)]
    pub max_login_wait_ms: Option<u64>,

    /// Metrics and health listener address, or `none`.
    /// [admin.listen; default 127.0.0.1:9100]
    #[arg(long, value_parser = parse_admin)]
    pub admin_listen: Option<AdminListen>,

    /// Engine settings.
    #[command(flatten)]
    pub engine: EngineArgs,

    /// Scale-out through Redis (`[cluster]`, see docs/SCALING.md).
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn parse_admin(s: &str) -> Result<AdminListen, String> {
    s.parse()
}

impl ServeArgs {
    /// Writes the flags that were given over `config`.
    pub fn apply(&self, config: &mut Config) {
        set(&mut config.server.listen, self.listen);
        let chat = &mut config.chat;
        set(&mut chat.rooms, self.rooms);
        set(&mut chat.room_start, self.room_start);
        set(&mut chat.room_max_users, self.room_max_users);
        set(&mut chat.max_frame, self.max_frame);
        set(&mut chat.chat_rate, self.chat_rate);
        set(&mut chat.chat_burst, self.chat_burst);
        set(&mut chat.login_timeout, self.login_timeout);
        set(&mut chat.login_rate_per_ip, self.login_rate_per_ip);
        set(&mut chat.login_burst_per_ip, self.login_burst_per_ip);
        set(&mut chat.login_limit_loopback, self.login_limit_loopback);
        set(&mut chat.pipeline_frames, self.pipeline_frames);
        set(&mut chat.pipeline_bytes, self.pipeline_bytes);
        let accounts = &mut config.accounts;
        self.store.apply(accounts);
        set(&mut accounts.auto_register, self.auto_register);
        set(&mut accounts.workers, self.auth_workers);
        set(&mut accounts.max_login_wait_ms, self.max_login_wait_ms);
        set(&mut config.admin.listen, self.admin_listen);
        self.engine.apply(&mut config.engine);
        self.cluster.apply(&mut config.cluster);
    }
}

/// Opens the account store named by `accounts.store`. A network store that
/// is down does not stop the server (logins get 34 until it returns), but
/// it is said at once.
fn store(accounts: &AccountsSection) -> anyhow::Result<Arc<dyn AccountStore>> {
    let store = crate::store_args::open(accounts)?;
    if let Err(e) = store.ping() {
        tracing::warn!(error = %e, "account store not reachable yet; logins answer 34 until it is");
    }
    Ok(store)
}

/// How often the store is pinged for readiness when no login comes by.
const STORE_PING_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Pings the store now and every [`STORE_PING_EVERY`], telling readiness
/// whether it answers, so `/health/ready` reflects the store even when no
/// one logs in. The thread ends with the process.
fn watch_store(store: Arc<dyn AccountStore>, health: Arc<Health>) -> anyhow::Result<()> {
    health.set_store_ok(store.ping().is_ok());
    std::thread::Builder::new()
        .name("ringport-store-ping".into())
        .spawn(move || loop {
            std::thread::sleep(STORE_PING_EVERY);
            health.set_store_ok(store.ping().is_ok());
        })
        .context("cannot start the store watcher")?;
    Ok(())
}

/// Runs the chat server until SIGINT/SIGTERM and the drain that follows.
/// `config` has been validated.
pub fn run(config: Config) -> anyhow::Result<()> {
    let chat_cfg = config
        .chat
        .to_chat_config(config.engine.max_sessions, config.accounts.auto_register);
    let engine_cfg = config
        .engine
        .to_engine_config()
        .map_err(|e| anyhow::anyhow!("engine.{e}"))?;
    let store = store(&config.accounts)?;
    let listen = config.server.listen;
    let listener =
        crate::listen::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let admin_listener = match config.admin.listen {
        AdminListen::Off => None,
        AdminListen::On(addr) => Some(
            crate::admin::bind(addr)
                .with_context(|| format!("cannot listen on {addr} (admin.listen)"))?,
        ),
    };
    let admin_addr = match &admin_listener {
        Some(l) => l.local_addr().context("admin listener")?.to_string(),
        None => "none".to_string(),
    };

    let health = Arc::new(Health::default());
    watch_store(Arc::clone(&store), Arc::clone(&health))?;
    let latency = Metrics::store_histogram();
    let io_threads = engine_cfg.io_threads;
    let (engine, endpoint) = Engine::start(
        listener,
        engine_cfg,
        PacketFraming::new(config.chat.max_frame),
    )
    .context("cannot start the engine")?;
    // Account answers and cluster events reach the logic thread on one
    // channel, which it waits on together with the engine's events.
    let (inbox_tx, inbox) = ringport_net::crossbeam_channel::unbounded();
    let auth = AuthPool::start(
        store,
        config.accounts.workers,
        config.accounts.queue,
        Duration::from_millis(config.accounts.max_login_wait_ms),
        StoreWatch {
            latency: latency.clone(),
            health: health.clone(),
        },
        inbox_tx.clone(),
    )
    .context("cannot start the account workers")?;
    let cluster = crate::cluster::start(&config.cluster, inbox_tx)?;
    let published = Arc::new(Mutex::new(Published::default()));
    if let Some(l) = admin_listener {
        let sources = Sources {
            engine: Some(engine.stats_handle()),
            chat: Some(published.clone()),
            cluster: cluster.as_ref().map(crate::cluster::ClusterHandle::probe),
            auth: Some(auth.probe()),
            health: health.clone(),
        };
        let limits = crate::admin::Limits::from(&config.admin);
        crate::admin::spawn(l, limits, Metrics::new(sources, latency), health.clone())
            .context("cannot start the admin listener")?;
    }
    crate::signals::drain_on_signal(&engine, health.clone())?;
    health.set_listening();
    tracing::info!(
        listen = %engine.local_addr(),
        backend = %engine.backend(),
        io_threads,
        auth_workers = config.accounts.workers,
        admin = %admin_addr,
        store = %ringport_accounts::redact(&config.accounts.store),
        cluster = %config.cluster.shown_url(),
        rooms = config.chat.rooms,
        room_start = config.chat.room_start,
        room_max_users = config.chat.room_max_users,
        max_sessions = config.engine.max_sessions,
        "ringport serve listening on {}",
        engine.local_addr()
    );
    crate::notify::ready(&format!("listening on {}", engine.local_addr()));
    let chat = match cluster {
        Some(_) => Chat::with_cluster(chat_cfg),
        None => Chat::new(chat_cfg),
    };
    let chat = crate::chat_host::run(chat, endpoint, auth, inbox, cluster.as_ref(), &published);
    // Lets the node thread finish leaves, claim releases and the lease delete.
    drop(cluster);
    let stats = engine.join().context("engine stopped abnormally")?;
    let cs = chat.stats();
    tracing::info!(
        accepted = stats.accepted,
        refused = stats.refused,
        logins_ok = cs.logins_ok,
        logins_failed = cs.logins_failed,
        chats_in = cs.chats_in,
        deliveries_out = cs.deliveries_out,
        sends = stats.sends,
        coalesced_frames = stats.coalesced_frames,
        slow_consumers = stats.closes_by(ringport_net::CloseReason::SlowConsumer),
        bad_frames = stats.closes_by(ringport_net::CloseReason::BadFrame),
        recv_rearms = stats.recv_rearms,
        read_pauses = stats.read_pauses,
        "ringport serve stopped"
    );
    Ok(())
}
