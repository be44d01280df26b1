//! Shared harness for the engine's integration tests: an echo application on
//! a real engine bound to 127.0.0.1:0, run on each backend.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringport_net::{
    BackendChoice, CloseReason, Engine, EngineConfig, Event, FrameError, Framing, RawFraming,
    SessionId, Stats,
};

/// The backends every engine test runs on.
pub const BACKENDS: [BackendChoice; 2] = [BackendChoice::IoUring, BackendChoice::Poll];

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

/// What the application saw.
#[derive(Default, Debug)]
pub struct Log {
    pub opened: Vec<SessionId>,
    pub closed: Vec<(SessionId, CloseReason)>,
    pub frames: HashMap<SessionId, usize>,
    /// Events for a session after its Closed event (must stay empty).
    pub after_close: usize,
    /// Closed events for a session never opened, or closed twice.
    pub bad_close: usize,
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
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cfg = EngineConfig { backend, ..cfg };
        let (engine, mut ep) = Engine::start(listener, cfg, framing).expect("engine starts");
        let log = Arc::new(Mutex::new(Log::default()));
        let log2 = log.clone();
        let app = std::thread::spawn(move || {
            let burst = ringport_net::Bytes::from(vec![7u8; 64 * 1024]);
            let mut closed: HashMap<SessionId, ()> = HashMap::new();
            while let Ok(batch) = ep.recv(None) {
                let mut log = log2.lock().unwrap();
                for ev in batch.iter() {
                    match ev {
                        Event::Opened { session, .. } => log.opened.push(session),
                        Event::Frame { session, frame } => {
                            if closed.contains_key(&session) {
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
                            if closed.insert(session, ()).is_some()
                                || !log.opened.contains(&session)
                            {
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

    /// Waits until `f(stats)` holds (or panics after 10 s).
    pub fn wait_stats(&self, what: &str, f: impl Fn(&Stats) -> bool) -> Stats {
        let deadline = Instant::now() + Duration::from_secs(10);
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
        let deadline = Instant::now() + Duration::from_secs(10);
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
            "no frame after a session's Closed event"
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
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
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
            Err(_) => return false,
        }
    }
}

pub fn write_all(s: &mut TcpStream, b: &[u8]) {
    s.write_all(b).unwrap();
}
