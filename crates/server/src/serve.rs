//! `ringport serve`: the chat server of docs/PROTOCOL.md on the engine, with
//! its admin listener (metrics, health), systemd notification and graceful
//! drain.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ringport_accounts::AccountStore;
use ringport_chat::Chat;
use ringport_net::{Engine, Listener, Transport, WebSocketConfig};

use crate::auth_pool::{AuthPool, StoreWatch};
use crate::chat_host::{Host, HostParts, Published};
use crate::config::flags::{Flags, ForServe};
use crate::config::{AccountsSection, Config, ListenAddr};
use crate::health::Health;
use crate::inbox::InboxSender;
use crate::metrics::{Metrics, Sources};
use crate::packet_framing::PacketFraming;
use crate::tls::Certificates;
use crate::web_policy::WebPolicy;

/// Flags of `ringport serve`: every key of `[server]`, `[engine]`,
/// `[chat]`, `[admin]` and `[cluster]` that has a flag, and those of
/// `[accounts]`. Each overrides its key only when given; `--help` shows the
/// key and its default.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// The setting flags.
    #[command(flatten)]
    pub settings: Flags<ForServe>,
}

impl ServeArgs {
    /// Writes the flags that were given over `config`.
    pub fn apply(&self, config: &mut Config) {
        self.settings.apply(config);
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

/// Binds the chat server's listeners, in this order: TCP, TLS, WebSocket
/// (each if on), and loads the certificate if a TLS listener needs it.
fn listeners(config: &Config) -> anyhow::Result<(Vec<Listener>, Option<Arc<Certificates>>)> {
    let bind = |addr: SocketAddr, key: &str| {
        crate::listen::bind(addr).with_context(|| format!("cannot listen on {addr} ({key})"))
    };
    let certs = if config.tls.is_set() {
        Some(Certificates::load(
            Path::new(&config.tls.cert),
            Path::new(&config.tls.key),
        )?)
    } else {
        None
    };
    // Checked by `Config::validate`: a TLS listener has a certificate.
    let tls = |alpn: &[&[u8]]| -> anyhow::Result<Arc<ringport_net::rustls::ServerConfig>> {
        match &certs {
            Some(certs) => Ok(certs.server_config(alpn)?),
            None => anyhow::bail!("a TLS listener needs tls.cert and tls.key"),
        }
    };
    let mut listeners = Vec::new();
    if let ListenAddr::On(addr) = config.server.listen {
        listeners.push(Listener::new(bind(addr, "server.listen")?, Transport::Tcp));
    }
    if let ListenAddr::On(addr) = config.server.tls_listen {
        let socket = bind(addr, "server.tls_listen")?;
        listeners.push(Listener::new(socket, Transport::Tcp).with_tls(tls(&[])?));
    }
    if let ListenAddr::On(addr) = config.websocket.listen {
        let socket = bind(addr, "websocket.listen")?;
        let transport = Transport::WebSocket(WebSocketConfig {
            path: "/ws".into(),
            max_head: config.websocket.max_request_head,
            http: Arc::new(WebPolicy::new(
                config.websocket.allowed_origins.0.clone(),
                config.websocket.allowed_hosts.0.clone(),
            )),
        });
        let mut listener = Listener::new(socket, transport);
        if config.websocket.tls {
            listener = listener.with_tls(tls(&[b"http/1.1"])?);
        }
        listeners.push(listener);
    }
    Ok((listeners, certs))
}

/// Where each kind of listener listens (`none` when off), for the startup
/// line, in the order [`listeners`] binds them.
struct Addresses {
    tcp: String,
    tls: String,
    ws: String,
}

impl Addresses {
    fn of(config: &Config, bound: &[SocketAddr]) -> Addresses {
        let mut bound = bound.iter();
        let mut next = |on: bool| match (on, on.then(|| bound.next()).flatten()) {
            (true, Some(addr)) => addr.to_string(),
            _ => "none".to_string(),
        };
        Addresses {
            tcp: next(config.server.listen != ListenAddr::Off),
            tls: next(config.server.tls_listen != ListenAddr::Off),
            ws: next(config.websocket.listen != ListenAddr::Off),
        }
    }

    /// The address the startup line says the server listens on: TCP's, or
    /// the first other one when TCP is off.
    fn main(&self) -> &str {
        [&self.tcp, &self.tls, &self.ws]
            .into_iter()
            .find(|a| *a != "none")
            .map_or("none", |a| a.as_str())
    }
}

/// Runs the chat server until SIGINT/SIGTERM and the drain that follows.
/// `config` has been validated.
pub fn run(config: Config) -> anyhow::Result<()> {
    let mut chat_cfg = config
        .chat
        .to_chat_config(config.engine.max_sessions, config.accounts.auto_register);
    // Before anything binds: a secret file the server cannot use is a
    // configuration error (exit 78) naming the file.
    let (token_key, token_origin) = crate::token_secret::load(&config.accounts)?;
    if !config.cluster.url.is_empty() && config.accounts.token_secret_file.is_empty() {
        tracing::warn!(
            secret = %token_origin,
            "cluster mode without accounts.token_secret_file: every node must read the same \
             secret file, or a token issued by one node is refused (111) by the others"
        );
    }
    chat_cfg.token_key = Some(token_key);
    chat_cfg.token_ttl = config.accounts.token_ttl();
    let engine_cfg = config.engine.to_engine_config();
    let store = store(&config.accounts)?;
    // The history store is read before anything is accepted; in cluster
    // mode the history lives in the cluster's Redis instead.
    let history_kind = config
        .chat
        .history_kind(&config.accounts, &config.cluster)
        .map_err(anyhow::Error::msg)?;
    let (restored, history) = if config.cluster.enabled() {
        (Vec::new(), None)
    } else {
        crate::history_store::open(
            &history_kind,
            config.chat.history_len,
            crate::history_store::FixedRooms {
                start: config.chat.room_start,
                count: config.chat.rooms,
            },
            Duration::from_millis(config.accounts.timeout_ms),
        )?
    };
    let (listeners, certs) = listeners(&config)?;
    let admin_listener = match config.admin.listen {
        ListenAddr::Off => None,
        ListenAddr::On(addr) => Some(
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
    let logic_on_io = config
        .chat
        .logic_on_io_thread(io_threads)
        .map_err(anyhow::Error::msg)?;
    let framing = PacketFraming::new(config.chat.max_frame);
    let (mut engine, endpoint, waker) = if logic_on_io {
        let (engine, endpoint, waker) = Engine::start_hosted(listeners, engine_cfg, framing)
            .context("cannot start the engine")?;
        (engine, endpoint, Some(waker))
    } else {
        let (engine, endpoint) = Engine::start_listeners(listeners, engine_cfg, framing)
            .context("cannot start the engine")?;
        (engine, endpoint, None)
    };
    // Account answers and cluster events reach the logic on one channel,
    // which its thread waits on together with the engine's events (or,
    // with the logic on the I/O thread, which they wake).
    let (inbox_tx, inbox) = ringport_net::crossbeam_channel::unbounded();
    let inbox_tx = InboxSender::new(inbox_tx, waker);
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
    let cluster = crate::cluster::start(
        &config.cluster,
        Duration::from_secs(config.chat.room_idle_close_secs),
        config.chat.history_len,
        inbox_tx,
    )?;
    let published = Arc::new(Mutex::new(Published::default()));
    if let Some(l) = admin_listener {
        let sources = Sources {
            engine: Some(engine.stats_handle()),
            chat: Some(published.clone()),
            cluster: cluster.as_ref().map(crate::cluster::ClusterHandle::probe),
            auth: Some(auth.probe()),
            health: health.clone(),
            tls: certs.clone(),
        };
        let limits = crate::admin::Limits::from(&config.admin);
        crate::admin::spawn(l, limits, Metrics::new(sources, latency), health.clone())
            .context("cannot start the admin listener")?;
    }
    crate::signals::drain_on_signal(&engine, health.clone())?;
    health.set_listening();
    crate::signals::reload_on_hangup(certs.clone())?;
    let addrs = Addresses::of(&config, engine.local_addrs());
    tracing::info!(
        listen = %addrs.tcp,
        tls = %addrs.tls,
        backend = %engine.backend(),
        io_threads,
        logic = if logic_on_io { "io_thread" } else { "own_thread" },
        auth_workers = config.accounts.workers,
        ws = %addrs.ws,
        admin = %admin_addr,
        store = %ringport_accounts::redact(&config.accounts.store),
        cluster = %config.cluster.shown_url(),
        token_secret = %token_origin,
        token_ttl_secs = config.accounts.token_ttl_secs,
        rooms = config.chat.rooms,
        room_start = config.chat.room_start,
        room_max_users = config.chat.room_max_users,
        max_sessions = config.engine.max_sessions,
        "ringport serve listening on {}",
        addrs.main()
    );
    crate::notify::ready(&format!("listening on {}", addrs.main()));
    let mut chat = match cluster {
        Some(_) => Chat::with_cluster(chat_cfg),
        None => Chat::new(chat_cfg),
    };
    if history.is_some() {
        chat.set_history_persistent(true);
        let rooms = chat.restore_history(restored);
        tracing::info!(rooms, store = %config.chat.history_store, "history restored");
    }
    let host = Host::new(HostParts {
        chat,
        endpoint,
        auth,
        answers: inbox,
        cluster,
        history,
        published: published.clone(),
        shutdown: engine.shutdown_handle(),
    });
    if logic_on_io {
        // The I/O thread runs the logic from now on; this thread waits for
        // the engine to stop. The host is dropped on the I/O thread at its
        // end, which lets the history writer finish what is queued, then
        // the cluster node its leaves, claim releases and lease delete.
        match engine.host(Box::new(host)) {
            // Stopped: a signal came first and the engine has finished; the
            // host's last turn and end ran here.
            Ok(()) | Err(ringport_net::EngineError::Stopped) => {}
            Err(e) => return Err(e).context("cannot hand the logic to the I/O thread"),
        }
    } else {
        // Returns when the engine has stopped; dropping the host lets the
        // history writer finish what is queued, then the cluster node its
        // leaves, claim releases and lease delete.
        host.run();
    }
    let stats = engine.join().context("engine stopped abnormally")?;
    let cs = published.lock().map(|p| p.chat.clone()).unwrap_or_default();
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
