//! Descriptor exhaustion: when accept fails with EMFILE the engine counts
//! it, backs off instead of spinning, keeps serving its sessions, and
//! accepts the waiting connections once descriptors are free again.
//!
//! The open-file limit is process-wide, so this file holds a single test
//! (its own process) and nothing else runs while the limit is lowered.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::fs::File;
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use ringport_net::{EngineConfig, RawFraming};

/// Clients connecting while descriptors are short.
const CLIENTS: usize = 12;
/// Descriptors left free for the engine: it can accept this many.
const FREE: usize = 4;

fn highest_open_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap()
}

#[test]
fn accept_backs_off_on_descriptor_exhaustion_and_recovers() {
    let original = nofile_soft_limit();
    let cpu_clock = ProcessCpu::open();
    for backend in BACKENDS {
        // Lower the limit before the engine starts: io_uring's multishot
        // accept takes the limit in force when it is armed.
        set_nofile_soft_limit(highest_open_fd() + 128);
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 2,
                ..EngineConfig::default()
            },
            RawFraming,
            Mode::Echo,
        );
        let sockets: Vec<socket2::Socket> = (0..CLIENTS)
            .map(|_| {
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap()
            })
            .collect();
        // Take every free descriptor, then give back exactly FREE.
        let null = File::open("/dev/null").unwrap();
        let mut filler = Vec::new();
        loop {
            match null.try_clone() {
                Ok(f) => filler.push(f),
                Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
                Err(e) => panic!("{backend}: duplicating a descriptor: {e}"),
            }
        }
        filler.truncate(filler.len() - FREE);

        // Every connect completes (the kernel queues the connection); the
        // engine can take FREE of them and fails to accept the rest.
        let mut clients: Vec<TcpStream> = sockets
            .into_iter()
            .map(|s| {
                s.connect(&server.addr.into()).unwrap();
                let s = TcpStream::from(s);
                s.set_read_timeout(Some(WAIT)).unwrap();
                s
            })
            .collect();
        let s = server.wait_stats("accept to fail", |s| {
            s.accept_errors >= 1 && s.sessions_open == FREE as u64
        });
        assert_eq!(s.accepted, FREE as u64, "{backend}: {s:?}");

        // Backing off, not spinning: few failed attempts and little CPU
        // over a second (a spinning thread would burn most of it).
        let (errors0, cpu0) = (server.stats().accept_errors, cpu_clock.time());
        std::thread::sleep(Duration::from_secs(1));
        let (errors1, cpu1) = (server.stats().accept_errors, cpu_clock.time());
        let retries = errors1 - errors0;
        let cpu = cpu1 - cpu0;
        eprintln!("{backend}: {retries} failed accepts and {cpu:?} CPU in 1 s of exhaustion");
        assert!(
            retries <= 60,
            "{backend}: {retries} failed accepts in one second: not backing off"
        );
        assert!(
            cpu < Duration::from_millis(500),
            "{backend}: {cpu:?} of CPU in one second of exhaustion: spinning"
        );

        // The sessions it has keep working meanwhile (the queue is FIFO: the
        // first FREE clients are the accepted ones).
        for (i, c) in clients.iter_mut().take(FREE).enumerate() {
            echo_ok(c, format!("during {i}").as_bytes(), &format!("{backend}"));
        }

        // Descriptors come back: the waiting connections are accepted.
        drop(filler);
        set_nofile_soft_limit(original);
        server.wait_stats("every waiting connection accepted", |s| {
            s.sessions_open == CLIENTS as u64
        });
        for (i, c) in clients.iter_mut().enumerate() {
            echo_ok(c, format!("after {i}").as_bytes(), &format!("{backend}"));
        }
        drop(clients);
        server.wait_stats("every session closed", |s| s.sessions_open == 0);
        let stats = server.stop();
        assert_eq!(stats.accepted, CLIENTS as u64, "{backend}");
        assert_eq!(stats.refused, 0, "{backend}");
    }
}
