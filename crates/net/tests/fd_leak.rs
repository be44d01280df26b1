//! Descriptors: thousands of connect/close cycles leave no descriptor
//! behind, and a stopped engine releases all of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::{Read, Write};

use common::*;
use ringport_net::CloseReason;

const CYCLES: usize = 10_000;
const THREADS: usize = 4;
/// Descriptors that may legitimately come and go around the measurement.
const SLACK: usize = 2;

#[test]
fn connect_close_cycles_leak_no_descriptor() {
    raise_nofile_limit();
    for backend in BACKENDS {
        let before_engine = open_fds();
        let server = Server::echo(backend);
        let before = open_fds();
        let addr = server.addr;
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..CYCLES / THREADS {
                        let mut c = connect(addr);
                        let b = [(t * 31 + i) as u8];
                        c.write_all(&b).unwrap();
                        let mut back = [0u8; 1];
                        c.read_exact(&mut back)
                            .unwrap_or_else(|e| panic!("thread {t} cycle {i}: {e}"));
                        assert_eq!(back, b, "thread {t} cycle {i}");
                    }
                })
            })
            .collect();
        for w in workers {
            if let Err(e) = w.join() {
                std::panic::resume_unwind(e);
            }
        }
        let s = server.wait_stats("every session released", |s| {
            s.sessions_open == 0 && s.accepted == CYCLES as u64
        });
        assert_eq!(
            s.closes_by(CloseReason::PeerClosed),
            CYCLES as u64,
            "{backend}: {s:?}"
        );
        let after = open_fds();
        assert!(
            after <= before + SLACK,
            "{backend}: {before} descriptors open before {CYCLES} cycles, {after} after"
        );
        server.stop();
        let after_engine = open_fds();
        assert!(
            after_engine <= before_engine + SLACK,
            "{backend}: {before_engine} descriptors before the engine started, \
             {after_engine} after it stopped"
        );
        eprintln!("{backend}: fds {before_engine} → {before} → {after} → {after_engine}");
    }
}
