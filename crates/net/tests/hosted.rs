//! An application on the engine's one I/O thread (`Engine::start_hosted`,
//! `Engine::host`): it runs there, gets every event in order, its sends
//! leave in order, its own timer and other threads' wake-ups give it turns
//! without any socket traffic, and at shutdown it sees the last events and
//! is dropped there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{connect, frame, read_n, write_all, Header5, BACKENDS};
use crossbeam_channel::Receiver;
use ringport_net::{
    BackendChoice, Endpoint, Engine, EngineConfig, EngineError, Event, HostedApp, Listener,
    SessionId, Transport,
};

/// Frame ids the room understands.
const SAY: u16 = 1;
/// Asks for `body[0]` replies, one per app turn, each turn asked for 5 ms
/// ahead through the app's own timer (no socket traffic in between).
const TICKS: u16 = 2;

#[derive(Default)]
struct Seen {
    threads: Vec<String>,
    opened: usize,
    closed: usize,
    stopped: bool,
}

/// A room: every frame is sent to every open session; other threads' lines
/// (on `lines`) too; TICKS as above.
struct Room {
    endpoint: Endpoint,
    members: Vec<SessionId>,
    lines: Receiver<Vec<u8>>,
    ticks: Option<(SessionId, u8, Instant)>,
    seen: Arc<Mutex<Seen>>,
    dropped: Arc<AtomicBool>,
}

impl Room {
    fn send_to_all(&mut self, bytes: &[u8]) {
        for &m in &self.members {
            self.endpoint.send(m, bytes);
        }
    }
}

impl HostedApp for Room {
    fn turn(&mut self) -> Option<Instant> {
        let name = std::thread::current().name().unwrap_or("?").to_string();
        {
            let mut seen = self.seen.lock().unwrap();
            if !seen.threads.contains(&name) {
                seen.threads.push(name);
            }
        }
        while let Ok(batch) = self.endpoint.try_recv() {
            for event in batch.iter() {
                match event {
                    Event::Opened { session, .. } => {
                        self.members.push(session);
                        self.seen.lock().unwrap().opened += 1;
                    }
                    Event::Frame { session, frame: f } => match u16::from_le_bytes([f[2], f[3]]) {
                        TICKS => self.ticks = Some((session, f[5], Instant::now())),
                        _ => {
                            let f = f.to_vec();
                            self.send_to_all(&f);
                        }
                    },
                    Event::Closed { session, .. } => {
                        self.members.retain(|&m| m != session);
                        self.seen.lock().unwrap().closed += 1;
                    }
                }
            }
        }
        while let Ok(line) = self.lines.try_recv() {
            self.send_to_all(&line);
        }
        let mut next = None;
        if let Some((session, left, at)) = self.ticks {
            if Instant::now() >= at {
                self.endpoint.send(session, &frame(TICKS, &[left]));
                self.ticks = (left > 1).then(|| (session, left - 1, at + Duration::from_millis(5)));
            }
            next = self.ticks.map(|(_, _, at)| at);
        }
        self.endpoint.flush();
        next
    }

    fn stopped(&mut self) {
        self.turn();
        self.seen.lock().unwrap().stopped = true;
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        let here = std::thread::current().name().map(str::to_string);
        self.dropped
            .store(here.as_deref() == Some("ringport-io-0"), Ordering::SeqCst);
    }
}

struct Hosted {
    engine: Engine,
    seen: Arc<Mutex<Seen>>,
    dropped: Arc<AtomicBool>,
    lines: crossbeam_channel::Sender<Vec<u8>>,
    waker: ringport_net::AppWaker,
}

/// A hosted engine on `backend` with one I/O thread, its application not
/// handed over yet.
fn hosted_engine(backend: BackendChoice) -> (Engine, Endpoint, ringport_net::AppWaker) {
    Engine::start_hosted(
        vec![Listener::new(common::bind_listener(), Transport::Tcp)],
        EngineConfig {
            backend,
            io_threads: 1,
            ..EngineConfig::default()
        },
        Header5 { max: 1024 },
    )
    .unwrap()
}

fn start(backend: BackendChoice) -> Hosted {
    let (mut engine, endpoint, waker) = hosted_engine(backend);
    let (lines, lines_rx) = crossbeam_channel::unbounded();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let dropped = Arc::new(AtomicBool::new(false));
    let room = Room {
        endpoint,
        members: Vec::new(),
        lines: lines_rx,
        ticks: None,
        seen: seen.clone(),
        dropped: dropped.clone(),
    };
    engine.host(Box::new(room)).unwrap();
    Hosted {
        engine,
        seen,
        dropped,
        lines,
        waker,
    }
}

#[test]
fn the_app_runs_on_the_io_thread_and_every_frame_reaches_everyone_in_order() {
    for backend in BACKENDS {
        let h = start(backend);
        let mut clients: Vec<_> = (0..3).map(|_| connect(h.engine.local_addr())).collect();
        common::wait_until("three members", common::WAIT, || {
            h.seen.lock().unwrap().opened == 3
        });
        // Each client pipelines 200 frames in one write.
        let mut writes = Vec::new();
        for (c, client) in clients.iter_mut().enumerate() {
            let mut all = Vec::new();
            for n in 0..200u8 {
                all.extend(frame(SAY, &[c as u8, n]));
            }
            writes.push(all);
            write_all(client, writes.last().unwrap());
        }
        for client in &mut clients {
            let got = read_n(client, 3 * 200 * 7);
            let mut next = [0u8; 3];
            for f in got.chunks(7) {
                let (c, n) = (f[5] as usize, f[6]);
                assert_eq!(n, next[c], "{backend:?}: sender {c}'s frames out of order");
                next[c] += 1;
            }
            assert_eq!(next, [200; 3], "{backend:?}");
        }
        assert_eq!(
            h.seen.lock().unwrap().threads,
            ["ringport-io-0"],
            "{backend:?}: every turn on the I/O thread"
        );
        h.engine.shutdown();
        h.engine.join().unwrap();
    }
}

#[test]
fn the_apps_own_timer_gives_it_turns_without_traffic() {
    for backend in BACKENDS {
        let h = start(backend);
        let mut c = connect(h.engine.local_addr());
        // 100 replies, one per turn, 5 ms apart: about half a second when
        // the app's deadline wakes the thread; 25 s if only the engine's
        // own 250 ms sweep did.
        let started = Instant::now();
        write_all(&mut c, &frame(TICKS, &[100]));
        let got = read_n(&mut c, 100 * 6);
        let took = started.elapsed();
        let left: Vec<u8> = got.chunks(6).map(|f| f[5]).collect();
        assert_eq!(left, (1..=100).rev().collect::<Vec<u8>>(), "{backend:?}");
        assert!(
            took < Duration::from_secs(8),
            "{backend:?}: 100 timed turns took {took:?}"
        );
        h.engine.shutdown();
        h.engine.join().unwrap();
    }
}

#[test]
fn other_threads_wake_the_app_with_its_waker() {
    for backend in BACKENDS {
        let h = start(backend);
        let mut c = connect(h.engine.local_addr());
        common::wait_until("a member", common::WAIT, || {
            h.seen.lock().unwrap().opened == 1
        });
        // 100 round trips from another thread's channel: each is a wake-up
        // and a turn (without the wake-up, each would wait for the 250 ms
        // sweep: 25 s).
        let started = Instant::now();
        let waker = h.waker.clone();
        for n in 0..100u8 {
            h.lines.send(frame(SAY, &[n])).unwrap();
            waker.wake();
            assert_eq!(read_n(&mut c, 6)[5], n, "{backend:?}");
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(8),
            "{backend:?}: 100 woken turns took {took:?}"
        );
        h.engine.shutdown();
        h.engine.join().unwrap();
    }
}

#[test]
fn at_shutdown_the_app_sees_the_last_events_and_is_dropped_on_its_thread() {
    for backend in BACKENDS {
        let h = start(backend);
        let mut clients: Vec<_> = (0..4).map(|_| connect(h.engine.local_addr())).collect();
        common::wait_until("four members", common::WAIT, || {
            h.seen.lock().unwrap().opened == 4
        });
        h.engine.shutdown();
        h.engine.join().unwrap();
        let seen = h.seen.lock().unwrap();
        assert!(seen.stopped, "{backend:?}: stopped() called");
        assert_eq!(seen.closed, 4, "{backend:?}: every Closed delivered");
        assert!(
            h.dropped.load(Ordering::SeqCst),
            "{backend:?}: dropped on ringport-io-0"
        );
        for c in &mut clients {
            assert_eq!(c.read(&mut [0u8; 1]).unwrap_or(0), 0, "{backend:?}: closed");
        }
    }
}

#[test]
fn hosting_needs_one_io_thread_and_takes_one_app() {
    let two = EngineConfig {
        io_threads: 2,
        ..EngineConfig::default()
    };
    let listener = common::bind_listener();
    let refused = Engine::start_hosted(
        vec![Listener::new(listener, Transport::Tcp)],
        two,
        Header5 { max: 1024 },
    );
    assert!(matches!(refused, Err(EngineError::Config(_))));

    let mut h = start(BackendChoice::Auto);
    let (_, idle) = crossbeam_channel::unbounded();
    let (_other, endpoint, _) = hosted_engine(BackendChoice::Auto);
    let second = Room {
        endpoint,
        members: Vec::new(),
        lines: idle,
        ticks: None,
        seen: Arc::new(Mutex::new(Seen::default())),
        dropped: Arc::new(AtomicBool::new(false)),
    };
    assert!(matches!(
        h.engine.host(Box::new(second)),
        Err(EngineError::Config(_))
    ));
    // A plain engine has no seat for one.
    let (mut plain, _endpoint) = Engine::start(
        common::bind_listener(),
        EngineConfig::default(),
        Header5 { max: 1024 },
    )
    .unwrap();
    let counter = Arc::new(AtomicUsize::new(0));
    struct Counting(Arc<AtomicUsize>);
    impl HostedApp for Counting {
        fn turn(&mut self) -> Option<Instant> {
            self.0.fetch_add(1, Ordering::SeqCst);
            None
        }
    }
    assert!(matches!(
        plain.host(Box::new(Counting(counter.clone()))),
        Err(EngineError::Config(_))
    ));
    assert_eq!(counter.load(Ordering::SeqCst), 0);
    h.engine.shutdown();
    h.engine.join().unwrap();
}

/// An application handed over while the engine shuts down still gets
/// exactly one `stopped`: on the I/O thread if the hand-over came in time,
/// otherwise on the caller's thread with `Err(Stopped)`, never dropped
/// unseen.
#[test]
fn an_app_handed_over_during_shutdown_is_stopped_exactly_once() {
    struct Late(Arc<Mutex<Vec<String>>>);
    impl HostedApp for Late {
        fn turn(&mut self) -> Option<Instant> {
            None
        }
        fn stopped(&mut self) {
            let here = std::thread::current().name().unwrap_or("?").to_string();
            self.0.lock().unwrap().push(here);
        }
    }
    let mut late_seen = 0;
    for backend in BACKENDS {
        // Handed over 0, 50 and 1,000 ms after the shutdown began: the last
        // finds the I/O thread gone (it has no session to drain).
        for delay_ms in [0, 50, 1000] {
            let (mut engine, _endpoint, _waker) = hosted_engine(backend);
            engine.shutdown();
            std::thread::sleep(Duration::from_millis(delay_ms));
            let stops = Arc::new(Mutex::new(Vec::new()));
            let handed = engine.host(Box::new(Late(stops.clone())));
            let caller = std::thread::current().name().unwrap_or("?").to_string();
            engine.join().unwrap();
            let stops = stops.lock().unwrap().clone();
            match handed {
                Ok(()) => assert_eq!(stops, ["ringport-io-0"], "{backend:?} {delay_ms} ms"),
                Err(EngineError::Stopped) => {
                    late_seen += 1;
                    assert_eq!(stops, [caller], "{backend:?} {delay_ms} ms");
                }
                Err(e) => panic!("{backend:?} {delay_ms} ms: {e}"),
            }
        }
    }
    assert!(late_seen > 0, "no hand-over found the engine stopped");
}

/// A hosted application that flushes more often in one turn than the I/O
/// thread's inbox holds (64 outboxes) still gets every send out, in order,
/// without any further traffic to give it a turn: the thread is woken and
/// the next turn's `try_recv` hands the rest over.
#[test]
fn more_flushes_in_one_turn_than_the_inbox_holds_all_leave_in_order() {
    /// On each frame, sends 200 numbered frames back, flushing after each;
    /// flushes nothing in a turn without events.
    struct Burst(Endpoint);
    impl HostedApp for Burst {
        fn turn(&mut self) -> Option<Instant> {
            while let Ok(batch) = self.0.try_recv() {
                for event in batch.iter() {
                    if let Event::Frame { session, .. } = event {
                        for n in 0..200u16 {
                            self.0.send(session, &frame(SAY, &n.to_le_bytes()));
                            self.0.flush();
                        }
                    }
                }
            }
            None
        }
    }
    for backend in BACKENDS {
        let (mut engine, endpoint, _waker) = hosted_engine(backend);
        engine.host(Box::new(Burst(endpoint))).unwrap();
        let mut c = connect(engine.local_addr());
        write_all(&mut c, &frame(SAY, b"go"));
        for n in 0..200u16 {
            let got = read_n(&mut c, 7);
            assert_eq!(
                u16::from_le_bytes([got[5], got[6]]),
                n,
                "{backend:?}: frame {n}"
            );
        }
        drop(c);
        engine.shutdown();
        engine.join().unwrap();
    }
}
