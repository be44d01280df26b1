//! Shared harness for the engine's integration tests: an echo application on
//! a real engine bound to 127.0.0.1:0, run on each backend; plus helpers to
//! drive an [`Endpoint`] directly from the test thread, wait for conditions,
//! and look at the process's descriptors.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringport_net::{
    BackendChoice, CloseReason, Endpoint, Engine, EngineConfig, Event, FrameError, Framing,
    Listener, RawFraming, RecvError, SessionId, Stats, Transport,
};

/// The backends every engine test runs on.
pub const BACKENDS: [BackendChoice; 2] = [BackendChoice::IoUring, BackendChoice::Poll];

/// How long any wait-until-condition helper waits before failing. Generous:
/// the machine is shared and noisy.
pub const WAIT: Duration = Duration::from_secs(20);

/// The chat protocol's header shape: u16 LE total length (header included),
/// u16 id, u8 type; lengths outside 5..=max are bad frames.
#[derive(Clone, Copy)]
pub struct Header5 {
    pub max: usize,
}

impl Framing for Header5 {
    fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let n = u16::from_le_bytes([buf[0], buf[1]]) as usize;
        if n < 5 || n > self.max {
            return Err(FrameError {
                reason: "frame length out of range",
                len: n,
            });
        }
        Ok((buf.len() >= n).then_some(n))
    }

    fn max_frame_len(&self) -> usize {
        self.max
    }
}

/// Builds a frame of the Header5 shape with the given body.
pub fn frame(id: u16, body: &[u8]) -> Vec<u8> {
    let len = (5 + body.len()) as u16;
    let mut f = Vec::with_capacity(len as usize);
    f.extend_from_slice(&len.to_le_bytes());
    f.extend_from_slice(&id.to_le_bytes());
    f.push(0);
    f.extend_from_slice(body);
    f
}

/// A listener on 127.0.0.1:0 with a deep accept backlog (std's default of
/// 128 overflows when thousands of clients connect at once, and a dropped
/// SYN costs a one-second retransmit).
pub fn bind_listener() -> TcpListener {
    let sock = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .unwrap();
    sock.set_reuse_address(true).unwrap();
    sock.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    sock.listen(4096).unwrap();
    sock.into()
}

/// What the application saw.
#[derive(Default, Debug)]
pub struct Log {
    pub opened: Vec<SessionId>,
    /// Peer address of every opened session (the client's local address).
    pub peers: HashMap<SessionId, SocketAddr>,
    pub closed: Vec<(SessionId, CloseReason)>,
    pub frames: HashMap<SessionId, usize>,
    /// Events for a session after its Closed event (must stay empty).
    pub after_close: usize,
    /// Closed events for a session never opened, or closed twice.
    pub bad_close: usize,
}

impl Log {
    /// The session whose peer is `client_local` (the client socket's local
    /// address), if the application has seen it open.
    pub fn session_of(&self, client_local: SocketAddr) -> Option<SessionId> {
        self.peers
            .iter()
            .find(|(_, &p)| p == client_local)
            .map(|(&s, _)| s)
    }

    /// Why `session` closed, if it did.
    pub fn close_reason(&self, session: SessionId) -> Option<CloseReason> {
        self.closed
            .iter()
            .find(|(s, _)| *s == session)
            .map(|&(_, r)| r)
    }

    /// Closes seen with `reason`.
    pub fn closes_with(&self, reason: CloseReason) -> usize {
        self.closed.iter().filter(|(_, r)| *r == reason).count()
    }
}

/// What the echo application does with a frame.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Echo every frame.
    Echo,
    /// Frames with id 2 make the application close the session after
    /// echoing; id 3 makes it send the body as a 64 KiB burst `count` times
    /// where count = body[0]; others echo.
    Scripted,
}

pub struct Server {
    pub engine: Option<Engine>,
    pub addr: SocketAddr,
    pub addrs: Vec<SocketAddr>,
    pub log: Arc<Mutex<Log>>,
    app: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start<F: Framing>(
        backend: BackendChoice,
        cfg: EngineConfig,
        framing: F,
        mode: Mode,
    ) -> Server {
        let listener = Listener::new(bind_listener(), Transport::Tcp);
        Server::start_on(backend, cfg, vec![listener], framing, mode)
    }

    /// Like [`Server::start`], on the given listeners; `addr` is the
    /// first one's, `addrs` all of them in order.
    pub fn start_on<F: Framing>(
        backend: BackendChoice,
        cfg: EngineConfig,
        listeners: Vec<Listener>,
        framing: F,
        mode: Mode,
    ) -> Server {
        let cfg = EngineConfig { backend, ..cfg };
        let (engine, mut ep) =
            Engine::start_listeners(listeners, cfg, framing).expect("engine starts");
        let addrs = engine.local_addrs().to_vec();
        let addr = addrs[0];
        let log = Arc::new(Mutex::new(Log::default()));
        let log2 = log.clone();
        let app = std::thread::spawn(move || {
            let burst = ringport_net::Bytes::from(vec![7u8; 64 * 1024]);
            let mut opened: HashSet<SessionId> = HashSet::new();
            let mut closed: HashSet<SessionId> = HashSet::new();
            while let Ok(batch) = ep.recv(None) {
                let mut log = log2.lock().unwrap();
                for ev in batch.iter() {
                    match ev {
                        Event::Opened { session, peer } => {
                            if !opened.insert(session) {
                                log.bad_close += 1; // an id opened twice
                            }
                            log.opened.push(session);
                            log.peers.insert(session, peer);
                        }
                        Event::Frame { session, frame } => {
                            if closed.contains(&session) || !opened.contains(&session) {
                                log.after_close += 1;
                            }
                            *log.frames.entry(session).or_default() += 1;
                            let id = if frame.len() >= 5 {
                                u16::from_le_bytes([frame[2], frame[3]])
                            } else {
                                0
                            };
                            if mode == Mode::Scripted && id == 3 {
                                for _ in 0..frame[5] {
                                    ep.send_shared(session, &burst);
                                }
                                continue;
                            }
                            ep.send(session, frame);
                            if mode == Mode::Scripted && id == 2 {
                                ep.close(session);
                            }
                        }
                        Event::Closed { session, reason } => {
                            if !closed.insert(session) || !opened.contains(&session) {
                                log.bad_close += 1;
                            }
                            log.closed.push((session, reason));
                        }
                    }
                }
                drop(log);
                ep.flush();
            }
        });
        Server {
            engine: Some(engine),
            addr,
            addrs,
            log,
            app: Some(app),
        }
    }

    pub fn echo(backend: BackendChoice) -> Server {
        Server::start(
            backend,
            EngineConfig {
                io_threads: 2,
                ..EngineConfig::default()
            },
            RawFraming,
            Mode::Echo,
        )
    }

    pub fn stats(&self) -> Stats {
        self.engine.as_ref().unwrap().stats()
    }

    /// Waits until `f(stats)` holds (or panics after [`WAIT`]).
    pub fn wait_stats(&self, what: &str, f: impl Fn(&Stats) -> bool) -> Stats {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.stats();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the log satisfies `f`.
    pub fn wait_log(&self, what: &str, f: impl Fn(&Log) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            if f(&self.log.lock().unwrap()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the application has seen `client` open and returns its
    /// session id.
    pub fn session_of(&self, client: &TcpStream) -> SessionId {
        let local = client.local_addr().unwrap();
        self.wait_log("the client's session to open", |l| {
            l.session_of(local).is_some()
        });
        self.log.lock().unwrap().session_of(local).unwrap()
    }

    /// Waits until `session` has closed and returns why.
    pub fn wait_closed(&self, session: SessionId) -> CloseReason {
        self.wait_log("the session to close", |l| {
            l.close_reason(session).is_some()
        });
        self.log.lock().unwrap().close_reason(session).unwrap()
    }

    /// Shuts down and checks the close-exactly-once invariants.
    pub fn stop(mut self) -> Stats {
        let engine = self.engine.take().unwrap();
        engine.shutdown();
        let stats = engine.stats();
        engine.join().expect("I/O threads exit cleanly");
        self.app.take().unwrap().join().expect("app thread exits");
        let log = self.log.lock().unwrap();
        assert_eq!(
            log.after_close, 0,
            "no frame after a session's Closed event (nor before its Opened)"
        );
        assert_eq!(
            log.bad_close, 0,
            "Closed exactly once, only for opened sessions"
        );
        assert_eq!(
            log.opened.len(),
            log.closed.len(),
            "every opened session closed once"
        );
        stats
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Reads exactly `n` bytes.
pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// True once the peer has closed (EOF or reset) within the read timeout.
pub fn is_closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

pub fn write_all(s: &mut TcpStream, b: &[u8]) {
    s.write_all(b).unwrap();
}

/// Sends `payload` and checks it comes back unchanged.
pub fn echo_ok(s: &mut TcpStream, payload: &[u8], what: &str) {
    s.write_all(payload)
        .unwrap_or_else(|e| panic!("{what}: write failed: {e}"));
    let mut back = vec![0; payload.len()];
    s.read_exact(&mut back)
        .unwrap_or_else(|e| panic!("{what}: no echo: {e}"));
    assert_eq!(back, payload, "{what}: echo differs");
}

/// Waits until `f()` holds, polling every few milliseconds; panics with
/// `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Number of descriptors this process has open.
pub fn open_fds() -> usize {
    // The directory handle itself is one more entry while we read it.
    std::fs::read_dir("/proc/self/fd").unwrap().count() - 1
}

/// Raises the soft RLIMIT_NOFILE to the hard limit and returns the new soft
/// limit.
pub fn raise_nofile_limit() -> u64 {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");
    if soft < hard {
        match rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard) {
            Ok(()) => return hard,
            Err(e) => eprintln!("could not raise RLIMIT_NOFILE: {e}"),
        }
    }
    soft
}

/// The soft RLIMIT_NOFILE.
pub fn nofile_soft_limit() -> u64 {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .expect("getrlimit")
        .0
}

/// Sets the soft RLIMIT_NOFILE (the hard limit is kept).
pub fn set_nofile_soft_limit(soft: u64) {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");
    rlimit::setrlimit(rlimit::Resource::NOFILE, soft, hard).expect("setrlimit");
}

/// User plus system CPU time of this whole process (every thread), read from
/// /proc/self/stat (clock ticks of 1/100 s, Linux's USER_HZ). The file is
/// opened once, so reading works even while descriptors are exhausted.
pub struct ProcessCpu {
    stat: std::fs::File,
}

impl ProcessCpu {
    pub fn open() -> ProcessCpu {
        ProcessCpu {
            stat: std::fs::File::open("/proc/self/stat").unwrap(),
        }
    }

    pub fn time(&self) -> std::time::Duration {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 1024];
        let n = self.stat.read_at(&mut buf, 0).unwrap();
        let stat = std::str::from_utf8(&buf[..n]).unwrap();
        // Fields after the command name (which may hold spaces) start at
        // "state"; utime and stime are fields 14 and 15 of the whole line.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        std::time::Duration::from_millis(ticks * 10)
    }
}

/// An event copied out of its batch, so tests can keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedEvent {
    Opened(SessionId, SocketAddr),
    Frame(SessionId, Vec<u8>),
    Closed(SessionId, CloseReason),
}

impl OwnedEvent {
    pub fn session(&self) -> SessionId {
        match self {
            OwnedEvent::Opened(s, _) | OwnedEvent::Frame(s, _) | OwnedEvent::Closed(s, _) => *s,
        }
    }
}

/// Drives an [`Endpoint`] from the test thread: the test is the application.
pub struct App {
    pub ep: Endpoint,
    pending: VecDeque<OwnedEvent>,
    stopped: bool,
}

impl App {
    pub fn new(ep: Endpoint) -> App {
        App {
            ep,
            pending: VecDeque::new(),
            stopped: false,
        }
    }

    /// Pulls batches for up to `timeout` (one batch at least if one comes).
    /// Returns false once the endpoint reported `Stopped`.
    fn pull(&mut self, timeout: Duration) -> bool {
        if self.stopped {
            return false;
        }
        match self.ep.recv(Some(timeout)) {
            Ok(batch) => {
                for ev in batch.iter() {
                    self.pending.push_back(match ev {
                        Event::Opened { session, peer } => OwnedEvent::Opened(session, peer),
                        Event::Frame { session, frame } => {
                            OwnedEvent::Frame(session, frame.to_vec())
                        }
                        Event::Closed { session, reason } => OwnedEvent::Closed(session, reason),
                    });
                }
                true
            }
            Err(RecvError::Timeout) => true,
            Err(RecvError::Stopped) => {
                self.stopped = true;
                false
            }
        }
    }

    /// Waits for the first event matching `pred` (events before it that do
    /// not match are kept, in order, for later calls).
    pub fn expect(&mut self, what: &str, mut pred: impl FnMut(&OwnedEvent) -> bool) -> OwnedEvent {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.pending.iter().position(&mut pred) {
                return self.pending.remove(i).unwrap();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; unmatched events: {:?}",
                self.pending
            );
            assert!(
                self.pull(left.min(Duration::from_millis(100))),
                "engine stopped while waiting for {what}; unmatched events: {:?}",
                self.pending
            );
        }
    }

    /// Waits for the session whose peer is `client`'s local address to open.
    pub fn expect_opened(&mut self, client: &TcpStream) -> SessionId {
        let local = client.local_addr().unwrap();
        self.expect(
            "Opened for the client",
            |e| matches!(e, OwnedEvent::Opened(_, p) if *p == local),
        )
        .session()
    }

    /// Waits for `session`'s Closed event and returns its reason.
    pub fn expect_closed(&mut self, session: SessionId) -> CloseReason {
        match self.expect(
            "Closed",
            |e| matches!(e, OwnedEvent::Closed(s, _) if *s == session),
        ) {
            OwnedEvent::Closed(_, r) => r,
            _ => unreachable!(),
        }
    }

    /// Everything still unmatched, plus whatever arrives within `quiet`.
    pub fn drain_for(&mut self, quiet: Duration) -> Vec<OwnedEvent> {
        let deadline = Instant::now() + quiet;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.pull(left) {
                break;
            }
        }
        self.pending.drain(..).collect()
    }

    /// Receives until the endpoint reports `Stopped` (panics after [`WAIT`]);
    /// returns the events that were still unmatched or arrived meanwhile.
    pub fn until_stopped(&mut self) -> Vec<OwnedEvent> {
        let deadline = Instant::now() + WAIT;
        while self.pull(Duration::from_millis(100)) {
            assert!(
                Instant::now() < deadline,
                "the endpoint never reported Stopped; events: {:?}",
                self.pending
            );
        }
        self.pending.drain(..).collect()
    }
}

/// Starts an engine on 127.0.0.1:0 with raw framing and returns it with the
/// test-driven application.
pub fn start_raw(cfg: EngineConfig) -> (Engine, App, SocketAddr) {
    let listener = bind_listener();
    let addr = listener.local_addr().unwrap();
    let (engine, ep) = Engine::start(listener, cfg, RawFraming).expect("engine starts");
    (engine, App::new(ep), addr)
}
