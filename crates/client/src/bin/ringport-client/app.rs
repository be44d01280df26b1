//! [`App`]: the client's state, updated by commands and network events and
//! nothing else. No I/O and no terminal: the TUI draws it, the line runner
//! prints its reports, and the tests drive it directly.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use ringport_client::proto::{Message, Password, ResultCode, RoomName, UserId};
use ringport_client::Member;

use crate::command::{Command, HELP};
use crate::input::Input;
use crate::net::{Incoming, NetEvent, Request, Room};
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

/// An enter sent and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entering {
    /// 206 for this room.
    Number(i32),
    /// 307 for this name.
    Name(String),
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
    /// The rooms as last listed (305) and changed (306) since, by number;
    /// closed rooms are removed.
    pub rooms: BTreeMap<i32, Room>,
    /// Whether the server sends this session 306s (a `/rooms` with watch
    /// was answered 0).
    pub watching: bool,
    /// The TUI's mode: watch the room list from the login on (the login's
    /// success queues a 303 with watch 1, see [`App::take_effects`]) and
    /// always list with watch 1, so the rooms pane keeps following. Those
    /// automatic lists update the pane without filling the log.
    pub auto_watch: bool,
    /// Logins sent and not answered yet (user ids, in order).
    pending_logins: VecDeque<String>,
    /// Enters (206 and 307) sent and not answered yet, in order.
    pending_enters: VecDeque<Entering>,
    /// Creates sent and not answered yet (names, in order).
    pending_creates: VecDeque<String>,
    /// Room lists asked for and not answered yet: (watch, quiet), in order.
    pending_lists: VecDeque<(bool, bool)>,
    /// A room list being received (after a 304, until the last 305), and
    /// whether to keep it out of the log.
    rooms_open: Option<(Vec<Room>, bool)>,
    /// Requests the app wants sent without a command (see
    /// [`App::auto_watch`]).
    outbox: Vec<Effect>,
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
            rooms: BTreeMap::new(),
            watching: false,
            auto_watch: false,
            pending_logins: VecDeque::new(),
            pending_enters: VecDeque::new(),
            pending_creates: VecDeque::new(),
            pending_lists: VecDeque::new(),
            rooms_open: None,
            outbox: Vec::new(),
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
                self.pending_enters.push_back(Entering::Number(room));
                Request::Enter(room)
            }
            Command::EnterName(name) => {
                if let Err(e) = RoomName::new(&name) {
                    return self.refuse(&e.to_string());
                }
                self.pending_enters.push_back(Entering::Name(name.clone()));
                Request::EnterName(name)
            }
            Command::Create { name, max_users } => {
                if let Err(e) = RoomName::new(&name) {
                    return self.refuse(&e.to_string());
                }
                self.pending_creates.push_back(name.clone());
                Request::Create { name, max_users }
            }
            Command::Rooms { watch } => self.list_rooms(watch || self.auto_watch, false),
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

    /// Takes what the app wants sent on its own (the TUI's watch after a
    /// login); the caller hands it to the network.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.outbox)
    }

    /// A 303 request, noted so its answer can be told apart.
    fn list_rooms(&mut self, watch: bool, quiet: bool) -> Request {
        self.pending_lists.push_back((watch, quiet));
        Request::Rooms { watch }
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
                    if self.auto_watch {
                        let request = self.list_rooms(true, true);
                        self.outbox.push(Effect::Send(request));
                    }
                }
                let what = format!("LOGIN {}", user.as_deref().unwrap_or("?"));
                self.set_status(&what, result);
                self.push(Report::Login { user, result });
            }
            Incoming::Enter(result) => {
                let room = match self.pending_enters.pop_front() {
                    Some(Entering::Number(room)) => Some(room),
                    _ => None,
                };
                if result.is_success() {
                    self.room = room;
                    self.members.clear();
                    self.list_open = false;
                }
                let what = format!("ENTER {}", room.map_or("?".into(), |r| r.to_string()));
                self.set_status(&what, result);
                self.push(Report::Enter { room, result });
            }
            Incoming::EnterName { result, room } => {
                let name = match self.pending_enters.pop_front() {
                    Some(Entering::Name(name)) => Some(name),
                    _ => None,
                };
                let room = result.is_success().then_some(room);
                if result.is_success() {
                    self.room = room;
                    self.members.clear();
                    self.list_open = false;
                }
                let what = format!("ENTER {}", name.as_deref().unwrap_or("?"));
                self.set_status(&what, result);
                self.push(Report::EnterName { name, room, result });
            }
            Incoming::Create { result, room } => {
                let name = self.pending_creates.pop_front();
                let what = format!("CREATE {}", name.as_deref().unwrap_or("?"));
                self.set_status(&what, result);
                self.push(Report::Create { name, room, result });
            }
            Incoming::RoomsRes(result) => {
                let (watch, quiet) = self.pending_lists.pop_front().unwrap_or((false, false));
                if result.is_success() {
                    self.watching = watch;
                    self.rooms_open = Some((Vec::new(), quiet));
                } else {
                    // A refused list leaves the watch as it was.
                    self.rooms_open = None;
                }
                if !quiet || !result.is_success() {
                    self.set_status("ROOMS", result);
                    self.push(Report::RoomsRes(result));
                }
            }
            Incoming::RoomList { rooms, last } => {
                let (list, _) = self.rooms_open.get_or_insert_with(|| (Vec::new(), false));
                list.extend(rooms);
                if last {
                    if let Some((list, quiet)) = self.rooms_open.take() {
                        self.rooms = list.iter().map(|r| (r.number, r.clone())).collect();
                        if !quiet {
                            self.push(Report::Rooms(list));
                        }
                    }
                }
            }
            Incoming::RoomChange(room) => {
                if room.closed {
                    self.rooms.remove(&room.number);
                } else {
                    self.rooms.insert(room.number, room.clone());
                }
                self.push(Report::RoomChange(room));
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
        self.pending_creates.clear();
        self.pending_lists.clear();
        self.rooms_open = None;
        self.rooms.clear();
        self.watching = false;
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
