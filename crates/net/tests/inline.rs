//! Applications on the I/O threads (`Engine::start_inline`): frames in order,
//! open/close reported exactly once with their reasons, replies flushed
//! before a handler-requested close, the send-queue limit enforced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{frame, Header5, BACKENDS};
use ringport_net::{CloseReason, Engine, EngineConfig, Handler, Reply, SessionId};

#[derive(Default, Debug)]
struct Seen {
    opened: Vec<SessionId>,
    closed: Vec<(SessionId, CloseReason)>,
    frames: usize,
}

/// Echoes; id 2 → echo then close; id 3 → reply with body[0] × 64 KiB.
#[derive(Clone)]
struct Scripted {
    seen: Arc<Mutex<Seen>>,
    burst: Vec<u8>,
}

impl Handler for Scripted {
    fn on_open(&mut self, session: SessionId, _peer: SocketAddr) {
        self.seen.lock().unwrap().opened.push(session);
    }

    fn on_frame(&mut self, _session: SessionId, f: &[u8], reply: &mut Reply<'_>) {
        self.seen.lock().unwrap().frames += 1;
        match u16::from_le_bytes([f[2], f[3]]) {
            2 => {
                reply.send(f);
                reply.close();
            }
            3 => {
                for _ in 0..f[5] {
                    reply.send(&self.burst);
                }
            }
            _ => reply.send(f),
        }
    }

    fn on_close(&mut self, session: SessionId, reason: CloseReason) {
        self.seen.lock().unwrap().closed.push((session, reason));
    }
}

fn start(backend: ringport_net::BackendChoice) -> (Engine, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let handler = Scripted {
        seen: seen.clone(),
        burst: vec![7; 64 * 1024],
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // A 256 KiB hard limit (default 32 MiB), so that one request for
    // 5 × 64 KiB of replies passes it: the Reply path's limit is tested.
    let cfg = EngineConfig {
        backend,
        io_threads: 2,
        send_queue_limit: 256 * 1024,
        ..EngineConfig::default()
    };
    let engine = Engine::start_inline(listener, cfg, Header5 { max: 1024 }, handler).unwrap();
    (engine, seen)
}

fn connect(engine: &Engine) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(engine.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn wait_for(seen: &Arc<Mutex<Seen>>, what: &str, f: impl Fn(&Seen) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f(&seen.lock().unwrap()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn echoes_in_order_and_reports_open_and_close_once() {
    for backend in BACKENDS {
        let (engine, seen) = start(backend);
        let mut c = connect(&engine);
        let mut all = Vec::new();
        for i in 0..50u8 {
            all.extend(frame(1, &vec![i; 1 + i as usize]));
        }
        c.write_all(&all).unwrap();
        let mut back = vec![0; all.len()];
        c.read_exact(&mut back).unwrap();
        assert_eq!(back, all, "{backend}: every frame, in order");
        drop(c);
        wait_for(&seen, "close", |s| s.closed.len() == 1);
        // A bad frame length closes as BadFrame.
        let mut bad = connect(&engine);
        bad.write_all(&[3, 0, 1, 0, 0]).unwrap();
        wait_for(&seen, "bad frame close", |s| s.closed.len() == 2);
        engine.shutdown();
        engine.join().unwrap();
        let s = seen.lock().unwrap();
        assert_eq!(s.opened.len(), 2, "{backend}");
        assert_eq!(s.frames, 50);
        assert_eq!(
            s.closed[0],
            (s.opened[0], CloseReason::PeerClosed),
            "{backend}"
        );
        assert_eq!(
            s.closed[1],
            (s.opened[1], CloseReason::BadFrame),
            "{backend}"
        );
    }
}

#[test]
fn handler_close_flushes_the_reply_first() {
    for backend in BACKENDS {
        let (engine, seen) = start(backend);
        let mut c = connect(&engine);
        let bye = frame(2, b"goodbye");
        let mut both = bye.clone();
        both.extend(frame(1, b"never echoed"));
        c.write_all(&both).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert_eq!(
            rest, bye,
            "{backend}: the reply, then EOF; nothing after the close"
        );
        wait_for(&seen, "close", |s| s.closed.len() == 1);
        assert_eq!(seen.lock().unwrap().closed[0].1, CloseReason::ServerClose);
        let stats = engine.stats();
        assert_eq!(stats.closes_by(CloseReason::ServerClose), 1);
        engine.shutdown();
        engine.join().unwrap();
    }
}

#[test]
fn replies_past_the_send_queue_limit_close_a_slow_consumer() {
    for backend in BACKENDS {
        let (engine, seen) = start(backend);
        let mut slow = connect(&engine);
        let mut fine = connect(&engine);
        // 5 × 64 KiB per request, never read: the 256 KiB limit is crossed
        // once the socket buffers are full.
        let ask = frame(3, &[5]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while engine.stats().closes_by(CloseReason::SlowConsumer) == 0 {
            assert!(
                Instant::now() < deadline,
                "{backend}: slow consumer never closed"
            );
            if slow.write_all(&ask).is_err() {
                break;
            }
            let ping = frame(1, b"ping");
            fine.write_all(&ping).unwrap();
            let mut back = vec![0; ping.len()];
            fine.read_exact(&mut back).unwrap();
            assert_eq!(back, ping, "{backend}: the other session is unaffected");
        }
        wait_for(&seen, "slow consumer close", |s| {
            s.closed.iter().any(|c| c.1 == CloseReason::SlowConsumer)
        });
        engine.shutdown();
        engine.join().unwrap();
    }
}
