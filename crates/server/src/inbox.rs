//! [`Inbox`]: everything the logic thread waits for besides engine events —
//! account answers from the auth workers and, with `--cluster`, cluster
//! answers and other nodes' room traffic — on one channel, so
//! `Endpoint::recv_with` waits on both sources at once.

use ringport_chat::ClusterEvent;

use crate::auth_pool::AuthAnswer;

/// One message for the logic thread.
#[derive(Debug)]
pub enum Inbox {
    /// A password check's answer.
    Auth(AuthAnswer),
    /// A cluster answer or another node's room traffic.
    Cluster(ClusterEvent),
}

impl From<AuthAnswer> for Inbox {
    fn from(answer: AuthAnswer) -> Inbox {
        Inbox::Auth(answer)
    }
}
