//! Line mode's output: one line per [`Report`], a word naming the packet
//! first, then `key=value` fields, then (for chat and echo) `: TEXT`.
//!
//! Responses to this client's requests read `WORD ok ...` or
//! `WORD error ... code=N name=NAME`; notifications about others read
//! `WORD room=N ...`. User ids are escaped so that a line splits on spaces
//! and a user list on commas: `\`, whitespace, control characters and `,`
//! become `\xNN` or `\u{N}`. Texts (after `: `) escape only `\` and control
//! characters, so a line never breaks.
//!
//! The created-room lines: `CREATE ok room=N name=NAME` and `CREATE error
//! NAME (code)` (the result code's `Display`, not the older `code=N
//! name=NAME`); a list as `ROOMS count=K` then one `ROOM number=N
//! name=NAME users=U/MAX` per room, or `ROOMS error NAME (code)`; a 306 as
//! a `ROOM` line with ` closed` added when the room closed. Room names are
//! escaped like user ids; a fixed room (no name) prints `name=-`, and a
//! room really named `-` prints `name=\x2d`. An enter by name (308) prints
//! exactly like a 207: `ENTER ok room=N`.
//!
//! History and reconnecting: `/history` prints `HISTORY room=R count=K`
//! then one `CHAT room=R seq=S from=USER: TEXT` per message, oldest first
//! (or `HISTORY error room=R code=N name=NAME`). Live chats keep the
//! `CHAT room=R from=USER: TEXT` line, numbered (313) or not (223), and so
//! do the missed messages shown after a reconnect. A dropped connection
//! prints `CLOSED: REASON`, then `RECONNECTING attempt=N in=X.Ys` before
//! each attempt (a failed one prints `CONNECT error ...` first), then
//! `CONNECTED addr=A`, `LOGIN ok user=ID via=token|password` (a refused
//! token first prints `LOGIN error user=ID via=token code=N name=NAME`),
//! the `ENTER ok room=R` and `USERS ...` of the room entered again, and
//! `RECONNECTED user=ID room=R missed=K` (`-` for none), `GAP room=R` when
//! messages may be missing, and the K missed messages.

use std::fmt::Write as _;

use ringport_client::proto::ResultCode;

use crate::net::Room;
use crate::report::Report;

/// The output lines for one report (none for a command echo or a connect
/// being started; several for `/help`).
pub fn lines(report: &Report) -> Vec<String> {
    let one = |line: String| vec![line];
    match report {
        Report::Command(_) | Report::Connecting(_) => Vec::new(),
        Report::Help => crate::app::App::help_lines()
            .iter()
            .map(|h| format!("HELP {h}"))
            .collect(),
        Report::Connected(addr) => one(format!("CONNECTED addr={addr}")),
        Report::ConnectFailed { addr, error } => one(format!(
            "CONNECT error addr={}: {}",
            word(addr),
            text(error)
        )),
        Report::Closed(reason) => one(format!("CLOSED: {}", text(reason))),
        Report::Login { user, result } => one(response(
            "LOGIN",
            &format!("user={}", user.as_deref().map_or("?".into(), word)),
            *result,
        )),
        Report::Enter { room, result } => one(response(
            "ENTER",
            &format!("room={}", room_of(*room)),
            *result,
        )),
        Report::EnterName { room, result, .. } => one(response(
            "ENTER",
            &format!("room={}", room_of(*room)),
            *result,
        )),
        Report::Create { name, room, result } if result.is_success() => one(format!(
            "CREATE ok room={room} name={}",
            name.as_deref().map_or("?".into(), room_name)
        )),
        Report::Create { result, .. } => one(format!("CREATE error {result}")),
        Report::RoomsRes(result) if result.is_success() => Vec::new(),
        Report::RoomsRes(result) => one(format!("ROOMS error {result}")),
        Report::Rooms(rooms) => std::iter::once(format!("ROOMS count={}", rooms.len()))
            .chain(rooms.iter().map(room_line))
            .collect(),
        Report::RoomChange(room) if room.closed => one(format!("{} closed", room_line(room))),
        Report::RoomChange(room) => one(room_line(room)),
        Report::Leave { room, result } => one(response(
            "LEAVE",
            &format!("room={}", room_of(*room)),
            *result,
        )),
        Report::ChatRes(result) => one(response("CHAT", "", *result)),
        Report::Users { room, members } => {
            let names: Vec<String> = members.iter().map(|m| word(&m.user_id)).collect();
            let line = format!(
                "USERS room={} count={} {}",
                room_of(*room),
                members.len(),
                names.join(",")
            );
            one(line.trim_end().to_string())
        }
        Report::Joined { room, member } => one(format!(
            "ENTER room={} user={} uid={}",
            room_of(*room),
            word(&member.user_id),
            member.user_unique_id
        )),
        Report::Left { room, uid, user } => one(format!(
            "LEAVE room={} user={} uid={uid}",
            room_of(*room),
            user.as_deref().map_or("?".into(), word)
        )),
        Report::Chat {
            room,
            from,
            message,
            ..
        } => one(format!(
            "CHAT room={} from={}: {}",
            room_of(*room),
            word(from),
            text(message)
        )),
        Report::History {
            room,
            result,
            messages,
        } if result.is_success() => std::iter::once(format!(
            "HISTORY room={} count={}",
            room_of(*room),
            messages.len()
        ))
        .chain(messages.iter().map(|m| {
            format!(
                "CHAT room={} seq={} from={}: {}",
                m.room,
                m.seq,
                word(&m.from),
                text(&m.message)
            )
        }))
        .collect(),
        Report::History { room, result, .. } => one(response(
            "HISTORY",
            &format!("room={}", room_of(*room)),
            *result,
        )),
        Report::Reconnecting { attempt, delay } => one(format!(
            "RECONNECTING attempt={attempt} in={:.1}s",
            delay.as_secs_f64()
        )),
        Report::ReconnectGaveUp { attempts } => {
            one(format!("RECONNECT gave-up attempts={attempts}"))
        }
        Report::AutoLogin {
            user,
            token,
            result,
        } => one(response(
            "LOGIN",
            &format!(
                "user={} via={}",
                word(user),
                if *token { "token" } else { "password" }
            ),
            *result,
        )),
        Report::Reconnected { user, room, missed } => one(format!(
            "RECONNECTED user={} room={} missed={missed}",
            user.as_deref().map_or("-".into(), word),
            room_of(*room)
        )),
        Report::Gap { room } => one(format!("GAP room={room}")),
        Report::Echo(body) => one(format!(
            "ECHO ok len={}: {}",
            body.len(),
            text(&String::from_utf8_lossy(body))
        )),
        Report::Unknown { id, len } => one(format!("PACKET id={id} len={len}")),
        Report::BadPacket(e) => one(format!("ERROR packet: {}", text(e))),
        Report::SendFailed(e) => one(format!("ERROR send: {}", text(e))),
        Report::CommandError(e) => one(format!("ERROR command: {}", text(e))),
    }
}

/// `WORD ok FIELDS` or `WORD error FIELDS code=N name=NAME`.
fn response(word: &str, fields: &str, result: ResultCode) -> String {
    let mut line = format!(
        "{word} {}",
        if result.is_success() { "ok" } else { "error" }
    );
    if !fields.is_empty() {
        line.push(' ');
        line.push_str(fields);
    }
    if !result.is_success() {
        let _ = write!(line, " code={} name={}", result.code(), result.name());
    }
    line
}

/// `ROOM number=N name=NAME users=U/MAX`.
fn room_line(room: &Room) -> String {
    format!(
        "ROOM number={} name={} users={}/{}",
        room.number,
        room.name.as_deref().map_or("-".into(), room_name),
        room.users,
        room.max_users
    )
}

/// A room name as a token: escaped like a user id, and `-` (which stands
/// for "no name") as `\x2d`.
fn room_name(name: &str) -> String {
    if name == "-" {
        "\\x2d".into()
    } else {
        word(name)
    }
}

fn room_of(room: Option<i32>) -> String {
    room.map_or_else(|| "-".into(), |r| r.to_string())
}

/// A user id or other token: no spaces, commas, backslashes or control
/// characters left.
pub fn word(s: &str) -> String {
    escape(s, |c| c.is_whitespace() || c == ',')
}

/// A text to the end of the line: no backslashes or control characters
/// left.
pub fn text(s: &str) -> String {
    escape(s, |_| false)
}

fn escape(s: &str, also: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || also(c) {
            if c.is_ascii() {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            } else {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringport_client::Member;

    fn line(report: Report) -> String {
        let mut lines = lines(&report);
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines.remove(0)
    }

    fn m(uid: i64, id: &str) -> Member {
        Member {
            user_unique_id: uid,
            user_id: id.into(),
        }
    }

    #[test]
    fn the_documented_formats() {
        let ok = ResultCode::None;
        assert_eq!(
            line(Report::Connected("127.0.0.1:5".parse().unwrap())),
            "CONNECTED addr=127.0.0.1:5"
        );
        assert_eq!(
            line(Report::Login {
                user: Some("ann".into()),
                result: ok
            }),
            "LOGIN ok user=ann"
        );
        assert_eq!(
            line(Report::Login {
                user: Some("ann".into()),
                result: ResultCode::LoginUserAlready
            }),
            "LOGIN error user=ann code=31 name=LOGIN_USER_ALREADY"
        );
        assert_eq!(
            line(Report::Enter {
                room: Some(3),
                result: ok
            }),
            "ENTER ok room=3"
        );
        assert_eq!(
            line(Report::Enter {
                room: Some(99),
                result: ResultCode::RoomInvalidIndex
            }),
            "ENTER error room=99 code=61 name=ROOM_INVALID_INDEX"
        );
        assert_eq!(
            line(Report::Users {
                room: Some(3),
                members: vec![m(1, "bob"), m(2, "cat")]
            }),
            "USERS room=3 count=2 bob,cat"
        );
        assert_eq!(
            line(Report::Users {
                room: Some(3),
                members: vec![]
            }),
            "USERS room=3 count=0"
        );
        assert_eq!(
            line(Report::Joined {
                room: Some(3),
                member: m(7, "bob")
            }),
            "ENTER room=3 user=bob uid=7"
        );
        assert_eq!(
            line(Report::Left {
                room: Some(3),
                uid: 7,
                user: Some("bob".into())
            }),
            "LEAVE room=3 user=bob uid=7"
        );
        assert_eq!(
            line(Report::Left {
                room: Some(3),
                uid: 8,
                user: None
            }),
            "LEAVE room=3 user=? uid=8"
        );
        assert_eq!(
            line(Report::Leave {
                room: None,
                result: ResultCode::RoomInvalidIndex
            }),
            "LEAVE error room=- code=61 name=ROOM_INVALID_INDEX"
        );
        assert_eq!(line(Report::ChatRes(ok)), "CHAT ok");
        assert_eq!(
            line(Report::ChatRes(ResultCode::ChatRoomInvalidRoomNumber)),
            "CHAT error code=81 name=CHAT_ROOM_INVALID_ROOM_NUMBER"
        );
        assert_eq!(
            line(Report::Chat {
                room: Some(3),
                from: "bob".into(),
                message: "hi there".into(),
                own: false
            }),
            "CHAT room=3 from=bob: hi there"
        );
        assert_eq!(line(Report::Echo(b"ping".to_vec())), "ECHO ok len=4: ping");
        assert_eq!(
            line(Report::Unknown { id: 300, len: 2 }),
            "PACKET id=300 len=2"
        );
        assert!(lines(&Report::Command("/login a ********".into())).is_empty());
        assert!(lines(&Report::Help).len() > 3);
    }

    fn room(number: i32, name: Option<&str>, users: u16, max_users: u16) -> Room {
        Room {
            number,
            users,
            max_users,
            name: name.map(String::from),
            closed: false,
        }
    }

    #[test]
    fn the_created_room_formats() {
        assert_eq!(
            line(Report::Create {
                name: Some("rust fans".into()),
                room: 1000,
                result: ResultCode::None
            }),
            "CREATE ok room=1000 name=rust\\x20fans"
        );
        assert_eq!(
            line(Report::Create {
                name: Some("rust".into()),
                room: 0,
                result: ResultCode::RoomNameTaken
            }),
            "CREATE error ROOM_NAME_TAKEN (101)"
        );
        assert!(lines(&Report::RoomsRes(ResultCode::None)).is_empty());
        assert_eq!(
            line(Report::RoomsRes(ResultCode::EnterRoomInvalidUserStatus)),
            format!("ROOMS error {}", ResultCode::EnterRoomInvalidUserStatus)
        );
        assert_eq!(
            lines(&Report::Rooms(vec![
                room(0, None, 2, 4),
                room(1000, Some("rust"), 3, 8),
                room(1001, Some("-"), 0, 4),
            ])),
            [
                "ROOMS count=3",
                "ROOM number=0 name=- users=2/4",
                "ROOM number=1000 name=rust users=3/8",
                "ROOM number=1001 name=\\x2d users=0/4",
            ]
        );
        assert_eq!(lines(&Report::Rooms(vec![])), ["ROOMS count=0"]);
        assert_eq!(
            line(Report::RoomChange(room(1000, Some("rust"), 4, 8))),
            "ROOM number=1000 name=rust users=4/8"
        );
        assert_eq!(
            line(Report::RoomChange(Room {
                closed: true,
                ..room(1000, Some("rust"), 0, 8)
            })),
            "ROOM number=1000 name=rust users=0/8 closed"
        );
        assert_eq!(
            line(Report::EnterName {
                name: Some("rust".into()),
                room: Some(1000),
                result: ResultCode::None
            }),
            "ENTER ok room=1000"
        );
        assert_eq!(
            line(Report::EnterName {
                name: Some("nope".into()),
                room: None,
                result: ResultCode::RoomNameUnknown
            }),
            "ENTER error room=- code=102 name=ROOM_NAME_UNKNOWN"
        );
    }

    #[test]
    fn the_history_and_reconnect_formats() {
        use crate::net::SeqChat;
        use std::time::Duration;
        let chat = |seq: u64, from: &str, message: &str| SeqChat {
            room: 3,
            epoch: 7,
            seq,
            time_ms: 0,
            from: from.into(),
            message: message.into(),
        };
        assert_eq!(
            lines(&Report::History {
                room: Some(3),
                result: ResultCode::None,
                messages: vec![chat(41, "bob", "hi"), chat(42, "a b", "x\ny")],
            }),
            [
                "HISTORY room=3 count=2",
                "CHAT room=3 seq=41 from=bob: hi",
                "CHAT room=3 seq=42 from=a\\x20b: x\\x0ay",
            ]
        );
        assert_eq!(
            lines(&Report::History {
                room: Some(3),
                result: ResultCode::None,
                messages: vec![],
            }),
            ["HISTORY room=3 count=0"]
        );
        assert_eq!(
            line(Report::History {
                room: None,
                result: ResultCode::ChatRoomInvalidRoomNumber,
                messages: vec![],
            }),
            "HISTORY error room=- code=81 name=CHAT_ROOM_INVALID_ROOM_NUMBER"
        );
        assert_eq!(
            line(Report::Reconnecting {
                attempt: 2,
                delay: Duration::from_millis(1234)
            }),
            "RECONNECTING attempt=2 in=1.2s"
        );
        assert_eq!(
            line(Report::ReconnectGaveUp { attempts: 5 }),
            "RECONNECT gave-up attempts=5"
        );
        assert_eq!(
            line(Report::AutoLogin {
                user: "ann".into(),
                token: true,
                result: ResultCode::None
            }),
            "LOGIN ok user=ann via=token"
        );
        assert_eq!(
            line(Report::AutoLogin {
                user: "ann".into(),
                token: true,
                result: ResultCode::LoginBackendUnavailable
            }),
            "LOGIN error user=ann via=token code=34 name=LOGIN_BACKEND_UNAVAILABLE"
        );
        assert_eq!(
            line(Report::AutoLogin {
                user: "ann".into(),
                token: false,
                result: ResultCode::None
            }),
            "LOGIN ok user=ann via=password"
        );
        assert_eq!(
            line(Report::Reconnected {
                user: Some("ann".into()),
                room: Some(3),
                missed: 4
            }),
            "RECONNECTED user=ann room=3 missed=4"
        );
        assert_eq!(
            line(Report::Reconnected {
                user: None,
                room: None,
                missed: 0
            }),
            "RECONNECTED user=- room=- missed=0"
        );
        assert_eq!(line(Report::Gap { room: 3 }), "GAP room=3");
    }

    #[test]
    fn odd_text_cannot_break_a_line_or_a_field() {
        assert_eq!(word("a b,c\\d\te"), "a\\x20b\\x2cc\\\\d\\x09e");
        assert_eq!(word("名前"), "名前");
        assert_eq!(word("a\u{85}b\u{3000}"), "a\\u{85}b\\u{3000}");
        assert_eq!(
            text("two\nlines\r and \\ tab\t"),
            "two\\x0alines\\x0d and \\\\ tab\\x09"
        );
        assert_eq!(
            line(Report::Chat {
                room: Some(1),
                from: "x y".into(),
                message: "a\nb".into(),
                own: true
            }),
            "CHAT room=1 from=x\\x20y: a\\x0ab"
        );
        assert_eq!(
            line(Report::Users {
                room: Some(1),
                members: vec![m(1, "a,b"), m(2, "c")]
            }),
            "USERS room=1 count=2 a\\x2cb,c"
        );
    }
}
