//! Framing over real sockets: frames are cut out of the byte stream in order
//! however the bytes arrive, and a bad frame length closes only its session.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use ringport_net::{BackendChoice, CloseReason, EngineConfig};

const MAX: usize = 1024;

fn server(backend: BackendChoice) -> Server {
    Server::start(
        backend,
        EngineConfig {
            io_threads: 2,
            ..EngineConfig::default()
        },
        Header5 { max: MAX },
        Mode::Echo,
    )
}

/// Frames of varied lengths (5..=MAX bytes) with distinct ids and bodies.
fn varied_frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let body_len = (i * 37) % (MAX - 5 + 1);
            let body: Vec<u8> = (0..body_len).map(|j| (i * 7 + j) as u8).collect();
            frame(i as u16, &body)
        })
        .collect()
}

#[test]
fn many_frames_in_one_write_arrive_whole_and_in_order() {
    for backend in BACKENDS {
        let server = server(backend);
        let mut c = connect(server.addr);
        let frames = varied_frames(60);
        let all: Vec<u8> = frames.concat();
        write_all(&mut c, &all);
        let back = read_n(&mut c, all.len());
        assert!(back == all, "{backend}: echo differs from the frames sent");
        let session = server.session_of(&c);
        server.wait_log("60 frames", |l| l.frames.get(&session) == Some(&60));
        let log = server.log.lock().unwrap();
        assert_eq!(
            log.frames.get(&session),
            Some(&60),
            "{backend}: every frame delivered separately"
        );
        drop(log);
        drop(c);
        server.wait_stats("close", |s| s.sessions_open == 0);
        let stats = server.stop();
        assert_eq!(stats.frames_in, 60, "{backend}: frames_in");
        assert_eq!(stats.closes_by(CloseReason::BadFrame), 0, "{backend}");
    }
}

/// Writes `bytes` in pieces of `step` bytes, each flushed and followed by a
/// pause so that the pieces arrive in separate receives.
fn dribble(c: &mut TcpStream, bytes: &[u8], step: usize) {
    for piece in bytes.chunks(step) {
        c.write_all(piece).unwrap();
        c.flush().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn dribbled_frames_are_reassembled() {
    for backend in BACKENDS {
        let server = server(backend);
        let mut c = connect(server.addr);
        // One frame byte by byte: even the 2-byte length is split.
        let one = frame(7, b"dribbled one byte at a time");
        dribble(&mut c, &one, 1);
        assert_eq!(read_n(&mut c, one.len()), one, "{backend}: byte by byte");

        // Two frames in 3-byte pieces: boundaries fall inside headers and
        // pieces carry the end of one frame and the start of the next.
        let two = [frame(8, b"first of two"), frame(9, b"second")].concat();
        dribble(&mut c, &two, 3);
        assert_eq!(read_n(&mut c, two.len()), two, "{backend}: 3-byte pieces");

        // A maximum-size frame in pieces larger than a header.
        let big = frame(10, &vec![0x5a; MAX - 5]);
        dribble(&mut c, &big, 100);
        assert_eq!(read_n(&mut c, big.len()), big, "{backend}: max-size frame");

        let session = server.session_of(&c);
        server.wait_log("4 frames", |l| l.frames.get(&session) == Some(&4));
        drop(c);
        server.wait_stats("close", |s| s.sessions_open == 0);
        let stats = server.stop();
        assert_eq!(
            stats.frames_in, 4,
            "{backend}: exactly four frames (no partial frame delivered)"
        );
    }
}

/// A raw header with the given length field (no body).
fn bad_header(len: u16) -> Vec<u8> {
    let mut h = len.to_le_bytes().to_vec();
    h.extend_from_slice(&[1, 0, 0]);
    h
}

#[test]
fn bad_frame_length_closes_only_that_session() {
    for backend in BACKENDS {
        let server = server(backend);
        let mut good_a = connect(server.addr);
        let mut good_b = connect(server.addr);
        echo_ok(
            &mut good_a,
            &frame(1, b"a before"),
            &format!("{backend}: a"),
        );
        echo_ok(
            &mut good_b,
            &frame(1, b"b before"),
            &format!("{backend}: b"),
        );

        // Too short (3 < header size), in the same write as a good frame
        // before it and one after it.
        let mut short = connect(server.addr);
        let first = frame(1, b"before the bad one");
        let bytes = [first.clone(), bad_header(3), frame(2, b"after")].concat();
        write_all(&mut short, &bytes);

        // Too long (> max), arriving alone after a completed round trip;
        // more frames follow in later writes.
        let mut long = connect(server.addr);
        echo_ok(&mut long, &frame(1, b"fine"), &format!("{backend}: long"));
        write_all(&mut long, &bad_header((MAX + 1) as u16));

        // A frame split so that the bad length follows buffered bytes.
        let mut split = connect(server.addr);
        let part = frame(1, b"buffered then bad");
        write_all(&mut split, &part[..4]);
        std::thread::sleep(Duration::from_millis(20));
        write_all(&mut split, &[&part[4..], &bad_header(0)[..]].concat());

        let ids = [
            server.session_of(&short),
            server.session_of(&long),
            server.session_of(&split),
        ];
        for (name, id) in ["short", "long", "split"].iter().zip(ids) {
            assert_eq!(
                server.wait_closed(id),
                CloseReason::BadFrame,
                "{backend}: {name} closes as a bad frame"
            );
        }
        // Whatever the client sends now is never delivered.
        let _ = long.write_all(&frame(3, b"after close"));
        let _ = split.write_all(&frame(3, b"after close"));

        for (name, c) in [
            ("short", &mut short),
            ("long", &mut long),
            ("split", &mut split),
        ] {
            assert!(is_closed(c), "{backend}: {name}: client sees the close");
        }

        // The other sessions are unaffected, during and after.
        for round in 0..5 {
            echo_ok(
                &mut good_a,
                &frame(4, format!("a {round}").as_bytes()),
                &format!("{backend}: a after"),
            );
            echo_ok(
                &mut good_b,
                &frame(4, format!("b {round}").as_bytes()),
                &format!("{backend}: b after"),
            );
        }

        {
            let log = server.log.lock().unwrap();
            // Only the good frames before each bad frame were delivered.
            assert_eq!(log.frames.get(&ids[0]), Some(&1), "{backend}: short");
            assert_eq!(log.frames.get(&ids[1]), Some(&1), "{backend}: long");
            assert_eq!(log.frames.get(&ids[2]), Some(&1), "{backend}: split");
            assert_eq!(log.closes_with(CloseReason::BadFrame), 3, "{backend}");
            assert_eq!(
                log.closed.len(),
                3,
                "{backend}: only the bad sessions closed"
            );
        }
        let stats = server.stats();
        assert_eq!(stats.closes_by(CloseReason::BadFrame), 3, "{backend}");
        assert_eq!(stats.sessions_open, 2, "{backend}: the good ones stay open");
        drop((good_a, good_b));
        server.wait_stats("close", |s| s.sessions_open == 0);
        server.stop();
    }
}
