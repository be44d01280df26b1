//! Backpressure towards the network: while the application holds every
//! event batch, the engine stops reading (the client's writes stall); once
//! batches come back, every byte is delivered, in order.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use ringport_net::{EngineConfig, Event, EventBatch, RecvError};

const TOTAL: usize = 8 << 20;

fn pattern(i: usize) -> u8 {
    (i % 253) as u8
}

/// Appends the frame bytes of `batch` to `got`.
fn collect(batch: &EventBatch, got: &mut Vec<u8>) {
    for ev in batch.iter() {
        if let Event::Frame { frame, .. } = ev {
            got.extend_from_slice(frame);
        }
    }
}

#[test]
fn holding_every_batch_pauses_reading_without_losing_bytes() {
    for backend in BACKENDS {
        let (engine, app, addr) = start_raw(EngineConfig {
            io_threads: 1,
            backend,
            batches_per_thread: 2,
            batch_bytes: 16 * 1024,
            recv_buffer_size: 16 * 1024,
            recv_buffers: 8,
            ..EngineConfig::default()
        });
        let mut ep = app.ep;
        // Built before connecting: on a loaded machine a debug build takes
        // long enough over it to look like a stall.
        let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
        let mut c = connect(addr);
        let writer = std::thread::spawn(move || {
            c.write_all(&data).unwrap();
            c // kept open until the test is done
        });

        // Hold every batch until the engine has paused reading for want of
        // one and nothing more comes for a while (a quiet spell before the
        // pause is only a slow machine).
        let mut held = Vec::new();
        let mut got = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            match ep.recv(Some(Duration::from_millis(300))) {
                Ok(batch) => {
                    collect(&batch, &mut got);
                    held.push(batch);
                    assert!(
                        held.len() <= 2,
                        "{backend}: more batches than the engine has"
                    );
                }
                Err(RecvError::Timeout) => {
                    if engine.stats().read_pauses >= 1 || Instant::now() > deadline {
                        break;
                    }
                }
                Err(RecvError::Stopped) => panic!("{backend}: engine stopped"),
            }
        }
        assert!(
            got.len() < TOTAL,
            "{backend}: everything arrived although the application held every batch"
        );
        assert!(
            !writer.is_finished(),
            "{backend}: the writer is not stalled"
        );
        assert!(
            engine.stats().read_pauses >= 1,
            "{backend}: {:?}",
            engine.stats()
        );

        // Give the batches back and read the rest.
        drop(held);
        let deadline = Instant::now() + WAIT;
        while got.len() < TOTAL {
            assert!(
                Instant::now() < deadline,
                "{backend}: only {} of {TOTAL} bytes after resuming",
                got.len()
            );
            match ep.recv(Some(Duration::from_millis(100))) {
                Ok(batch) => collect(&batch, &mut got),
                Err(RecvError::Timeout) => {}
                Err(RecvError::Stopped) => panic!("{backend}: engine stopped"),
            }
        }
        assert_eq!(got.len(), TOTAL, "{backend}: no byte more");
        let first_bad = got.iter().enumerate().position(|(i, &b)| b != pattern(i));
        assert_eq!(first_bad, None, "{backend}: bytes intact and in order");
        let c = writer.join().unwrap();
        drop(c);
        engine.shutdown();
        let deadline = Instant::now() + WAIT;
        while !matches!(
            ep.recv(Some(Duration::from_millis(100))),
            Err(RecvError::Stopped)
        ) {
            assert!(Instant::now() < deadline, "{backend}: never stopped");
        }
        engine.join().unwrap();
    }
}
