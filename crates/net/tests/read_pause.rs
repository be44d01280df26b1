//! Reading paused per session: by the application
//! (`Endpoint::pause_reading`) and by the session's own output passing the
//! send queue's high-water mark. Paused input waits in the kernel (the
//! client's writes stall); nothing is lost or reordered; resumed sessions
//! deliver every byte in order; other sessions are not disturbed.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;
use ringport_net::{CloseReason, EngineConfig};

const TOTAL: usize = 8 << 20;

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// Appends the frames of `events` for `session` to `got`; panics on a close.
fn take_frames(events: Vec<OwnedEvent>, session: ringport_net::SessionId, got: &mut Vec<u8>) {
    for ev in events {
        match ev {
            OwnedEvent::Frame(s, f) if s == session => got.extend_from_slice(&f),
            OwnedEvent::Closed(s, r) if s == session => panic!("session closed: {r}"),
            _ => {}
        }
    }
}

#[test]
fn a_paused_session_is_not_read_and_resumes_in_order() {
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 1,
            backend,
            ..EngineConfig::default()
        });
        let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
        let mut c = connect(addr);
        let session = app.expect_opened(&c);
        app.ep.pause_reading(session);
        app.ep.flush();
        let mut other = connect(addr);
        let other_id = app.expect_opened(&other);
        let writer = std::thread::spawn(move || {
            c.write_all(&data).unwrap();
            c
        });

        // Frames already on their way may arrive; then nothing until resumed.
        let mut got = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let before = got.len();
            take_frames(app.drain_for(Duration::from_millis(400)), session, &mut got);
            if got.len() == before || Instant::now() > deadline {
                break;
            }
        }
        assert!(
            got.len() < 1 << 20,
            "{backend}: {} bytes delivered while paused",
            got.len()
        );
        assert!(
            !writer.is_finished(),
            "{backend}: the writer is not stalled"
        );
        // Another session is served meanwhile.
        other.write_all(b"ping").unwrap();
        let ev = app.expect("the other session's frame", |e| e.session() == other_id);
        assert_eq!(ev, OwnedEvent::Frame(other_id, b"ping".to_vec()));

        // Pause and resume many times while the data flows: order holds.
        for round in 0..40 {
            if round % 2 == 0 {
                app.ep.resume_reading(session);
            } else {
                app.ep.pause_reading(session);
            }
            app.ep.flush();
            take_frames(app.drain_for(Duration::from_millis(15)), session, &mut got);
        }
        app.ep.resume_reading(session);
        app.ep.resume_reading(session); // idempotent
        app.ep.flush();
        let deadline = Instant::now() + WAIT;
        while got.len() < TOTAL {
            assert!(
                Instant::now() < deadline,
                "{backend}: only {} of {TOTAL} bytes after resuming",
                got.len()
            );
            take_frames(app.drain_for(Duration::from_millis(50)), session, &mut got);
        }
        assert_eq!(got.len(), TOTAL, "{backend}: nothing extra");
        let bad = got.iter().enumerate().position(|(i, &b)| b != pattern(i));
        assert_eq!(bad, None, "{backend}: bytes out of order");
        let c = writer.join().unwrap();
        drop(c);
        assert_eq!(app.expect_closed(session), CloseReason::PeerClosed);
        drop(other);
        app.expect_closed(other_id);
        engine.shutdown();
        app.until_stopped();
        engine.join().unwrap();
    }
}

#[test]
fn a_pause_for_a_closed_session_is_stale_and_harmless() {
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 1,
            backend,
            ..EngineConfig::default()
        });
        let c = connect(addr);
        let session = app.expect_opened(&c);
        drop(c);
        app.expect_closed(session);
        app.ep.pause_reading(session);
        app.ep.resume_reading(session);
        app.ep.flush();
        // The slot is reused by the next connection, which must be read.
        let mut d = connect(addr);
        let next = app.expect_opened(&d);
        d.write_all(b"hello").unwrap();
        let ev = app.expect("the next session's frame", |e| e.session() == next);
        assert_eq!(ev, OwnedEvent::Frame(next, b"hello".to_vec()));
        wait_until("stale requests counted", WAIT, || {
            engine.stats().stale_requests >= 2
        });
        engine.shutdown();
        app.until_stopped();
        engine.join().unwrap();
    }
}

/// A client that pipelines echo requests without reading: its output passes
/// the high-water mark, the engine stops reading it (its writes stall)
/// instead of closing it, and once it reads, everything comes back in order.
#[test]
fn a_client_that_sends_faster_than_it_reads_is_slowed_not_cut() {
    for backend in BACKENDS {
        let server = Server::echo(backend);
        // More than the kernel's buffers on both sides can hold (send and
        // receive buffers autotune to 4 and 6 MiB, twice over on loopback).
        const TOTAL: usize = 48 << 20;
        let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
        let mut c = connect(server.addr);
        let session = server.session_of(&c);
        let mut w = c.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            w.write_all(&data).unwrap();
        });
        server.wait_stats("an output pause", |s| s.output_pauses >= 1);
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            !writer.is_finished(),
            "{backend}: the writer should be stalled by the paused reads"
        );
        let queued = server.stats().max_queued_bytes;
        assert!(
            queued <= EngineConfig::default().send_queue_limit as u64,
            "{backend}: {queued} bytes queued"
        );
        // Now read everything.
        let mut back = vec![0u8; TOTAL];
        if let Err(e) = c.read_exact(&mut back) {
            panic!("{backend}: reading the echo: {e}; {:?}", server.stats());
        }
        writer.join().unwrap();
        let bad = back.iter().enumerate().position(|(i, &b)| b != pattern(i));
        assert_eq!(bad, None, "{backend}: echo out of order");
        assert_eq!(
            server.log.lock().unwrap().close_reason(session),
            None,
            "{backend}: the pipelining client was not closed"
        );
        let stats = server.stats();
        assert_eq!(stats.closes_by(CloseReason::SlowConsumer), 0, "{backend}");
        drop(c);
        server.wait_stats("close", |s| s.sessions_open == 0);
        server.stop();
    }
}

/// A client that reads nothing while the server keeps sending to it (the
/// fan-out case: its own reads are not what fills its queue) is closed once
/// its socket has taken nothing for `send_stall_timeout`, well below the
/// hard limit.
#[test]
fn a_client_whose_socket_takes_nothing_is_closed_after_the_stall_timeout() {
    for backend in BACKENDS {
        let stall = Duration::from_secs(1);
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 1,
                send_queue_limit: 64 << 20,
                send_stall_timeout: Some(stall),
                ..EngineConfig::default()
            },
            Header5 { max: 1024 },
            Mode::Scripted,
        );
        let mut slow = connect(server.addr);
        let slow_id = server.session_of(&slow);
        // Enough to fill the kernel's buffers (both sides autotune to a few
        // MiB) and leave plenty queued: 255 × 64 KiB.
        slow.write_all(&frame(3, &[255])).unwrap();
        let start = Instant::now();
        assert_eq!(
            server.wait_closed(slow_id),
            CloseReason::SlowConsumer,
            "{backend}"
        );
        let took = start.elapsed();
        assert!(took >= stall, "{backend}: closed after {took:?}");
        let stats = server.stats();
        assert_eq!(stats.send_stalls, 1, "{backend}: closed by the stall rule");
        eprintln!("{backend}: non-reader closed after {took:?}");
        drop(slow);
        server.wait_stats("close", |s| s.sessions_open == 0);
        server.stop();
    }
}
