//! [`App`]: the client's state, updated by commands and network events and
//! nothing else. No I/O and no terminal: the TUI draws it, the line runner
//! prints its reports, and the tests drive it directly.

use std::collections::VecDeque;
use std::net::SocketAddr;

use ringport_client::proto::{Message, Password, ResultCode, UserId};
use ringport_client::Member;

use crate::command::{Command, HELP};
use crate::net::{Incoming, NetEvent, Request};

/// Log entries kept; older ones are dropped.
pub const LOG_LIMIT: usize = 5000;

/// What the caller must do after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open a connection to this address (closing the current one).
    Connect(String),
    /// Send a request.
    Send(Request),
    /// Exit.
    Quit,
}

/// The connection as the app knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    /// Never connected.
    Idle,
    /// A connect is under way.
    Connecting(String),
    /// Connected to this address.
    Up(SocketAddr),
    /// Not connected any more, with the reason.
    Down(String),
}

/// One entry of the log: something that happened, structured. The TUI
/// styles it, line mode prints it as one greppable line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A command the user gave (password hidden); not printed in line mode.
    Command(String),
    /// A connect started.
    Connecting(String),
    /// Connected.
    Connected(SocketAddr),
    /// A connect failed.
    ConnectFailed {
        /// The address.
        addr: String,
        /// Why.
        error: String,
    },
    /// The server closed the connection or it broke.
    Closed(String),
    /// 202 for a login as `user`.
    Login {
        /// The user id of the login, if known.
        user: Option<String>,
        /// The result.
        result: ResultCode,
    },
    /// 207 for an enter into `room`.
    Enter {
        /// The room asked for, if known.
        room: Option<i32>,
        /// The result.
        result: ResultCode,
    },
    /// A complete 209 user list (the other members of the room).
    Users {
        /// The room.
        room: Option<i32>,
        /// The members, in the server's order.
        members: Vec<Member>,
    },
    /// 208: someone entered the room.
    Joined {
        /// The room.
        room: Option<i32>,
        /// Who.
        member: Member,
    },
    /// 217: someone left the room.
    Left {
        /// The room.
        room: Option<i32>,
        /// Their unique id.
        uid: i64,
        /// Their user id, if they were in the member list.
        user: Option<String>,
    },
    /// 216 for a leave from `room`.
    Leave {
        /// The room left (or not).
        room: Option<i32>,
        /// The result.
        result: ResultCode,
    },
    /// 222.
    ChatRes(ResultCode),
    /// 223: a message in the room.
    Chat {
        /// The room.
        room: Option<i32>,
        /// Sender.
        from: String,
        /// Text.
        message: String,
        /// Whether the sender is this client's login.
        own: bool,
    },
    /// 1: an echo came back.
    Echo(Vec<u8>),
    /// A packet the client does not handle.
    Unknown {
        /// Its id.
        id: u16,
        /// Body length.
        len: usize,
    },
    /// A frame that does not decode.
    BadPacket(String),
    /// A request could not be sent.
    SendFailed(String),
    /// A command was refused before anything was sent.
    CommandError(String),
    /// The help text was asked for.
    Help,
}

impl Report {
    /// The result code of a response (202, 207, 216, 222).
    pub fn result(&self) -> Option<ResultCode> {
        match self {
            Report::Login { result, .. }
            | Report::Enter { result, .. }
            | Report::Leave { result, .. }
            | Report::ChatRes(result) => Some(*result),
            _ => None,
        }
    }

    /// Whether this reports a failure: a refused request, a command error,
    /// a send or connect failure, a lost connection or a bad packet.
    pub fn is_failure(&self) -> bool {
        match self {
            Report::ConnectFailed { .. }
            | Report::Closed(_)
            | Report::BadPacket(_)
            | Report::SendFailed(_)
            | Report::CommandError(_) => true,
            other => other.result().is_some_and(|r| !r.is_success()),
        }
    }
}

/// The status line: the last response and its result code by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// E.g. `ENTER 3: ENTER_ROOM_FULL_USER (54)`.
    pub text: String,
    /// Whether the result was success.
    pub ok: bool,
}

/// The line being typed, with a cursor and a history.
#[derive(Debug, Default, Clone)]
pub struct Input {
    text: String,
    /// Byte offset of the cursor, always on a char boundary.
    cursor: usize,
    history: Vec<String>,
    /// Position while browsing the history, and the draft put aside.
    browsing: Option<(usize, String)>,
}

/// Lines of input history kept.
const HISTORY_LIMIT: usize = 200;

impl Input {
    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor's byte offset.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Replaces the text, cursor at the end.
    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
        self.browsing = None;
    }

    /// Inserts a character at the cursor.
    pub fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
            self.text.remove(self.cursor);
        }
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    /// Deletes the word before the cursor (and the spaces after it).
    pub fn delete_word(&mut self) {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end();
        let start = trimmed.rfind(char::is_whitespace).map_or(0, |at| {
            at + trimmed[at..].chars().next().map_or(1, char::len_utf8)
        });
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Moves the cursor one character left.
    pub fn left(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    /// Moves the cursor one character right.
    pub fn right(&mut self) {
        if let Some(c) = self.text[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    /// Moves the cursor to the start.
    pub fn home(&mut self) {
        self.cursor = 0;
    }

    /// Moves the cursor to the end.
    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    /// Clears the line.
    pub fn clear(&mut self) {
        self.set("");
    }

    /// Takes the line for submitting; it goes into the history unless it
    /// holds a password.
    pub fn take(&mut self) -> String {
        let line = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.browsing = None;
        if !line.trim().is_empty()
            && !crate::command::has_password(&line)
            && self.history.last() != Some(&line)
        {
            if self.history.len() == HISTORY_LIMIT {
                self.history.remove(0);
            }
            self.history.push(line.clone());
        }
        line
    }

    /// Shows the previous history line.
    pub fn history_prev(&mut self) {
        let at = match &self.browsing {
            Some((at, _)) => at.saturating_sub(1),
            None if self.history.is_empty() => return,
            None => {
                self.browsing = Some((self.history.len(), self.text.clone()));
                self.history.len() - 1
            }
        };
        self.show_history(at);
    }

    /// Shows the next history line, or the draft after the last.
    pub fn history_next(&mut self) {
        let Some((at, draft)) = &self.browsing else {
            return;
        };
        if at + 1 >= self.history.len() {
            let draft = draft.clone();
            self.set(&draft);
        } else {
            self.show_history(at + 1);
        }
    }

    fn show_history(&mut self, at: usize) {
        let draft = self
            .browsing
            .take()
            .map(|(_, d)| d)
            .unwrap_or_else(|| self.text.clone());
        self.text = self.history[at].clone();
        self.cursor = self.text.len();
        self.browsing = Some((at, draft));
    }
}

/// The whole client state.
#[derive(Debug)]
pub struct App {
    /// The `--server` address, used by `/connect` and by `/login` when not
    /// connected.
    pub server: String,
    /// The connection.
    pub conn: Conn,
    /// The logged-in user id.
    pub user: Option<String>,
    /// The room this client is in.
    pub room: Option<i32>,
    /// The other members of the room, in order of arrival.
    pub members: Vec<Member>,
    /// The log, oldest first (at most [`LOG_LIMIT`] entries).
    pub log: VecDeque<Report>,
    /// The last response.
    pub status: Option<Status>,
    /// The input line.
    pub input: Input,
    /// Log rows scrolled back from the bottom.
    pub scroll: usize,
    /// Logins sent and not answered yet (user ids, in order).
    pending_logins: VecDeque<String>,
    /// Enters sent and not answered yet (rooms, in order).
    pending_enters: VecDeque<i32>,
    /// Whether a multi-packet 209 list is being received.
    list_open: bool,
}

impl App {
    /// A new state for the server at `server`, not connected.
    pub fn new(server: &str) -> App {
        App {
            server: server.to_string(),
            conn: Conn::Idle,
            user: None,
            room: None,
            members: Vec::new(),
            log: VecDeque::new(),
            status: None,
            input: Input::default(),
            scroll: 0,
            pending_logins: VecDeque::new(),
            pending_enters: VecDeque::new(),
            list_open: false,
        }
    }

    /// Submits the input line: parses it and runs the command.
    pub fn submit(&mut self) -> Vec<Effect> {
        let line = self.input.take();
        self.scroll = 0;
        match crate::command::parse(&line) {
            Ok(None) => Vec::new(),
            Ok(Some(command)) => {
                // A chat shows when it comes back from the server.
                if !matches!(command, Command::Chat(_)) {
                    self.push(Report::Command(command.to_string()));
                }
                self.command(command)
            }
            Err(e) => {
                // Only the command word: the arguments of a mistyped
                // `/login` may hold a password.
                let word = line.split_whitespace().next().unwrap_or_default();
                let more = if line.trim() == word { "" } else { " …" };
                self.push(Report::Command(format!("{word}{more}")));
                self.push(Report::CommandError(e.to_string()));
                Vec::new()
            }
        }
    }

    /// Runs a command: checks what can be checked locally and says what to
    /// send. `/sleep` and `/expect` belong to line mode and are refused here.
    pub fn command(&mut self, command: Command) -> Vec<Effect> {
        let connected = matches!(self.conn, Conn::Up(_) | Conn::Connecting(_));
        let mut effects = Vec::new();
        let send = match command {
            Command::Connect(addr) => {
                let addr = addr.unwrap_or_else(|| self.server.clone());
                self.begin_connect(&addr, &mut effects);
                return effects;
            }
            Command::Quit => return vec![Effect::Quit],
            Command::Help => {
                self.push(Report::Help);
                return effects;
            }
            Command::Sleep(_) | Command::Expect(_) => {
                return self.refuse("/sleep and /expect work in line mode only");
            }
            Command::Login { user, password } => {
                if let Err(e) = UserId::new(&user) {
                    return self.refuse(&format!("user id: {e}"));
                }
                if let Err(e) = Password::new(&password) {
                    return self.refuse(&format!("password: {e}"));
                }
                if !connected {
                    let server = self.server.clone();
                    self.begin_connect(&server, &mut effects);
                }
                self.pending_logins.push_back(user.clone());
                Request::Login { user, password }
            }
            _ if !connected => {
                return self.refuse("not connected: /connect, or /login to connect and log in");
            }
            Command::Enter(room) => {
                self.pending_enters.push_back(room);
                Request::Enter(room)
            }
            Command::Leave => Request::Leave,
            Command::Chat(text) => {
                if let Err(e) = Message::new(&text) {
                    return self.refuse(&format!("message: {e}"));
                }
                Request::Chat(text)
            }
            Command::Echo(text) => Request::Echo(text.into_bytes()),
        };
        effects.push(Effect::Send(send));
        effects
    }

    /// Applies a network event.
    pub fn net(&mut self, event: NetEvent) {
        match event {
            NetEvent::Connected(addr) => {
                self.conn = Conn::Up(addr);
                self.push(Report::Connected(addr));
            }
            NetEvent::ConnectFailed { addr, error } => {
                self.conn = Conn::Down(format!("cannot connect to {addr}: {error}"));
                self.forget_session();
                self.push(Report::ConnectFailed { addr, error });
            }
            NetEvent::Closed(reason) => {
                self.conn = Conn::Down(reason.clone());
                self.forget_session();
                self.push(Report::Closed(reason));
            }
            NetEvent::SendFailed(error) => self.push(Report::SendFailed(error)),
            NetEvent::BadPacket(error) => self.push(Report::BadPacket(error)),
            NetEvent::Packet(packet) => self.packet(packet),
        }
    }

    /// Takes the log (line mode prints and forgets it).
    pub fn drain_log(&mut self) -> Vec<Report> {
        self.log.drain(..).collect()
    }

    fn packet(&mut self, packet: Incoming) {
        match packet {
            Incoming::Login(result) => {
                let user = self.pending_logins.pop_front();
                if result.is_success() {
                    self.user.clone_from(&user);
                }
                let what = format!("LOGIN {}", user.as_deref().unwrap_or("?"));
                self.set_status(&what, result);
                self.push(Report::Login { user, result });
            }
            Incoming::Enter(result) => {
                let room = self.pending_enters.pop_front();
                if result.is_success() {
                    self.room = room;
                    self.members.clear();
                    self.list_open = false;
                }
                let what = format!("ENTER {}", room.map_or("?".into(), |r| r.to_string()));
                self.set_status(&what, result);
                self.push(Report::Enter { room, result });
            }
            Incoming::UserList { members, last } => {
                if !self.list_open {
                    self.members.clear();
                    self.list_open = true;
                }
                for member in members {
                    self.add_member(member);
                }
                if last {
                    self.list_open = false;
                    self.push(Report::Users {
                        room: self.room,
                        members: self.members.clone(),
                    });
                }
            }
            Incoming::NewUser(member) => {
                self.add_member(member.clone());
                self.push(Report::Joined {
                    room: self.room,
                    member,
                });
            }
            Incoming::LeaveUser(uid) => {
                let at = self.members.iter().position(|m| m.user_unique_id == uid);
                let user = at.map(|at| self.members.remove(at).user_id);
                self.push(Report::Left {
                    room: self.room,
                    uid,
                    user,
                });
            }
            Incoming::Leave(result) => {
                let room = self.room;
                if result.is_success() {
                    self.room = None;
                    self.members.clear();
                    self.list_open = false;
                }
                self.set_status("LEAVE", result);
                self.push(Report::Leave { room, result });
            }
            Incoming::ChatRes(result) => {
                self.set_status("CHAT", result);
                self.push(Report::ChatRes(result));
            }
            Incoming::Chat { from, message } => {
                let own = self.user.as_deref() == Some(from.as_str());
                self.push(Report::Chat {
                    room: self.room,
                    from,
                    message,
                    own,
                });
            }
            Incoming::Echo(body) => self.push(Report::Echo(body)),
            Incoming::Unknown { id, len } => self.push(Report::Unknown { id, len }),
        }
    }

    /// Adds or renames a member (by unique id).
    fn add_member(&mut self, member: Member) {
        match self
            .members
            .iter_mut()
            .find(|m| m.user_unique_id == member.user_unique_id)
        {
            Some(known) => *known = member,
            None => self.members.push(member),
        }
    }

    fn begin_connect(&mut self, addr: &str, effects: &mut Vec<Effect>) {
        self.conn = Conn::Connecting(addr.to_string());
        self.forget_session();
        self.push(Report::Connecting(addr.to_string()));
        effects.push(Effect::Connect(addr.to_string()));
    }

    /// Forgets everything tied to a connection.
    fn forget_session(&mut self) {
        self.user = None;
        self.room = None;
        self.members.clear();
        self.list_open = false;
        self.pending_logins.clear();
        self.pending_enters.clear();
    }

    fn refuse(&mut self, why: &str) -> Vec<Effect> {
        self.push(Report::CommandError(why.to_string()));
        Vec::new()
    }

    fn set_status(&mut self, what: &str, result: ResultCode) {
        self.status = Some(Status {
            text: format!("{what}: {result}"),
            ok: result.is_success(),
        });
    }

    fn push(&mut self, report: Report) {
        if self.log.len() == LOG_LIMIT {
            self.log.pop_front();
        }
        self.log.push_back(report);
    }

    /// The help lines.
    pub fn help_lines() -> &'static [&'static str] {
        HELP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(uid: i64, id: &str) -> Member {
        Member {
            user_unique_id: uid,
            user_id: id.to_string(),
        }
    }

    fn names(app: &App) -> Vec<&str> {
        app.members.iter().map(|m| m.user_id.as_str()).collect()
    }

    fn packet(app: &mut App, p: Incoming) {
        app.net(NetEvent::Packet(p));
    }

    /// An app connected, logged in as ann and in room 3 with `others`.
    fn in_room(others: Vec<Member>) -> App {
        let mut app = App::new("127.0.0.1:11021");
        app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
        app.command(Command::Login {
            user: "ann".into(),
            password: "pw".into(),
        });
        packet(&mut app, Incoming::Login(ResultCode::None));
        app.command(Command::Enter(3));
        packet(&mut app, Incoming::Enter(ResultCode::None));
        packet(
            &mut app,
            Incoming::UserList {
                members: others,
                last: true,
            },
        );
        app
    }

    #[test]
    fn member_list_follows_209_208_217() {
        let mut app = in_room(vec![member(7, "bob"), member(9, "cat")]);
        assert_eq!(app.user.as_deref(), Some("ann"));
        assert_eq!(app.room, Some(3));
        assert_eq!(names(&app), ["bob", "cat"]);
        assert_eq!(
            app.log.back(),
            Some(&Report::Users {
                room: Some(3),
                members: vec![member(7, "bob"), member(9, "cat")]
            })
        );

        packet(&mut app, Incoming::NewUser(member(11, "dan")));
        assert_eq!(names(&app), ["bob", "cat", "dan"]);
        // A repeated 208 for the same unique id does not duplicate.
        packet(&mut app, Incoming::NewUser(member(11, "dan")));
        assert_eq!(names(&app), ["bob", "cat", "dan"]);

        packet(&mut app, Incoming::LeaveUser(9));
        assert_eq!(names(&app), ["bob", "dan"]);
        assert_eq!(
            app.log.back(),
            Some(&Report::Left {
                room: Some(3),
                uid: 9,
                user: Some("cat".into())
            })
        );
        // 217 for someone unknown: reported with the unique id only.
        packet(&mut app, Incoming::LeaveUser(1234));
        assert_eq!(names(&app), ["bob", "dan"]);
        assert!(matches!(
            app.log.back(),
            Some(Report::Left { user: None, .. })
        ));

        // Leaving empties the list; entering another room starts afresh.
        app.command(Command::Leave);
        packet(&mut app, Incoming::Leave(ResultCode::None));
        assert_eq!(app.room, None);
        assert!(app.members.is_empty());
        app.command(Command::Enter(4));
        packet(&mut app, Incoming::Enter(ResultCode::None));
        packet(
            &mut app,
            Incoming::UserList {
                members: vec![member(20, "eve")],
                last: true,
            },
        );
        assert_eq!(app.room, Some(4));
        assert_eq!(names(&app), ["eve"]);
    }

    #[test]
    fn long_user_lists_span_packets() {
        let mut app = in_room(Vec::new());
        assert!(app.members.is_empty());
        app.command(Command::Leave);
        packet(&mut app, Incoming::Leave(ResultCode::None));
        app.command(Command::Enter(5));
        packet(&mut app, Incoming::Enter(ResultCode::None));
        let first: Vec<Member> = (0..127).map(|i| member(i, &format!("u{i}"))).collect();
        packet(
            &mut app,
            Incoming::UserList {
                members: first,
                last: false,
            },
        );
        // No Users report until the list is complete.
        assert!(!matches!(app.log.back(), Some(Report::Users { .. })));
        packet(
            &mut app,
            Incoming::UserList {
                members: vec![member(500, "last")],
                last: true,
            },
        );
        assert_eq!(app.members.len(), 128);
        match app.log.back() {
            Some(Report::Users { room, members }) => {
                assert_eq!(*room, Some(5));
                assert_eq!(members.len(), 128);
            }
            other => panic!("{other:?}"),
        }
        // The next list replaces it instead of extending it.
        packet(
            &mut app,
            Incoming::UserList {
                members: vec![member(1, "x")],
                last: true,
            },
        );
        assert_eq!(names(&app), ["x"]);
    }

    #[test]
    fn status_names_each_result_code() {
        let mut app = in_room(Vec::new());
        assert_eq!(
            app.status,
            Some(Status {
                text: "ENTER 3: NONE (0)".into(),
                ok: true
            })
        );
        app.command(Command::Enter(99));
        packet(
            &mut app,
            Incoming::Enter(ResultCode::EnterRoomInvalidUserStatus),
        );
        assert_eq!(
            app.status,
            Some(Status {
                text: "ENTER 99: ENTER_ROOM_INVALID_USER_STATUS (52)".into(),
                ok: false
            })
        );
        assert_eq!(app.room, Some(3), "a refused enter keeps the room");
        for code in ResultCode::ALL {
            packet(&mut app, Incoming::ChatRes(code));
            let status = app.status.clone().unwrap();
            assert_eq!(
                status.text,
                format!("CHAT: {} ({})", code.name(), code.code())
            );
            assert_eq!(status.ok, code.is_success());
            assert_eq!(app.log.back().unwrap().is_failure(), !code.is_success());
        }
        packet(&mut app, Incoming::Leave(ResultCode::RoomInvalidIndex));
        assert_eq!(
            app.status.as_ref().unwrap().text,
            "LEAVE: ROOM_INVALID_INDEX (61)"
        );
        let mut app = App::new("x:1");
        app.net(NetEvent::Connected("127.0.0.1:1".parse().unwrap()));
        app.command(Command::Login {
            user: "bob".into(),
            password: "pw".into(),
        });
        packet(&mut app, Incoming::Login(ResultCode::LoginUserInvalidPw));
        assert_eq!(
            app.status.as_ref().unwrap().text,
            "LOGIN bob: LOGIN_USER_INVALID_PW (33)"
        );
        assert_eq!(app.user, None);
    }

    #[test]
    fn own_messages_are_marked() {
        let mut app = in_room(vec![member(7, "bob")]);
        packet(
            &mut app,
            Incoming::Chat {
                from: "bob".into(),
                message: "hi".into(),
            },
        );
        packet(
            &mut app,
            Incoming::Chat {
                from: "ann".into(),
                message: "yo".into(),
            },
        );
        let chats: Vec<_> = app
            .log
            .iter()
            .filter_map(|r| match r {
                Report::Chat {
                    from, own, room, ..
                } => Some((from.as_str(), *own, *room)),
                _ => None,
            })
            .collect();
        assert_eq!(chats, [("bob", false, Some(3)), ("ann", true, Some(3))]);
    }

    #[test]
    fn commands_become_requests_and_passwords_stay_out_of_the_log() {
        let mut app = App::new("127.0.0.1:11021");
        // Login while not connected connects first.
        app.input.set("/login ann hunter2");
        let effects = app.submit();
        assert_eq!(
            effects,
            [
                Effect::Connect("127.0.0.1:11021".into()),
                Effect::Send(Request::Login {
                    user: "ann".into(),
                    password: "hunter2".into()
                })
            ]
        );
        assert!(matches!(app.conn, Conn::Connecting(_)));
        let logged = format!("{:?}", app.log);
        assert!(!logged.contains("hunter2"), "{logged}");
        assert!(logged.contains("/login ann ********"), "{logged}");
        // A bad /login line is echoed masked too.
        app.input.set("/login");
        app.submit();
        app.input.set("/frob ann hunter3");
        app.submit();
        assert!(!format!("{:?}", app.log).contains("hunter3"));

        app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
        app.input.set("/enter 2");
        assert_eq!(app.submit(), [Effect::Send(Request::Enter(2))]);
        app.input.set("hello there");
        assert_eq!(
            app.submit(),
            [Effect::Send(Request::Chat("hello there".into()))]
        );
        app.input.set("/echo ping");
        assert_eq!(
            app.submit(),
            [Effect::Send(Request::Echo(b"ping".to_vec()))]
        );
        app.input.set("/leave");
        assert_eq!(app.submit(), [Effect::Send(Request::Leave)]);
        app.input.set("/quit");
        assert_eq!(app.submit(), [Effect::Quit]);
        app.input.set("   ");
        assert!(app.submit().is_empty());
    }

    #[test]
    fn local_checks_refuse_without_sending() {
        let mut app = App::new("s:1");
        assert!(app.command(Command::Enter(1)).is_empty());
        assert!(matches!(app.log.back(), Some(Report::CommandError(_))));
        app.net(NetEvent::Connected("127.0.0.1:1".parse().unwrap()));
        assert!(app.command(Command::Chat("x".repeat(257))).is_empty());
        assert!(app
            .command(Command::Login {
                user: "u".repeat(33),
                password: "p".into()
            })
            .is_empty());
        assert!(app.command(Command::Sleep(Default::default())).is_empty());
        assert!(app.log.iter().rev().take(3).all(Report::is_failure));
        assert_eq!(
            app.command(Command::Connect(Some("other:2".into()))),
            [Effect::Connect("other:2".into())]
        );
    }

    #[test]
    fn a_closed_connection_forgets_the_session() {
        let mut app = in_room(vec![member(7, "bob")]);
        app.net(NetEvent::Closed("connection closed by the server".into()));
        assert_eq!(app.user, None);
        assert_eq!(app.room, None);
        assert!(app.members.is_empty());
        assert!(matches!(app.conn, Conn::Down(_)));
        assert!(app.log.back().unwrap().is_failure());
    }

    #[test]
    fn the_log_is_bounded() {
        let mut app = App::new("s:1");
        for _ in 0..LOG_LIMIT + 10 {
            app.net(NetEvent::Packet(Incoming::Echo(Vec::new())));
        }
        assert_eq!(app.log.len(), LOG_LIMIT);
        assert_eq!(app.drain_log().len(), LOG_LIMIT);
        assert!(app.log.is_empty());
    }

    #[test]
    fn input_editing_and_history() {
        let mut input = Input::default();
        for c in "héllo".chars() {
            input.insert(c);
        }
        input.left();
        input.left();
        input.backspace();
        assert_eq!(input.text(), "hélo");
        input.home();
        input.delete();
        input.right();
        input.insert('x');
        assert_eq!(input.text(), "éxlo");
        input.end();
        assert_eq!(input.cursor(), input.text().len());
        input.set("one two  three");
        input.delete_word();
        assert_eq!(input.text(), "one two  ");
        input.delete_word();
        assert_eq!(input.text(), "one ");

        input.set("/enter 1");
        input.take();
        input.set("/login ann secret");
        input.take();
        input.set("hi");
        input.take();
        input.set("draft");
        input.history_prev();
        assert_eq!(input.text(), "hi");
        input.history_prev();
        assert_eq!(input.text(), "/enter 1", "the /login line is not kept");
        input.history_prev();
        assert_eq!(input.text(), "/enter 1");
        input.history_next();
        assert_eq!(input.text(), "hi");
        input.history_next();
        assert_eq!(input.text(), "draft");
    }
}
