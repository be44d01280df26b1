//! Line mode: commands from a script or standard input, one per line; one
//! output line per event (see [`crate::format`]).
//!
//! With `--wait response` (the default) each request waits for its answer
//! before the next line runs: `/login` for its 202, `/enter` for its 207 (or
//! 308) and, when it succeeded, the whole 209 user list, `/leave` for its
//! 216, a chat for its 222 and, when accepted, the 223 of its own message,
//! `/echo` for the echo, `/create` for its 302, `/rooms` for its 304 and,
//! when it succeeded, the whole 305 list, `/history` for its 315 and
//! messages. While the client reconnects by itself (see [`App`]) the next
//! line waits until the session is restored; the requests still owed
//! answers when the connection dropped are forgotten. With `--wait none` requests are sent as fast as the lines come.
//! Either way everything received is printed in arrival order, a request
//! without an answer within `--timeout` prints `TIMEOUT WORD`, and at the end
//! of the input (or `/quit`) the runner waits for the answers still owed,
//! then lingers `--linger` milliseconds before it disconnects.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crate::app::{App, Effect};
use crate::command::{self, Command};
use crate::format;
use crate::net::{Net, NetEvent, Request, Tls};
use crate::report::Report;

/// Exit code: a command failed under `--strict`.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: no connection, or it was lost.
pub const EXIT_CONNECTION: u8 = 3;

/// Printed lines kept for `/expect` to search.
const EXPECT_BUFFER: usize = 10_000;

/// When the next line runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Wait {
    /// After the answer of the previous request (see the module docs).
    Response,
    /// At once.
    None,
}

/// Line mode settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// When the next line runs.
    pub wait: Wait,
    /// How long an answer, a connect or an `/expect` may take.
    pub timeout: Duration,
    /// How long to keep printing events after the last command.
    pub linger: Duration,
    /// Stop with [`EXIT_FAILED`] at the first failure.
    pub strict: bool,
    /// Connect with TLS.
    pub tls: Option<Tls>,
    /// Reconnect when the connection drops.
    pub reconnect: bool,
    /// Attempts in a row before giving up (0: no limit).
    pub reconnect_tries: u32,
}

/// Where the commands come from.
pub enum Source {
    /// Lines of an open file.
    File(std::fs::File),
    /// Standard input.
    Stdin,
}

enum Msg {
    Net(NetEvent),
    Line(String),
    Eof,
}

enum Item {
    Line(String),
    Command(Command),
}

/// One part of an answer a request is owed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Connect,
    Login,
    Enter,
    Users,
    Leave,
    ChatRes,
    OwnChat(String),
    Echo,
    Create,
    RoomsRes,
    Rooms,
    History,
}

impl Stage {
    fn matches(&self, report: &Report) -> bool {
        match (self, report) {
            (Stage::Connect, Report::Connected(_) | Report::ConnectFailed { .. })
            | (Stage::Login, Report::Login { .. })
            | (Stage::Enter, Report::Enter { .. } | Report::EnterName { .. })
            | (Stage::Create, Report::Create { .. })
            | (Stage::RoomsRes, Report::RoomsRes(_))
            | (Stage::Rooms, Report::Rooms(_))
            | (Stage::Users, Report::Users { .. })
            | (Stage::Leave, Report::Leave { .. })
            | (Stage::ChatRes, Report::ChatRes(_))
            | (Stage::History, Report::History { .. })
            | (Stage::Echo, Report::Echo(_)) => true,
            (Stage::OwnChat(sent), Report::Chat { own, message, .. }) => *own && message == sent,
            _ => false,
        }
    }
}

/// A request (or connect) still owed (part of) its answer.
struct Pending {
    label: &'static str,
    stages: VecDeque<Stage>,
    deadline: Instant,
}

/// What keeps the next line from running, besides owed answers.
enum Block {
    Sleep(Instant),
    Expect(String, Instant),
}

/// An early end of the run, with its exit code.
struct Stop(u8);

struct Runner<W: Write> {
    app: App,
    net: Net,
    out: W,
    opts: Options,
    pending: VecDeque<Pending>,
    block: Option<Block>,
    printed: VecDeque<String>,
    failed: bool,
}

/// Runs line mode against `server`; returns the exit code.
pub fn run(
    server: &str,
    source: Source,
    login: Option<(String, String)>,
    opts: Options,
    out: impl Write,
) -> u8 {
    let (tx, rx) = mpsc::channel::<Msg>();
    let net_tx = tx.clone();
    let net = match Net::start(
        move |ev| {
            let _ = net_tx.send(Msg::Net(ev));
        },
        opts.tls.clone(),
    ) {
        Ok(net) => net,
        Err(e) => {
            eprintln!("ringport-client: cannot start the network thread: {e}");
            return EXIT_CONNECTION;
        }
    };
    if let Err(e) = spawn_reader(source, tx) {
        eprintln!("ringport-client: cannot start the input thread: {e}");
        return EXIT_FAILED;
    }
    let mut queue = VecDeque::from([Item::Command(Command::Connect(None))]);
    if let Some((user, password)) = login {
        queue.push_back(Item::Command(Command::Login { user, password }));
    }
    let mut app = App::new(server);
    app.reconnect = opts.reconnect;
    app.reconnect_tries = opts.reconnect_tries;
    let mut runner = Runner {
        app,
        net,
        out,
        opts,
        pending: VecDeque::new(),
        block: None,
        printed: VecDeque::new(),
        failed: false,
    };
    let code = match runner.drive(&rx, queue) {
        Ok(()) => 0,
        Err(Stop(code)) => code,
    };
    runner.net.close();
    code
}

fn spawn_reader(source: Source, tx: Sender<Msg>) -> std::io::Result<()> {
    thread::Builder::new()
        .name("line-input".into())
        .spawn(move || {
            let lines: Box<dyn Iterator<Item = std::io::Result<String>>> = match source {
                Source::File(file) => Box::new(std::io::BufReader::new(file).lines()),
                Source::Stdin => Box::new(std::io::stdin().lines()),
            };
            for line in lines {
                match line {
                    Ok(line) => {
                        if tx.send(Msg::Line(line)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        eprintln!("ringport-client: cannot read the commands: {e}");
                        break;
                    }
                }
            }
            let _ = tx.send(Msg::Eof);
        })
        .map(drop)
}

impl<W: Write> Runner<W> {
    fn drive(&mut self, rx: &mpsc::Receiver<Msg>, mut queue: VecDeque<Item>) -> Result<(), Stop> {
        let mut input_done = false;
        let mut linger_until: Option<Instant> = None;
        loop {
            let connecting = self.pending.iter().any(|p| p.label == "CONNECT");
            let idle = self.block.is_none()
                && !connecting
                && (self.opts.wait == Wait::None || self.pending.is_empty());
            // A reconnect holds the next line back until the session is
            // restored, but not the end of the input.
            if idle && !self.app.reconnecting() {
                if let Some(item) = queue.pop_front() {
                    self.exec(item, &mut input_done, &mut queue)?;
                    continue;
                }
            }
            if idle && queue.is_empty() && input_done && self.pending.is_empty() {
                let until = *linger_until.get_or_insert_with(|| Instant::now() + self.opts.linger);
                if Instant::now() >= until {
                    return Ok(());
                }
            }
            let deadline = self
                .pending
                .iter()
                .map(|p| p.deadline)
                .chain(self.block.as_ref().map(|b| match b {
                    Block::Sleep(t) | Block::Expect(_, t) => *t,
                }))
                .chain(linger_until)
                .min();
            let msg = match deadline {
                Some(deadline) => {
                    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(Msg::Net(event)) => {
                    self.app.net(event);
                    self.flush_reports()?;
                    let effects = self.app.take_effects();
                    self.apply(effects, false, &mut input_done, &mut queue);
                }
                Ok(Msg::Line(line)) => {
                    if !input_done {
                        queue.push_back(Item::Line(line));
                    }
                }
                Ok(Msg::Eof) | Err(RecvTimeoutError::Disconnected) => input_done = true,
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.check_deadlines()?;
        }
    }

    /// Runs one line or command.
    fn exec(
        &mut self,
        item: Item,
        input_done: &mut bool,
        queue: &mut VecDeque<Item>,
    ) -> Result<(), Stop> {
        let command = match item {
            Item::Command(command) => command,
            Item::Line(line) => {
                if line.trim_start().starts_with('#') {
                    return Ok(());
                }
                match command::parse(&line) {
                    Ok(Some(command)) => command,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        return self.report(&Report::CommandError(e.to_string()));
                    }
                }
            }
        };
        let now = Instant::now();
        match command {
            Command::Sleep(d) => self.block = Some(Block::Sleep(now + d)),
            Command::Expect(text) => {
                self.block = Some(Block::Expect(text, now + self.opts.timeout));
                self.check_expect();
            }
            Command::Quit => {
                *input_done = true;
                queue.clear();
            }
            command => {
                let effects = self.app.command(command);
                self.apply(effects, true, input_done, queue);
                self.flush_reports()?;
            }
        }
        Ok(())
    }

    /// Carries out effects; the requests of commands are owed answers, the
    /// app's own ones (hello, reconnecting) are not.
    fn apply(
        &mut self,
        effects: Vec<Effect>,
        owed: bool,
        input_done: &mut bool,
        queue: &mut VecDeque<Item>,
    ) {
        for effect in effects {
            match effect {
                Effect::Connect(addr) => {
                    self.owe("CONNECT", [Stage::Connect]);
                    self.net.connect(addr);
                }
                Effect::ConnectAfter(addr, delay) => self.net.connect_after(addr, delay),
                Effect::Send(request) => {
                    if owed {
                        match &request {
                            Request::Login { .. } => self.owe("LOGIN", [Stage::Login]),
                            Request::Enter(_) | Request::EnterName(_) => {
                                self.owe("ENTER", [Stage::Enter, Stage::Users]);
                            }
                            Request::Create { .. } => self.owe("CREATE", [Stage::Create]),
                            Request::Rooms { .. } => {
                                self.owe("ROOMS", [Stage::RoomsRes, Stage::Rooms]);
                            }
                            Request::Leave => self.owe("LEAVE", [Stage::Leave]),
                            Request::Chat(text) => {
                                self.owe("CHAT", [Stage::ChatRes, Stage::OwnChat(text.clone())])
                            }
                            Request::Echo(_) => self.owe("ECHO", [Stage::Echo]),
                            Request::History { .. } => self.owe("HISTORY", [Stage::History]),
                            Request::LoginToken(_) => {}
                        }
                    }
                    self.net.send(request);
                }
                Effect::Quit => {
                    *input_done = true;
                    queue.clear();
                }
            }
        }
    }

    fn owe<const N: usize>(&mut self, label: &'static str, stages: [Stage; N]) {
        self.pending.push_back(Pending {
            label,
            stages: stages.into(),
            deadline: Instant::now() + self.opts.timeout,
        });
    }

    /// Prints what the app logged and settles owed answers. A report that
    /// stops the run (a lost connection, say) still lets the ones after it
    /// be printed (why a reconnect gave up).
    fn flush_reports(&mut self) -> Result<(), Stop> {
        let mut outcome = Ok(());
        for report in self.app.drain_log() {
            let this = self.report(&report);
            if outcome.is_ok() {
                outcome = this;
            }
        }
        outcome
    }

    fn report(&mut self, report: &Report) -> Result<(), Stop> {
        for line in format::lines(report) {
            self.print(line)?;
        }
        if let Some(at) = self
            .pending
            .iter()
            .position(|p| p.stages.front().is_some_and(|s| s.matches(report)))
        {
            let pending = &mut self.pending[at];
            pending.stages.pop_front();
            if report.is_failure() {
                pending.stages.clear();
            }
            if pending.stages.is_empty() {
                self.pending.remove(at);
            }
        }
        self.check_expect();
        match report {
            // The requests owed answers were lost with the connection.
            Report::ConnectFailed { .. } | Report::Closed(_) | Report::SendFailed(_)
                if self.app.reconnecting() =>
            {
                self.pending.clear();
                Ok(())
            }
            Report::ConnectFailed { .. } | Report::Closed(_) | Report::SendFailed(_) => {
                Err(Stop(EXIT_CONNECTION))
            }
            r if r.is_failure() => self.fail(),
            _ => Ok(()),
        }
    }

    fn print(&mut self, line: String) -> Result<(), Stop> {
        let written = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
        if written.is_err() {
            // Nobody reads the output any more.
            return Err(Stop(if self.failed { EXIT_FAILED } else { 0 }));
        }
        if self.printed.len() == EXPECT_BUFFER {
            self.printed.pop_front();
        }
        self.printed.push_back(line);
        Ok(())
    }

    /// Ends a running `/expect` if a line printed since the last match holds
    /// its text; the lines up to that one are used up.
    fn check_expect(&mut self) {
        let Some(Block::Expect(text, _)) = &self.block else {
            return;
        };
        if let Some(at) = self.printed.iter().position(|l| l.contains(text.as_str())) {
            self.printed.drain(..=at);
            self.block = None;
        }
    }

    fn check_deadlines(&mut self) -> Result<(), Stop> {
        let now = Instant::now();
        while let Some(at) = self.pending.iter().position(|p| p.deadline <= now) {
            let Some(pending) = self.pending.remove(at) else {
                break;
            };
            self.print(format!("TIMEOUT {}", pending.label))?;
            if pending.label == "CONNECT" {
                return Err(Stop(EXIT_CONNECTION));
            }
            self.fail()?;
        }
        match &self.block {
            Some(Block::Sleep(t)) if *t <= now => self.block = None,
            Some(Block::Expect(text, t)) if *t <= now => {
                let line = format!("TIMEOUT expect: {}", format::text(text));
                self.block = None;
                self.print(line)?;
                self.fail()?;
            }
            _ => {}
        }
        Ok(())
    }

    fn fail(&mut self) -> Result<(), Stop> {
        self.failed = true;
        if self.opts.strict {
            Err(Stop(EXIT_FAILED))
        } else {
            Ok(())
        }
    }
}
