//! The chat host of `ringport serve` ([`Host`]): engine events and account
//! answers in, the chat state machine in the middle, packets out through
//! the engine. It runs on a logic thread of its own ([`Host::run`]) or on
//! the engine's one I/O thread ([`HostedApp`], `chat.logic_thread`); a turn
//! is the same code either way. Each session gets a tracing span
//! (`session{id peer}`) entered while its events are handled. The span is at
//! debug level, where the per-session lines are: at `info` it is disabled and
//! costs nothing per event. The chat's stats (and its cluster counters) are
//! published once per turn for the metrics endpoint.
//!
//! The machine's outputs are calls on [`HostOutbound`] (its [`Outbound`]),
//! made while it handles an input. Most are carried out at once (sends and
//! closes queued on the engine, checks submitted to the auth pool, cluster
//! requests to the cluster threads); an answer the host gives at once (an
//! overloaded auth pool's 34, a full cluster queue's "unavailable") cannot
//! re-enter the machine during that call, so it is kept and fed back after
//! the turn's inputs, in the order it was given ([`feed_back`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ringport_chat::{
    AuthRequest, AuthResult, Chat, ChatStats, ClusterEvent, ClusterRequest, ClusterStats, ConnId,
    HistoryWrite, Outbound,
};
use ringport_net::crossbeam_channel::{Receiver, TryRecvError};
use ringport_net::{
    Bytes, Endpoint, Event, EventBatch, HostedApp, Received, RecvError, SessionId, ShutdownHandle,
};

use crate::auth_pool::AuthPool;
use crate::cluster::ClusterHandle;
use crate::history_store::HistoryStore;
use crate::inbox::Inbox;

fn conn(session: SessionId) -> ConnId {
    ConnId(session.as_u64())
}

fn session(conn: ConnId) -> SessionId {
    SessionId::from_u64(conn.0)
}

/// What the logic thread publishes after every turn for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// The chat machine's counters.
    pub chat: ChatStats,
    /// Its cluster counters; `None` without a cluster.
    pub cluster: Option<ClusterStats>,
    /// History writes dropped (`chat.history_store` sqlite or redis: the
    /// writer's queue full or the store failing); `None` without a store.
    pub history_dropped: Option<u64>,
}

/// Inbox messages handled per turn at most (before engine events get
/// their turn again).
const INBOX_BATCH: usize = 256;

/// An answer the host gives at once instead of through a worker or the
/// cluster threads; fed back into the machine after the turn's inputs.
#[derive(Debug)]
enum Immediate {
    /// A password check the auth pool refused (overloaded): answered 34.
    Refused {
        /// The session that asked.
        conn: ConnId,
        /// Its login attempt's ticket.
        ticket: u64,
    },
    /// A cluster request answered at once (queue full, bus gone).
    Cluster(ClusterEvent),
}

/// The answers given at once, in the order they were given (first in,
/// first out: the machine hears them in the order it asked).
#[derive(Debug, Default)]
struct Immediates(VecDeque<Immediate>);

impl Immediates {
    fn push(&mut self, answer: Immediate) {
        self.0.push_back(answer);
    }

    fn next(&mut self) -> Option<Immediate> {
        self.0.pop_front()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An [`Outbound`] that keeps the answers it gave at once.
trait AnswersAtOnce: Outbound {
    fn immediates(&mut self) -> &mut Immediates;
}

/// Feeds the answers given at once back into the machine, in the order
/// they were given. Each may let queued requests through, which may ask
/// for more (a claim answered at once lets a queued login through, whose
/// check may be refused at once): until none is left.
fn feed_back(chat: &mut Chat, outbound: &mut impl AnswersAtOnce) {
    while let Some(answer) = outbound.immediates().next() {
        match answer {
            Immediate::Refused { conn, ticket } => {
                chat.handle_auth_result(conn, ticket, AuthResult::Unavailable, outbound);
            }
            Immediate::Cluster(event) => chat.handle_cluster(event, outbound),
        }
    }
}

/// The host's [`Outbound`]: the chat machine's outputs, carried out on the
/// engine, the auth pool and the cluster threads.
struct HostOutbound<'a> {
    endpoint: &'a mut Endpoint,
    auth: &'a AuthPool,
    cluster: Option<&'a ClusterHandle>,
    /// The history store's writer (`chat.history_store` sqlite or redis).
    history: Option<&'a HistoryStore>,
    /// Answers given at once (auth pool or cluster queue full): fed back
    /// after the turn's inputs, in order.
    immediates: &'a mut Immediates,
}

impl AnswersAtOnce for HostOutbound<'_> {
    fn immediates(&mut self) -> &mut Immediates {
        self.immediates
    }
}

impl Outbound for HostOutbound<'_> {
    fn send(&mut self, conn: ConnId, packet: &[u8]) {
        self.endpoint.send(session(conn), packet);
    }

    fn send_shared(&mut self, conn: ConnId, packet: &Bytes) {
        self.endpoint.send_shared(session(conn), packet);
    }

    fn close(&mut self, conn: ConnId) {
        self.endpoint.close(session(conn));
    }

    fn authenticate(&mut self, request: AuthRequest) {
        let (conn, ticket) = (request.conn, request.ticket);
        if self.auth.submit(request).is_err() {
            // Overloaded (queue full, or its wait would exceed
            // accounts.max_login_wait_ms): answer 34 at once rather than
            // stall the room traffic or leave the login unanswered.
            self.immediates.push(Immediate::Refused { conn, ticket });
        }
    }

    fn cluster(&mut self, request: ClusterRequest) {
        if let Some(answer) = self.cluster.and_then(|c| c.submit(request)) {
            self.immediates.push(Immediate::Cluster(answer));
        }
    }

    fn history(&mut self, write: HistoryWrite) {
        if let Some(store) = self.history {
            store.submit(write);
        }
    }

    fn pause_reading(&mut self, conn: ConnId) {
        // The session's requests wait behind a password check or a cluster
        // answer and its queue is full: stop reading it (frames already on
        // their way still arrive and are queued by the machine).
        self.endpoint.pause_reading(session(conn));
    }

    fn resume_reading(&mut self, conn: ConnId) {
        self.endpoint.resume_reading(session(conn));
    }
}

/// The Unix time in milliseconds (0 on a clock set before 1970).
fn unix_ms_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The chat machine and everything it drives: the engine's endpoint, the
/// auth pool, the inbox of answers, the cluster and history threads. It
/// runs on a thread of its own ([`Host::run`]) or on the engine's one I/O
/// thread ([`HostedApp`], `chat.logic_thread`); a turn is the same either
/// way: inputs, the answers given at once, timeouts, one flush, the stats
/// published.
pub struct Host {
    chat: Chat,
    endpoint: Endpoint,
    auth: AuthPool,
    answers: Receiver<Inbox>,
    published: Arc<Mutex<Published>>,
    /// Stops the engine if the account workers are gone.
    shutdown: ShutdownHandle,
    /// Kept across turns: what `handle_timeout` answered at once is fed
    /// back at the start of the next turn's feed-back.
    immediates: Immediates,
    spans: HashMap<SessionId, tracing::Span>,
    /// Dropped after everything above, in this order: the history writer
    /// finishes what is queued, then the cluster node its leaves, claim
    /// releases and lease delete.
    history: Option<HistoryStore>,
    cluster: Option<ClusterHandle>,
}

/// What [`Host::new`] is made of.
pub struct HostParts {
    /// The machine, its history restored.
    pub chat: Chat,
    /// The engine's endpoint (hosted or not).
    pub endpoint: Endpoint,
    /// The account workers.
    pub auth: AuthPool,
    /// Their answers and the cluster's events.
    pub answers: Receiver<Inbox>,
    /// The cluster node, in cluster mode.
    pub cluster: Option<ClusterHandle>,
    /// The history writer (`chat.history_store` sqlite or redis).
    pub history: Option<HistoryStore>,
    /// Where the stats go after every turn.
    pub published: Arc<Mutex<Published>>,
    /// The engine's shutdown switch.
    pub shutdown: ShutdownHandle,
}

impl Host {
    /// The host of `parts.chat`. Message times (313) and resume tokens are
    /// stamped from the wall clock, anchored once here and counted on by
    /// the monotonic clock from then.
    pub fn new(parts: HostParts) -> Host {
        let HostParts {
            mut chat,
            endpoint,
            auth,
            answers,
            cluster,
            history,
            published,
            shutdown,
        } = parts;
        chat.set_wall_clock(Instant::now(), unix_ms_now());
        Host {
            chat,
            endpoint,
            auth,
            answers,
            published,
            shutdown,
            immediates: Immediates::default(),
            spans: HashMap::new(),
            history,
            cluster,
        }
    }

    /// Runs the logic on this thread until the engine stops.
    pub fn run(mut self) {
        loop {
            // Answers given at once and left by the last turn: fed back in
            // the next one without waiting.
            let timeout = if self.immediates.is_empty() {
                self.chat
                    .next_timeout()
                    .map(|t| t.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            let got = self.endpoint.recv_with(&self.answers, timeout);
            let now = Instant::now();
            match got {
                Received::Events(batch) => self.events(&batch, now),
                Received::Other(first) => {
                    self.inbox(first);
                }
                Received::Timeout => {}
                Received::Stopped => break,
                Received::OtherClosed => {
                    self.workers_gone();
                    break;
                }
            }
            self.end_turn(now);
        }
        self.finish();
    }

    /// The outbound of one input, and the machine it is for.
    fn parts(
        &mut self,
    ) -> (
        &mut Chat,
        HostOutbound<'_>,
        &HashMap<SessionId, tracing::Span>,
    ) {
        (
            &mut self.chat,
            HostOutbound {
                endpoint: &mut self.endpoint,
                auth: &self.auth,
                cluster: self.cluster.as_ref(),
                history: self.history.as_ref(),
                immediates: &mut self.immediates,
            },
            &self.spans,
        )
    }

    /// Handles a batch of engine events.
    fn events(&mut self, batch: &EventBatch, now: Instant) {
        for event in batch.iter() {
            match event {
                Event::Opened { session, peer } => {
                    let span = tracing::debug_span!("session", id = %session, %peer);
                    span.in_scope(|| {
                        tracing::debug!("session opened");
                        self.chat.handle_connect_from(
                            conn(session),
                            ringport_net::peer_group(peer.ip()),
                            now,
                        );
                    });
                    if !span.is_disabled() {
                        self.spans.insert(session, span);
                    }
                }
                Event::Frame { session, frame } => {
                    let (chat, mut outbound, spans) = self.parts();
                    let _entered = spans.get(&session).map(|s| s.enter());
                    chat.handle_packet(conn(session), frame, now, &mut outbound)
                }
                Event::Closed { session, reason } => {
                    let span = self.spans.remove(&session);
                    let _entered = span.as_ref().map(|s| s.enter());
                    tracing::debug!(%reason, "session closed");
                    let (chat, mut outbound, _) = self.parts();
                    chat.handle_disconnect(conn(session), &mut outbound)
                }
            }
        }
    }

    /// Handles `first` and what else is waiting in the inbox (other nodes'
    /// chats arrive in bursts), at most [`INBOX_BATCH`]; true if that many
    /// were handled (more may wait).
    fn inbox(&mut self, first: Inbox) -> bool {
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(message) = next.take() {
            let (chat, mut outbound, spans) = self.parts();
            match message {
                Inbox::Auth(a) => {
                    let _entered = spans.get(&session(a.conn)).map(|s| s.enter());
                    chat.handle_auth_result(a.conn, a.ticket, a.result, &mut outbound)
                }
                Inbox::Cluster(event) => chat.handle_cluster(event, &mut outbound),
            }
            handled += 1;
            if handled < INBOX_BATCH {
                next = self.answers.try_recv().ok();
            }
        }
        handled == INBOX_BATCH
    }

    /// The end of every turn: the answers given at once, the machine's
    /// timeouts, one flush, the stats published.
    fn end_turn(&mut self, now: Instant) {
        let (chat, mut outbound, _) = self.parts();
        feed_back(chat, &mut outbound);
        chat.handle_timeout(now, &mut outbound);
        self.endpoint.flush();
        if let Ok(mut p) = self.published.lock() {
            p.chat.clone_from(self.chat.stats());
            p.cluster = self.chat.cluster_stats().cloned();
            p.history_dropped = self.history.as_ref().map(HistoryStore::dropped);
        }
    }

    /// The account workers are gone (they never exit on their own): the
    /// server stops.
    fn workers_gone(&self) {
        tracing::error!("account workers are gone; stopping");
        self.shutdown.shutdown();
    }

    /// After the last turn.
    fn finish(&mut self) {
        if let Some(dropped) = self.history.as_ref().map(HistoryStore::dropped) {
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "history writes dropped (store behind or unavailable)"
                );
            }
        }
    }
}

impl HostedApp for Host {
    fn turn(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let mut worked = false;
        let mut more = false;
        loop {
            match self.endpoint.try_recv() {
                Ok(batch) => {
                    self.events(&batch, now);
                    worked = true;
                }
                Err(RecvError::Timeout) => break,
                Err(RecvError::Stopped) => break,
            }
        }
        match self.answers.try_recv() {
            Ok(first) => {
                more = self.inbox(first);
                worked = true;
            }
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => {
                if !self.shutdown.is_shutting_down() {
                    self.workers_gone();
                }
            }
        }
        // Answers given at once and left by the last turn are fed back in
        // this one, work or not: it was asked for (`Some(now)` below).
        let due = self.chat.next_timeout().is_some_and(|t| t <= now);
        if worked || due || !self.immediates.is_empty() {
            self.end_turn(now);
        }
        if more || !self.immediates.is_empty() {
            return Some(now);
        }
        self.chat.next_timeout()
    }

    fn stopped(&mut self) {
        self.turn();
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ringport_chat::{ChatConfig, ClaimResult};
    use ringport_proto::{LoginReq, ResultCode, ServerPacket};

    use super::*;

    /// An [`Outbound`] that, like [`HostOutbound`] under overload, answers
    /// at once: every cluster claim (as the cluster queue does when full)
    /// and, while `refuse_checks` is set, every password check (as the auth
    /// pool does when full). Other checks wait in `checks`.
    #[derive(Default)]
    struct Overloaded {
        immediates: Immediates,
        refuse_checks: bool,
        checks: Vec<AuthRequest>,
        sent: Vec<(ConnId, Vec<u8>)>,
    }

    impl AnswersAtOnce for Overloaded {
        fn immediates(&mut self) -> &mut Immediates {
            &mut self.immediates
        }
    }

    impl Outbound for Overloaded {
        fn send(&mut self, conn: ConnId, packet: &[u8]) {
            self.sent.push((conn, packet.to_vec()));
        }
        fn send_shared(&mut self, conn: ConnId, packet: &Bytes) {
            self.sent.push((conn, packet.to_vec()));
        }
        fn close(&mut self, _: ConnId) {}
        fn authenticate(&mut self, request: AuthRequest) {
            if self.refuse_checks {
                self.immediates.push(Immediate::Refused {
                    conn: request.conn,
                    ticket: request.ticket,
                });
            } else {
                self.checks.push(request);
            }
        }
        fn cluster(&mut self, request: ClusterRequest) {
            if let ClusterRequest::Claim { conn, ticket, .. } = request {
                self.immediates
                    .push(Immediate::Cluster(ClusterEvent::Claimed {
                        conn,
                        ticket,
                        result: ClaimResult::Unavailable,
                    }));
            }
        }
        fn pause_reading(&mut self, _: ConnId) {}
        fn resume_reading(&mut self, _: ConnId) {}
    }

    fn login(chat: &mut Chat, conn: u64, outbound: &mut Overloaded) {
        let mut frame = Vec::new();
        LoginReq::new(&format!("user{conn}"), "pw")
            .expect("valid login")
            .encode(&mut frame);
        chat.handle_connect(ConnId(conn), Instant::now());
        chat.handle_packet(ConnId(conn), &frame, Instant::now(), outbound);
    }

    /// The sessions that got a 202, in order; each must be a 34.
    fn answered(sent: &[(ConnId, Vec<u8>)]) -> Vec<u64> {
        sent.iter()
            .map(|(conn, packet)| {
                match ServerPacket::decode(packet).expect("decodes") {
                    ServerPacket::LoginRes(res) => {
                        assert_eq!(res.result, ResultCode::LoginBackendUnavailable, "{conn}");
                    }
                    other => panic!("{conn} got {other:?}"),
                }
                conn.0
            })
            .collect()
    }

    #[test]
    fn refused_logins_are_answered_in_the_order_they_were_asked() {
        let mut chat = Chat::new(ChatConfig::default());
        let mut outbound = Overloaded {
            refuse_checks: true,
            ..Overloaded::default()
        };
        for conn in 1..=3 {
            login(&mut chat, conn, &mut outbound);
        }
        assert!(outbound.sent.is_empty(), "answered before the feed-back");
        feed_back(&mut chat, &mut outbound);
        assert_eq!(answered(&outbound.sent), [1, 2, 3]);
        assert!(outbound.immediates.next().is_none());
    }

    #[test]
    fn answers_given_at_once_keep_their_order_across_kinds() {
        let mut chat = Chat::with_cluster(ChatConfig::default());
        let mut outbound = Overloaded::default();
        login(&mut chat, 1, &mut outbound);
        login(&mut chat, 2, &mut outbound);
        let checks = std::mem::take(&mut outbound.checks);
        assert_eq!(checks.len(), 2);
        // 1's password is accepted: its claim is answered at once; then 3's
        // check is refused at once; then 2's claim is answered at once.
        let (first, second) = (&checks[0], &checks[1]);
        chat.handle_auth_result(
            first.conn,
            first.ticket,
            AuthResult::Accepted,
            &mut outbound,
        );
        outbound.refuse_checks = true;
        login(&mut chat, 3, &mut outbound);
        chat.handle_auth_result(
            second.conn,
            second.ticket,
            AuthResult::Accepted,
            &mut outbound,
        );
        assert!(outbound.sent.is_empty(), "answered before the feed-back");
        feed_back(&mut chat, &mut outbound);
        assert_eq!(answered(&outbound.sent), [1, 3, 2]);
    }
}
