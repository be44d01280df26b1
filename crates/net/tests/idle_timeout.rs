//! Idle timeout: a silent session is closed; one that keeps sending is not.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::{Duration, Instant};

use common::*;
use ringport_net::{CloseReason, EngineConfig, RawFraming};

// Generous against scheduling stalls on a loaded machine: the active client
// below sends every 50 ms, so only a stall of ~650 ms could fail it.
const IDLE: Duration = Duration::from_millis(700);

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
        while t0.elapsed() < Duration::from_millis(1800) {
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

/// The timeout counts from the last byte received, never less: a session
/// whose last byte arrives after the I/O thread has been waiting a while is
/// not closed early. Several engines run at once, one quiet client each, so
/// that their byte lands at varied points of the engine's timer cycle.
#[test]
fn the_timeout_counts_from_the_last_byte() {
    const TRIALS: usize = 12;
    for backend in BACKENDS {
        let trials: Vec<_> = (0..TRIALS)
            .map(|i| {
                std::thread::spawn(move || {
                    let server = Server::start(
                        backend,
                        EngineConfig {
                            io_threads: 1,
                            idle_timeout: Some(IDLE),
                            ..EngineConfig::default()
                        },
                        RawFraming,
                        Mode::Echo,
                    );
                    let mut c = connect(server.addr);
                    let id = server.session_of(&c);
                    // Quiet for a while (the I/O thread waits), then one byte.
                    std::thread::sleep(IDLE * 2 / 3 + Duration::from_millis(4 * i as u64));
                    let sent = Instant::now();
                    if std::io::Write::write_all(&mut c, b"x").is_err() {
                        return None; // closed before: the sleep overran
                    }
                    let mut b = [0u8; 1];
                    if std::io::Read::read_exact(&mut c, &mut b).is_err() {
                        return None; // likewise
                    }
                    // Then silence until the engine closes it.
                    assert!(is_closed(&mut c), "{backend}: closed at last");
                    let idle = sent.elapsed();
                    assert_eq!(server.wait_closed(id), CloseReason::IdleTimeout);
                    Some(idle)
                })
            })
            .collect();
        let idles: Vec<Duration> = trials
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .collect();
        assert!(!idles.is_empty(), "{backend}: every trial overran");
        // The close is seen after it happens, so a close seen sooner than
        // IDLE after the byte was sent was early whatever the machine load.
        let earliest = idles.iter().min().unwrap();
        assert!(
            *earliest >= IDLE,
            "{backend}: closed for idleness {earliest:?} after the last byte \
             (timeout {IDLE:?}); all trials: {idles:?}"
        );
    }
}
