//! `Endpoint::recv_with`: the application waits on engine events and another
//! channel at once, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::BACKENDS;
use ringport_net::{crossbeam_channel, Engine, EngineConfig, Event, RawFraming, Received};

#[test]
fn waits_on_both_sources() {
    for backend in BACKENDS {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cfg = EngineConfig {
            backend,
            io_threads: 1,
            ..EngineConfig::default()
        };
        let (engine, mut ep) = Engine::start(listener, cfg, RawFraming).unwrap();
        let (tx, rx) = crossbeam_channel::bounded::<u32>(4);
        let t = Some(Duration::from_secs(10));

        assert!(matches!(
            ep.recv_with(&rx, Some(Duration::from_millis(20))),
            Received::Timeout
        ));
        tx.send(7).unwrap();
        assert!(
            matches!(ep.recv_with(&rx, t), Received::Other(7)),
            "{backend}"
        );

        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"x").unwrap();
        let mut saw_frame = false;
        while !saw_frame {
            match ep.recv_with(&rx, t) {
                Received::Events(batch) => {
                    saw_frame = batch
                        .iter()
                        .any(|e| matches!(e, Event::Frame { frame: b"x", .. }));
                }
                other => panic!("{backend}: expected events, got {other:?}"),
            }
        }
        drop(tx);
        assert!(matches!(ep.recv_with(&rx, t), Received::OtherClosed));

        engine.shutdown();
        let (_tx2, rx2) = crossbeam_channel::bounded::<u32>(1);
        loop {
            match ep.recv_with(&rx2, t) {
                Received::Events(_) => continue,
                Received::Stopped => break,
                other => panic!("{backend}: expected Stopped, got {other:?}"),
            }
        }
        engine.join().unwrap();
    }
}
