//! Graceful endings: shutdown and server close both deliver every byte the
//! application queued before the connection ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::Read;
use std::net::TcpStream;
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use ringport_net::{Bytes, CloseReason, EngineConfig, RecvError};

const CHUNK: usize = 64 * 1024;

/// Chunk `i` of the payload: bytes that identify their position.
fn chunk(i: usize) -> Vec<u8> {
    (0..CHUNK)
        .map(|j| ((i * 131 + j * 7) % 251) as u8)
        .collect()
}

/// Queues `chunks` chunks for `session`, alternating copied and shared
/// sends; returns the bytes the client must receive.
fn queue(app: &mut App, session: ringport_net::SessionId, chunks: usize) -> Vec<u8> {
    let mut all = Vec::with_capacity(chunks * CHUNK);
    for i in 0..chunks {
        let c = chunk(i);
        if i % 2 == 0 {
            app.ep.send(session, &c);
        } else {
            app.ep.send_shared(session, &Bytes::from(c.clone()));
        }
        all.extend_from_slice(&c);
    }
    all
}

/// How a client's read side ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Eof,
    Reset,
}

/// Reads everything until the connection ends (on a thread, so the test
/// can go on driving the application meanwhile).
fn read_to_end(mut c: TcpStream) -> JoinHandle<(Vec<u8>, End)> {
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0; 256 * 1024];
        loop {
            match c.read(&mut buf) {
                Ok(0) => return (got, End::Eof),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return (got, End::Reset)
                }
                Err(e) => panic!("read failed after {} bytes: {e}", got.len()),
            }
        }
    })
}

#[test]
fn shutdown_delivers_everything_queued_then_stops() {
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 2,
            backend,
            send_queue_limit: 64 << 20,
            ..EngineConfig::default()
        });
        let mut busy = connect(addr);
        let busy_id = app.expect_opened(&busy);
        let idle = connect(addr);
        let idle_id = app.expect_opened(&idle);
        write_all(&mut busy, b"go");
        app.expect("the request", |e| {
            *e == OwnedEvent::Frame(busy_id, b"go".to_vec())
        });

        // 8 MiB: far more than the socket buffers hold, and the client reads
        // nothing before the shutdown starts, so most of it is still queued
        // in the engine when it does.
        let want = queue(&mut app, busy_id, 128);
        app.ep.flush();
        engine.shutdown();
        assert!(engine.shutdown_handle().is_shutting_down(), "{backend}");

        let busy_reader = read_to_end(busy);
        let idle_reader = read_to_end(idle);
        let events = app.until_stopped();
        let closes: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, OwnedEvent::Closed(..)))
            .collect();
        assert_eq!(
            closes.len(),
            2,
            "{backend}: one Closed per session: {events:?}"
        );
        for id in [busy_id, idle_id] {
            assert!(
                events.contains(&OwnedEvent::Closed(id, CloseReason::Shutdown)),
                "{backend}: {id} closed with reason Shutdown: {events:?}"
            );
        }
        // After the last event the endpoint says Stopped, and keeps saying it.
        assert_eq!(
            app.ep.recv(Some(Duration::from_millis(10))).err(),
            Some(RecvError::Stopped),
            "{backend}"
        );
        assert_eq!(
            app.ep.try_recv().err(),
            Some(RecvError::Stopped),
            "{backend}"
        );
        let stats = engine.stats();
        engine.join().expect("the I/O threads exit cleanly");

        let (got, end) = busy_reader.join().unwrap();
        assert_eq!(
            got.len(),
            want.len(),
            "{backend}: every queued byte arrives"
        );
        assert!(
            got == want,
            "{backend}: the bytes arrive intact and in order"
        );
        assert_eq!(end, End::Eof, "{backend}: then a clean end of stream");
        let (got, end) = idle_reader.join().unwrap();
        assert!(got.is_empty(), "{backend}: nothing for the idle client");
        assert_eq!(end, End::Eof, "{backend}: idle client sees EOF");

        assert_eq!(stats.closes_by(CloseReason::Shutdown), 2, "{backend}");
        assert_eq!(stats.sessions_open, 0, "{backend}");
        assert_eq!(
            stats.bytes_out,
            want.len() as u64,
            "{backend}: bytes_out counts the flushed bytes"
        );
    }
}

#[test]
fn shutdown_of_an_idle_engine_stops_at_once() {
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 2,
            backend,
            ..EngineConfig::default()
        });
        engine.shutdown();
        assert!(app.until_stopped().is_empty(), "{backend}: no events");
        engine.join().expect("the I/O threads exit cleanly");
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_err(),
            "{backend}: the listener is closed after the engine stopped"
        );
    }
}

/// When the client writes after the server's close, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LateWrite {
    /// It only reads.
    Never,
    /// Right after the application closed the session (the engine is
    /// still flushing the queue).
    AtClose,
    /// Once the engine has released the session (its socket left the
    /// session: without a lingering close, it was closed with bytes still
    /// in flight to the client).
    AfterRelease,
}

/// Server closes per backend in `server_close_flushes_queued_data_before_closing`.
const CLOSE_ROUNDS: usize = 50;

/// A server close flushes the session's queue first, and every queued byte
/// reaches the client followed by EOF, also when the client writes after
/// the close (the engine lingers: shuts down writing and reads until the
/// client's FIN; without that, Linux answers the late write with a reset
/// that throws away bytes still in flight). 50 closes per backend, with
/// queues of 256 KiB (fits in the socket buffers: flushed and released
/// before the client reads) and 4 MiB, and the client writing never, at
/// the close, or after the release; nothing it writes reaches the
/// application.
#[test]
fn server_close_flushes_queued_data_before_closing() {
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 2,
            backend,
            send_queue_limit: 64 << 20,
            ..EngineConfig::default()
        });
        let mut other = connect(addr);
        let other_id = app.expect_opened(&other);
        let mut closed = Vec::new();
        let mut failures = Vec::new();
        for round in 0..CLOSE_ROUNDS {
            let late = [
                LateWrite::Never,
                LateWrite::AtClose,
                LateWrite::AfterRelease,
            ][round % 3];
            let chunks = if round % 2 == 0 { 4 } else { 64 };
            let mut c = connect(addr);
            let id = app.expect_opened(&c);
            write_all(&mut c, b"go");
            app.expect("the request", |e| {
                *e == OwnedEvent::Frame(id, b"go".to_vec())
            });
            let want = queue(&mut app, id, chunks);
            app.ep.close(id);
            app.ep.flush();
            assert_eq!(app.expect_closed(id), CloseReason::ServerClose, "{backend}");
            closed.push(id);
            if late == LateWrite::AtClose {
                let _ = std::io::Write::write_all(&mut c, b"too late");
            }
            let (got, end) = read_with_late_write(&mut c, &engine, late == LateWrite::AfterRelease);
            drop(c);
            if got != want || end != End::Eof {
                let intact = want.starts_with(&got);
                failures.push(format!(
                    "round {round} ({late:?}, {} KiB): got {} bytes{}, then {end:?}",
                    want.len() / 1024,
                    got.len(),
                    if intact {
                        ""
                    } else {
                        " NOT a prefix of the queue"
                    },
                ));
            }
            wait_until("the closed session to be released", WAIT, || {
                engine.stats().sessions_open == 1
            });
        }
        eprintln!(
            "{backend}: {} of {CLOSE_ROUNDS} server closes lost bytes or ended without EOF",
            failures.len()
        );
        assert!(
            failures.is_empty(),
            "{backend}: every queued byte arrives, then EOF, in every round; failed: {failures:#?}"
        );

        // The engine carries on with its other sessions, and nothing the
        // clients wrote after their close reached the application.
        write_all(&mut other, b"ping");
        app.expect("the other frame", |e| {
            *e == OwnedEvent::Frame(other_id, b"ping".to_vec())
        });
        let rest = app.drain_for(Duration::from_millis(100));
        assert!(
            rest.iter().all(|e| !closed.contains(&e.session())),
            "{backend}: events after Closed: {rest:?}"
        );
        let stats = engine.stats();
        assert_eq!(
            stats.closes_by(CloseReason::ServerClose),
            CLOSE_ROUNDS as u64,
            "{backend}"
        );
        drop(other);
        assert_eq!(
            app.expect_closed(other_id),
            CloseReason::PeerClosed,
            "{backend}"
        );
        engine.shutdown();
        app.until_stopped();
        engine.join().unwrap();
    }
}

/// Reads until the connection ends. With `late_write`, lets the engine
/// flush into the socket buffers first (up to 200 ms without reading), then
/// writes a few bytes as soon as the engine has released the session (one
/// other session open), while bytes may still be on their way.
fn read_with_late_write(
    c: &mut TcpStream,
    engine: &ringport_net::Engine,
    late_write: bool,
) -> (Vec<u8>, End) {
    let released = || engine.stats().sessions_open == 1;
    let mut pending = late_write;
    if pending {
        let until = std::time::Instant::now() + Duration::from_millis(200);
        while !released() && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let mut got = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        if pending && released() {
            pending = false;
            let _ = std::io::Write::write_all(c, b"too late");
        }
        match c.read(&mut buf) {
            Ok(0) => return (got, End::Eof),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, End::Reset),
            Err(e) => panic!("read failed after {} bytes: {e}", got.len()),
        }
    }
}
