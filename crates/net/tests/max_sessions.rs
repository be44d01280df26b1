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

/// Connects to `addr` from the loopback source address `source`
/// (127.0.0.0/8 is all loopback, so 127.0.0.2 works without setup).
fn connect_from(source: [u8; 4], addr: std::net::SocketAddr) -> std::net::TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from((source, 0)).into())
        .unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: std::net::TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

#[test]
fn one_address_cannot_take_more_than_its_share() {
    const PER_IP: usize = 3;
    for backend in BACKENDS {
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 2,
                max_sessions: 100,
                max_sessions_per_ip: PER_IP,
                ..EngineConfig::default()
            },
            RawFraming,
            Mode::Echo,
        );
        let mut hog: Vec<_> = (0..PER_IP)
            .map(|_| connect_from([127, 0, 0, 2], server.addr))
            .collect();
        for (i, c) in hog.iter_mut().enumerate() {
            echo_ok(c, format!("hog {i}").as_bytes(), &format!("{backend}"));
        }
        let mut extra = connect_from([127, 0, 0, 2], server.addr);
        assert!(
            is_closed(&mut extra),
            "{backend}: over the per-address bound"
        );
        let s = server.wait_stats("the refusal", |s| s.refused_per_ip == 1);
        assert_eq!(s.refused, 1, "{backend}");

        // Other addresses are not affected.
        let mut others: Vec<_> = (0..PER_IP)
            .map(|_| connect_from([127, 0, 0, 3], server.addr))
            .collect();
        for (i, c) in others.iter_mut().enumerate() {
            echo_ok(c, format!("other {i}").as_bytes(), &format!("{backend}"));
        }

        // A session of the hog closes: its address may connect once more.
        drop(hog.remove(0));
        server.wait_stats("the close", |s| s.sessions_open == 2 * PER_IP as u64 - 1);
        let mut again = connect_from([127, 0, 0, 2], server.addr);
        echo_ok(&mut again, b"back", &format!("{backend}"));
        server.stop();
    }
}
