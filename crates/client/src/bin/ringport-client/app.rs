//! [`App`]: the client's state, updated by commands and network events and
//! nothing else. No I/O and no terminal: the TUI draws it, the line runner
//! prints its reports, and the tests drive it directly.

use std::collections::VecDeque;
use std::net::SocketAddr;

use ringport_client::proto::{Message, Password, ResultCode, UserId};
use ringport_client::Member;

use crate::command::{Command, HELP};
use crate::input::Input;
use crate::net::{Incoming, NetEvent, Request};
use crate::report::Report;

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

/// The status line: the last response and its result code by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// E.g. `ENTER 3: ENTER_ROOM_FULL_USER (54)`.
    pub text: String,
    /// Whether the result was success.
    pub ok: bool,
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

    /// Puts a warning in the log (shown like a refused command).
    pub fn warn(&mut self, text: &str) {
        self.push(Report::CommandError(text.to_string()));
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
mod tests;
