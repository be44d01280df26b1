//! The logic thread of `ringport serve`: engine events and account answers
//! in, the chat state machine in the middle, packets out through the engine.
//! Each session gets a tracing span (`session{id peer}`) entered while its
//! events are handled. The span is at debug level, where the per-session
//! lines are: at `info` it is disabled and costs nothing per event. The
//! chat's stats (and its cluster counters) are published once per turn for
//! the metrics endpoint.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use ringport_chat::{
    AuthRequest, AuthResult, Chat, ChatStats, ClusterEvent, ClusterRequest, ClusterStats, ConnId,
    Outbound,
};
use ringport_net::crossbeam_channel::Receiver;
use ringport_net::{Bytes, Endpoint, Event, Received, SessionId};

use crate::auth_pool::AuthPool;
use crate::cluster::ClusterHandle;
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
}

/// Inbox messages handled per turn at most (before engine events get
/// their turn again).
const INBOX_BATCH: usize = 256;

/// The chat machine's outputs, carried out on the engine and the auth pool.
struct Out<'a> {
    endpoint: &'a mut Endpoint,
    auth: &'a AuthPool,
    refused: Vec<(ConnId, u64)>,
    cluster: Option<&'a ClusterHandle>,
    /// Cluster answers given at once (queue full): fed back after the turn.
    cluster_now: Vec<ClusterEvent>,
}

impl Outbound for Out<'_> {
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
            self.refused.push((conn, ticket));
        }
    }

    fn cluster(&mut self, request: ClusterRequest) {
        if let Some(answer) = self.cluster.and_then(|c| c.submit(request)) {
            self.cluster_now.push(answer);
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

/// Runs the logic until the engine stops, copying the chat's stats into
/// `published` after every turn.
pub fn run(
    mut chat: Chat,
    mut endpoint: Endpoint,
    auth: AuthPool,
    answers: Receiver<Inbox>,
    cluster: Option<&ClusterHandle>,
    published: &Mutex<Published>,
) -> Chat {
    let mut refused = Vec::new();
    let mut cluster_now = Vec::new();
    let mut spans: HashMap<SessionId, tracing::Span> = HashMap::new();
    loop {
        let timeout = chat
            .next_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        let got = endpoint.recv_with(&answers, timeout);
        let now = Instant::now();
        let mut out = Out {
            endpoint: &mut endpoint,
            auth: &auth,
            refused: std::mem::take(&mut refused),
            cluster,
            cluster_now: std::mem::take(&mut cluster_now),
        };
        match got {
            Received::Events(batch) => {
                for event in batch.iter() {
                    match event {
                        Event::Opened { session, peer } => {
                            let span = tracing::debug_span!("session", id = %session, %peer);
                            span.in_scope(|| {
                                tracing::debug!("session opened");
                                chat.handle_connect_from(
                                    conn(session),
                                    ringport_net::peer_group(peer.ip()),
                                    now,
                                );
                            });
                            if !span.is_disabled() {
                                spans.insert(session, span);
                            }
                        }
                        Event::Frame { session, frame } => {
                            let _entered = spans.get(&session).map(|s| s.enter());
                            chat.handle_packet(conn(session), frame, now, &mut out)
                        }
                        Event::Closed { session, reason } => {
                            let span = spans.remove(&session);
                            let _entered = span.as_ref().map(|s| s.enter());
                            tracing::debug!(%reason, "session closed");
                            chat.handle_disconnect(conn(session), &mut out)
                        }
                    }
                }
            }
            Received::Other(first) => {
                // Drain what else is waiting (other nodes' chats arrive in
                // bursts): one flush for the lot.
                let mut next = Some(first);
                let mut handled = 0;
                while let Some(message) = next.take() {
                    match message {
                        Inbox::Auth(a) => {
                            let _entered = spans.get(&session(a.conn)).map(|s| s.enter());
                            chat.handle_auth_result(a.conn, a.ticket, a.result, &mut out)
                        }
                        Inbox::Cluster(event) => chat.handle_cluster(event, &mut out),
                    }
                    handled += 1;
                    if handled < INBOX_BATCH {
                        next = answers.try_recv().ok();
                    }
                }
            }
            Received::Timeout => {}
            Received::Stopped => break,
            Received::OtherClosed => {
                tracing::error!("account workers are gone; stopping");
                break;
            }
        }
        // Answers given at once; each may let queued requests through,
        // which may ask for more (a claim answered at once lets a queued
        // login through, whose check may be refused at once): until none.
        loop {
            if let Some((conn, ticket)) = out.refused.pop() {
                chat.handle_auth_result(conn, ticket, AuthResult::Unavailable, &mut out);
            } else if let Some(event) = out.cluster_now.pop() {
                chat.handle_cluster(event, &mut out);
            } else {
                break;
            }
        }
        chat.handle_timeout(now, &mut out);
        refused = std::mem::take(&mut out.refused);
        cluster_now = std::mem::take(&mut out.cluster_now);
        endpoint.flush();
        if let Ok(mut p) = published.lock() {
            p.chat.clone_from(chat.stats());
            p.cluster = chat.cluster_stats().cloned();
        }
    }
    chat
}
