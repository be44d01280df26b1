//! The session limit: a connection over `max_sessions` is accepted and
//! closed at once (never left hanging in the backlog), and counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use ringport_net::{EngineConfig, RawFraming};

const N: usize = 8;

#[test]
fn connections_over_the_limit_are_refused_at_once() {
    for backend in BACKENDS {
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 2,
                max_sessions: N,
                ..EngineConfig::default()
            },
            RawFraming,
            Mode::Echo,
        );
        let mut clients: Vec<_> = (0..N).map(|_| connect(server.addr)).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            echo_ok(c, format!("client {i}").as_bytes(), &format!("{backend}"));
        }
        server.wait_stats("N sessions", |s| s.sessions_open == N as u64);

        // Connection N+1: connect succeeds (the kernel completes the
        // handshake), then the engine closes it. The read must end with
        // EOF or reset well before the timeout, not block.
        let mut extra = connect(server.addr);
        extra
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = std::io::Write::write_all(&mut extra, b"anyone there?");
        assert!(
            is_closed(&mut extra),
            "{backend}: the connection over the limit is closed, not left waiting"
        );
        let s = server.wait_stats("the refusal to be counted", |s| s.refused == 1);
        assert_eq!(s.accepted, N as u64, "{backend}: refused is not accepted");
        assert_eq!(s.sessions_open, N as u64, "{backend}");
        assert_eq!(
            server.log.lock().unwrap().opened.len(),
            N,
            "{backend}: no Opened event for a refused connection"
        );

        // The sessions in place are unaffected.
        for (i, c) in clients.iter_mut().enumerate() {
            echo_ok(c, format!("again {i}").as_bytes(), &format!("{backend}"));
        }

        // One leaves: room for exactly one more.
        drop(clients.remove(0));
        server.wait_stats("a session to close", |s| s.sessions_open == N as u64 - 1);
        let mut next = connect(server.addr);
        echo_ok(&mut next, b"welcome", &format!("{backend}: after a close"));
        clients.push(next);
        server.wait_stats("N sessions again", |s| s.sessions_open == N as u64);

        let mut extra2 = connect(server.addr);
        assert!(is_closed(&mut extra2), "{backend}: full again");
        let s = server.wait_stats("the second refusal", |s| s.refused == 2);
        assert_eq!(s.accepted, N as u64 + 1, "{backend}");

        drop(clients);
        server.wait_stats("every session closed", |s| s.sessions_open == 0);
        server.stop();
    }
}
