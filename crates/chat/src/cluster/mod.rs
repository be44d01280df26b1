//! Scale-out: the room bus between nodes, seen from the state machine.
//!
//! By default a [`crate::Chat`] is alone: rooms, presence and logins live in
//! this process (the *in-process bus*: no request ever leaves the machine,
//! and nothing here is used). A machine made with
//! [`crate::Chat::with_cluster`] shares its rooms with other nodes through
//! the host: it asks for cluster work with [`crate::Outbound::cluster`]
//! ([`ClusterRequest`]) and is told about answers and about other nodes'
//! traffic with [`crate::Chat::handle_cluster`] ([`ClusterEvent`]). The host
//! (`ringport serve --cluster redis://…`) carries these over Redis; see
//! `docs/SCALING.md` for the keys, channels and failure modes.
//!
//! What changes in cluster mode:
//!
//! - **Login.** After the password is accepted (and the id is not logged in
//!   on this node), the id is claimed cluster-wide ([`ClusterRequest::Claim`]);
//!   the answer gives the `user_unique_id` (unique across nodes) or says the
//!   id is held elsewhere (31) or the bus is unavailable (34).
//! - **Enter.** Capacity is checked cluster-wide ([`ClusterRequest::Enter`]);
//!   the answer lists the members on other nodes, which go into the 209. When
//!   the bus is unavailable the enter is done locally with what the node
//!   knows (local traffic keeps flowing).
//! - **Leave, chat.** Published to the other nodes ([`ClusterRequest::Leave`],
//!   [`ClusterRequest::Chat`]) after the local members are served.
//! - **History** (with `history_len` > 0). The cluster numbers the chats:
//!   the host publishes each [`ClusterRequest::Chat`] with the room's epoch
//!   and next sequence number taken in Redis and keeps it in the room's
//!   shared log; every node, the sender's included, receives it back as a
//!   [`RoomChange::NumberedChat`] and gives its history members their 313
//!   (members without the history feature get the 223 at once, from the
//!   sending node). A history request (314) is read from the shared log
//!   ([`ClusterRequest::History`], answered by [`ClusterEvent::History`]):
//!   the session waits like for an enter, its live 313s held meanwhile. A
//!   chat that could not be numbered ([`ClusterEvent::Unnumbered`]: Redis
//!   unavailable) reaches the local history members as a plain 223.
//! - **Remote traffic** ([`ClusterEvent::Remote`]) is fanned out to the local
//!   members of the room with one shared encoding, and the node's view of
//!   the other nodes' members (the *mirror*, see `mirror`) is updated;
//!   [`ClusterEvent::Members`] snapshots repair it (a dead node's members
//!   disappear, with 217 to the local members).

mod machine;
mod mirror;
mod state;
pub mod wire;

use std::sync::Arc;

use bytes::Bytes;

use crate::conn::ConnId;

pub(crate) use state::{ClusterState, HistoryWait};

/// A member of a room on another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMember {
    /// Its `user_unique_id` (unique across the cluster).
    pub unique_id: i64,
    /// Its user id (1 to 32 bytes of UTF-8).
    pub user_id: Arc<str>,
}

/// Cluster work the machine asks of its host ([`crate::Outbound::cluster`]).
#[derive(Debug, Clone)]
pub enum ClusterRequest {
    /// Claim `user_id` cluster-wide for `conn` and give it a unique id.
    /// Answer with [`ClusterEvent::Claimed`] carrying `conn` and `ticket`.
    Claim {
        /// The session logging in.
        conn: ConnId,
        /// Its login attempt's ticket.
        ticket: u64,
        /// The id to claim.
        user_id: Arc<str>,
    },
    /// `conn` logged out: release its claim of `user_id` (only if still its
    /// own). No answer.
    Release {
        /// The session that held the claim.
        conn: ConnId,
        /// The id it held.
        user_id: Arc<str>,
    },
    /// `conn` wants to enter `room`: add it to the room's cluster-wide
    /// membership if the room holds fewer than `max` members (and, for a
    /// created room, if it is still open). Answer with
    /// [`ClusterEvent::Entered`].
    Enter {
        /// The session entering.
        conn: ConnId,
        /// The room.
        room: i32,
        /// The member's unique id.
        unique_id: i64,
        /// The member's user id.
        user_id: Arc<str>,
        /// Room capacity (cluster-wide).
        max: usize,
        /// Whether `room` is a created room (which may have closed).
        created: bool,
    },
    /// `conn` wants to create a room: register it in the shared registry
    /// if the name is free (case ignored), the creator has fewer than
    /// `per_user` rooms open and the cluster fewer than `max_rooms`, with a
    /// number from `first_number` up that no open room has. Answer with
    /// [`ClusterEvent::Created`]; on success tell every node
    /// ([`ClusterEvent::RoomOpened`]).
    Create {
        /// The session creating.
        conn: ConnId,
        /// The room.
        room: SharedRoom,
        /// Rooms one user may have open.
        per_user: u32,
        /// Created rooms the cluster may have open.
        max_rooms: usize,
        /// First number of the created range.
        first_number: i32,
    },
    /// A local member left `room` (or was never confirmed): remove it and
    /// tell the other nodes. No answer.
    Leave {
        /// The room.
        room: i32,
        /// The member's unique id.
        unique_id: i64,
    },
    /// A chat notify (an encoded 223, shared with the local members) to
    /// publish to the other nodes serving `room`. No answer; dropped when
    /// the bus is unavailable. With history on (`history_len` > 0) the host
    /// numbers it and every node (this one too) gets it back as a
    /// [`RoomChange::NumberedChat`]; one it cannot number is answered with
    /// [`ClusterEvent::Unnumbered`].
    Chat {
        /// The room.
        room: i32,
        /// The encoded 223 packet.
        packet: Bytes,
    },
    /// `conn` asked for `room`'s history (314): read the shared log. Answer
    /// with [`ClusterEvent::History`].
    History {
        /// The session asking.
        conn: ConnId,
        /// Its room.
        room: i32,
        /// The epoch it knows.
        epoch: u64,
        /// The last sequence number it has (`u64::MAX`: the last `max`).
        after_seq: u64,
        /// Messages at most (1..=100).
        max: u16,
    },
}

/// The number the cluster gave a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatNumber {
    /// The room's history epoch.
    pub epoch: u64,
    /// The message's sequence number in the epoch.
    pub seq: u64,
    /// When it was numbered (Redis time), Unix milliseconds.
    pub time_ms: i64,
}

/// A page of a room's shared history (the answer to a
/// [`ClusterRequest::History`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// The room's epoch.
    pub epoch: u64,
    /// Its last sequence number.
    pub last_seq: u64,
    /// Messages were lost between the client's position and these.
    pub lost: bool,
    /// More follow these.
    pub more: bool,
    /// The messages, oldest first: sequence number, time (Unix ms), encoded
    /// 223.
    pub messages: Vec<(u64, i64, Bytes)>,
}

/// The answer to a [`ClusterRequest::Claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimResult {
    /// The id is ours; the login gets this unique id.
    Claimed(i64),
    /// Another session (on any node) holds the id: 31.
    Taken,
    /// The bus could not answer: 34.
    Unavailable,
}

/// A created room as the cluster registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedRoom {
    /// Its number (0 in a [`ClusterRequest::Create`]: not given yet).
    pub number: i32,
    /// Its name as given.
    pub name: Arc<str>,
    /// Its name compared for uniqueness (lower case).
    pub key: Arc<str>,
    /// Its capacity.
    pub max_users: usize,
    /// The user id that created it.
    pub creator: Arc<str>,
}

/// The answer to a [`ClusterRequest::Create`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateResult {
    /// Registered under this number.
    Created(i32),
    /// An open room has the name: 101.
    Taken,
    /// The creator has its maximum open: 104.
    UserLimit,
    /// The cluster has its maximum open, or no number is free: 105.
    ServerLimit,
    /// The registry could not be asked: 106.
    Unavailable,
}

/// The answer to a [`ClusterRequest::Enter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnterResult {
    /// Entered; `members` are the room's members on *other* nodes as of
    /// the room's change number `seq`.
    Entered {
        /// The room's change number after the enter.
        seq: u64,
        /// Members on other nodes.
        members: Vec<RemoteMember>,
    },
    /// The room holds its maximum cluster-wide: 54.
    Full,
    /// The created room has closed: 61 (102 for an enter by name).
    Gone,
    /// The bus could not answer: the enter is done locally with what this
    /// node knows (the host registers the member when the bus returns).
    Unavailable,
}

/// A change in a room made by another node, received over the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomChange {
    /// A member entered (change number `seq`): 208 to the local members.
    Enter {
        /// The room's change number.
        seq: u64,
        /// Who.
        member: RemoteMember,
    },
    /// A member left or its node died (change number `seq`): 217.
    Leave {
        /// The room's change number.
        seq: u64,
        /// Its unique id.
        unique_id: i64,
    },
    /// A chat notify (an encoded, checked 223) for the local members.
    Chat {
        /// The encoded 223 packet.
        packet: Bytes,
    },
    /// A chat numbered by the cluster (history on): a 313 to the local
    /// history members, and, unless `own` (this node sent it and its other
    /// members already have it), the 223 to the others.
    NumberedChat {
        /// Its number.
        number: ChatNumber,
        /// Whether this node published it.
        own: bool,
        /// The encoded 223 packet.
        packet: Bytes,
    },
}

/// What the host tells the machine about the cluster
/// ([`crate::Chat::handle_cluster`]).
#[derive(Debug, Clone)]
pub enum ClusterEvent {
    /// The answer to a [`ClusterRequest::Claim`].
    Claimed {
        /// The session that asked.
        conn: ConnId,
        /// Its login attempt's ticket.
        ticket: u64,
        /// The answer.
        result: ClaimResult,
    },
    /// The answer to a [`ClusterRequest::Enter`].
    Entered {
        /// The session that asked.
        conn: ConnId,
        /// The room it asked for.
        room: i32,
        /// The answer.
        result: EnterResult,
    },
    /// Another node changed `room` or chatted in it.
    Remote {
        /// The room.
        room: i32,
        /// What happened.
        change: RoomChange,
    },
    /// The room's members on other nodes as of change number `seq` (a
    /// periodic snapshot): the machine's view is repaired to match it, with
    /// 208/217 to the local members for every difference.
    Members {
        /// The room.
        room: i32,
        /// The room's change number.
        seq: u64,
        /// Members on other nodes.
        members: Vec<RemoteMember>,
    },
    /// The bus reconnected (its change numbers may have restarted): the
    /// next snapshot of each room is taken whatever its number.
    Resync,
    /// The answer to a [`ClusterRequest::Create`].
    Created {
        /// The session that asked.
        conn: ConnId,
        /// The answer.
        result: CreateResult,
    },
    /// A node created a room (this one included): it is open everywhere.
    RoomOpened(SharedRoom),
    /// A created room closed (empty on every node for the idle time).
    RoomClosed {
        /// Its number.
        number: i32,
    },
    /// Every created room open in the registry (a periodic snapshot): rooms
    /// missing here are opened, rooms not in it are closed.
    Rooms(Vec<SharedRoom>),
    /// The answer to a [`ClusterRequest::History`]; `None`: the shared log
    /// could not be read (the 315 says 106).
    History {
        /// The session that asked.
        conn: ConnId,
        /// Its room.
        room: i32,
        /// The page.
        page: Option<HistoryPage>,
    },
    /// A chat of this node (see [`ClusterRequest::Chat`]) that could not be
    /// numbered: the local history members get it as a 223.
    Unnumbered {
        /// The room.
        room: i32,
        /// The encoded 223 packet.
        packet: Bytes,
    },
    /// A room's member count on all nodes, for the room list.
    RoomUsers {
        /// The room.
        room: i32,
        /// Its members, cluster-wide.
        users: usize,
    },
}

/// Counters of the cluster side of the machine.
#[derive(Debug, Default, Clone)]
pub struct ClusterStats {
    /// Chat notifies received from other nodes.
    pub remote_chats_in: u64,
    /// Room changes (enter/leave) received from other nodes and applied.
    pub remote_changes: u64,
    /// Enters done locally because the bus was unavailable.
    pub degraded_enters: u64,
    /// Members of other nodes removed by a snapshot (dead nodes, missed
    /// leaves).
    pub repaired_leaves: u64,
    /// Members of other nodes added by a snapshot (missed enters).
    pub repaired_enters: u64,
    /// Gauge: members of other nodes in the rooms this node serves.
    pub remote_members: u64,
    /// Created rooms opened or closed because the registry said so (its
    /// channel or its snapshot), not by this node's own create.
    pub registry_changes: u64,
    /// History requests answered from the shared log.
    pub history_reads: u64,
    /// History requests the shared log could not answer (106).
    pub history_unavailable: u64,
    /// Chats of this node the cluster could not number (delivered to the
    /// local history members as 223s).
    pub unnumbered_chats: u64,
}
