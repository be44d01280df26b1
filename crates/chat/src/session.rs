//! [`Session`]: what the machine knows about one connection — its protocol
//! state (`Connected` → `Authenticating` → `LoggedIn` → in a room), its login
//! deadline, its chat token bucket and its queue of requests waiting behind
//! an asynchronous one.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use ringport_proto::Features;

use crate::pipeline::Pipeline;
use crate::rate::Bucket;

/// One connection.
#[derive(Debug)]
pub(crate) struct Session {
    /// Where the session is in the protocol.
    pub(crate) state: SessionState,
    /// When the session is closed if it is not logged in by then and has
    /// no login in flight (one in flight moves it `login_timeout` on, see
    /// `Chat::handle_timeout`); `None` once logged in (and on overflow).
    pub(crate) login_deadline: Option<Instant>,
    /// Chat rate limit; kept across rooms, so leaving and re-entering does
    /// not refill it.
    pub(crate) bucket: Bucket,
    /// Room-create rate limit.
    pub(crate) create_bucket: Bucket,
    /// The peer's address group, when the host gave it: login attempts are
    /// limited per group.
    pub(crate) peer: Option<IpAddr>,
    /// Requests received while an earlier one waits for an answer from
    /// outside the machine (see `pipeline`).
    pub(crate) pipeline: Pipeline,
    /// What the session opted in to (311).
    pub(crate) features: Features,
}

impl Session {
    pub(crate) fn new(login_deadline: Option<Instant>, peer: Option<IpAddr>) -> Session {
        Session {
            state: SessionState::Connected,
            login_deadline,
            bucket: Bucket::default(),
            create_bucket: Bucket::default(),
            peer,
            pipeline: Pipeline::default(),
            features: Features::NONE,
        }
    }
}

/// The protocol state of a session. `docs/PROTOCOL.md` names three states;
/// `Authenticating` is `Connected` with a password check in flight, and "in a
/// room" is `LoggedIn` with a room.
#[derive(Debug)]
pub(crate) enum SessionState {
    /// Not logged in, no login in flight.
    Connected,
    /// A login was asked of the account store; its answer must carry
    /// `ticket`.
    Authenticating {
        /// The attempt's ticket.
        ticket: u64,
        /// The user id being logged in.
        user_id: Arc<str>,
        /// Which request asked (so which response answers).
        via: LoginVia,
    },
    /// Logged in, maybe in a room.
    LoggedIn {
        /// Who.
        user: User,
        /// The room the user is in.
        room: Option<i32>,
    },
}

/// How a login was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginVia {
    /// 201, answered with 202.
    Password,
    /// 317, answered with 318.
    Token,
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub(crate) struct User {
    /// The login's user id (shared with the room member and the login map).
    pub(crate) user_id: Arc<str>,
    /// The id given to this login, never reused while the process runs.
    pub(crate) unique_id: i64,
}
