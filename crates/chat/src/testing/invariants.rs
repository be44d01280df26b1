//! Internal consistency checks of a [`Chat`] (feature `testing`), and
//! read-only views of a session for the harness.

use std::collections::HashMap;

use crate::chat::Chat;
use crate::conn::ConnId;
use crate::session::SessionState;

impl Chat {
    /// Checks the machine's own bookkeeping: sessions, logins, rooms and the
    /// stats gauges agree with each other.
    ///
    /// # Errors
    ///
    /// A description of the first disagreement found.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut logged_in = 0usize;
        let mut authenticating = 0usize;
        let mut in_rooms: HashMap<ConnId, i32> = HashMap::new();
        for (&conn, session) in &self.sessions {
            let pipeline = &session.pipeline;
            if !pipeline.is_empty() && !self.is_busy(conn) {
                return Err(format!(
                    "{conn} has {} requests queued and none in flight",
                    pipeline.len()
                ));
            }
            if pipeline.paused && pipeline.is_empty() {
                return Err(format!("{conn} paused with an empty request queue"));
            }
            match &session.state {
                SessionState::Connected => {}
                SessionState::Authenticating { .. } => authenticating += 1,
                SessionState::LoggedIn { user, room } => {
                    logged_in += 1;
                    if self.logins.session_of(&user.user_id) != Some(conn) {
                        return Err(format!(
                            "{conn} logged in as {} but not in the login map",
                            user.user_id
                        ));
                    }
                    if session.login_deadline.is_some() {
                        return Err(format!("{conn} logged in with a login deadline"));
                    }
                    if let Some(room) = room {
                        in_rooms.insert(conn, *room);
                    }
                }
            }
        }
        if logged_in != self.logins.logged_in() {
            return Err(format!(
                "{logged_in} sessions logged in, login map holds {}",
                self.logins.logged_in()
            ));
        }
        for (user_id, conn) in self.logins.iter() {
            let ok = self.sessions.get(&conn).is_some_and(|s| {
                matches!(&s.state, SessionState::LoggedIn { user, .. } if &*user.user_id == user_id)
            });
            if !ok {
                return Err(format!("login map: {user_id} → {conn}, not that session"));
            }
        }
        if logged_in + authenticating != self.logins.slots_taken() {
            return Err(format!(
                "{logged_in} logged in + {authenticating} logging in, {} slots taken",
                self.logins.slots_taken()
            ));
        }
        let mut members = 0;
        for (room, list) in self.rooms.iter() {
            if list.is_empty() {
                return Err(format!("room {room} kept while empty"));
            }
            let Some(capacity) = self.capacity_of(room) else {
                return Err(format!(
                    "room {room} has members but is neither fixed nor open"
                ));
            };
            if list.len() > capacity {
                return Err(format!("room {room} holds {} users", list.len()));
            }
            for member in list {
                if in_rooms.get(&member.conn) != Some(&room) {
                    return Err(format!(
                        "{} listed in room {room}, session disagrees",
                        member.conn
                    ));
                }
                members += 1;
            }
        }
        if members != in_rooms.len() || members != self.rooms.total_members() {
            return Err(format!(
                "{members} room members listed, {} sessions in rooms, count {}",
                in_rooms.len(),
                self.rooms.total_members()
            ));
        }
        self.check_created_rooms()?;
        let s = &self.stats;
        let gauges = (
            s.sessions,
            s.users_logged_in,
            s.rooms_active,
            s.users_in_rooms,
        );
        let real = (
            self.sessions.len() as u64,
            logged_in as u64,
            self.rooms.active() as u64,
            members as u64,
        );
        if gauges != real {
            return Err(format!("gauges {gauges:?}, real {real:?}"));
        }
        if let Some(c) = &self.cluster {
            let remote: usize = c.views.values().map(|v| v.len()).sum();
            if c.stats.remote_members != remote as u64 {
                return Err(format!(
                    "remote members gauge {}, views hold {remote}",
                    c.stats.remote_members
                ));
            }
        }
        if let Some((at, conn)) = self.deadlines.peek() {
            let live = self.sessions.get(&conn).is_some_and(|s| {
                s.login_deadline == Some(at) && !matches!(s.state, SessionState::LoggedIn { .. })
            });
            if !live {
                return Err(format!("stale deadline {conn} at the top"));
            }
        }
        Ok(())
    }

    /// The created-room registry agrees with itself and the rooms: every
    /// open room's name maps back to it (so a name maps to one open room),
    /// numbers lie outside the fixed range, the idle clock runs exactly
    /// while a room is empty, creators' counts add up, and the list counts
    /// equal the members (single node).
    fn check_created_rooms(&self) -> Result<(), String> {
        let mut per_creator: HashMap<&str, u32> = HashMap::new();
        for (number, room) in self.created.iter() {
            if self.created.by_key(&room.key) != Some(number) {
                return Err(format!(
                    "name {:?} does not map to room {number}",
                    room.name
                ));
            }
            if *room.key != *room.name.to_lowercase() {
                return Err(format!(
                    "room {number}: key {:?} of {:?}",
                    room.key, room.name
                ));
            }
            if self.config.has_room(number) {
                return Err(format!("created room {number} inside the fixed range"));
            }
            let members = self.rooms.members(number).len();
            if (members == 0) != room.empty_since.is_some() {
                return Err(format!(
                    "room {number}: {members} members, empty since {:?}",
                    room.empty_since
                ));
            }
            *per_creator.entry(&room.creator).or_default() += 1;
        }
        for (creator, count) in per_creator {
            if self.created.created_by(creator) != count {
                return Err(format!(
                    "{creator} has {count} rooms open, counted {}",
                    self.created.created_by(creator)
                ));
            }
        }
        if self.stats.rooms_created_open != self.created.len() as u64 {
            return Err("created rooms gauge is off".into());
        }
        if self.cluster.is_none() {
            for entry in self.room_list() {
                let members = self.rooms.members(entry.number).len();
                if usize::from(entry.users) != members {
                    return Err(format!(
                        "room {} listed with {} users, has {members}",
                        entry.number, entry.users
                    ));
                }
            }
        }
        Ok(())
    }

    /// The room list as a 303 would send it now.
    pub fn room_list(&self) -> Vec<crate::testing::RoomEntry> {
        let mut out = Vec::new();
        self.list_rooms(|info| out.push(info.into()));
        out
    }

    /// Whether 306s are held back (then watchers' views may lag).
    pub fn room_changes_held(&self) -> bool {
        self.watch.next_due().is_some()
    }

    /// Whether the machine knows `conn`.
    pub fn has_session(&self, conn: ConnId) -> bool {
        self.sessions.contains_key(&conn)
    }

    /// Whether a request of `conn` waits for an answer from outside the
    /// machine (a password check, a cluster claim or enter).
    pub fn is_waiting(&self, conn: ConnId) -> bool {
        self.is_busy(conn)
    }

    /// The requests `conn` has queued behind the one in flight: frames and
    /// bytes.
    pub fn queued_requests(&self, conn: ConnId) -> (usize, usize) {
        self.sessions
            .get(&conn)
            .map_or((0, 0), |s| (s.pipeline.len(), s.pipeline.bytes()))
    }

    /// Whether the machine asked the host to stop reading `conn` (and has
    /// not asked it to resume yet).
    pub fn reading_paused(&self, conn: ConnId) -> bool {
        self.sessions.get(&conn).is_some_and(|s| s.pipeline.paused)
    }

    /// The user id `conn` is logged in as.
    pub fn logged_in_as(&self, conn: ConnId) -> Option<&str> {
        match &self.sessions.get(&conn)?.state {
            SessionState::LoggedIn { user, .. } => Some(&user.user_id),
            _ => None,
        }
    }

    /// The room `conn` is in.
    pub fn room_of(&self, conn: ConnId) -> Option<i32> {
        match &self.sessions.get(&conn)?.state {
            SessionState::LoggedIn { room, .. } => *room,
            _ => None,
        }
    }

    /// The cluster side's bookkeeping: claims in flight, enters in flight,
    /// rooms with a view of other nodes' members (`None` without a
    /// cluster).
    pub fn cluster_bookkeeping(&self) -> Option<(usize, usize, usize)> {
        self.cluster
            .as_ref()
            .map(|c| (c.claims.len(), c.entering.len(), c.views.len()))
    }

    /// The members of `room`, in the order they entered.
    pub fn room_members(&self, room: i32) -> Vec<ConnId> {
        self.rooms.members(room).iter().map(|m| m.conn).collect()
    }
}
