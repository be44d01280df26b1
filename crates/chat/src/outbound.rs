//! [`Outbound`]: everything the state machine asks of its host, and the
//! account-check request and answer ([`AuthRequest`], [`AuthResult`]) with
//! the interface that answers one ([`Authenticator`]).
//!
//! The machine never does I/O. Each `handle_*` call takes an `&mut impl
//! Outbound` and calls it synchronously, in protocol order, for every packet to
//! send, every session to close, every password to check and every session to
//! stop or resume reading; the host turns those calls into engine operations
//! (and the test harness records them).

use bytes::Bytes;

use crate::cluster::ClusterRequest;
use crate::conn::ConnId;
use crate::history::HistoryWrite;
use crate::secret::Secret;

/// The host side of the state machine.
///
/// Calls for one connection are made in the order the packets must reach it.
/// None of these may call back into the [`crate::Chat`] (it is borrowed
/// mutably meanwhile); an account check is answered later through
/// [`crate::Chat::handle_auth_result`].
pub trait Outbound {
    /// Sends one encoded packet (header included) to `conn`. The slice is only
    /// borrowed for the call: the host copies it.
    fn send(&mut self, conn: ConnId, packet: &[u8]);

    /// Sends one encoded packet that goes to many recipients. The machine
    /// encodes each room event once and calls this once per recipient with the
    /// same `Bytes`, so the host can queue a reference instead of a copy.
    fn send_shared(&mut self, conn: ConnId, packet: &Bytes);

    /// Closes `conn` after flushing what was sent to it. The machine has
    /// already forgotten the connection when it calls this: a later
    /// `handle_packet` or `handle_disconnect` for it is ignored.
    fn close(&mut self, conn: ConnId);

    /// Checks a password against the account store, off the logic thread.
    /// Answer with [`crate::Chat::handle_auth_result`] using the request's
    /// `conn` and `ticket` (and [`AuthResult::Unavailable`] if the check
    /// could not be made).
    fn authenticate(&mut self, request: AuthRequest);

    /// Stops reading `conn` until [`Outbound::resume_reading`]: its queue of
    /// requests waiting behind an asynchronous one (a password check, a
    /// cluster claim or enter) reached [`crate::ChatConfig::pipeline_frames`]
    /// or [`crate::ChatConfig::pipeline_bytes`]. Frames the host already
    /// read must still be passed to [`crate::Chat::handle_packet`] (the
    /// machine queues them; it never drops a request), so the queue may
    /// exceed its bounds by what the host has in flight.
    ///
    /// The machine asks at most once before each resume, and never for a
    /// connection it has forgotten. The host need not report anything back.
    /// Sending to the session goes on while it is paused.
    fn pause_reading(&mut self, conn: ConnId);

    /// Reads `conn` again after [`Outbound::pause_reading`]: its queue has
    /// drained. Called only for a paused connection the machine still knows
    /// (a session that disconnects or is closed while paused is not
    /// resumed).
    fn resume_reading(&mut self, conn: ConnId);

    /// Cluster work ([`crate::Chat::with_cluster`] machines only): carry it
    /// to the other nodes, and answer claims and enters with
    /// [`crate::Chat::handle_cluster`]. The default (the in-process bus)
    /// does nothing: a machine made with [`crate::Chat::new`] never calls
    /// it.
    fn cluster(&mut self, request: ClusterRequest) {
        let _ = request;
    }

    /// A change of the history for a persistent store (a message numbered
    /// by this machine, a created room's log forgotten), in the order made.
    /// Write it behind, off the logic thread: never block here (drop it,
    /// and count, when the writer is behind). The default (the in-memory
    /// store) does nothing. A clustered machine never calls it (the
    /// cluster numbers and keeps the messages).
    fn history(&mut self, write: HistoryWrite) {
        let _ = write;
    }
}

/// A password check the host must run (see [`Outbound::authenticate`]).
#[derive(Debug)]
pub struct AuthRequest {
    /// The connection that asked to log in.
    pub conn: ConnId,
    /// Identifies this attempt; the answer must carry it back. An answer with
    /// another ticket (an attempt of a session that since went away) is
    /// ignored.
    pub ticket: u64,
    /// The user id to log in as (1 to 32 bytes of UTF-8).
    pub user_id: String,
    /// What proves it.
    pub credential: Credential,
    /// Whether an unknown id is created with this password
    /// ([`crate::ChatConfig::auto_register`]; never for a token).
    pub auto_register: bool,
}

impl AuthRequest {
    /// The password, for a password login (`None` for a token).
    pub fn password(&self) -> Option<&str> {
        match &self.credential {
            Credential::Password(password) => Some(password.expose()),
            Credential::Token { .. } => None,
        }
    }
}

/// What a login presents.
#[derive(Debug)]
pub enum Credential {
    /// A password (1 to 32 bytes of UTF-8), checked against the stored
    /// hash: [`AuthResult::Rejected`] when wrong.
    Password(Secret),
    /// A resume token whose signature and expiry the machine already
    /// checked, issued at `issued_ms` (Unix milliseconds): the store says
    /// whether it still holds — [`AuthResult::Accepted`] unless the user's
    /// tokens were revoked at or after `issued_ms` (a password change) or
    /// the user no longer exists ([`AuthResult::Rejected`], answered 113).
    /// No password hash is computed.
    Token {
        /// When the token was issued.
        issued_ms: u64,
    },
}

/// The answer to an [`AuthRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    /// The password is right (or the id was just registered with it), or
    /// the token still holds.
    Accepted,
    /// Wrong password, or unknown id without auto-registration: result 33.
    /// For a token: revoked, or the user is gone: result 113.
    Rejected,
    /// The account store could not be reached: result 34.
    Unavailable,
}

/// Answers an [`AuthRequest`]: the password check a host runs, off the logic
/// thread, for [`Outbound::authenticate`], then hands to
/// [`crate::Chat::handle_auth_result`].
///
/// The machine never calls it: it only asks its host. This crate owns the
/// interface so that what answers it (the account stores of
/// `ringport-accounts`, which implement it) depends on the machine and not
/// the other way round; the test harness (feature `testing`) answers
/// through it too.
pub trait Authenticator: Send + Sync {
    /// Checks `request` and says what the login gets. Blocks: hashing takes
    /// milliseconds on purpose, a network store waits on the network. A
    /// check that cannot be made is [`AuthResult::Unavailable`].
    fn check(&self, request: &AuthRequest) -> AuthResult;
}
