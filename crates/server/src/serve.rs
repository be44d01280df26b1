//! `ringport serve`: the chat server of docs/PROTOCOL.md on the engine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ringport_chat::{AccountStore, Chat, ChatConfig};
use ringport_net::Engine;

use crate::engine_args::EngineArgs;
use crate::packet_framing::PacketFraming;
use crate::store_args::StoreArgs;

/// Flags of `ringport serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:11021")]
    pub listen: SocketAddr,

    /// Number of rooms.
    #[arg(long, default_value_t = 10)]
    pub rooms: u32,

    /// Number of the first room.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub room_start: i32,

    /// Users per room at most.
    #[arg(long, default_value_t = 4)]
    pub room_max_users: usize,

    /// Largest packet accepted, header included (at most 32767).
    #[arg(long, default_value_t = 8192)]
    pub max_frame: usize,

    /// Chat messages per second per session (0: no limit).
    #[arg(long, default_value_t = 10)]
    pub chat_rate: u32,

    /// Chat messages a session may send in a burst.
    #[arg(long, default_value_t = 20)]
    pub chat_burst: u32,

    /// Seconds a new session has to log in before it is closed.
    #[arg(long, default_value_t = 10)]
    pub login_timeout: u64,

    /// Create unknown user ids on first login with the given password (on by
    /// default so the tutorial's client works out of the box; turn it off in
    /// production and create accounts with `ringport user add`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_register: bool,

    /// Login attempts per minute from one address (IPv4, or IPv6 /64) over
    /// all its sessions; over it a login gets 63 without a password hash
    /// (0: no limit).
    #[arg(long, default_value_t = ChatConfig::default().login_rate_per_ip)]
    pub login_rate_per_ip: u32,

    /// Login attempts one address may make at once after being quiet.
    #[arg(long, default_value_t = ChatConfig::default().login_burst_per_ip)]
    pub login_burst_per_ip: u32,

    /// Apply the per-address login limit to loopback clients too (off by
    /// default: local load generators log in many users from 127.0.0.1).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    pub login_limit_loopback: bool,

    /// Account store and password hashing.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Threads checking passwords (argon2 work stays off the I/O and logic threads).
    #[arg(long, default_value_t = 2)]
    pub auth_workers: usize,

    /// Engine settings.
    #[command(flatten)]
    pub engine: EngineArgs,

    /// Scale-out through Redis (`--cluster`).
    #[command(flatten)]
    pub cluster: Box<crate::cluster::ClusterArgs>,
}

impl ServeArgs {
    fn chat_config(&self) -> ChatConfig {
        ChatConfig {
            room_start: self.room_start,
            rooms: self.rooms,
            room_max_users: self.room_max_users,
            max_users: self.engine.max_sessions,
            chat_rate: self.chat_rate,
            chat_burst: self.chat_burst,
            login_timeout: Duration::from_secs(self.login_timeout),
            auto_register: self.auto_register,
            login_rate_per_ip: self.login_rate_per_ip,
            login_burst_per_ip: self.login_burst_per_ip,
            login_limit_loopback: self.login_limit_loopback,
        }
    }

    fn store(&self) -> anyhow::Result<Arc<dyn AccountStore>> {
        let store = self.store.open()?;
        // Start even if a network store is down (logins answer 34 until it
        // returns), but say so at once.
        if let Err(e) = store.ping() {
            tracing::warn!(error = %e, "account store not reachable yet; logins fail with 34 until it is");
        }
        Ok(store)
    }
}

/// Runs the chat server until SIGINT/SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let chat_cfg = args.chat_config();
    chat_cfg
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid chat settings: {e}"))?;
    let store = args.store()?;
    let listener = crate::listen::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let cfg = args.engine.to_config();
    let io_threads = cfg.io_threads;
    let (engine, endpoint) = Engine::start(listener, cfg, PacketFraming::new(args.max_frame))
        .context("cannot start the engine")?;
    let (inbox_tx, inbox) = ringport_net::crossbeam_channel::unbounded();
    let auth = crate::auth_pool::AuthPool::start(
        store,
        args.auth_workers,
        1024,
        Duration::from_secs(args.login_timeout),
        inbox_tx.clone(),
    )
    .context("cannot start the account workers")?;
    let cluster = crate::cluster::start(&args.cluster, inbox_tx)?;
    crate::signals::shut_down_on_signal(&engine)?;
    tracing::info!(
        listen = %engine.local_addr(),
        backend = %engine.backend(),
        io_threads,
        rooms = args.rooms,
        room_start = args.room_start,
        room_max_users = args.room_max_users,
        accounts = %args.store.accounts,
        auth_workers = args.auth_workers,
        "ringport serve listening on {}",
        engine.local_addr()
    );
    let chat = match cluster {
        Some(_) => Chat::with_cluster(chat_cfg),
        None => Chat::new(chat_cfg),
    };
    let chat = crate::chat_host::run(chat, endpoint, auth, inbox, cluster.as_ref());
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
