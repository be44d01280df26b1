//! io_uring only: each session's socket sits in its ring's file table while
//! the session lives, and leaves it when the session closes (otherwise the
//! table would keep a closed session's socket alive). Read from the kernel's
//! own view of the rings, `/proc/self/fdinfo` of each io_uring descriptor.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use ringport_net::{BackendChoice, EngineConfig, RawFraming};

/// Sockets registered in the file tables of every io_uring instance of this
/// process (the engine under test is the only one).
fn registered_sockets() -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(link) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if !link.to_string_lossy().contains("io_uring") {
            continue;
        }
        let info = std::fs::read_to_string(format!(
            "/proc/self/fdinfo/{}",
            entry.file_name().to_string_lossy()
        ))
        .unwrap_or_default();
        // "UserFiles:\tN" followed by one "  index: socket:[inode]" per entry.
        n += info
            .lines()
            .skip_while(|l| !l.starts_with("UserFiles:"))
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .filter(|l| l.contains("socket:["))
            .count();
    }
    n
}

#[test]
fn sessions_enter_and_leave_the_file_table() {
    let server = Server::start(
        BackendChoice::IoUring,
        EngineConfig {
            io_threads: 1,
            ..EngineConfig::default()
        },
        RawFraming,
        Mode::Echo,
    );
    assert_eq!(registered_sockets(), 0, "no session yet");
    let mut clients: Vec<_> = (0..5).map(|_| connect(server.addr)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        // An echo proves the session is open and its receive and send work
        // (they name the socket by its table index).
        echo_ok(c, &[i as u8; 100], "echo through a fixed file");
    }
    assert_eq!(registered_sockets(), 5, "one entry per open session");

    clients.truncate(2);
    server.wait_stats("three sessions closed", |s| s.sessions_open == 2);
    wait_until(
        "the closed sessions' sockets leave the table",
        Duration::from_secs(5),
        || registered_sockets() == 2,
    );

    // Reused slots register their new socket at the same index.
    clients.extend((0..3).map(|_| connect(server.addr)));
    for (i, c) in clients.iter_mut().enumerate() {
        echo_ok(c, &[i as u8 + 10; 2000], "echo after slot reuse");
    }
    assert_eq!(registered_sockets(), 5);

    drop(clients);
    server.wait_stats("every session closed", |s| s.sessions_open == 0);
    wait_until("the table is empty", Duration::from_secs(5), || {
        registered_sockets() == 0
    });
    server.stop();
}
