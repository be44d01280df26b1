//! Idle timeout: a silent session is closed; one that keeps sending is not.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::{Duration, Instant};

use common::*;
use ringport_net::{CloseReason, EngineConfig, RawFraming};

const IDLE: Duration = Duration::from_millis(300);

#[test]
fn silent_sessions_time_out_and_active_ones_stay() {
    for backend in BACKENDS {
        let server = Server::start(
            backend,
            EngineConfig {
                io_threads: 2,
                idle_timeout: Some(IDLE),
                ..EngineConfig::default()
            },
            RawFraming,
            Mode::Echo,
        );
        let t0 = Instant::now();
        let mut silent = connect(server.addr);
        let mut active = connect(server.addr);
        let silent_id = server.session_of(&silent);
        let active_id = server.session_of(&active);

        // The active client sends every 50 ms for well over the timeout.
        let mut sent = 0;
        while t0.elapsed() < Duration::from_millis(1200) {
            echo_ok(
                &mut active,
                format!("tick {sent}").as_bytes(),
                &format!("{backend}: active client"),
            );
            sent += 1;
            let log = server.log.lock().unwrap();
            // Any close seen before IDLE has passed since t0 (before which
            // the engine could not have started the session's clock) came
            // too early.
            let early = log.close_reason(silent_id).is_some();
            drop(log);
            if early {
                assert!(
                    t0.elapsed() >= IDLE,
                    "{backend}: silent session closed before the idle timeout"
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(
            server.wait_closed(silent_id),
            CloseReason::IdleTimeout,
            "{backend}: the silent session's reason"
        );
        assert!(
            is_closed(&mut silent),
            "{backend}: the silent client sees it"
        );
        assert_eq!(
            server.log.lock().unwrap().close_reason(active_id),
            None,
            "{backend}: the active session stays open ({sent} messages)"
        );
        echo_ok(
            &mut active,
            b"still here",
            &format!("{backend}: active after"),
        );
        assert_eq!(
            server.stats().closes_by(CloseReason::IdleTimeout),
            1,
            "{backend}"
        );

        // Once it falls silent, the active session times out too.
        assert_eq!(
            server.wait_closed(active_id),
            CloseReason::IdleTimeout,
            "{backend}: the formerly active session's reason"
        );
        assert!(is_closed(&mut active), "{backend}");
        server.wait_stats("every session closed", |s| s.sessions_open == 0);
        let stats = server.stop();
        assert_eq!(stats.closes_by(CloseReason::IdleTimeout), 2, "{backend}");
    }
}
