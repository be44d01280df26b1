//! ringport chat content (the Content layer): a sans-IO state machine for
//! login, rooms, presence and room chat, following `docs/PROTOCOL.md`.
//!
//! # Shape
//!
//! [`Chat`] takes events — [`Chat::handle_connect`], [`Chat::handle_packet`],
//! [`Chat::handle_disconnect`], [`Chat::handle_auth_result`],
//! [`Chat::handle_timeout`] — each with the current time where it matters,
//! and calls the host's [`Outbound`] for everything it must do: send a packet
//! to one session, send one shared packet to many, close a session, check a
//! password, stop or resume reading a session. It never touches sockets, threads or the clock, so the whole
//! protocol is tested in memory (see the `testing` feature).
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use ringport_chat::{AuthRequest, AuthResult, Chat, ChatConfig, ConnId, Outbound};
//! use ringport_proto::{LoginReq, ResultCode, ServerPacket};
//!
//! #[derive(Default)]
//! struct Host { sent: Vec<Vec<u8>>, checks: Vec<AuthRequest> }
//! impl Outbound for Host {
//!     fn send(&mut self, _: ConnId, packet: &[u8]) { self.sent.push(packet.to_vec()) }
//!     fn send_shared(&mut self, _: ConnId, packet: &Bytes) { self.sent.push(packet.to_vec()) }
//!     fn close(&mut self, _: ConnId) {}
//!     fn authenticate(&mut self, request: AuthRequest) { self.checks.push(request) }
//!     fn pause_reading(&mut self, _: ConnId) {}
//!     fn resume_reading(&mut self, _: ConnId) {}
//! }
//!
//! let (mut chat, mut host, now) = (Chat::new(ChatConfig::default()), Host::default(), Instant::now());
//! chat.handle_connect(ConnId(1), now);
//! let mut frame = Vec::new();
//! LoginReq::new("bob", "pw")?.encode(&mut frame);
//! chat.handle_packet(ConnId(1), &frame, now, &mut host);
//! let check = host.checks.pop().expect("a password check was asked");
//! // ... the host runs `check` on a worker (an `Authenticator`, such as an
//! // account store of `ringport-accounts`), then:
//! chat.handle_auth_result(check.conn, check.ticket, AuthResult::Accepted, &mut host);
//! assert!(matches!(
//!     ServerPacket::decode(&host.sent[0])?,
//!     ServerPacket::LoginRes(res) if res.result == ResultCode::None
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decisions where `docs/PROTOCOL.md` is silent
//!
//! - **Check order.** Body first (90, answered with the request's own
//!   response id), then session state, then the rest; `DEV_ECHO` is echoed
//!   in every state. Unknown ids (server-sent ids included) are ignored and
//!   counted. A frame that is not one whole packet (a host bug) is counted as
//!   invalid and ignored.
//! - **Order.** Every request of a session is answered in the order it was
//!   received. A request that arrives while an earlier one of the same
//!   session waits for an answer from outside (a password check; in cluster
//!   mode the login claim and the enter) is queued and handled, in order,
//!   when that answer comes, as of the time it arrived. The queue is bounded
//!   ([`ChatConfig::pipeline_frames`], [`ChatConfig::pipeline_bytes`]): at
//!   the bound the host is asked to stop reading the session
//!   ([`Outbound::pause_reading`]) and, once the queue has drained, to
//!   resume; nothing is dropped. Queued requests die with their session
//!   (disconnect, login deadline); after a failed login they are handled as
//!   for any session not logged in (52, 81, 61, or a new login attempt).
//!   Notifies caused by other sessions are not queued and may come between
//!   the answers.
//! - **Login.** A 201 behind a login in flight waits for it, then gets 31 if
//!   that login succeeded (or is a new attempt if it failed). 32
//!   counts logged-in *and* logging-in sessions against `max_users`. The
//!   "id logged in elsewhere" 31 is checked when the account store answers,
//!   so of two concurrent logins of one id the first answer wins and the
//!   second gets 31. A failed login leaves the session `Connected`; it may
//!   retry (the login deadline keeps running). `user_unique_id` counts from
//!   1 and is never reused; should all 2^63 − 1 be used, logins get 32.
//! - **Login deadline.** A session not logged in `login_timeout` after its
//!   connect, and with no login in flight, is closed ([`Outbound::close`]).
//!   The deadline bounds the time to send a login, not the time to answer
//!   it: when it passes with a check (or cluster claim) in flight, the
//!   session is kept and its deadline moves `login_timeout` on, so every
//!   login is answered; the host bounds how long a check stays in flight.
//!   The machine forgets a session when it closes it: later packets and its
//!   disconnect are ignored.
//! - **Answers** to a password check that no longer match a waiting session
//!   (it disconnected, timed out, or the ticket differs) are ignored.
//! - **Rooms** exist only while they have members; members are listed in the
//!   order they entered. 208 is not sent when the room was empty; 209 always
//!   is (count 0 for an empty room).
//! - **Chat rate.** One token bucket per session (GCRA, see `rate`), full at
//!   connect, kept across rooms; only chats that pass the state check take a
//!   token, and a refused chat (63) takes none.
//! - **Stats.** `logins_failed` counts every non-zero 202, 90 included;
//!   `chats_in` counts accepted chats; `invalid_packets` counts every 90.
//!
//! # Modules
//!
//! `chat` (inputs and dispatch), `request/*` (one per request kind), `session`,
//! `room`, `login` (who is logged in, ids, tickets), `deadline`, `rate`,
//! `stats`, `outbound` (the host interface; the password check's request,
//! answer and [`Authenticator`]), `secret`, `config`, [`cluster`], and
//! `testing` (feature `testing`: the harness). The account stores that
//! answer password checks live in `ringport-accounts`, which implements
//! [`Authenticator`]; this crate has no stores, hashing, clocks or threads.
#![forbid(unsafe_code)]

mod chat;
pub mod cluster;
mod config;
mod conn;
mod created;
mod deadline;
mod history;
mod lobby;
mod login;
mod login_limit;
mod outbound;
mod pipeline;
mod rate;
mod request;
mod room;
mod secret;
mod session;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;
mod token;
mod watch;

pub use chat::Chat;
pub use cluster::{
    ChatNumber, ClaimResult, ClusterEvent, ClusterRequest, ClusterStats, CreateResult, EnterResult,
    HistoryPage, RemoteMember, RoomChange, SharedRoom,
};
pub use config::ChatConfig;
pub use conn::ConnId;
pub use history::{HistoryRecord, HistoryWrite, RestoredLog};
pub use outbound::{AuthRequest, AuthResult, Authenticator, Credential, Outbound};
pub use secret::Secret;
pub use stats::{ChatStats, CreateFailures, LoginFailures};
pub use token::{Claims, TokenError, TokenKey, MAX_TOKEN_LEN};
