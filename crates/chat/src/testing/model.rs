//! The presence model: what each session has been told about its room,
//! rebuilt only from the packets it received and the requests it sent, and
//! the checks that it matches reality.

use std::collections::{BTreeMap, HashMap, VecDeque};

use ringport_proto::{ClientPacket, RoomUserListNtf};

use super::recorder::{Received, RoomEntry};
use crate::conn::ConnId;

/// What one session knows.
#[derive(Debug, Default, Clone)]
pub(crate) struct Seen {
    /// The user id of its login in flight (from the auth request).
    pub(crate) pending_login: Option<String>,
    /// The user id it is logged in as (after 202(0)).
    pub(crate) user_id: Option<String>,
    /// The answers it is owed, in the order it sent the requests.
    pub(crate) owed: VecDeque<Owed>,
    /// Its room (after 207(0), until 216(0)).
    pub(crate) room: Option<i32>,
    /// The other members, by unique id, as 209/208/217 told it.
    pub(crate) view: BTreeMap<i64, String>,
    /// A 209 list is still coming (the last one held 127 users).
    list_open: bool,
    /// Its own unique id, once a 208 about it was seen.
    pub(crate) unique_id: Option<i64>,
    /// The room list as 305/306 told it (`None` before its first list).
    pub(crate) rooms: Option<BTreeMap<i32, RoomEntry>>,
    /// A 305 list still coming: the rooms so far.
    listing: Option<Vec<RoomEntry>>,
    /// Whether it watches the list (after 304(0) to a list with watch 1).
    pub(crate) watching: bool,
    /// 313s still to come in answer to a history request.
    history_left: u16,
    /// The last sequence number seen per (room, epoch): live 313s of one
    /// epoch increase.
    last_seq: BTreeMap<(i32, u64), u64>,
}

/// The answer a request is owed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owed {
    /// The echo of this body.
    Echo(Vec<u8>),
    /// A 202.
    Login,
    /// A 207; the room asked for (`None`: the body was invalid).
    Enter(Option<i32>),
    /// A 216.
    Leave,
    /// A 222.
    Chat,
    /// A 302.
    Create,
    /// A 304; whether the request asked to watch (`None`: invalid body).
    List(Option<bool>),
    /// A 308.
    EnterName,
    /// A 312.
    Hello,
    /// A 315.
    History,
    /// A 318.
    LoginToken,
}

impl Owed {
    /// What `frame` is owed, if anything: every request with a known id
    /// gets exactly one answer (90 included), unknown ids and frames that
    /// are not one packet get none.
    fn of(frame: &[u8]) -> Option<Owed> {
        let id = match ClientPacket::decode(frame) {
            Ok(ClientPacket::DevEcho(echo)) => return Some(Owed::Echo(echo.body.to_vec())),
            Ok(ClientPacket::RoomEnterReq(req)) => return Some(Owed::Enter(Some(req.room_number))),
            Ok(ClientPacket::RoomListReq(req)) => return Some(Owed::List(Some(req.watch))),
            Ok(packet) => packet.id(),
            Err(error) => error.invalid_packet_id()?,
        };
        match id {
            ringport_proto::LoginReq::ID => Some(Owed::Login),
            ringport_proto::RoomEnterReq::ID => Some(Owed::Enter(None)),
            ringport_proto::RoomLeaveReq::ID => Some(Owed::Leave),
            ringport_proto::RoomChatReq::ID => Some(Owed::Chat),
            ringport_proto::RoomCreateReq::ID => Some(Owed::Create),
            ringport_proto::RoomListReq::ID => Some(Owed::List(None)),
            ringport_proto::RoomEnterNameReq::ID => Some(Owed::EnterName),
            ringport_proto::HelloReq::ID => Some(Owed::Hello),
            ringport_proto::RoomHistoryReq::ID => Some(Owed::History),
            ringport_proto::LoginTokenReq::ID => Some(Owed::LoginToken),
            _ => None,
        }
    }

    /// Whether `packet` is the answer this is owed.
    fn answered_by(&self, packet: &Received) -> bool {
        match (self, packet) {
            (Owed::Echo(want), Received::Echo(got)) => want == got,
            (Owed::Login, Received::LoginRes(_))
            | (Owed::Enter(_), Received::EnterRes(_))
            | (Owed::Leave, Received::LeaveRes(_))
            | (Owed::Chat, Received::ChatRes(_))
            | (Owed::Create, Received::CreateRes(..))
            | (Owed::List(_), Received::ListRes(_))
            | (Owed::EnterName, Received::EnterNameRes(..))
            | (Owed::Hello, Received::HelloRes(..))
            | (Owed::History, Received::HistoryRes { .. })
            | (Owed::LoginToken, Received::LoginTokenRes(_)) => true,
            _ => false,
        }
    }
}

/// Whether `packet` answers a request (rather than tells about others).
fn is_answer(packet: &Received) -> bool {
    matches!(
        packet,
        Received::Echo(_)
            | Received::LoginRes(_)
            | Received::EnterRes(_)
            | Received::LeaveRes(_)
            | Received::ChatRes(_)
            | Received::CreateRes(..)
            | Received::ListRes(_)
            | Received::EnterNameRes(..)
            | Received::HelloRes(..)
            | Received::HistoryRes { .. }
            | Received::LoginTokenRes(_)
    )
}

/// Everything the sessions were told, plus facts learnt along the way.
#[derive(Debug, Default)]
pub(crate) struct Model {
    pub(crate) sessions: BTreeMap<ConnId, Seen>,
    /// Which session each unique id belongs to (a unique id is never given
    /// to two logins).
    owners: HashMap<i64, ConnId>,
    /// Within one step: the session that entered a room, and the chat
    /// accepted.
    entering: Option<ConnId>,
    chat_sender: Option<ConnId>,
    chat_deliveries: Vec<ConnId>,
}

impl Model {
    pub(crate) fn connected(&mut self, conn: ConnId) {
        self.sessions.entry(conn).or_default();
    }

    pub(crate) fn gone(&mut self, conn: ConnId) {
        self.sessions.remove(&conn);
    }

    /// `conn` sent `frame`.
    pub(crate) fn sent(&mut self, conn: ConnId, frame: &[u8]) {
        if let (Some(seen), Some(owed)) = (self.sessions.get_mut(&conn), Owed::of(frame)) {
            seen.owed.push_back(owed);
        }
    }

    /// The machine asked to check a login of `conn` as `user_id`.
    pub(crate) fn auth_requested(&mut self, conn: ConnId, user_id: &str) {
        if let Some(seen) = self.sessions.get_mut(&conn) {
            seen.pending_login = Some(user_id.to_owned());
        }
    }

    pub(crate) fn begin_step(&mut self) {
        self.entering = None;
        self.chat_sender = None;
        self.chat_deliveries.clear();
    }

    /// `conn` received `packet`; panics on a packet that contradicts what
    /// the session knows.
    pub(crate) fn received(&mut self, conn: ConnId, packet: &Received) {
        if is_answer(packet) && self.chat_sender == Some(conn) {
            self.end_chat();
        }
        let entering = self.entering;
        let owners = &mut self.owners;
        let Some(seen) = self.sessions.get_mut(&conn) else {
            panic!("{conn} received {packet:?} after it was gone");
        };
        // Answers come in the order of the requests.
        let mut entered = None;
        let mut list_watch = None;
        if is_answer(packet) {
            let Some(owed) = seen.owed.pop_front() else {
                panic!("{conn}: {packet:?} answers no request");
            };
            assert!(
                owed.answered_by(packet),
                "{conn}: {packet:?} came when the answer to {owed:?} was owed (out of order)"
            );
            if let Owed::Enter(room) = owed {
                entered = room;
            }
            if let Owed::List(watch) = owed {
                list_watch = watch;
            }
        }
        match packet {
            Received::LoginRes(code) if code.is_success() => {
                // A session has at most one check in flight and stale answers
                // are ignored, so a 202(0) answers the latest request.
                assert!(seen.user_id.is_none(), "{conn}: second successful login");
                seen.user_id = seen.pending_login.clone();
                assert!(seen.user_id.is_some(), "{conn}: 202(0) without a login");
            }
            Received::EnterNameRes(code, room) if code.is_success() => {
                assert!(
                    seen.user_id.is_some() && seen.room.is_none(),
                    "{conn}: 308(0) in wrong state"
                );
                seen.room = Some(*room);
                seen.view.clear();
                seen.list_open = true;
                self.entering = Some(conn);
            }
            Received::CreateRes(code, _) if code.is_success() => {
                assert!(seen.user_id.is_some(), "{conn}: 302(0) while not logged in");
            }
            Received::ListRes(code) if code.is_success() => {
                assert!(seen.user_id.is_some(), "{conn}: 304(0) while not logged in");
                let Some(watch) = list_watch else {
                    panic!("{conn}: 304(0) to an invalid list request");
                };
                seen.watching = watch;
                seen.listing = Some(Vec::new());
            }
            Received::RoomList(rooms) => {
                let Some(listing) = seen.listing.as_mut() else {
                    panic!("{conn}: 305 without a list request");
                };
                assert!(rooms.len() <= ringport_proto::RoomListNtf::MAX_ROOMS);
                listing.extend(rooms.iter().cloned());
                if rooms.len() < ringport_proto::RoomListNtf::MAX_ROOMS {
                    let listed = seen.listing.take().unwrap_or_default();
                    let map: BTreeMap<i32, RoomEntry> =
                        listed.into_iter().map(|r| (r.number, r)).collect();
                    seen.rooms = Some(map);
                }
            }
            Received::RoomChange(room) => {
                assert!(seen.watching, "{conn}: 306 while not watching");
                if let Some(rooms) = seen.rooms.as_mut() {
                    if room.closed {
                        rooms.remove(&room.number);
                    } else {
                        rooms.insert(room.number, room.clone());
                    }
                }
            }
            Received::EnterRes(code) if code.is_success() => {
                assert!(
                    seen.user_id.is_some() && seen.room.is_none(),
                    "{conn}: 207(0) in wrong state"
                );
                seen.room = entered;
                assert!(seen.room.is_some(), "{conn}: 207(0) without a request");
                seen.view.clear();
                seen.list_open = true;
                self.entering = Some(conn);
            }
            Received::UserList(users) => {
                assert!(seen.list_open, "{conn}: 209 outside an enter");
                assert!(users.len() <= RoomUserListNtf::MAX_USERS);
                for (uid, user_id) in users {
                    let fresh = seen.view.insert(*uid, user_id.clone()).is_none();
                    assert!(fresh, "{conn}: uid {uid} listed twice");
                }
                seen.list_open = users.len() == RoomUserListNtf::MAX_USERS;
            }
            Received::NewUser(uid, user_id) => {
                assert!(
                    seen.room.is_some() && !seen.list_open,
                    "{conn}: 208 outside a room"
                );
                assert_ne!(entering, Some(conn), "{conn}: 208 about itself");
                let Some(newcomer) = entering else {
                    panic!("{conn}: 208 without anyone entering");
                };
                let previous = owners.insert(*uid, newcomer);
                assert!(
                    previous.is_none_or(|p| p == newcomer),
                    "uid {uid} given to {previous:?} and {newcomer}"
                );
                let fresh = seen.view.insert(*uid, user_id.clone()).is_none();
                assert!(fresh, "{conn}: 208 for uid {uid} already in the room");
                if let Some(s) = self.sessions.get_mut(&newcomer) {
                    assert_eq!(s.user_id.as_deref(), Some(user_id.as_str()), "208 user id");
                    assert!(
                        s.unique_id.is_none_or(|u| u == *uid),
                        "{newcomer} changed uid"
                    );
                    s.unique_id = Some(*uid);
                }
            }
            Received::LeaveUser(uid) => {
                assert!(
                    seen.room.is_some() && !seen.list_open,
                    "{conn}: 217 outside a room"
                );
                assert!(
                    seen.view.remove(uid).is_some(),
                    "{conn}: 217 for unknown uid {uid}"
                );
            }
            Received::LeaveRes(code) if code.is_success() => {
                assert!(seen.room.is_some(), "{conn}: 216(0) outside a room");
                seen.room = None;
                seen.view.clear();
            }
            Received::ChatRes(code) if code.is_success() => {
                assert!(seen.room.is_some(), "{conn}: 222(0) outside a room");
                self.chat_sender = Some(conn);
            }
            Received::HistoryRes { result, count, .. } if result.is_success() => {
                assert!(seen.room.is_some(), "{conn}: 315(0) outside a room");
                seen.history_left = *count;
            }
            Received::ChatSeq { .. } if seen.history_left > 0 => {
                seen.history_left -= 1;
            }
            Received::LoginTokenRes(code) if code.is_success() => {
                assert!(seen.user_id.is_none(), "{conn}: second successful login");
                seen.user_id = seen.pending_login.clone();
                assert!(seen.user_id.is_some(), "{conn}: 318(0) without a login");
            }
            Received::ChatSeq {
                room,
                epoch,
                seq,
                user_id,
                ..
            } => {
                assert_eq!(seen.room, Some(*room), "{conn}: 313 for another room");
                let last = seen.last_seq.entry((*room, *epoch)).or_insert(0);
                assert!(*seq > *last, "{conn}: 313 seq {seq} after {last}");
                *last = *seq;
                let known = seen.user_id.as_deref() == Some(user_id.as_str())
                    || seen.view.values().any(|v| v == user_id);
                assert!(known, "{conn}: 313 from {user_id}, not in its room");
                assert!(self.chat_sender.is_some(), "{conn}: 313 before its 222(0)");
                self.chat_deliveries.push(conn);
            }
            Received::ChatNtf { user_id, .. } => {
                assert!(seen.room.is_some(), "{conn}: 223 outside a room");
                let known = seen.user_id.as_deref() == Some(user_id.as_str())
                    || seen.view.values().any(|v| v == user_id);
                assert!(known, "{conn}: 223 from {user_id}, not in its room");
                assert!(self.chat_sender.is_some(), "{conn}: 223 before its 222(0)");
                self.chat_deliveries.push(conn);
            }
            _ => {}
        }
    }

    /// Checks a finished step: an accepted chat reached every member of the
    /// sender's room exactly once.
    pub(crate) fn end_step(&mut self) {
        self.end_chat();
    }

    /// Checks that the accepted chat under way, if any, reached every member
    /// of the sender's room exactly once; then none is under way. Called at
    /// the end of a step and before the sender's next answer (queued
    /// requests run several in one step, but a chat's 223s all go out
    /// before its sender's next request is handled).
    fn end_chat(&mut self) {
        let sender = self.chat_sender.take();
        let got = std::mem::take(&mut self.chat_deliveries);
        if let Some(sender) = sender {
            let room = self.sessions.get(&sender).and_then(|s| s.room);
            let mut members: Vec<ConnId> = self
                .sessions
                .iter()
                .filter(|(_, s)| room.is_some() && s.room == room)
                .map(|(c, _)| *c)
                .collect();
            let mut got = got;
            members.sort();
            got.sort();
            assert_eq!(got, members, "223 recipients of {sender}'s chat");
        } else {
            assert!(got.is_empty(), "223 without an accepted chat");
        }
    }

    /// Checks that a watching session's room list, once no change is held
    /// back, is the list as it is (`actual`): every 306 it missed was sent.
    pub(crate) fn check_watchers(&self, actual: &[RoomEntry]) {
        let actual: BTreeMap<i32, &RoomEntry> = actual.iter().map(|r| (r.number, r)).collect();
        for (conn, seen) in &self.sessions {
            let (true, None, Some(rooms)) = (seen.watching, &seen.listing, &seen.rooms) else {
                continue;
            };
            let told: BTreeMap<i32, &RoomEntry> = rooms.iter().map(|(n, r)| (*n, r)).collect();
            assert_eq!(told, actual, "{conn}: watched room list vs the rooms");
        }
    }

    /// Checks that every member of every room was told exactly who else is
    /// there, that rooms respect their size, and that no user id is logged
    /// in twice.
    pub(crate) fn check(&self, capacity: impl Fn(i32) -> Option<usize>) {
        let mut rooms: BTreeMap<i32, Vec<(ConnId, &Seen)>> = BTreeMap::new();
        let mut logged_in: HashMap<&str, ConnId> = HashMap::new();
        for (&conn, seen) in &self.sessions {
            if let Some(user_id) = &seen.user_id {
                if let Some(other) = logged_in.insert(user_id, conn) {
                    panic!("{user_id} logged in on {other} and {conn}");
                }
            }
            if let Some(room) = seen.room {
                rooms.entry(room).or_default().push((conn, seen));
            }
        }
        for (room, members) in &rooms {
            let size = capacity(*room).unwrap_or(0);
            assert!(members.len() <= size, "room {room} over its size");
            for (conn, seen) in members {
                assert!(!seen.list_open, "{conn}: 209 list not finished");
                let mut told: Vec<&str> = seen.view.values().map(String::as_str).collect();
                let mut there: Vec<&str> = members
                    .iter()
                    .filter(|(c, _)| c != conn)
                    .filter_map(|(_, s)| s.user_id.as_deref())
                    .collect();
                told.sort_unstable();
                there.sort_unstable();
                assert_eq!(told, there, "{conn} in room {room}: told vs there");
                for (other, s) in members.iter().filter(|(c, _)| c != conn) {
                    if let Some(uid) = s.unique_id {
                        assert_eq!(
                            seen.view.get(&uid).map(String::as_str),
                            s.user_id.as_deref(),
                            "{conn} does not know {other} as uid {uid}"
                        );
                    }
                }
            }
        }
    }
}
