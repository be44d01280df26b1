//! `DEV_ECHO` (1): the body comes back unchanged under id 1 with type 0, in
//! any session state.

use ringport_proto::DevEcho;

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::outbound::Outbound;

impl Chat {
    pub(crate) fn handle_echo(
        &mut self,
        conn: ConnId,
        echo: DevEcho<'_>,
        outbound: &mut impl Outbound,
    ) {
        self.scratch.clear();
        // A decoded body came in a frame, so it fits in one: encoding cannot
        // fail, and nothing is sent if it somehow did.
        if echo.encode(&mut self.scratch).is_ok() {
            outbound.send(conn, &self.scratch);
        }
    }
}
