//! `LOGIN_REQ` (201) and the account-check answer.
//!
//! At request time: 31 if the session is logged in (a 201 sent while a login
//! is in flight waits for it in the session's queue, see `pipeline`), 32 if
//! logged-in plus logging-in users reach `max_users`; then the host is asked
//! to check the password ([`crate::Outbound::authenticate`]).
//! At answer time: 33 (rejected), 34 (store unavailable), then 31 if the id
//! is logged in on another session — checked only now, after the password,
//! so nobody learns who is online without it, and so two concurrent logins
//! of one id resolve as "first answer wins". Success: `LoggedIn`, a fresh
//! `user_unique_id`, 202(0). A failed login leaves the session `Connected`,
//! free to try again.

use std::sync::Arc;
use std::time::Instant;

use ringport_proto::{LoginReq, ResultCode};

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::outbound::{AuthRequest, AuthResult, Outbound};
use crate::secret::Secret;
use crate::session::{SessionState, User};

impl Chat {
    pub(crate) fn handle_login(
        &mut self,
        conn: ConnId,
        req: LoginReq<'_>,
        now: Instant,
        outbound: &mut impl Outbound,
    ) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        if !matches!(session.state, SessionState::Connected) {
            return self.refuse_login(conn, ResultCode::LoginUserAlready, outbound);
        }
        if self.logins.slots_taken() >= self.config.max_users {
            return self.refuse_login(conn, ResultCode::LoginUserUsedAllObj, outbound);
        }
        let limited = session
            .peer
            .filter(|peer| self.config.login_limit_loopback || !peer.is_loopback());
        if let Some(peer) = limited {
            if !self.login_limit.try_take(peer, now) {
                self.stats.logins_rate_limited += 1;
                tracing::debug!(%conn, %peer, "login refused: address over its login rate");
                return self.respond(conn, LoginReq::ID, ResultCode::RoomTooManyPacket, outbound);
            }
        }
        let ticket = self.logins.next_ticket();
        let user_id = req.user_id.as_str();
        session.state = SessionState::Authenticating {
            ticket,
            user_id: Arc::from(user_id),
        };
        self.logins.take_slot();
        tracing::debug!(%conn, user_id, ticket, "login: checking password");
        outbound.authenticate(AuthRequest {
            conn,
            ticket,
            user_id: user_id.to_owned(),
            password: Secret::new(req.password.as_str()),
            auto_register: self.config.auto_register,
        });
    }

    /// Applies an account-check answer (see the module docs).
    pub(crate) fn finish_login(
        &mut self,
        conn: ConnId,
        ticket: u64,
        result: AuthResult,
        outbound: &mut impl Outbound,
    ) {
        if self.claim_in_flight(conn) {
            tracing::debug!(%conn, ticket, "auth answer while claiming ignored");
            return;
        }
        let Some(session) = self.sessions.get_mut(&conn) else {
            tracing::debug!(%conn, ticket, "auth answer for a gone session ignored");
            return;
        };
        let user_id = match &session.state {
            SessionState::Authenticating {
                ticket: expected,
                user_id,
            } if *expected == ticket => Arc::clone(user_id),
            _ => {
                tracing::debug!(%conn, ticket, "stale auth answer ignored");
                return;
            }
        };
        if result == AuthResult::Accepted
            && self.logins.session_of(&user_id).is_none()
            && self.cluster_claim(conn, ticket, &user_id, outbound)
        {
            // Cluster mode: still logging in until the claim is answered.
            return;
        }
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        // From here on the session is no longer logging in: it is either
        // logged in (the slot stays taken) or back to `Connected`.
        session.state = SessionState::Connected;
        let outcome = match result {
            AuthResult::Rejected => Err(ResultCode::LoginUserInvalidPw),
            AuthResult::Unavailable => Err(ResultCode::LoginBackendUnavailable),
            AuthResult::Accepted if self.logins.session_of(&user_id).is_some() => {
                Err(ResultCode::LoginUserAlready)
            }
            // Only once every unique id is used up: refuse rather than reuse.
            AuthResult::Accepted => self
                .logins
                .log_in(Arc::clone(&user_id), conn)
                .ok_or(ResultCode::LoginUserUsedAllObj),
        };
        let unique_id = match outcome {
            Ok(unique_id) => unique_id,
            Err(code) => {
                self.logins.release_slot();
                return self.refuse_login(conn, code, outbound);
            }
        };
        session.state = SessionState::LoggedIn {
            user: User { user_id, unique_id },
            room: None,
        };
        session.login_deadline = None;
        self.stats.logins_ok += 1;
        tracing::debug!(%conn, unique_id, "login ok");
        self.respond(conn, LoginReq::ID, ResultCode::None, outbound);
    }

    fn refuse_login(&mut self, conn: ConnId, code: ResultCode, outbound: &mut impl Outbound) {
        tracing::debug!(%conn, %code, "login refused");
        self.record_login_failure(code);
        self.respond(conn, LoginReq::ID, code, outbound);
    }
}
