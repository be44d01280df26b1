//! [`App`]: the client's state, updated by commands and network events and
//! nothing else. No I/O and no terminal: the TUI draws it, the line runner
//! prints its reports, and the tests drive it directly.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use ringport_client::proto::{
    Features, Message, Password, ResultCode, RoomHistoryReq, RoomName, UserId,
};
use ringport_client::Member;

use crate::command::{Command, HELP};
use crate::input::Input;
use crate::net::{HistoryHead, Incoming, NetEvent, Request, Room, Secret, SeqChat};
use crate::report::Report;
use crate::resume::{self, Seen};

/// Log entries kept; older ones are dropped.
pub const LOG_LIMIT: usize = 5000;

/// What the caller must do after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open a connection to this address (closing the current one).
    Connect(String),
    /// Close the current connection, and open one to this address after
    /// the delay (a reconnect).
    ConnectAfter(String, Duration),
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

/// A 314 sent and not answered yet: why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// Quietly, after entering a room: where its history stands (the
    /// messages before are not this client's to show).
    Baseline,
    /// `/history`.
    User,
    /// After a reconnect: the messages missed.
    CatchUp,
}

/// A history answer (315) whose messages (313s) are being received.
#[derive(Debug)]
struct OpenHistory {
    ask: Ask,
    head: HistoryHead,
    remaining: u16,
    messages: Vec<SeqChat>,
}

/// Where a reconnect stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the delay, then connecting.
    Waiting,
    /// A login sent: with the token, or with the password.
    LoggingIn { token: bool },
    /// The room's enter (206) sent.
    Entering,
    /// The history after the last message seen asked for; numbered chats
    /// are held until it is complete.
    CatchingUp,
}

/// A reconnect under way.
#[derive(Debug)]
struct Recon {
    /// The attempt (from 1).
    attempt: u32,
    stage: Stage,
    /// The user to log in as again, if the session was logged in.
    user: Option<String>,
    /// The room to enter again, if the session was in one.
    room: Option<i32>,
    /// Whether messages may have been missed (history lost or refused).
    gap: bool,
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
    /// Reconnect by itself when the connection drops (not
    /// `--no-reconnect`).
    pub reconnect: bool,
    /// Attempts in a row that did not restore the session before the
    /// reconnect gives up (`--reconnect-tries`; 0: never).
    pub reconnect_tries: u32,
    /// The features the server granted this connection (312).
    pub features: Features,
    /// The address of the last connect (what a reconnect connects to).
    addr: Option<String>,
    /// The last password login that succeeded (in memory only), for a
    /// reconnect without a token.
    credentials: Option<(String, Secret<String>)>,
    /// The last resume token (316; in memory only).
    token: Option<Secret<Vec<u8>>>,
    /// Per room, the epoch and the last sequence number seen.
    seen: Seen,
    /// A reconnect under way.
    recon: Option<Recon>,
    /// 314s sent and not answered yet, in order.
    pending_history: VecDeque<Ask>,
    /// A 315's messages being received.
    history_open: Option<OpenHistory>,
    /// Numbered chats held during a catch-up.
    held: Vec<SeqChat>,
    /// Logins sent and not answered yet (user ids and passwords, in order).
    pending_logins: VecDeque<(String, Secret<String>)>,
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
            reconnect: true,
            reconnect_tries: 0,
            features: Features::NONE,
            addr: None,
            credentials: None,
            token: None,
            seen: Seen::default(),
            recon: None,
            pending_history: VecDeque::new(),
            history_open: None,
            held: Vec::new(),
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
                self.pending_logins
                    .push_back((user.clone(), Secret(password.clone())));
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
            Command::History(max) => {
                self.pending_history.push_back(Ask::User);
                Request::History {
                    epoch: 0,
                    after_seq: RoomHistoryReq::LAST,
                    max,
                }
            }
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
                if self.recon.is_some() {
                    self.resume_login();
                }
            }
            NetEvent::ConnectFailed { addr, error } => {
                self.conn = Conn::Down(format!("cannot connect to {addr}: {error}"));
                self.forget_session();
                self.push(Report::ConnectFailed { addr, error });
                if let Some(recon) = self.recon.take() {
                    self.schedule(recon);
                }
            }
            NetEvent::Closed(reason) => {
                let (user, room) = (self.user.clone(), self.room);
                let prior = self.recon.take();
                self.conn = Conn::Down(reason.clone());
                self.forget_session();
                self.push(Report::Closed(reason));
                if self.reconnect {
                    // A drop in the middle of a reconnect restores what that
                    // one was restoring.
                    let recon = prior.unwrap_or(Recon {
                        attempt: 0,
                        stage: Stage::Waiting,
                        user,
                        room,
                        gap: false,
                    });
                    self.schedule(recon);
                }
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

    /// Whether a reconnect is under way (from the drop until the session
    /// is restored, its missed messages shown).
    pub fn reconnecting(&self) -> bool {
        self.recon.is_some()
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
                let login = self.pending_logins.pop_front();
                if self.recon_stage() == Some(Stage::LoggingIn { token: false }) {
                    let user = login.map(|(user, _)| user).unwrap_or_default();
                    self.resumed_login(user, false, result);
                    return;
                }
                if result.is_success() {
                    self.credentials.clone_from(&login);
                }
                let user = login.map(|(user, _)| user);
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
                if self.recon_stage() == Some(Stage::Entering) {
                    self.resumed_enter(result.is_success());
                } else if result.is_success() {
                    self.ask_baseline();
                }
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
                if result.is_success() {
                    self.ask_baseline();
                }
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
            Incoming::ChatSeq(chat) => self.chat_seq(chat),
            Incoming::History(head) => self.history_head(head),
            Incoming::Hello { result, features } => {
                self.features = if result.is_success() {
                    features
                } else {
                    Features::NONE
                };
            }
            Incoming::Token(token) => self.token = Some(token),
            Incoming::LoginToken(result) => {
                let user = self
                    .recon
                    .as_ref()
                    .and_then(|r| r.user.clone())
                    .unwrap_or_default();
                self.resumed_login(user, true, result);
            }
            Incoming::Echo(body) => self.push(Report::Echo(body)),
            Incoming::Unknown { id, len } => self.push(Report::Unknown { id, len }),
        }
    }

    /// A numbered chat: part of a history answer, held during a catch-up,
    /// or shown live (once).
    fn chat_seq(&mut self, chat: SeqChat) {
        if let Some(open) = &mut self.history_open {
            open.messages.push(chat);
            open.remaining = open.remaining.saturating_sub(1);
            if open.remaining == 0 {
                self.history_done();
            }
            return;
        }
        if self.recon_stage() == Some(Stage::CatchingUp) {
            self.held.push(chat);
            return;
        }
        self.show(chat);
    }

    /// Shows a numbered chat unless it was shown already.
    fn show(&mut self, chat: SeqChat) {
        if self.seen.accept(chat.room, chat.epoch, chat.seq) {
            self.push_chat(chat);
        }
    }

    fn push_chat(&mut self, chat: SeqChat) {
        let own = self.user.as_deref() == Some(chat.from.as_str());
        self.push(Report::Chat {
            room: Some(chat.room),
            from: chat.from,
            message: chat.message,
            own,
        });
    }

    /// A 315: its messages follow (or it was refused).
    fn history_head(&mut self, head: HistoryHead) {
        let ask = self.pending_history.pop_front().unwrap_or(Ask::User);
        if !head.result.is_success() {
            match ask {
                Ask::Baseline => {}
                Ask::User => {
                    self.set_status("HISTORY", head.result);
                    self.push(Report::History {
                        room: self.room,
                        result: head.result,
                        messages: Vec::new(),
                    });
                }
                Ask::CatchUp => {
                    if let Some(recon) = &mut self.recon {
                        recon.gap = true;
                    }
                    self.finish_reconnect();
                }
            }
            return;
        }
        match ask {
            Ask::Baseline => self.seen.note(head.room, head.epoch, head.last_seq),
            Ask::User => {}
            Ask::CatchUp => {
                if self.seen.get(head.room).map(|m| m.epoch) != Some(head.epoch) {
                    self.seen.restart(head.room, head.epoch);
                }
                if let Some(recon) = &mut self.recon {
                    recon.gap |= head.lost;
                }
            }
        }
        self.history_open = Some(OpenHistory {
            ask,
            head,
            remaining: head.count,
            messages: Vec::new(),
        });
        if head.count == 0 {
            self.history_done();
        }
    }

    /// A history answer is complete.
    fn history_done(&mut self) {
        let Some(open) = self.history_open.take() else {
            return;
        };
        match open.ask {
            // Older than this client's entering: not shown.
            Ask::Baseline => {}
            Ask::User => {
                self.set_status("HISTORY", open.head.result);
                self.push(Report::History {
                    room: Some(open.head.room),
                    result: open.head.result,
                    messages: open.messages,
                });
            }
            Ask::CatchUp => {
                let last = open.messages.last().map(|m| m.seq);
                self.held.extend(open.messages);
                match last {
                    Some(after_seq) if open.head.more => {
                        self.pending_history.push_back(Ask::CatchUp);
                        self.outbox.push(Effect::Send(Request::History {
                            epoch: open.head.epoch,
                            after_seq,
                            max: RoomHistoryReq::MAX_MESSAGES,
                        }));
                    }
                    _ => self.finish_reconnect(),
                }
            }
        }
    }

    /// After entering a room (not while reconnecting): asks quietly where
    /// its history stands, so that a reconnect knows what it missed.
    fn ask_baseline(&mut self) {
        if self.features.contains(Features::HISTORY) {
            self.pending_history.push_back(Ask::Baseline);
            self.outbox.push(Effect::Send(Request::History {
                epoch: 0,
                after_seq: RoomHistoryReq::LAST,
                max: 1,
            }));
        }
    }

    fn recon_stage(&self) -> Option<Stage> {
        self.recon.as_ref().map(|r| r.stage)
    }

    /// Schedules the next attempt of `recon`, unless `reconnect_tries`
    /// attempts have been made: then the reconnect ends.
    fn schedule(&mut self, mut recon: Recon) {
        if self.reconnect_tries != 0 && recon.attempt >= self.reconnect_tries {
            self.held.clear();
            self.push(Report::ReconnectGaveUp {
                attempts: recon.attempt,
            });
            return;
        }
        recon.attempt = recon.attempt.saturating_add(1);
        recon.stage = Stage::Waiting;
        recon.gap = false;
        let delay = resume::backoff(recon.attempt, resume::jitter());
        let addr = self.addr.clone().unwrap_or_else(|| self.server.clone());
        self.held.clear();
        self.push(Report::Reconnecting {
            attempt: recon.attempt,
            delay,
        });
        self.recon = Some(recon);
        self.outbox.push(Effect::ConnectAfter(addr, delay));
    }

    /// Connected again: logs in with the token, or the password.
    fn resume_login(&mut self) {
        let Some(recon) = &mut self.recon else {
            return;
        };
        let Some(user) = recon.user.clone() else {
            self.finish_reconnect();
            return;
        };
        if let Some(token) = self.token.clone() {
            recon.stage = Stage::LoggingIn { token: true };
            self.outbox.push(Effect::Send(Request::LoginToken(token)));
        } else {
            self.password_login(user);
        }
    }

    /// Logs in again with the password, if it is the user's.
    fn password_login(&mut self, user: String) {
        match (&mut self.recon, &self.credentials) {
            (Some(recon), Some((known, password))) if *known == user => {
                recon.stage = Stage::LoggingIn { token: false };
                self.pending_logins
                    .push_back((user.clone(), password.clone()));
                self.outbox.push(Effect::Send(Request::Login {
                    user,
                    password: password.0.clone(),
                }));
            }
            _ => {
                // Nothing to log in with: connected, not logged in.
                if let Some(recon) = &mut self.recon {
                    recon.user = None;
                    recon.room = None;
                }
                self.finish_reconnect();
            }
        }
    }

    /// The answer to a login of a reconnect.
    fn resumed_login(&mut self, user: String, token: bool, result: ResultCode) {
        self.push(Report::AutoLogin {
            user: user.clone(),
            token,
            result,
        });
        if self.recon.is_none() {
            return;
        }
        if !result.is_success() {
            if token {
                // Refused (or the account store is away): the password.
                self.token = None;
                self.password_login(user);
            } else {
                if let Some(recon) = &mut self.recon {
                    recon.user = None;
                    recon.room = None;
                }
                self.finish_reconnect();
            }
            return;
        }
        self.user = Some(user.clone());
        let what = format!("LOGIN {user}");
        self.set_status(&what, result);
        if self.auto_watch {
            let request = self.list_rooms(true, true);
            self.outbox.push(Effect::Send(request));
        }
        let room = self.recon.as_ref().and_then(|r| r.room);
        match (room, &mut self.recon) {
            (Some(room), Some(recon)) => {
                recon.stage = Stage::Entering;
                self.pending_enters.push_back(Entering::Number(room));
                self.outbox.push(Effect::Send(Request::Enter(room)));
            }
            _ => self.finish_reconnect(),
        }
    }

    /// The answer to the enter of a reconnect: asks for what was missed.
    fn resumed_enter(&mut self, entered: bool) {
        let Some(recon) = &mut self.recon else {
            return;
        };
        let Some(room) = recon.room.filter(|_| entered) else {
            recon.room = None;
            self.finish_reconnect();
            return;
        };
        if !self.features.contains(Features::HISTORY) {
            recon.gap = true;
            self.finish_reconnect();
            return;
        }
        let Some(mark) = self.seen.get(room) else {
            // Where the room stood was never learnt: ask for where it
            // stands now, and say that something may be missing.
            recon.gap = true;
            self.finish_reconnect();
            self.ask_baseline();
            return;
        };
        recon.stage = Stage::CatchingUp;
        self.pending_history.push_back(Ask::CatchUp);
        self.outbox.push(Effect::Send(Request::History {
            epoch: mark.epoch,
            after_seq: mark.last,
            max: RoomHistoryReq::MAX_MESSAGES,
        }));
    }

    /// The reconnect is complete: says so, then shows the missed messages
    /// (in order, each once).
    fn finish_reconnect(&mut self) {
        let Some(recon) = self.recon.take() else {
            return;
        };
        let missed = resume::merge(&mut self.seen, std::mem::take(&mut self.held));
        self.push(Report::Reconnected {
            user: recon.user.clone(),
            room: recon.room,
            missed: missed.len(),
        });
        if let (true, Some(room)) = (recon.gap, recon.room) {
            self.push(Report::Gap { room });
        }
        for chat in missed {
            self.push_chat(chat);
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
        self.addr = Some(addr.to_string());
        // A connect asked for ends a reconnect (its delayed connect too).
        self.recon = None;
        self.held.clear();
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
        self.features = Features::NONE;
        self.pending_history.clear();
        self.history_open = None;
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
