//! Thousands of concurrent connections, every one echoing its own bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use ringport_net::{CloseReason, EngineConfig, RawFraming};

const WANTED: usize = 5_000;
const MINIMUM: usize = 1_000;
const CLIENT_THREADS: usize = 4;
const ROUNDS: usize = 3;
/// Descriptors beyond two per connection (engine, test harness, stdio).
const SPARE_FDS: u64 = 256;

/// A payload nobody else sends: the connection number and round, then bytes
/// derived from both, with a length that varies by connection.
fn payload(conn: usize, round: usize) -> Vec<u8> {
    let mut p = format!("<{conn}:{round}>").into_bytes();
    let extra = 16 + (conn * 31 + round * 7) % 200;
    let mut x = (conn as u32).wrapping_mul(2_654_435_761) ^ round as u32;
    for _ in 0..extra {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p.push(x as u8);
    }
    p
}

fn client(addr: SocketAddr, conns: Vec<usize>, connected: Arc<AtomicUsize>, go: Arc<AtomicBool>) {
    let mut socks: Vec<(usize, TcpStream)> =
        conns.into_iter().map(|c| (c, connect(addr))).collect();
    connected.fetch_add(1, Ordering::SeqCst);
    wait_until("the go signal", WAIT * 3, || go.load(Ordering::SeqCst));
    for round in 0..ROUNDS {
        for (conn, s) in socks.iter_mut() {
            s.write_all(&payload(*conn, round)).unwrap();
        }
        for (conn, s) in socks.iter_mut() {
            let want = payload(*conn, round);
            let mut got = vec![0; want.len()];
            s.read_exact(&mut got)
                .unwrap_or_else(|e| panic!("connection {conn} round {round}: {e}"));
            assert!(got == want, "connection {conn} round {round}: wrong bytes");
        }
    }
    // Every connection still open at the end: the last echo came back and
    // nothing else is waiting.
    drop(socks);
}

#[test]
fn five_thousand_connections_echo_their_own_bytes() {
    let limit = raise_nofile_limit();
    let needed = 2 * WANTED as u64 + SPARE_FDS;
    let n = if limit >= needed {
        WANTED
    } else {
        let n = (limit.saturating_sub(SPARE_FDS) / 2) as usize;
        eprintln!(
            "\n*** RLIMIT_NOFILE hard limit is {limit}, {needed} needed for {WANTED} \
             connections: SCALING DOWN to {n} connections ***\n"
        );
        n
    };
    assert!(
        n >= MINIMUM,
        "open-file limit {limit} allows only {n} connections; at least {MINIMUM} needed"
    );

    for backend in BACKENDS {
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 2,
                max_sessions: n + 16,
                ..EngineConfig::default()
            },
            RawFraming,
            Mode::Echo,
        );
        let connected = Arc::new(AtomicUsize::new(0));
        let go = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENT_THREADS)
            .map(|t| {
                let conns: Vec<usize> = (t..n).step_by(CLIENT_THREADS).collect();
                let (addr, connected, go) = (server.addr, connected.clone(), go.clone());
                std::thread::spawn(move || client(addr, conns, connected, go))
            })
            .collect();
        wait_until("every client connected", WAIT * 3, || {
            assert!(
                !clients.iter().any(|c| c.is_finished()),
                "{backend}: a client thread ended early (failed to connect?)"
            );
            connected.load(Ordering::SeqCst) == CLIENT_THREADS
        });
        // Every connection is open at once before any byte is sent.
        let s = server.wait_stats("every session open", |s| s.sessions_open == n as u64);
        assert_eq!(s.accepted, n as u64, "{backend}: accepted");
        assert_eq!(s.refused, 0, "{backend}: refused");
        go.store(true, Ordering::SeqCst);
        for c in clients {
            if let Err(e) = c.join() {
                std::panic::resume_unwind(e);
            }
        }
        server.wait_stats("every session closed", |s| s.sessions_open == 0);
        // Released sessions' Closed events may still be on their way to the
        // application.
        server.wait_log("every Closed event", |l| l.closed.len() >= n);
        let log_closed = {
            let log = server.log.lock().unwrap();
            assert_eq!(log.opened.len(), n, "{backend}: Opened events");
            log.closes_with(CloseReason::PeerClosed)
        };
        assert_eq!(log_closed, n, "{backend}: every session closed by its peer");
        let stats = server.stop();
        let bytes: u64 = (0..n)
            .flat_map(|c| (0..ROUNDS).map(move |r| payload(c, r).len() as u64))
            .sum();
        assert_eq!(stats.bytes_in, bytes, "{backend}: bytes in");
        assert_eq!(stats.bytes_out, bytes, "{backend}: bytes out");
        eprintln!("{backend}: {n} connections, {bytes} bytes each way");
    }
}
