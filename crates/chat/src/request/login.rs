//! `LOGIN_REQ` (201), `LOGIN_TOKEN_REQ` (317) and the account-check answer.
//!
//! At request time: 31 if the session is logged in (a 201 sent while a login
//! is in flight waits for it in the session's queue, see `pipeline`), 32 if
//! logged-in plus logging-in users reach `max_users`; for 201, 63 over the
//! address's login rate; for 317, 110 without the resume feature, 111 for a
//! token that does not verify, 112 for an expired one. Then the host is
//! asked to check the credential ([`crate::Outbound::authenticate`]): a
//! password against its hash, a token against the user's revocations (no
//! hash).
//! At answer time: 33 (rejected password) or 113 (revoked token), 34 (store
//! unavailable), then 31 if the id is logged in on another session —
//! checked only now, after the credential, so nobody learns who is online
//! without it, and so two concurrent logins of one id resolve as "first
//! answer wins". Success: `LoggedIn`, a fresh `user_unique_id`, 202(0) (or
//! 318(0)), then a 316 resume token if the session asked for them. A
//! failed login leaves the session `Connected`, free to try again.

use std::sync::Arc;
use std::time::Instant;

use ringport_proto::{Features, LoginReq, LoginTokenReq, ResultCode, ResumeTokenNtf};

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::outbound::{AuthRequest, AuthResult, Credential, Outbound};
use crate::secret::Secret;
use crate::session::{LoginVia, SessionState, User};
use crate::token::TokenError;

impl LoginVia {
    /// The request's id.
    pub(crate) const fn request_id(self) -> u16 {
        match self {
            LoginVia::Password => LoginReq::ID,
            LoginVia::Token => LoginTokenReq::ID,
        }
    }
}

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
            return self.refuse_login(
                conn,
                LoginVia::Password,
                ResultCode::LoginUserAlready,
                outbound,
            );
        }
        if self.logins.slots_taken() >= self.config.max_users {
            return self.refuse_login(
                conn,
                LoginVia::Password,
                ResultCode::LoginUserUsedAllObj,
                outbound,
            );
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
        let credential = Credential::Password(Secret::new(req.password.as_str()));
        let auto_register = self.config.auto_register;
        self.begin_login(
            conn,
            req.user_id.as_str(),
            credential,
            auto_register,
            outbound,
        );
    }

    pub(crate) fn handle_login_token(
        &mut self,
        conn: ConnId,
        req: LoginTokenReq<'_>,
        outbound: &mut impl Outbound,
    ) {
        let via = LoginVia::Token;
        let Some(session) = self.sessions.get(&conn) else {
            return;
        };
        if !matches!(session.state, SessionState::Connected) {
            return self.refuse_login(conn, via, ResultCode::LoginUserAlready, outbound);
        }
        if self.logins.slots_taken() >= self.config.max_users {
            return self.refuse_login(conn, via, ResultCode::LoginUserUsedAllObj, outbound);
        }
        let (true, Some(key)) = (
            session.features.contains(Features::RESUME),
            self.config.token_key.as_ref(),
        ) else {
            return self.refuse_login(conn, via, ResultCode::FeatureNotEnabled, outbound);
        };
        let claims = match key.verify(req.token, self.wall_ms()) {
            Ok(claims) => claims,
            Err(TokenError::Invalid) => {
                return self.refuse_login(conn, via, ResultCode::TokenInvalid, outbound)
            }
            Err(TokenError::Expired) => {
                return self.refuse_login(conn, via, ResultCode::TokenExpired, outbound)
            }
        };
        let credential = Credential::Token {
            issued_ms: claims.issued_ms,
        };
        self.begin_login(conn, &claims.user_id, credential, false, outbound);
    }

    /// Asks the host to check `credential` for `user_id`.
    fn begin_login(
        &mut self,
        conn: ConnId,
        user_id: &str,
        credential: Credential,
        auto_register: bool,
        outbound: &mut impl Outbound,
    ) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let via = match credential {
            Credential::Password(_) => LoginVia::Password,
            Credential::Token { .. } => LoginVia::Token,
        };
        let ticket = self.logins.next_ticket();
        session.state = SessionState::Authenticating {
            ticket,
            user_id: Arc::from(user_id),
            via,
        };
        self.logins.take_slot();
        tracing::debug!(%conn, user_id, ticket, ?via, "login: checking credential");
        outbound.authenticate(AuthRequest {
            conn,
            ticket,
            user_id: user_id.to_owned(),
            credential,
            auto_register,
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
        let (user_id, via) = match &session.state {
            SessionState::Authenticating {
                ticket: expected,
                user_id,
                via,
            } if *expected == ticket => (Arc::clone(user_id), *via),
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
            AuthResult::Rejected if via == LoginVia::Token => Err(ResultCode::TokenRevoked),
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
                return self.refuse_login(conn, via, code, outbound);
            }
        };
        self.logged_in(conn, User { user_id, unique_id }, via, outbound);
    }

    /// `conn` is logged in as `user`: the state, the answer (202(0) or
    /// 318(0)) and, for a session with the resume feature, a fresh token.
    pub(crate) fn logged_in(
        &mut self,
        conn: ConnId,
        user: User,
        via: LoginVia,
        outbound: &mut impl Outbound,
    ) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let resume = session.features.contains(Features::RESUME);
        let user_id = Arc::clone(&user.user_id);
        tracing::debug!(%conn, unique_id = user.unique_id, ?via, "login ok");
        session.state = SessionState::LoggedIn { user, room: None };
        session.login_deadline = None;
        self.stats.logins_ok += 1;
        if via == LoginVia::Token {
            self.stats.token_logins_ok += 1;
        }
        self.respond(conn, via.request_id(), ResultCode::None, outbound);
        if resume {
            self.send_token(conn, &user_id, outbound);
        }
    }

    /// Sends `conn` a fresh resume token for `user_id` (316).
    pub(crate) fn send_token(&mut self, conn: ConnId, user_id: &str, outbound: &mut impl Outbound) {
        let Some(key) = self.config.token_key.as_ref() else {
            return;
        };
        let ttl = self.config.token_ttl;
        let token = key.issue(
            user_id,
            self.wall_ms(),
            u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
        );
        self.scratch.clear();
        ResumeTokenNtf {
            ttl_secs: u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX),
            token: &token,
        }
        .encode(&mut self.scratch);
        outbound.send(conn, &self.scratch);
        self.stats.tokens_issued += 1;
    }

    pub(crate) fn refuse_login(
        &mut self,
        conn: ConnId,
        via: LoginVia,
        code: ResultCode,
        outbound: &mut impl Outbound,
    ) {
        tracing::debug!(%conn, %code, ?via, "login refused");
        self.record_login_failure(code);
        self.respond(conn, via.request_id(), code, outbound);
    }
}
