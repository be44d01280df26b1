//! The metrics `/metrics` serves, in the Prometheus/OpenMetrics text format
//! (encoded by the `prometheus-client` crate). Counters of the engine and
//! the chat are read at scrape time from their own snapshots — the engine's
//! live atomics and the chat machine's stats, which the logic thread
//! publishes once per turn — so serving metrics adds nothing to the hot
//! path. Only the store latency histogram is observed as it happens, by the
//! account workers. The `ringport_cluster_*` families appear only when the
//! node runs with a cluster (`cluster.url`). docs/OPERATIONS.md lists every
//! metric.
//!
//! One file (about 550 lines of code): one exposition, assembled in one
//! pass in the order docs/OPERATIONS.md lists it.

use std::fmt;
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use ringport_chat::ClusterStats;
use ringport_net::{CloseReason, ListenerKind, Stats, StatsHandle, TlsFailure};

use crate::auth_pool::{AuthPoolStats, AuthProbe};
use crate::chat_host::Published;
use crate::cluster::{ClusterProbe, NodeStats};
use crate::health::Health;
use crate::tls::Certificates;

/// Store latency buckets: 1 ms doubling up to about 4 s.
fn store_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.001, 2.0, 13)
}

/// Where the metrics come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The engine's counters (absent until the engine runs).
    pub engine: Option<StatsHandle>,
    /// The chat machine's latest published stats (absent for `echo`).
    pub chat: Option<Arc<Mutex<Published>>>,
    /// The cluster threads' counters (absent without a cluster).
    pub cluster: Option<ClusterProbe>,
    /// Readiness.
    pub health: Arc<Health>,
    /// The account workers' queue (absent for `echo`).
    pub auth: Option<AuthProbe>,
    /// The TLS certificate (absent without TLS listeners).
    pub tls: Option<Arc<Certificates>>,
}

/// The registry served by `/metrics`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// Metrics over `sources`, plus the store latency histogram `store`.
    pub fn new(sources: Sources, store: Histogram) -> Metrics {
        let mut registry = Registry::default();
        registry.register(
            "ringport_store_request_duration_seconds",
            "Time an account store call took (password hashing included)",
            store,
        );
        registry.register_collector(Box::new(sources));
        Metrics { registry }
    }

    /// A histogram for store latencies, to hand to the account workers and
    /// then to [`Metrics::new`].
    pub fn store_histogram() -> Histogram {
        Histogram::new(store_buckets())
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        out
    }
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> fmt::Result {
    let c = ConstCounter::new(v);
    let m = e.encode_descriptor(name, help, None, c.metric_type())?;
    c.encode(m)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> fmt::Result {
    let g = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
    let m = e.encode_descriptor(name, help, None, g.metric_type())?;
    g.encode(m)
}

fn labelled(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    label: &str,
    values: &[(&str, u64)],
) -> fmt::Result {
    let mut m = e.encode_descriptor(name, help, None, kind)?;
    for (value, n) in values {
        let labels = [(label, *value)];
        let family = m.encode_family(&labels)?;
        match kind {
            MetricType::Gauge => {
                ConstGauge::new(i64::try_from(*n).unwrap_or(i64::MAX)).encode(family)?
            }
            _ => ConstCounter::new(*n).encode(family)?,
        }
    }
    Ok(())
}

impl Collector for Sources {
    fn encode(&self, mut e: DescriptorEncoder) -> fmt::Result {
        if let Some(certs) = &self.tls {
            encode_tls(&mut e, certs)?;
        }
        gauge(
            &mut e,
            "ringport_ready",
            "1 while /health/ready answers 200",
            u64::from(self.health.is_ready()),
        )?;
        gauge(
            &mut e,
            "ringport_draining",
            "1 once a shutdown has begun",
            u64::from(self.health.is_draining()),
        )?;
        if let Some(engine) = &self.engine {
            let s = engine.stats();
            if let Some(backend) = s.backend {
                labelled(
                    &mut e,
                    "ringport_backend_info",
                    "The I/O backend in use (value 1)",
                    MetricType::Gauge,
                    "backend",
                    &[(backend.as_str(), 1)],
                )?;
            }
            let engine_counters: [(&str, &str, u64); 15] = [
                (
                    "ringport_sessions_accepted",
                    "Connections accepted as sessions",
                    s.accepted,
                ),
                (
                    "ringport_sessions_refused",
                    "Connections closed at once: max_sessions or max_sessions_per_ip reached",
                    s.refused,
                ),
                (
                    "ringport_sessions_refused_per_ip",
                    "Connections closed at once: their address had max_sessions_per_ip open",
                    s.refused_per_ip,
                ),
                (
                    "ringport_accept_errors",
                    "Failed accept calls (EMFILE, ENFILE, ENOMEM...)",
                    s.accept_errors,
                ),
                (
                    "ringport_frames_in",
                    "Frames received and handed to the application",
                    s.frames_in,
                ),
                ("ringport_bytes_in", "Bytes received", s.bytes_in),
                (
                    "ringport_frames_out",
                    "Frames queued for sending",
                    s.frames_out,
                ),
                (
                    "ringport_bytes_out",
                    "Bytes written to sockets",
                    s.bytes_out,
                ),
                (
                    "ringport_sends",
                    "Send operations (one can carry many frames)",
                    s.sends,
                ),
                (
                    "ringport_coalesced_frames",
                    "Frames that left in a send together with others",
                    s.coalesced_frames,
                ),
                (
                    "ringport_stale_requests",
                    "Sends or closes for sessions already closed (dropped)",
                    s.stale_requests,
                ),
                (
                    "ringport_read_pauses",
                    "Times an I/O thread paused reading: the logic thread held all its batches",
                    s.read_pauses,
                ),
                (
                    "ringport_output_pauses",
                    "Times a session was not read because its own send queue passed send_queue_high_water",
                    s.output_pauses,
                ),
                (
                    "ringport_send_stalls",
                    "Slow-consumer closes because the socket took nothing for send_stall_timeout",
                    s.send_stalls,
                ),
                (
                    "ringport_recv_rearms",
                    "io_uring multishot receives re-armed (recv_buffers too few if high)",
                    s.recv_rearms,
                ),
            ];
            gauge(
                &mut e,
                "ringport_sessions_open",
                "Sessions open now",
                s.sessions_open,
            )?;
            gauge(
                &mut e,
                "ringport_send_queue_bytes",
                "Bytes waiting in send queues, all sessions (refreshed every 250 ms)",
                s.queued_bytes,
            )?;
            gauge(
                &mut e,
                "ringport_send_queue_max_bytes",
                "The longest send queue in bytes (refreshed every 250 ms)",
                s.max_queued_bytes,
            )?;
            for (name, help, v) in engine_counters {
                counter(&mut e, name, help, v)?;
            }
            gauge(
                &mut e,
                "ringport_lingering_sockets",
                "Sockets of closed sessions lingering until the client's FIN or linger_timeout_ms",
                s.lingering,
            )?;
            counter(
                &mut e,
                "ringport_lingered",
                "Sockets that lingered after a close with everything sent",
                s.lingered,
            )?;
            counter(
                &mut e,
                "ringport_linger_timeouts",
                "Lingering sockets closed at linger_timeout_ms without the client's FIN",
                s.linger_timeouts,
            )?;
            counter(
                &mut e,
                "ringport_linger_evicted",
                "Lingering sockets closed early: linger_max reached",
                s.linger_evicted,
            )?;
            let closes: Vec<(&str, u64)> = CloseReason::ALL
                .iter()
                .map(|r| (r.as_str(), s.closes_by(*r)))
                .collect();
            let by_kind = |count: fn(&Stats, ListenerKind) -> u64| -> Vec<(&str, u64)> {
                ListenerKind::ALL
                    .iter()
                    .map(|k| (k.label(), count(&s, *k)))
                    .collect()
            };
            labelled(
                &mut e,
                "ringport_transport_sessions_accepted",
                "Connections accepted as sessions, by listener transport (tcp, tls, ws, wss)",
                MetricType::Counter,
                "transport",
                &by_kind(Stats::accepted_on),
            )?;
            labelled(
                &mut e,
                "ringport_transport_sessions_open",
                "Sessions open now, by listener transport (tcp, tls, ws, wss)",
                MetricType::Gauge,
                "transport",
                &by_kind(Stats::open_on),
            )?;
            counter(
                &mut e,
                "ringport_tls_handshakes",
                "TLS handshakes completed",
                s.tls_handshakes,
            )?;
            gauge(
                &mut e,
                "ringport_tls_handshakes_in_progress",
                "TLS handshakes in progress now (bounded by engine.max_tls_handshakes)",
                s.tls_handshakes_in_progress,
            )?;
            let tls_failures: Vec<(&str, u64)> = TlsFailure::ALL
                .iter()
                .map(|r| (r.as_str(), s.tls_failures_by(*r)))
                .collect();
            labelled(
                &mut e,
                "ringport_tls_handshake_failures",
                "TLS handshakes that failed, by reason (bad_message: not TLS; alert: the client refused, e.g. an untrusted certificate; incompatible; misbehaved; closed: ended before completing; busy: over engine.max_tls_handshakes; other)",
                MetricType::Counter,
                "reason",
                &tls_failures,
            )?;
            counter(
                &mut e,
                "ringport_ws_upgrades",
                "WebSocket upgrades answered 101",
                s.ws_upgrades,
            )?;
            counter(
                &mut e,
                "ringport_ws_http_answers",
                "Requests on the WebSocket listener answered with a page or an HTTP error (each ends its connection)",
                s.http_answers,
            )?;
            labelled(
                &mut e,
                "ringport_session_closes",
                "Sessions closed, by reason (slow_consumer: over send_queue_limit, or stalled for send_stall_timeout)",
                MetricType::Counter,
                "reason",
                &closes,
            )?;
        }
        if let Some(chat) = &self.chat {
            let Published {
                chat: c,
                cluster,
                history_dropped,
            } = match chat.lock() {
                Ok(c) => c.clone(),
                Err(poisoned) => poisoned.into_inner().clone(),
            };
            if let Some(cluster) = cluster {
                encode_cluster(&mut e, &cluster)?;
            }
            if let Some(dropped) = history_dropped {
                counter(
                    &mut e,
                    "ringport_history_writes_dropped",
                    "History writes not stored (chat.history_store): the writer's queue full or the store failing",
                    dropped,
                )?;
            }
            let f = c.login_failures;
            labelled(
                &mut e,
                "ringport_logins",
                "Logins answered, by result",
                MetricType::Counter,
                "result",
                &[
                    ("ok", c.logins_ok),
                    ("already", f.already),
                    ("server_full", f.server_full),
                    ("invalid_password", f.invalid_password),
                    ("backend_unavailable", f.backend_unavailable),
                    ("invalid_packet", f.invalid_packet),
                    ("feature_not_enabled", f.feature_not_enabled),
                    ("token_invalid", f.token_invalid),
                    ("token_expired", f.token_expired),
                    ("token_revoked", f.token_revoked),
                ],
            )?;
            let cf = c.create_failures;
            labelled(
                &mut e,
                "ringport_room_creates",
                "Room creates (301) answered, by result",
                MetricType::Counter,
                "result",
                &[
                    ("ok", c.rooms_created),
                    ("not_logged_in", cf.not_logged_in),
                    ("rate_limited", cf.rate_limited),
                    ("invalid_packet", cf.invalid_packet),
                    ("name_invalid", cf.name_invalid),
                    ("name_taken", cf.name_taken),
                    ("capacity_invalid", cf.capacity_invalid),
                    ("user_limit", cf.user_limit),
                    ("server_limit", cf.server_limit),
                    ("unavailable", cf.unavailable),
                ],
            )?;
            let gauges: [(&str, &str, u64); 7] = [
                (
                    "ringport_chat_sessions",
                    "Connections the chat knows",
                    c.sessions,
                ),
                (
                    "ringport_users_logged_in",
                    "Sessions logged in",
                    c.users_logged_in,
                ),
                (
                    "ringport_rooms_active",
                    "Rooms with at least one member",
                    c.rooms_active,
                ),
                (
                    "ringport_users_in_rooms",
                    "Sessions in a room",
                    c.users_in_rooms,
                ),
                (
                    "ringport_rooms_created_open",
                    "Created rooms open (on this node's view of the registry)",
                    c.rooms_created_open,
                ),
                (
                    "ringport_room_watchers",
                    "Sessions watching the room list",
                    c.room_watchers,
                ),
                (
                    "ringport_history_rooms",
                    "Rooms keeping a history (chat.history_len)",
                    c.history_rooms,
                ),
            ];
            for (name, help, v) in gauges {
                gauge(&mut e, name, help, v)?;
            }
            let counters: [(&str, &str, u64); 17] = [
                (
                    "ringport_token_logins_ok",
                    "Logins with a resume token answered 318 with 0 (also in ringport_logins_total{result=\"ok\"})",
                    c.token_logins_ok,
                ),
                (
                    "ringport_tokens_issued",
                    "Resume tokens sent (316)",
                    c.tokens_issued,
                ),
                (
                    "ringport_history_requests",
                    "History requests answered 315 with 0",
                    c.history_requests,
                ),
                (
                    "ringport_history_messages_out",
                    "Messages (313) sent in answer to history requests",
                    c.history_messages_out,
                ),
                (
                    "ringport_rooms_closed",
                    "Created rooms closed after being empty for chat.room_idle_close_secs",
                    c.rooms_closed,
                ),
                (
                    "ringport_room_lists",
                    "Room lists sent (304 with 0)",
                    c.room_lists,
                ),
                (
                    "ringport_room_changes_out",
                    "Room-list change notifies (306) sent, one per watcher",
                    c.room_changes_out,
                ),
                (
                    "ringport_chat_messages_in",
                    "Chat messages accepted (222 with 0)",
                    c.chats_in,
                ),
                (
                    "ringport_chat_deliveries_out",
                    "Chat notifies (223) sent, one per recipient",
                    c.deliveries_out,
                ),
                (
                    "ringport_chat_rate_limited",
                    "Chat messages refused by the rate limit (63)",
                    c.rate_limited,
                ),
                (
                    "ringport_logins_rate_limited",
                    "Login attempts refused by the per-address login limit (63, no hash)",
                    c.logins_rate_limited,
                ),
                (
                    "ringport_invalid_packets",
                    "Requests with an invalid body (90)",
                    c.invalid_packets,
                ),
                (
                    "ringport_unknown_packets",
                    "Packets with an unknown id (ignored)",
                    c.unknown_packets,
                ),
                (
                    "ringport_login_timeouts",
                    "Sessions closed for not logging in in time",
                    c.login_timeouts,
                ),
                (
                    "ringport_login_deadlines_extended",
                    "Login deadlines that passed while the session's login was being answered (session kept)",
                    c.login_deadlines_extended,
                ),
                (
                    "ringport_requests_queued",
                    "Requests that waited behind a pending login or cluster answer of their session",
                    c.requests_queued,
                ),
                (
                    "ringport_pipeline_pauses",
                    "Times a session was not read because its queue of waiting requests was full",
                    c.pipeline_pauses,
                ),
            ];
            for (name, help, v) in counters {
                counter(&mut e, name, help, v)?;
            }
        }
        if let Some(probe) = &self.cluster {
            encode_node(&mut e, &probe.stats())?;
        }
        if let Some(auth) = &self.auth {
            encode_auth(&mut e, &auth.stats())?;
        }
        Ok(())
    }
}

fn float_gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> fmt::Result {
    let g = ConstGauge::new(v);
    let m = e.encode_descriptor(name, help, None, g.metric_type())?;
    g.encode(m)
}

/// The account workers' queue: logins waiting, the oldest wait, and the
/// logins refused for overload.
fn encode_tls(e: &mut DescriptorEncoder, certs: &Certificates) -> fmt::Result {
    let days = ConstGauge::new(certs.days_left());
    let m = e.encode_descriptor(
        "ringport_tls_certificate_days_left",
        "Days until the TLS certificate in use expires (negative once it has); renew and send SIGHUP",
        None,
        days.metric_type(),
    )?;
    days.encode(m)?;
    let (ok, refused) = certs.reloads();
    labelled(
        e,
        "ringport_tls_reloads",
        "SIGHUP reloads of tls.cert and tls.key, by result (refused: the old pair stays in use)",
        MetricType::Counter,
        "result",
        &[("ok", ok), ("refused", refused)],
    )
}

fn encode_auth(e: &mut DescriptorEncoder, s: &AuthPoolStats) -> fmt::Result {
    gauge(
        e,
        "ringport_logins_waiting",
        "Logins queued for a password check or being checked",
        s.waiting,
    )?;
    float_gauge(
        e,
        "ringport_login_oldest_wait_seconds",
        "How long the oldest waiting login has waited for its answer",
        s.oldest_wait.as_secs_f64(),
    )?;
    float_gauge(
        e,
        "ringport_login_check_seconds",
        "Moving average of one password check's duration (admission estimate)",
        s.check_seconds,
    )?;
    labelled(
        e,
        "ringport_logins_refused_overload",
        "Logins answered 34 because the password checks could not keep up",
        MetricType::Counter,
        "reason",
        &[
            ("queue_full", s.refused_queue_full),
            ("estimate", s.refused_estimate),
            ("waited", s.refused_waited),
        ],
    )
}

/// The chat machine's cluster counters.
fn encode_cluster(e: &mut DescriptorEncoder, c: &ClusterStats) -> fmt::Result {
    gauge(
        e,
        "ringport_cluster_remote_members",
        "Members on other nodes of the rooms this node serves",
        c.remote_members,
    )?;
    let counters: [(&str, &str, u64); 8] = [
        (
            "ringport_cluster_history_reads",
            "History requests answered from the shared log in Redis",
            c.history_reads,
        ),
        (
            "ringport_cluster_history_unavailable",
            "History requests answered 106: the shared log could not be read",
            c.history_unavailable,
        ),
        (
            "ringport_cluster_unnumbered_chats",
            "Chats of this node Redis could not number (history members got a 223)",
            c.unnumbered_chats,
        ),
        (
            "ringport_cluster_remote_chats_in",
            "Chat messages received from other nodes",
            c.remote_chats_in,
        ),
        (
            "ringport_cluster_remote_changes",
            "Room enters and leaves received from other nodes and applied",
            c.remote_changes,
        ),
        (
            "ringport_cluster_degraded_enters",
            "Room enters done locally because Redis was unavailable",
            c.degraded_enters,
        ),
        (
            "ringport_cluster_repaired_enters",
            "Members of other nodes added by a heartbeat snapshot (missed enters)",
            c.repaired_enters,
        ),
        (
            "ringport_cluster_repaired_leaves",
            "Members of other nodes removed by a heartbeat snapshot (dead nodes, missed leaves)",
            c.repaired_leaves,
        ),
    ];
    for (name, help, v) in counters {
        counter(e, name, help, v)?;
    }
    Ok(())
}

/// The cluster threads' own counters.
fn encode_node(e: &mut DescriptorEncoder, n: &NodeStats) -> fmt::Result {
    gauge(
        e,
        "ringport_cluster_redis_up",
        "1 while the cluster's Redis command connection is up",
        u64::from(n.redis_up),
    )?;
    gauge(
        e,
        "ringport_cluster_queue_depth",
        "Cluster requests waiting for the node thread (cluster.queue at most)",
        n.queue_depth,
    )?;
    let counters: [(&str, &str, u64); 4] = [
        (
            "ringport_cluster_redis_errors",
            "Failed cluster Redis calls (connect, command, read), both connections",
            n.redis_errors,
        ),
        (
            "ringport_cluster_reconnects",
            "Cluster connections to Redis made again after a failure",
            n.reconnects,
        ),
        (
            "ringport_cluster_chats_published",
            "Chat messages published to the other nodes",
            n.chats_published,
        ),
        (
            "ringport_cluster_chats_dropped",
            "Chat messages not published: Redis unavailable or cluster.queue full",
            n.chats_dropped,
        ),
    ];
    for (name, help, v) in counters {
        counter(e, name, help, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_chat_counters_and_the_histogram() {
        let chat = Arc::new(Mutex::new(Published {
            chat: ringport_chat::ChatStats {
                chats_in: 7,
                rooms_active: 2,
                logins_ok: 3,
                token_logins_ok: 2,
                tokens_issued: 4,
                history_rooms: 1,
                login_failures: ringport_chat::LoginFailures {
                    token_revoked: 1,
                    ..ringport_chat::LoginFailures::default()
                },
                ..ringport_chat::ChatStats::default()
            },
            cluster: None,
            history_dropped: Some(2),
        }));
        let health = Arc::new(Health::default());
        health.set_listening();
        let store = Metrics::store_histogram();
        store.observe(0.003);
        let m = Metrics::new(
            Sources {
                engine: None,
                chat: Some(chat.clone()),
                cluster: None,
                health,
                auth: None,
                tls: None,
            },
            store,
        );
        let text = m.render();
        assert!(
            text.contains("ringport_chat_messages_in_total 7\n"),
            "{text}"
        );
        assert!(text.contains("ringport_rooms_active 2\n"), "{text}");
        assert!(
            text.contains("ringport_logins_total{result=\"ok\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("ringport_ready 1\n"), "{text}");
        for line in [
            "ringport_token_logins_ok_total 2\n",
            "ringport_tokens_issued_total 4\n",
            "ringport_history_rooms 1\n",
            "ringport_history_requests_total 0\n",
            "ringport_logins_total{result=\"token_revoked\"} 1\n",
            "ringport_logins_total{result=\"token_expired\"} 0\n",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
        assert!(
            text.contains("ringport_store_request_duration_seconds_count 1\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            text.contains("ringport_history_writes_dropped_total 2\n"),
            "{text}"
        );
        assert!(!text.contains("ringport_cluster_"), "no cluster: {text}");

        if let Ok(mut p) = chat.lock() {
            p.cluster = Some(ClusterStats {
                remote_chats_in: 5,
                remote_members: 2,
                ..ClusterStats::default()
            });
        }
        let text = m.render();
        assert!(
            text.contains("ringport_cluster_remote_chats_in_total 5\n"),
            "{text}"
        );
        assert!(
            text.contains("ringport_cluster_remote_members 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ringport_cluster_repaired_leaves_total 0\n"),
            "{text}"
        );
    }
}
