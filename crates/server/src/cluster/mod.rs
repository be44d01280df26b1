//! `ringport serve --cluster redis://HOST:PORT[/DB]`: several nodes serving
//! the same rooms through one Redis (see `docs/SCALING.md`).
//!
//! Two threads per node: the node thread ([`node`]) owns the command
//! connection (claims, room membership scripts, publishes, the lease
//! heartbeat, periodic room snapshots) and takes the logic thread's
//! [`ClusterRequest`]s from a bounded queue; the subscriber thread
//! ([`subscriber`]) owns the pub/sub connection. Both send
//! [`ringport_chat::ClusterEvent`]s to the logic thread's inbox.

mod node;
mod resp;
mod scripts;
mod subscriber;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Args;
use ringport_chat::{ClaimResult, ClusterEvent, ClusterRequest, EnterResult};
use ringport_net::crossbeam_channel::{self, Sender, TrySendError};

use crate::inbox::Inbox;

/// Cluster flags of `ringport serve`.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Share rooms, presence and logins with other nodes through this
    /// Redis (`redis://[[USER]:PASSWORD@]HOST:PORT[/DB]`, a single server
    /// or a Sentinel-managed primary; not Redis Cluster). Off by default:
    /// one node, everything in process.
    #[arg(long)]
    pub cluster: Option<String>,

    /// Prefix of every cluster key and channel.
    #[arg(long, default_value = "ringport:")]
    pub cluster_prefix: String,

    /// This node's id (1 to 64 printable ASCII characters, no spaces); by
    /// default one made from the process id and the start time.
    #[arg(long)]
    pub cluster_node_id: Option<String>,

    /// Lifetime of the node's lease in milliseconds: a node silent this long
    /// is dead, and its room members are removed by the others.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub cluster_lease_ms: u64,

    /// Heartbeat period in milliseconds: the lease is renewed, login claims
    /// refreshed and each served room's membership re-read (dead nodes
    /// pruned) this often. Keep it well below the lease.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub cluster_heartbeat_ms: u64,

    /// Lifetime of a login claim in milliseconds (refreshed every heartbeat
    /// while the user is connected): how long a crashed node's users stay
    /// "logged in" (31) cluster-wide.
    #[arg(long, default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub cluster_claim_ttl_ms: u64,

    /// Bound on one Redis operation in milliseconds (connect, read, write).
    /// During an outage, reconnects are tried at most every this long, and
    /// logins answer 34 at once in between.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub cluster_timeout_ms: u64,

    /// Cluster requests (publishes, enters, claims) queued for the node
    /// thread at most; beyond it a chat is not published (counted) and a
    /// login or enter is answered as if Redis were down.
    #[arg(long, default_value_t = 65_536, value_parser = clap::value_parser!(u64).range(1..=16_777_216))]
    pub cluster_queue: u64,
}

impl Default for ClusterArgs {
    /// The flags' defaults: no cluster.
    fn default() -> ClusterArgs {
        ClusterArgs {
            cluster: None,
            cluster_prefix: "ringport:".into(),
            cluster_node_id: None,
            cluster_lease_ms: 5000,
            cluster_heartbeat_ms: 1000,
            cluster_claim_ttl_ms: 15_000,
            cluster_timeout_ms: 1000,
            cluster_queue: 65_536,
        }
    }
}

/// Everything the threads need to know, from the flags.
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
}

impl Settings {
    fn from_args(url: &str, args: &ClusterArgs) -> anyhow::Result<Settings> {
        let shown = ringport_chat::accounts::redact(url);
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("invalid --cluster {shown}: {e}"))?;
        let info = client.get_connection_info();
        let redis::ConnectionAddr::Tcp(host, port) = info.addr() else {
            anyhow::bail!("--cluster {shown}: only redis://HOST:PORT is supported");
        };
        let node_id = match &args.cluster_node_id {
            Some(id) => id.clone(),
            None => default_node_id(),
        };
        anyhow::ensure!(
            ringport_chat::cluster::wire::valid_node_id(&node_id),
            "--cluster-node-id must be 1 to 64 printable ASCII characters without spaces"
        );
        anyhow::ensure!(
            !args.cluster_prefix.contains(char::is_whitespace),
            "--cluster-prefix must not contain spaces"
        );
        anyhow::ensure!(
            args.cluster_heartbeat_ms < args.cluster_lease_ms
                && args.cluster_heartbeat_ms < args.cluster_claim_ttl_ms,
            "--cluster-heartbeat-ms must be below --cluster-lease-ms and --cluster-claim-ttl-ms"
        );
        let timeout = Duration::from_millis(args.cluster_timeout_ms);
        Ok(Settings {
            host: host.clone(),
            port: *port,
            username: info.redis_settings().username().map(str::to_owned),
            password: info.redis_settings().password().map(str::to_owned),
            client,
            prefix: args.cluster_prefix.clone(),
            node_id,
            lease: Duration::from_millis(args.cluster_lease_ms),
            heartbeat: Duration::from_millis(args.cluster_heartbeat_ms),
            claim_ttl: Duration::from_millis(args.cluster_claim_ttl_ms),
            timeout,
            backoff: timeout.min(Duration::from_millis(500)),
        })
    }

    /// The pub/sub channel of `room`.
    pub fn channel(&self, room: i32) -> String {
        format!("{}room:{room}", self.prefix)
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
}

impl ClusterHandle {
    /// Queues a request for the node thread. When the queue is full (or the
    /// thread is gone), a claim or an enter gets its "unavailable" answer
    /// back at once and a publish is dropped.
    pub fn submit(&self, request: ClusterRequest) -> Option<ClusterEvent> {
        let Some(tx) = self.requests.as_ref() else {
            return unavailable(request);
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
                other => unavailable(other),
            },
            Err(TrySendError::Disconnected(request)) => unavailable(request),
        }
    }
}

fn unavailable(request: ClusterRequest) -> Option<ClusterEvent> {
    match request {
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

/// Starts the cluster threads when `--cluster` is given; `None` otherwise.
/// Redis need not be up: the node retries in the background and answers
/// logins with 34 meanwhile.
///
/// # Errors
///
/// An invalid URL or setting, or a thread that cannot be spawned.
pub fn start(args: &ClusterArgs, events: Sender<Inbox>) -> anyhow::Result<Option<ClusterHandle>> {
    let Some(url) = args.cluster.as_deref() else {
        return Ok(None);
    };
    let settings = Arc::new(Settings::from_args(url, args)?);
    let queue = usize::try_from(args.cluster_queue).unwrap_or(usize::MAX);
    let (tx, rx) = crossbeam_channel::bounded(queue);
    let stop = Arc::new(AtomicBool::new(false));
    let subs = Arc::new(subscriber::Subscriptions::default());
    let node = {
        let (settings, subs, events) = (Arc::clone(&settings), Arc::clone(&subs), events.clone());
        std::thread::Builder::new()
            .name("ringport-cluster".into())
            .spawn(move || node::Node::new(settings, subs, events).run(&rx))?
    };
    let sub = {
        let (settings, stop) = (Arc::clone(&settings), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("ringport-cluster-sub".into())
            .spawn(move || subscriber::run(settings, subs, events, stop))?
    };
    tracing::info!(
        node = %settings.node_id,
        redis = %ringport_chat::accounts::redact(url),
        prefix = %settings.prefix,
        "cluster mode"
    );
    Ok(Some(ClusterHandle {
        requests: Some(tx),
        stop,
        threads: vec![node, sub],
    }))
}

#[cfg(test)]
mod default_tests {
    use clap::Parser;

    use super::ClusterArgs;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        cluster: ClusterArgs,
    }

    #[test]
    fn default_is_what_the_flags_default_to() {
        let parsed = Wrapper::parse_from(["ringport"]).cluster;
        assert_eq!(
            format!("{parsed:?}"),
            format!("{:?}", ClusterArgs::default())
        );
    }
}
