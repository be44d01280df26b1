//! [`ChatConfig`]: the limits and switches of the chat content, with the
//! protocol's defaults (see `docs/PROTOCOL.md`, "Defaults").

use std::time::Duration;

use crate::token::TokenKey;

/// Configuration of a [`crate::Chat`].
///
/// [`ChatConfig::validate`] says whether a configuration makes sense; the
/// host calls it before [`crate::Chat::new`]. `Chat::new` itself never fails
/// or panics: it follows an odd configuration literally (0 rooms: every enter
/// is refused with 61; `max_users` 0: every login is refused with 32).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatConfig {
    /// Number of the first room (default 0).
    pub room_start: i32,
    /// Number of rooms: rooms are `room_start .. room_start + rooms`
    /// (default 10).
    pub rooms: u32,
    /// Most users in one room (default 4); one more gets 54.
    pub room_max_users: usize,
    /// Most users logged in or logging in at once (default 10,000); one more
    /// gets 32.
    pub max_users: usize,
    /// Chat messages per second per session, refilled continuously (default
    /// 10); 0 turns the limit off. A message over the limit gets 63.
    pub chat_rate: u32,
    /// Size of a session's chat token bucket: messages it may send at once
    /// after being quiet (default 20).
    pub chat_burst: u32,
    /// A session not logged in this long after it connected, and with no
    /// login in flight, is closed (default 10 s); one with a login in flight
    /// is kept and given this long again (see [`crate::Chat::handle_timeout`]).
    pub login_timeout: Duration,
    /// Whether a login with an unknown user id creates the account with the
    /// given password (default true); off, it gets 33.
    pub auto_register: bool,
    /// Login attempts per minute from one address group (IPv4 address, IPv6
    /// /64), over all its sessions (default 600); 0 turns the limit off. An
    /// attempt over it gets 63 and costs no password hash. Applies to
    /// sessions the host announced with their address
    /// ([`crate::Chat::handle_connect_from`]).
    pub login_rate_per_ip: u32,
    /// Attempts one address group may make at once after being quiet
    /// (default 100).
    pub login_burst_per_ip: u32,
    /// Whether loopback addresses are limited too (default false: local
    /// load generators and tools log in many users from 127.0.0.1).
    pub login_limit_loopback: bool,
    /// Requests one session may have waiting behind an asynchronous one (a
    /// password check, a cluster claim or enter) before the host is asked
    /// to stop reading it (default 64); see [`crate::Outbound::pause_reading`].
    /// Requests are answered in the order received, so the others wait; none
    /// is dropped. At least 1.
    pub pipeline_frames: usize,
    /// Bytes of waiting requests (headers included) at which the host is
    /// asked to stop reading the session (default 16 KiB). At least 1.
    pub pipeline_bytes: usize,
    /// Largest capacity a created room may ask for (default 1,000; at most
    /// 65,535, the list's field); above it a create gets 103.
    pub room_max_users_limit: usize,
    /// A created room closes once it has been empty this long (default
    /// 300 s); at least 1 s.
    pub room_idle_close: Duration,
    /// Created rooms one user id may have open (default 3); one more gets
    /// 104. 0 turns creating off for everyone.
    pub rooms_per_user: u32,
    /// Created rooms open on the server (default 10,000); one more gets
    /// 105.
    pub max_created_rooms: usize,
    /// Creates per minute per session (default 10); 0 turns the limit off.
    /// One over it gets 63.
    pub room_create_rate: u32,
    /// Creates one session may make at once after being quiet (default 5).
    pub room_create_burst: u32,
    /// Number of the first created room (default 1000): created rooms are
    /// numbered from here to `i32::MAX`, after the fixed rooms (checked
    /// unless creating is off: `rooms_per_user` or `max_created_rooms` 0).
    pub created_room_start: i32,
    /// Messages each room keeps for catch-up (default 100); 0 turns
    /// history off (311 then never grants the history feature).
    pub history_len: usize,
    /// The secret resume tokens are signed with; `None`: no tokens (311
    /// never grants the resume feature).
    pub token_key: Option<TokenKey>,
    /// How long a resume token holds (default 1 day).
    pub token_ttl: Duration,
}

impl Default for ChatConfig {
    fn default() -> ChatConfig {
        ChatConfig {
            room_start: 0,
            rooms: 10,
            room_max_users: 4,
            max_users: 10_000,
            chat_rate: 10,
            chat_burst: 20,
            login_timeout: Duration::from_secs(10),
            auto_register: true,
            login_rate_per_ip: 600,
            login_burst_per_ip: 100,
            login_limit_loopback: false,
            pipeline_frames: 64,
            pipeline_bytes: 16 * 1024,
            room_max_users_limit: 1_000,
            room_idle_close: Duration::from_secs(300),
            rooms_per_user: 3,
            max_created_rooms: 10_000,
            room_create_rate: 10,
            room_create_burst: 5,
            created_room_start: 1_000,
            history_len: 100,
            token_key: None,
            token_ttl: Duration::from_secs(86_400),
        }
    }
}

impl ChatConfig {
    /// Checks that the configuration is usable.
    ///
    /// # Errors
    ///
    /// A message naming the offending field: no rooms, rooms of size 0, a
    /// room range past `i32::MAX`, `max_users` 0, a rate limit with an empty
    /// bucket, a zero login timeout, a request queue bound of 0, a created
    /// room limit below `room_max_users` or above 65,535, an idle close
    /// under a second, or created room numbers inside the fixed range.
    pub fn validate(&self) -> Result<(), String> {
        if self.rooms == 0 {
            return Err("rooms must be at least 1".into());
        }
        if self.room_max_users == 0 {
            return Err("room_max_users must be at least 1".into());
        }
        let last = i64::from(self.room_start) + i64::from(self.rooms) - 1;
        if last > i64::from(i32::MAX) {
            return Err(format!(
                "rooms {}..={last} do not fit in i32 (room_start {} + rooms {} is too large)",
                self.room_start, self.room_start, self.rooms
            ));
        }
        if self.max_users == 0 {
            return Err("max_users must be at least 1".into());
        }
        if self.chat_rate > 0 && self.chat_burst == 0 {
            return Err("chat_burst must be at least 1 when chat_rate is on".into());
        }
        if self.login_rate_per_ip > 0 && self.login_burst_per_ip == 0 {
            return Err(
                "login_burst_per_ip must be at least 1 when login_rate_per_ip is on".into(),
            );
        }
        if self.login_timeout.is_zero() {
            return Err("login_timeout must be above 0".into());
        }
        if self.pipeline_frames == 0 {
            return Err("pipeline_frames must be at least 1".into());
        }
        if self.pipeline_bytes == 0 {
            return Err("pipeline_bytes must be at least 1".into());
        }
        if self.room_max_users_limit < self.room_max_users {
            return Err(format!(
                "room_max_users_limit ({}) must be at least room_max_users ({})",
                self.room_max_users_limit, self.room_max_users
            ));
        }
        if self.room_max_users_limit > usize::from(u16::MAX) {
            return Err("room_max_users_limit must be at most 65535".into());
        }
        if self.room_idle_close < Duration::from_secs(1) {
            return Err("room_idle_close must be at least 1 s".into());
        }
        if self.room_create_rate > 0 && self.room_create_burst == 0 {
            return Err("room_create_burst must be at least 1 when room_create_rate is on".into());
        }
        if self.history_len > 100_000 {
            return Err("history_len must be at most 100000".into());
        }
        if self.token_ttl.is_zero() {
            return Err("token_ttl must be above 0".into());
        }
        let creating = self.rooms_per_user > 0 && self.max_created_rooms > 0;
        if creating && last >= i64::from(self.created_room_start) {
            return Err(format!(
                "created_room_start ({}) must be above the last fixed room ({last})",
                self.created_room_start
            ));
        }
        Ok(())
    }

    /// Whether `room` is one of the fixed (configured) rooms (no overflow whatever
    /// the values).
    pub fn has_room(&self, room: i32) -> bool {
        let offset = i64::from(room) - i64::from(self.room_start);
        offset >= 0 && offset < i64::from(self.rooms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_protocol_ones_and_valid() {
        let config = ChatConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(
            (config.room_start, config.rooms, config.room_max_users),
            (0, 10, 4)
        );
        assert_eq!((config.chat_rate, config.chat_burst), (10, 20));
        assert!(config.has_room(0) && config.has_room(9));
        assert!(!config.has_room(-1) && !config.has_room(10));
    }

    #[test]
    fn bad_values_are_refused() {
        let ok = ChatConfig::default();
        for bad in [
            ChatConfig {
                rooms: 0,
                ..ok.clone()
            },
            ChatConfig {
                room_max_users: 0,
                ..ok.clone()
            },
            ChatConfig {
                room_start: i32::MAX,
                rooms: 2,
                ..ok.clone()
            },
            ChatConfig {
                max_users: 0,
                ..ok.clone()
            },
            ChatConfig {
                chat_burst: 0,
                ..ok.clone()
            },
            ChatConfig {
                login_timeout: Duration::ZERO,
                ..ok.clone()
            },
            ChatConfig {
                pipeline_frames: 0,
                ..ok.clone()
            },
            ChatConfig {
                pipeline_bytes: 0,
                ..ok.clone()
            },
            ChatConfig {
                room_max_users_limit: 3,
                ..ok.clone()
            },
            ChatConfig {
                room_max_users_limit: 70_000,
                ..ok.clone()
            },
            ChatConfig {
                room_idle_close: Duration::from_millis(999),
                ..ok.clone()
            },
            ChatConfig {
                room_create_burst: 0,
                ..ok.clone()
            },
            ChatConfig {
                created_room_start: 9,
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let edge = ChatConfig {
            room_start: i32::MAX - 1,
            rooms: 1,
            created_room_start: i32::MAX,
            ..ok.clone()
        };
        assert_eq!(edge.validate(), Ok(()));
        assert!(edge.has_room(i32::MAX - 1) && !edge.has_room(i32::MAX));
        let low = ChatConfig {
            room_start: i32::MIN,
            rooms: u32::MAX,
            created_room_start: i32::MAX,
            ..ok.clone()
        };
        assert_eq!(low.validate(), Ok(()));
        assert!(low.has_room(i32::MIN) && low.has_room(i32::MAX - 1) && !low.has_room(i32::MAX));
        let no_limit = ChatConfig {
            chat_rate: 0,
            chat_burst: 0,
            ..ok
        };
        assert_eq!(no_limit.validate(), Ok(()));
    }
}
