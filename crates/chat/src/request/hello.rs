//! `HELLO_REQ` (311): in any state, the session asks for features; it gets
//! those the server has on (history when `history_len` > 0, resume tokens
//! when a token secret is configured) in a 312(0). A later hello replaces
//! the set (0 opts out). A member of a room starts or stops receiving 313s
//! at once.

use ringport_proto::{Features, HelloReq, HelloRes, ResultCode};

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::outbound::Outbound;
use crate::session::SessionState;

impl Chat {
    pub(crate) fn handle_hello(
        &mut self,
        conn: ConnId,
        req: HelloReq,
        outbound: &mut impl Outbound,
    ) {
        let mut offered = Features::NONE;
        if self.history.is_on() {
            offered.0 |= Features::HISTORY.0;
        }
        if self.config.token_key.is_some() {
            offered.0 |= Features::RESUME.0;
        }
        let granted = req.features.intersect(offered);
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        session.features = granted;
        if let SessionState::LoggedIn {
            room: Some(room), ..
        } = session.state
        {
            self.rooms
                .set_history(room, conn, granted.contains(Features::HISTORY));
        }
        tracing::debug!(%conn, features = granted.0, "hello");
        self.scratch.clear();
        HelloRes {
            result: ResultCode::None,
            features: granted,
        }
        .encode(&mut self.scratch);
        outbound.send(conn, &self.scratch);
    }
}
