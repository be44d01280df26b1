//! [`ChatStats`]: counters and gauges of the state machine, for the host's
//! metrics endpoint. Plain integers, updated in place; reading them costs
//! nothing.

use ringport_proto::ResultCode;

/// What the machine has seen and holds. Gauges (`sessions` to
/// `users_in_rooms`) say what is now; every other field only grows.
#[derive(Debug, Default, Clone)]
pub struct ChatStats {
    /// Gauge: connections the machine knows (connected, not yet disconnected
    /// or closed by it).
    pub sessions: u64,
    /// Gauge: sessions logged in (in a room or not).
    pub users_logged_in: u64,
    /// Gauge: rooms with at least one member.
    pub rooms_active: u64,
    /// Gauge: sessions in a room.
    pub users_in_rooms: u64,
    /// Gauge: created rooms open.
    pub rooms_created_open: u64,
    /// Gauge: sessions watching the room list.
    pub room_watchers: u64,
    /// Gauge: rooms keeping a history.
    pub history_rooms: u64,
    /// Rooms created (302 with 0).
    pub rooms_created: u64,
    /// Created rooms closed after being empty for the idle time (in
    /// cluster mode, closes this node learned of).
    pub rooms_closed: u64,
    /// Creates refused (non-zero 302), by result code.
    pub create_failures: CreateFailures,
    /// Room lists sent (304 with 0).
    pub room_lists: u64,
    /// Room-list change notifies (306) handed to the host, one per watcher.
    pub room_changes_out: u64,
    /// Logins with a resume token answered 318(0) (also in `logins_ok`).
    pub token_logins_ok: u64,
    /// Resume tokens sent (316).
    pub tokens_issued: u64,
    /// History requests answered 315(0).
    pub history_requests: u64,
    /// Messages sent in answer to history requests (313s).
    pub history_messages_out: u64,
    /// Logins answered with 202(0).
    pub logins_ok: u64,
    /// Logins answered with a non-zero 202, whatever the reason (see
    /// [`Self::login_failures`] for the split by code).
    pub logins_failed: u64,
    /// Failed logins by result code.
    pub login_failures: LoginFailures,
    /// Chat messages accepted (answered 222(0) and delivered).
    pub chats_in: u64,
    /// 223 notifies handed to the host (one per recipient).
    pub deliveries_out: u64,
    /// Chat requests refused with 63 by the rate limit.
    pub rate_limited: u64,
    /// Login attempts refused with 63 by the per-address login limit
    /// (counted here, not in `logins_failed`).
    pub logins_rate_limited: u64,
    /// Gauge: address groups with recent login attempts (per-address login
    /// buckets that are not full).
    pub login_limit_groups: u64,
    /// Requests with an invalid body, answered with 90 (and frames that were
    /// not one whole packet, which a correct host never passes).
    pub invalid_packets: u64,
    /// Packets with an id the server does not handle, ignored.
    pub unknown_packets: u64,
    /// Sessions closed because they were not logged in in time.
    pub login_timeouts: u64,
    /// Times a login deadline passed while the session's login request was
    /// still waiting for its answer, so the session was kept and its
    /// deadline moved (see [`crate::Chat::handle_timeout`]).
    pub login_deadlines_extended: u64,
    /// Requests that arrived while an earlier request of their session was
    /// waiting for an answer (a password check, a cluster claim or enter),
    /// and so waited in the session's queue to be answered in order.
    pub requests_queued: u64,
    /// Times a session's request queue reached its bound and the host was
    /// asked to stop reading the session.
    pub pipeline_pauses: u64,
}

/// Refused creates (non-zero 302) by result code.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CreateFailures {
    /// 52: not logged in.
    pub not_logged_in: u64,
    /// 63: over the session's create rate.
    pub rate_limited: u64,
    /// 90: invalid body.
    pub invalid_packet: u64,
    /// 100: the name breaks the rules.
    pub name_invalid: u64,
    /// 101: the name is taken.
    pub name_taken: u64,
    /// 103: capacity above the limit.
    pub capacity_invalid: u64,
    /// 104: the user has its maximum of rooms open.
    pub user_limit: u64,
    /// 105: the server holds its maximum of rooms.
    pub server_limit: u64,
    /// 106: the cluster registry could not be reached.
    pub unavailable: u64,
}

impl CreateFailures {
    /// The count for `code`; 0 for a code a create never fails with.
    pub const fn count(&self, code: ResultCode) -> u64 {
        match code {
            ResultCode::EnterRoomInvalidUserStatus => self.not_logged_in,
            ResultCode::RoomTooManyPacket => self.rate_limited,
            ResultCode::InvalidPacket => self.invalid_packet,
            ResultCode::RoomNameInvalid => self.name_invalid,
            ResultCode::RoomNameTaken => self.name_taken,
            ResultCode::RoomCapacityInvalid => self.capacity_invalid,
            ResultCode::RoomCreateLimitUser => self.user_limit,
            ResultCode::RoomCreateLimitServer => self.server_limit,
            ResultCode::RoomServiceUnavailable => self.unavailable,
            _ => 0,
        }
    }

    pub(crate) fn record(&mut self, code: ResultCode) {
        let slot = match code {
            ResultCode::EnterRoomInvalidUserStatus => &mut self.not_logged_in,
            ResultCode::RoomTooManyPacket => &mut self.rate_limited,
            ResultCode::InvalidPacket => &mut self.invalid_packet,
            ResultCode::RoomNameInvalid => &mut self.name_invalid,
            ResultCode::RoomNameTaken => &mut self.name_taken,
            ResultCode::RoomCapacityInvalid => &mut self.capacity_invalid,
            ResultCode::RoomCreateLimitUser => &mut self.user_limit,
            ResultCode::RoomCreateLimitServer => &mut self.server_limit,
            ResultCode::RoomServiceUnavailable => &mut self.unavailable,
            _ => return,
        };
        *slot += 1;
    }
}

/// Failed logins (non-zero 202) by result code.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    /// 31: already logged in here (a login sent while another was in
    /// flight gets it once that one succeeded), or the id is logged in on
    /// another session.
    pub already: u64,
    /// 32: the server holds its maximum of logged-in users.
    pub server_full: u64,
    /// 33: wrong password, or unknown id without auto-registration.
    pub invalid_password: u64,
    /// 34: the account store could not be reached.
    pub backend_unavailable: u64,
    /// 90: invalid body.
    pub invalid_packet: u64,
    /// 110: a token login from a session without the resume feature.
    pub feature_not_enabled: u64,
    /// 111: a token that does not verify.
    pub token_invalid: u64,
    /// 112: an expired token.
    pub token_expired: u64,
    /// 113: a revoked token.
    pub token_revoked: u64,
}

impl LoginFailures {
    /// The count for `code`; 0 for a code a login never fails with.
    pub const fn count(&self, code: ResultCode) -> u64 {
        match code {
            ResultCode::LoginUserAlready => self.already,
            ResultCode::LoginUserUsedAllObj => self.server_full,
            ResultCode::LoginUserInvalidPw => self.invalid_password,
            ResultCode::LoginBackendUnavailable => self.backend_unavailable,
            ResultCode::InvalidPacket => self.invalid_packet,
            ResultCode::FeatureNotEnabled => self.feature_not_enabled,
            ResultCode::TokenInvalid => self.token_invalid,
            ResultCode::TokenExpired => self.token_expired,
            ResultCode::TokenRevoked => self.token_revoked,
            _ => 0,
        }
    }

    pub(crate) fn record(&mut self, code: ResultCode) {
        let slot = match code {
            ResultCode::FeatureNotEnabled => &mut self.feature_not_enabled,
            ResultCode::TokenInvalid => &mut self.token_invalid,
            ResultCode::TokenExpired => &mut self.token_expired,
            ResultCode::TokenRevoked => &mut self.token_revoked,
            ResultCode::LoginUserAlready => &mut self.already,
            ResultCode::LoginUserUsedAllObj => &mut self.server_full,
            ResultCode::LoginUserInvalidPw => &mut self.invalid_password,
            ResultCode::LoginBackendUnavailable => &mut self.backend_unavailable,
            ResultCode::InvalidPacket => &mut self.invalid_packet,
            _ => return,
        };
        *slot += 1;
    }
}
