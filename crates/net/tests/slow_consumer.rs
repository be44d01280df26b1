//! Backpressure: a client that never reads is disconnected as a slow
//! consumer once its queue passes the limit; nobody else waits for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::Write;
use std::time::Instant;

use common::*;
use ringport_net::{CloseReason, EngineConfig};

#[test]
fn a_client_that_never_reads_is_closed_and_others_keep_going() {
    for backend in BACKENDS {
        let limit = 256 * 1024;
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 2,
                send_queue_limit: limit,
                ..EngineConfig::default()
            },
            Header5 { max: 1024 },
            Mode::Scripted,
        );
        let mut normal = connect(server.addr);
        echo_ok(
            &mut normal,
            &frame(1, b"hello"),
            &format!("{backend}: first"),
        );
        let normal_id = server.session_of(&normal);

        let mut slow = connect(server.addr);
        let slow_id = server.session_of(&slow);
        // Each request makes the application queue 2 × 64 KiB for the slow
        // client, which reads nothing: the socket buffers fill up, then the
        // engine's queue grows until it passes the limit.
        let deadline = Instant::now() + WAIT;
        let mut requests = 0;
        let mut echoes_during = 0;
        while server.stats().closes_by(CloseReason::SlowConsumer) == 0 {
            assert!(
                Instant::now() < deadline,
                "{backend}: never closed as a slow consumer after {requests} requests: {:?}",
                server.stats()
            );
            if slow.write_all(&frame(3, &[2])).is_ok() {
                requests += 1;
            }
            // The other client is served meanwhile, round trip by round trip.
            let msg = frame(1, format!("during {echoes_during}").as_bytes());
            echo_ok(&mut normal, &msg, &format!("{backend}: during"));
            echoes_during += 1;
        }
        assert!(
            requests >= 2,
            "{backend}: closed after {requests} request(s): the limit is {limit}, \
             and socket buffers should absorb the first 128 KiB"
        );
        assert_eq!(
            server.wait_closed(slow_id),
            CloseReason::SlowConsumer,
            "{backend}: the slow client's close reason"
        );
        // The slow client eventually sees the connection end (after reading
        // whatever had reached its socket).
        assert!(
            is_closed(&mut slow),
            "{backend}: slow client sees the close"
        );

        for i in 0..20 {
            let msg = frame(1, format!("after {i}").as_bytes());
            echo_ok(&mut normal, &msg, &format!("{backend}: after"));
        }
        let stats = server.stats();
        assert_eq!(
            stats.closes_by(CloseReason::SlowConsumer),
            1,
            "{backend}: exactly one slow consumer"
        );
        assert_eq!(stats.sessions_open, 1, "{backend}: the normal client stays");
        assert_eq!(
            server.log.lock().unwrap().close_reason(normal_id),
            None,
            "{backend}: the normal client was not closed"
        );
        eprintln!("{backend}: slow consumer closed after {requests} requests, {echoes_during} echoes meanwhile");
        drop(normal);
        server.wait_stats("close", |s| s.sessions_open == 0);
        server.stop();
    }
}

/// Bytes the kernel took for a client that never reads, before the engine
/// cut it off as a slow consumer (the only session, so the server's
/// `bytes_out` is all its own).
fn bytes_taken_before_cutoff(
    backend: ringport_net::BackendChoice,
    socket_send_buffer: usize,
) -> u64 {
    let server = Server::start(
        backend,
        EngineConfig {
            io_threads: 1,
            send_queue_limit: 256 * 1024,
            socket_send_buffer,
            ..EngineConfig::default()
        },
        Header5 { max: 1024 },
        Mode::Scripted,
    );
    let mut slow = connect(server.addr);
    let deadline = Instant::now() + WAIT;
    while server.stats().closes_by(CloseReason::SlowConsumer) == 0 {
        assert!(
            Instant::now() < deadline,
            "{backend}: never closed as a slow consumer: {:?}",
            server.stats()
        );
        // 64 KiB queued per request; the client reads nothing.
        let _ = slow.write_all(&frame(3, &[1]));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    drop(slow);
    server.wait_stats("close", |s| s.sessions_open == 0);
    server.stop().bytes_out
}

#[test]
fn a_small_socket_send_buffer_cuts_slow_readers_sooner() {
    for backend in BACKENDS {
        let default = bytes_taken_before_cutoff(backend, 0);
        let small = bytes_taken_before_cutoff(backend, 4096);
        eprintln!("{backend}: kernel took {default} bytes by default, {small} with SO_SNDBUF 4096");
        // With 4096 the kernel's send buffer is ~8 KiB (it doubles the
        // value), so what it takes is bounded by that plus the client's
        // receive window; by default it autotunes far beyond.
        assert!(
            small * 2 < default,
            "{backend}: SO_SNDBUF 4096 should bound what the kernel takes: \
             {small} bytes vs {default} by default"
        );
    }
}
