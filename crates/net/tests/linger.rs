//! The lingering close is bounded: a socket closed after its queue was
//! flushed lingers (writing shut down, late input dropped) only until the
//! peer's FIN or `linger_timeout`, at most `linger_max` per I/O thread, and
//! a shutting-down engine waits for its lingering sockets no longer than
//! that.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use ringport_net::{CloseReason, EngineConfig, SessionId};

/// The I/O thread's sweep interval: lingering sockets are checked on it.
const TICK: Duration = Duration::from_millis(250);
/// Scheduling noise allowed on top of a deadline (the machine is shared).
const SLACK: Duration = Duration::from_secs(2);

/// The inode of the server side of the connection whose client is
/// `client`, from /proc/net/tcp (0 once the engine closed its descriptor:
/// an orphan socket has none). Read a few times: the table is read in
/// pieces and may miss a line while other sockets come and go.
fn server_side_inode(server: SocketAddr, client: &TcpStream) -> Option<u64> {
    let client_port = client.local_addr().unwrap().port();
    let port = |a: &str| u16::from_str_radix(a.rsplit(':').next()?, 16).ok();
    (0..5).find_map(|_| {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        table.lines().skip(1).find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() > 9 && port(f[1]) == Some(server.port()) && port(f[2]) == Some(client_port))
                .then(|| f[9].parse().unwrap())
        })
    })
}

/// Whether this process holds a descriptor of the socket with `inode`.
fn socket_fd_open(inode: u64) -> bool {
    let want = format!("socket:[{inode}]");
    inode != 0
        && std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .any(|e| std::fs::read_link(e.path()).is_ok_and(|p| p.to_string_lossy() == want))
}

/// Whether the engine still holds the server side of `client`'s connection.
fn server_side_open(server: SocketAddr, client: &TcpStream) -> bool {
    server_side_inode(server, client).is_some_and(socket_fd_open)
}

/// Reads until the connection ends; `Ok` on EOF, `Err` on a reset.
fn read_to_eof(c: &mut TcpStream) -> Result<Vec<u8>, Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(got),
        }
    }
}

/// Connects a client and has the application close its session at once
/// (after queueing `data`); returns once the engine released the session.
fn closed_by_server(app: &mut App, engine: &ringport_net::Engine, data: &[u8]) -> TcpStream {
    let open = engine.stats().sessions_open;
    let c = connect(engine.local_addr());
    let id: SessionId = app.expect_opened(&c);
    if !data.is_empty() {
        app.ep.send(id, data);
    }
    app.ep.close(id);
    app.ep.flush();
    assert_eq!(app.expect_closed(id), CloseReason::ServerClose);
    wait_until("the session to be released", WAIT, || {
        engine.stats().sessions_open == open
    });
    c
}

/// A client that neither reads nor closes after the server's close (and
/// writes to it) is cut once `linger_timeout` has passed: the engine's
/// descriptor is closed, not before the deadline and not much after it.
/// The client still gets every byte, then EOF, and nothing it wrote late
/// reaches the application.
#[test]
fn a_silent_peer_is_cut_after_linger_timeout() {
    let timeout = Duration::from_secs(2);
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 1,
            backend,
            linger_timeout: timeout,
            ..EngineConfig::default()
        });
        let want: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut c = closed_by_server(&mut app, &engine, &want);
        let released = Instant::now();
        let s = engine.stats();
        assert_eq!((s.lingering, s.lingered), (1, 1), "{backend}: {s:?}");
        let inode = server_side_inode(addr, &c).unwrap_or(0);
        assert!(
            socket_fd_open(inode),
            "{backend}: the descriptor lingers after the session was released"
        );
        std::io::Write::write_all(&mut c, b"late bytes, dropped").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let open = socket_fd_open(inode);
        let at = released.elapsed();
        // (Unless this thread was held up until the deadline passed.)
        assert!(
            open || at >= timeout,
            "{backend}: still lingering {at:?} after the release, before linger_timeout (the peer has not closed)"
        );
        wait_until(
            "the lingering descriptor to be closed",
            timeout + TICK + SLACK,
            || !socket_fd_open(inode),
        );
        let cut = released.elapsed();
        let s = engine.stats();
        assert_eq!(
            (s.lingering, s.linger_timeouts, s.linger_evicted),
            (0, 1, 0),
            "{backend}: {s:?}"
        );
        eprintln!("{backend}: lingering descriptor closed {cut:?} after the release");
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let got = read_to_eof(&mut c);
        assert!(
            got.as_ref().is_ok_and(|g| *g == want),
            "{backend}: every byte, then EOF: {:?} bytes",
            got.map(|g| g.len())
        );
        let rest = app.drain_for(Duration::from_millis(50));
        assert!(rest.is_empty(), "{backend}: late bytes delivered: {rest:?}");
        engine.shutdown();
        app.until_stopped();
        engine.join().unwrap();
    }
}

/// At most `linger_max` sockets linger per I/O thread: one more closes the
/// oldest at once (counted). A peer's FIN ends its socket's lingering at
/// the next check.
#[test]
fn at_most_linger_max_sockets_linger() {
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 1,
            backend,
            linger_timeout: Duration::from_secs(30),
            linger_max: 3,
            ..EngineConfig::default()
        });
        let clients: Vec<TcpStream> = (0..5)
            .map(|_| closed_by_server(&mut app, &engine, b"bye"))
            .collect();
        let s = engine.stats();
        assert_eq!(
            (s.lingering, s.lingered, s.linger_evicted),
            (3, 5, 2),
            "{backend}: {s:?}"
        );
        let open: Vec<bool> = clients.iter().map(|c| server_side_open(addr, c)).collect();
        assert_eq!(
            open,
            [false, false, true, true, true],
            "{backend}: the two oldest were closed, the three newest linger"
        );
        for mut c in clients {
            assert_eq!(read_to_eof(&mut c).ok(), Some(b"bye".to_vec()), "{backend}");
        }
        // The clients are closed: the next check closes their sockets.
        wait_until("the lingering sockets to see FIN", TICK + SLACK, || {
            engine.stats().lingering == 0
        });
        assert_eq!(engine.stats().linger_timeouts, 0, "{backend}");
        engine.shutdown();
        app.until_stopped();
        engine.join().unwrap();
    }
}

/// At shutdown the I/O thread waits for its lingering sockets, at most
/// `linger_timeout`: a client that reads everything and closes ends its
/// lingering at once, one that keeps its connection open (after writing
/// late) is cut at the deadline, and the thread then exits. Both get every
/// queued byte, then EOF.
#[test]
fn shutdown_waits_for_lingering_sockets_at_most_linger_timeout() {
    let timeout = Duration::from_secs(1);
    for backend in BACKENDS {
        let (engine, mut app, addr) = start_raw(EngineConfig {
            io_threads: 1,
            backend,
            linger_timeout: timeout,
            ..EngineConfig::default()
        });
        let mut polite = connect(addr);
        let polite_id = app.expect_opened(&polite);
        let mut silent = connect(addr);
        let silent_id = app.expect_opened(&silent);
        let want: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        app.ep.send(polite_id, &want);
        app.ep.send(silent_id, &want);
        app.ep.flush();
        engine.shutdown();
        wait_until("both sessions to be released", WAIT, || {
            engine.stats().sessions_open == 0
        });
        let released = Instant::now();
        std::io::Write::write_all(&mut silent, b"late").unwrap();
        for c in [&mut polite, &mut silent] {
            assert_eq!(
                read_to_eof(c).map(|g| g.len()),
                Ok(want.len()),
                "{backend}: every byte, then EOF"
            );
        }
        drop(polite);
        let events = app.until_stopped();
        let stats = engine.join().unwrap();
        let waited = released.elapsed();
        eprintln!("{backend}: I/O thread exited {waited:?} after the release");
        assert!(
            waited <= timeout + SLACK,
            "{backend}: exited {waited:?} after the release (linger_timeout {timeout:?})"
        );
        assert!(!server_side_open(addr, &silent), "{backend}");
        assert_eq!(
            (stats.lingering, stats.lingered, stats.linger_timeouts),
            (0, 2, 1),
            "{backend}: the polite client's socket ended on its FIN, the silent one's at the deadline: {stats:?}"
        );
        let closes = events
            .iter()
            .filter(|e| matches!(e, OwnedEvent::Closed(_, CloseReason::Shutdown)))
            .count();
        assert_eq!(closes, 2, "{backend}: {events:?}");
    }
}
