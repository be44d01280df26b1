//! Session ids are never reused: a request naming a session that has closed
//! is dropped even after its slot went to a new connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ringport_net::{CloseReason, Engine, EngineConfig, SessionId};

/// The slot part of an id, from its `thread.slot.generation` display form.
fn slot_of(id: SessionId) -> String {
    let s = id.to_string();
    let mut parts = s.split('.');
    format!("{}.{}", parts.next().unwrap(), parts.next().unwrap())
}

fn wait_open(engine: &Engine, n: u64) {
    wait_until(&format!("{n} sessions open"), WAIT, || {
        engine.stats().sessions_open == n
    });
}

#[test]
fn requests_for_a_closed_session_never_reach_the_next_occupant() {
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 1,
            backend,
            ..EngineConfig::default()
        });
        let mut a = connect(addr);
        let a_id = app.expect_opened(&a);
        write_all(&mut a, b"ping");
        app.expect("a's frame", |e| {
            *e == OwnedEvent::Frame(a_id, b"ping".to_vec())
        });
        app.ep.send(a_id, b"pong");
        app.ep.flush();
        assert_eq!(read_n(&mut a, 4), b"pong", "{backend}");
        drop(a);
        assert_eq!(
            app.expect_closed(a_id),
            CloseReason::PeerClosed,
            "{backend}"
        );
        wait_open(&engine, 0);

        // A closed session whose slot is free: dropped.
        let stale0 = engine.stats().stale_requests;
        app.ep.send(a_id, b"to nobody");
        app.ep.flush();
        wait_until("the stale send to be counted", WAIT, || {
            engine.stats().stale_requests == stale0 + 1
        });

        // The slot goes to the next connection, under a new id.
        let mut b = connect(addr);
        let b_id = app.expect_opened(&b);
        assert_ne!(b_id, a_id, "{backend}: a new occupant gets a new id");
        assert_eq!(
            slot_of(b_id),
            slot_of(a_id),
            "{backend}: premise: the slot is reused ({a_id} then {b_id})"
        );

        // Everything aimed at the old id is dropped and counted.
        let stale1 = engine.stats().stale_requests;
        app.ep.send(a_id, b"STALE DATA");
        app.ep
            .send_shared(a_id, &ringport_net::Bytes::from_static(b"STALE SHARED"));
        app.ep.close(a_id);
        // Then a real send to the new occupant, after the stale ones.
        app.ep.send(b_id, b"for b only");
        app.ep.flush();
        assert_eq!(
            read_n(&mut b, 10),
            b"for b only",
            "{backend}: the new occupant receives exactly what was sent to it"
        );
        wait_until("3 stale requests counted", WAIT, || {
            engine.stats().stale_requests == stale1 + 3
        });

        // The stale close did not close b: it still echoes through the app,
        // and no Closed event came for it.
        write_all(&mut b, b"still open");
        app.expect("b's frame", |e| {
            *e == OwnedEvent::Frame(b_id, b"still open".to_vec())
        });
        app.ep.send(b_id, b"yes");
        app.ep.flush();
        assert_eq!(read_n(&mut b, 3), b"yes", "{backend}");
        let rest = app.drain_for(Duration::from_millis(100));
        assert!(
            rest.iter().all(|e| e.session() != b_id),
            "{backend}: unexpected events for b: {rest:?}"
        );
        // Nothing extra is waiting on b's socket.
        b.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut extra = [0u8; 64];
        match b.read(&mut extra) {
            Ok(n) => panic!(
                "{backend}: b received {n} unexpected bytes: {:?}",
                &extra[..n]
            ),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "{backend}: b's socket: {e}"
            ),
        }
        assert_eq!(engine.stats().sessions_open, 1, "{backend}");
        drop(b);
        assert_eq!(
            app.expect_closed(b_id),
            CloseReason::PeerClosed,
            "{backend}"
        );
        engine.shutdown();
        app.until_stopped();
        engine.join().unwrap();
    }
}

/// A slot freed and reused in the same turn of the I/O loop must serve its
/// new session. Connections close while the next ones connect, and a busy
/// client keeps the I/O thread occupied with large sends, so closes and
/// accepts pile up and land in the same batch of completions.
#[test]
fn slots_reused_at_once_serve_their_new_sessions() {
    const WAVE: usize = 32;
    for backend in BACKENDS {
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 1,
                send_queue_limit: 4 << 20,
                ..EngineConfig::default()
            },
            Header5 { max: 1024 },
            Mode::Scripted,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let busy = {
            let (addr, stop) = (server.addr, stop.clone());
            std::thread::spawn(move || {
                let mut c = connect(addr);
                let mut buf = vec![0; 16 * 64 * 1024];
                while !stop.load(Ordering::Relaxed) {
                    write_all(&mut c, &frame(3, &[16]));
                    c.read_exact(&mut buf).unwrap();
                }
            })
        };
        let mut old: Vec<std::net::TcpStream> = Vec::new();
        for wave in 0..30 {
            let mut new = Vec::with_capacity(WAVE);
            for _ in 0..WAVE {
                // Close one of the previous wave, then connect one.
                drop(old.pop());
                new.push(connect(server.addr));
            }
            for (i, c) in new.iter_mut().enumerate() {
                let msg = frame(1, format!("wave {wave} connection {i}").as_bytes());
                echo_ok(c, &msg, &format!("{backend}: wave {wave} connection {i}"));
            }
            old = new;
        }
        stop.store(true, Ordering::Relaxed);
        busy.join().unwrap();
        let s = server.wait_stats("the busy client's session released", |s| {
            s.sessions_open == WAVE as u64
        });
        assert_eq!(
            s.closes_by(CloseReason::PeerClosed),
            29 * WAVE as u64 + 1,
            "{backend}: only the clients' closes: {s:?}"
        );
        drop(old);
        server.wait_stats("every session closed", |s| s.sessions_open == 0);
        server.stop();
    }
}
