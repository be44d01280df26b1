//! Peer resets: an RST in the middle of a large send (or while idle) closes
//! the session cleanly, and the engine keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use ringport_net::{CloseReason, EngineConfig};

/// Closes `s` with SO_LINGER 0: the kernel sends RST instead of FIN.
fn reset(s: TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

#[test]
fn reset_mid_send_closes_the_session_and_the_engine_keeps_serving() {
    for backend in BACKENDS {
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 2,
                send_queue_limit: 16 << 20,
                ..EngineConfig::default()
            },
            Header5 { max: 1024 },
            Mode::Scripted,
        );
        for round in 0..10 {
            let mut c = connect(server.addr);
            let id = server.session_of(&c);
            // Ask for 128 × 64 KiB = 8 MiB: more than the socket buffers hold,
            // so a send is in flight (or queued) when the reset comes.
            write_all(&mut c, &frame(3, &[128]));
            // Read a little of it (varying amounts) so the transfer is
            // under way.
            let mut buf = vec![0; 1 + round * 7000];
            c.read_exact(&mut buf).unwrap_or_else(|e| {
                panic!(
                    "{backend} round {round}: {e}; {:?} {:?}",
                    server.stats(),
                    server.log.lock().unwrap().closed
                )
            });
            assert!(buf.iter().all(|&b| b == 7), "{backend}: burst bytes");
            reset(c);
            let reason = server.wait_closed(id);
            assert!(
                matches!(reason, CloseReason::Reset | CloseReason::PeerClosed),
                "{backend}: round {round}: closed as {reason:?}"
            );
            // New connections are served.
            let mut next = connect(server.addr);
            echo_ok(
                &mut next,
                &frame(1, b"still here"),
                &format!("{backend}: after reset"),
            );
        }

        // A reset with nothing in flight.
        let mut idle = connect(server.addr);
        echo_ok(&mut idle, &frame(1, b"idle"), &format!("{backend}: idle"));
        let id = server.session_of(&idle);
        reset(idle);
        let reason = server.wait_closed(id);
        assert!(
            matches!(reason, CloseReason::Reset | CloseReason::PeerClosed),
            "{backend}: idle reset closed as {reason:?}"
        );

        server.wait_stats("every session closed", |s| s.sessions_open == 0);
        let mut last = connect(server.addr);
        echo_ok(&mut last, &frame(1, b"last"), &format!("{backend}: last"));
        drop(last);
        server.wait_stats("close", |s| s.sessions_open == 0);
        let stats = server.stop(); // joins the I/O threads: none panicked
        assert_eq!(stats.accepted, 22, "{backend}: accepted");
        assert_eq!(
            stats.closes_by(CloseReason::SlowConsumer),
            0,
            "{backend}: the limit was never reached"
        );
    }
}
