//! `ringport serve` with `cluster.url` set (`[cluster]` in the
//! configuration, or `--cluster redis://HOST:PORT[/DB]`): several nodes
//! serving the same rooms through one Redis (see `docs/SCALING.md`).
//!
//! Two threads per node: the node thread ([`node`]) owns the command
//! connection (claims, room membership scripts, publishes, the lease
//! heartbeat, periodic room snapshots) and takes the logic thread's
//! [`ClusterRequest`]s from a bounded queue; the subscriber thread
//! ([`subscriber`]) owns the pub/sub connection. Both send
//! [`ringport_chat::ClusterEvent`]s to the logic thread's inbox, and count
//! what `/metrics` shows in [`counters`].

mod counters;
mod node;
mod resp;
mod scripts;
mod subscriber;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ringport_chat::{ClaimResult, ClusterEvent, ClusterRequest, CreateResult, EnterResult};
use ringport_net::crossbeam_channel::{self, Sender, TrySendError};

pub use counters::{ClusterProbe, NodeStats};

use self::counters::Counters;
use crate::config::ClusterSection;
use crate::inbox::{Inbox, InboxSender};

/// Checks that `url` is a Redis URL of a TCP server (what the cluster
/// threads can use). The error never holds the URL (nor its password).
///
/// # Errors
/// A URL that does not parse, or names no TCP host and port.
pub fn check_url(url: &str) -> Result<(), String> {
    parse_url(url).map(|_| ())
}

/// The client for `url`, and its TCP address.
fn parse_url(url: &str) -> Result<(redis::Client, String, u16), String> {
    if !url.starts_with("redis://") {
        return Err("must be redis://[[USER]:PASSWORD@]HOST:PORT[/DB]".into());
    }
    let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL ({e})"))?;
    let redis::ConnectionAddr::Tcp(host, port) = client.get_connection_info().addr().clone() else {
        return Err("only redis://HOST:PORT is supported".into());
    };
    Ok((client, host, port))
}

/// Everything the threads need to know, from `[cluster]`.
#[derive(Debug)]
pub struct Settings {
    client: redis::Client,
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
    prefix: String,
    node_id: String,
    lease: Duration,
    heartbeat: Duration,
    claim_ttl: Duration,
    timeout: Duration,
    backoff: Duration,
    /// `chat.room_idle_close`: how long a created room stays open empty on
    /// every node.
    idle_close: Duration,
    /// `chat.history_len`: messages kept per room in the shared log (0:
    /// chats are not numbered).
    history_len: usize,
}

impl Settings {
    /// From a validated `[cluster]` with its `url` set.
    fn from_section(
        section: &ClusterSection,
        idle_close: Duration,
        history_len: usize,
    ) -> anyhow::Result<Settings> {
        let shown = section.shown_url();
        let (client, host, port) =
            parse_url(&section.url).map_err(|e| anyhow::anyhow!("cluster.url {shown}: {e}"))?;
        let node_id = if section.node_id.is_empty() {
            default_node_id()
        } else {
            section.node_id.clone()
        };
        anyhow::ensure!(
            ringport_chat::cluster::wire::valid_node_id(&node_id),
            "cluster.node_id must be 1 to 64 printable ASCII characters without spaces"
        );
        let timeout = Duration::from_millis(section.timeout_ms);
        let info = client.get_connection_info();
        Ok(Settings {
            host,
            port,
            username: info.redis_settings().username().map(str::to_owned),
            password: info.redis_settings().password().map(str::to_owned),
            client,
            prefix: section.prefix.clone(),
            node_id,
            lease: Duration::from_millis(section.lease_ms),
            heartbeat: Duration::from_millis(section.heartbeat_ms),
            claim_ttl: Duration::from_millis(section.claim_ttl_ms),
            timeout,
            backoff: timeout.min(Duration::from_millis(500)),
            idle_close,
            history_len,
        })
    }

    /// The pub/sub channel of `room`.
    pub fn channel(&self, room: i32) -> String {
        format!("{}room:{room}", self.prefix)
    }

    /// The lobby channel: the created-room registry's changes and the
    /// rooms' member counts.
    pub fn lobby(&self) -> String {
        format!("{}lobby", self.prefix)
    }

    /// A key of the created-room registry (`rooms:NAME`).
    pub fn registry_key(&self, name: &str) -> String {
        format!("{}rooms:{name}", self.prefix)
    }

    /// The prefix of a room's channel and keys (`PREFIXroom:`).
    pub fn room_prefix(&self) -> String {
        format!("{}room:", self.prefix)
    }

    /// The room of a channel name.
    pub fn room_of(&self, channel: &[u8]) -> Option<i32> {
        let rest = channel.strip_prefix(self.prefix.as_bytes())?;
        let n = rest.strip_prefix(b"room:")?;
        std::str::from_utf8(n).ok()?.parse().ok()
    }
}

fn default_node_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("n{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// The running cluster threads; the logic thread's handle.
pub struct ClusterHandle {
    requests: Option<Sender<ClusterRequest>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
    probe: ClusterProbe,
    /// Whether chats are numbered (history on): one not published is
    /// answered [`ClusterEvent::Unnumbered`].
    numbered: bool,
}

impl ClusterHandle {
    /// Where `/metrics` reads the cluster threads' counters.
    pub fn probe(&self) -> ClusterProbe {
        self.probe.clone()
    }

    /// Queues a request for the node thread. When the queue is full (or the
    /// thread is gone), a claim or an enter gets its "unavailable" answer
    /// back at once and a publish is dropped.
    pub fn submit(&self, request: ClusterRequest) -> Option<ClusterEvent> {
        let Some(tx) = self.requests.as_ref() else {
            return unavailable(request, self.numbered);
        };
        match tx.try_send(request) {
            Ok(()) => None,
            Err(TrySendError::Full(request)) => match request {
                // Must not be lost (membership, claims): wait a little.
                ClusterRequest::Leave { .. } | ClusterRequest::Release { .. } => {
                    match tx.send_timeout(request, Duration::from_secs(1)) {
                        Ok(()) => None,
                        Err(e) => {
                            tracing::warn!(request = ?e.into_inner(), "cluster queue full: request dropped");
                            None
                        }
                    }
                }
                ClusterRequest::Chat { .. } => {
                    self.counters.dropped(1);
                    unavailable(request, self.numbered)
                }
                other => unavailable(other, self.numbered),
            },
            Err(TrySendError::Disconnected(request)) => unavailable(request, self.numbered),
        }
    }
}

fn unavailable(request: ClusterRequest, numbered: bool) -> Option<ClusterEvent> {
    match request {
        ClusterRequest::Chat { room, packet } if numbered => {
            Some(ClusterEvent::Unnumbered { room, packet })
        }
        ClusterRequest::History { conn, room, .. } => Some(ClusterEvent::History {
            conn,
            room,
            page: None,
        }),
        ClusterRequest::Claim { conn, ticket, .. } => Some(ClusterEvent::Claimed {
            conn,
            ticket,
            result: ClaimResult::Unavailable,
        }),
        ClusterRequest::Enter { conn, room, .. } => Some(ClusterEvent::Entered {
            conn,
            room,
            result: EnterResult::Unavailable,
        }),
        ClusterRequest::Create { conn, .. } => Some(ClusterEvent::Created {
            conn,
            result: CreateResult::Unavailable,
        }),
        _ => None,
    }
}

impl Drop for ClusterHandle {
    fn drop(&mut self) {
        // The node thread drains the queue (leaves and releases of the
        // sessions closed at shutdown), cleans up and exits.
        self.requests = None;
        let mut threads = std::mem::take(&mut self.threads).into_iter();
        if let Some(node) = threads.next() {
            let _ = node.join();
        }
        self.stop.store(true, Ordering::Relaxed);
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Starts the cluster threads when `cluster.url` is set; `None` otherwise.
/// Redis need not be up: the node retries in the background and answers
/// logins with 34 meanwhile. `section` has been validated; `idle_close` is
/// `chat.room_idle_close` (created rooms close when empty on every node
/// for that long).
///
/// # Errors
///
/// An invalid URL or setting, or a thread that cannot be spawned.
pub fn start(
    section: &ClusterSection,
    idle_close: Duration,
    history_len: usize,
    events: InboxSender<Inbox>,
) -> anyhow::Result<Option<ClusterHandle>> {
    if !section.enabled() {
        return Ok(None);
    }
    let settings = Arc::new(Settings::from_section(section, idle_close, history_len)?);
    let (tx, rx) = crossbeam_channel::bounded(section.queue);
    let counters = Arc::new(Counters::default());
    let probe = ClusterProbe::new(Arc::clone(&counters), rx.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let subs = Arc::new(subscriber::Subscriptions::default());
    let node = {
        let (settings, subs, events) = (Arc::clone(&settings), Arc::clone(&subs), events.clone());
        let counters = Arc::clone(&counters);
        std::thread::Builder::new()
            .name("ringport-cluster".into())
            .spawn(move || node::Node::new(settings, subs, events, counters).run(&rx))?
    };
    let sub = {
        let (settings, stop) = (Arc::clone(&settings), Arc::clone(&stop));
        let counters = Arc::clone(&counters);
        std::thread::Builder::new()
            .name("ringport-cluster-sub".into())
            .spawn(move || subscriber::run(settings, subs, events, stop, &counters))?
    };
    tracing::info!(
        node = %settings.node_id,
        redis = %section.shown_url(),
        prefix = %settings.prefix,
        "cluster mode"
    );
    Ok(Some(ClusterHandle {
        requests: Some(tx),
        stop,
        threads: vec![node, sub],
        counters,
        probe,
        numbered: history_len > 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn url_errors_do_not_show_the_password() {
        for url in [
            "redis://:s3cret@",
            "http://:s3cret@h:1",
            "redis+unix:///tmp/s3cret.sock",
        ] {
            let e = check_url(url).unwrap_err();
            assert!(!e.contains("s3cret"), "{url}: {e}");
        }
        check_url("redis://:s3cret@127.0.0.1:6379/2").unwrap();
    }
}
