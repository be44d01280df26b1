//! Hostile and broken clients against `ringport serve`, on both backends:
//! garbage, bad lengths, slowloris, silent peers, resets under a queued
//! send, connection floods, descriptor exhaustion, chat floods and members
//! that never read. In every case the server survives, bounds what the bad
//! peer costs, and a well-behaved pair in a room keeps chatting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use chat_support::{closed, connect, login, login_enter, next, serve, setup_flags, Got, SETUPS};
use common::Running;
use ringport_client::Client;

/// A logged-in pair in `room`: (sender, receiver).
fn pair(r: &Running, room: i32, tag: &str) -> (Client, Client) {
    let mut a = connect(r);
    let mut b = connect(r);
    login_enter(&mut a, &format!("{tag}-a"), room);
    login_enter(&mut b, &format!("{tag}-b"), room);
    assert!(matches!(next(&mut a), Got::NewUser(_, _)));
    (a, b)
}

/// `a` chats once and both see it.
fn still_chatting(a: &mut Client, b: &mut Client, msg: &str) {
    a.chat(msg).unwrap();
    assert_eq!(next(a), Got::ChatRes(0), "{msg}");
    let a_id = match next(a) {
        Got::Chat(from, m) => {
            assert_eq!(m, msg);
            from
        }
        other => panic!("{msg}: expected own chat, got {other:?}"),
    };
    assert_eq!(next(b), Got::Chat(a_id, msg.into()), "{msg}");
}

fn raw(r: &Running) -> TcpStream {
    let s = TcpStream::connect(r.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// True once the server closed `s` (EOF or reset), reading and discarding
/// whatever comes first.
fn raw_closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false, // timeout: still open
        }
    }
}

/// A tiny deterministic generator (xorshift) for garbage.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

#[test]
fn garbage_and_bad_lengths_close_only_their_sessions() {
    for setup in SETUPS {
        let server = serve(setup, &["--chat-rate", "0"]);
        let (mut a, mut b) = pair(&server, 1, setup);
        let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
        let mut bad: Vec<TcpStream> = (0..64).map(|_| raw(&server)).collect();
        for (i, s) in bad.iter_mut().enumerate() {
            let mut junk = vec![0u8; 1 + i * 37 % 3000];
            noise.fill(&mut junk);
            let _ = s.write_all(&junk);
        }
        // Every length the header forbids: 0..=4 and above --max-frame.
        for len in [0u16, 1, 2, 3, 4, 8193, 32767, 65535] {
            let mut s = raw(&server);
            let mut frame = len.to_le_bytes().to_vec();
            frame.extend_from_slice(&[201, 0, 0, 1, 2, 3]);
            s.write_all(&frame).unwrap();
            assert!(
                raw_closed(&mut s),
                "{setup}: length {len} closes the session"
            );
        }
        still_chatting(&mut a, &mut b, "after the garbage");
        drop(bad);
        still_chatting(&mut a, &mut b, "after the garbage left");
        server.stop();
    }
}

#[test]
fn slowloris_is_closed_by_the_login_deadline() {
    for setup in SETUPS {
        let server = serve(setup, &["--login-timeout", "1"]);
        let (mut a, mut b) = pair(&server, 1, setup);
        let mut s = raw(&server);
        let started = Instant::now();
        // A login header, one byte per 300 ms: never completes a frame.
        let mut was_closed = false;
        for byte in [53u8, 0, 201, 0, 0, 98, 111, 98, 0, 0, 0, 0] {
            if s.write_all(&[byte]).is_err() {
                was_closed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        assert!(
            was_closed || raw_closed(&mut s),
            "{setup}: slowloris closed"
        );
        assert!(started.elapsed() < Duration::from_secs(8), "{setup}");
        still_chatting(&mut a, &mut b, "after slowloris");
        server.stop();
    }
}

#[test]
fn silent_peers_are_closed_by_the_idle_timeout() {
    for setup in SETUPS {
        let server = serve(setup, &["--idle-timeout", "1"]);
        let mut silent = connect(&server);
        login(&mut silent, &format!("{setup}-silent"));
        let started = Instant::now();
        // Gone without a FIN, as far as the server can tell: it hears nothing.
        assert!(closed(&mut silent), "{setup}: silent peer closed");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(900),
            "{setup}: not before the timeout ({waited:?})"
        );
        assert!(waited < Duration::from_secs(8), "{setup}: {waited:?}");
        server.stop();
    }
}

#[test]
fn reset_during_a_large_queued_send_disturbs_nobody() {
    for setup in SETUPS {
        let server = serve(setup, &["--chat-rate", "0"]);
        let (mut a, mut b) = pair(&server, 1, setup);
        for round in 0..5 {
            let mut s = raw(&server);
            // DEV_ECHO frames of 8 KiB, never read back: the reply queues up.
            let mut frame = Vec::new();
            let body = vec![7u8; 8187];
            frame.extend_from_slice(&8192u16.to_le_bytes());
            frame.extend_from_slice(&[1, 0, 0]);
            frame.extend_from_slice(&body);
            for _ in 0..24 {
                if s.write_all(&frame).is_err() {
                    break;
                }
            }
            // RST instead of FIN.
            socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(s);
            still_chatting(&mut a, &mut b, &format!("after reset {round}"));
        }
        server.stop();
    }
}

#[test]
fn a_connection_flood_beyond_max_sessions_is_refused_quickly() {
    for setup in SETUPS {
        let server = serve(setup, &["--max-sessions", "20", "--chat-rate", "0"]);
        let (mut a, mut b) = pair(&server, 1, setup);
        let started = Instant::now();
        let mut flood: Vec<TcpStream> = (0..300).map(|_| raw(&server)).collect();
        let mut refused = 0;
        for s in &mut flood {
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            if raw_closed(s) {
                refused += 1;
            }
        }
        assert!(
            refused >= 300 - 18,
            "{setup}: only {refused} of 300 refused"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{setup}");
        still_chatting(&mut a, &mut b, "during the flood");
        drop(flood);
        server.stop();
    }
}

#[test]
fn descriptor_exhaustion_backs_off_and_recovers() {
    for setup in SETUPS {
        let server = common::start_wrapped(
            &["prlimit", "--nofile=48:48"],
            &[
                &["serve"][..],
                &setup_flags(setup, "1"),
                &[
                    "--accounts",
                    "memory",
                    "--argon2-memory-kib",
                    "8",
                    "--argon2-iterations",
                    "1",
                ],
            ]
            .concat(),
        );
        let (mut a, mut b) = pair(&server, 1, setup);
        let hogs: Vec<TcpStream> = (0..80).map(|_| raw(&server)).collect();
        std::thread::sleep(Duration::from_millis(500));
        still_chatting(&mut a, &mut b, "while out of descriptors");
        assert!(
            server
                .log
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("accept failed; backing off")),
            "{setup}: the exhaustion was logged"
        );
        drop(hogs);
        // Descriptors come back as the server sees the hogs close; a new
        // client then logs in (accept recovered).
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut c = Client::connect(server.addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            if c.login(&format!("{setup}-late"), "pw").is_ok()
                && matches!(c.recv().map(|p| p.id()), Ok(202))
            {
                break;
            }
            assert!(Instant::now() < deadline, "{setup}: accept never recovered");
            std::thread::sleep(Duration::from_millis(200));
        }
        still_chatting(&mut a, &mut b, "after recovery");
        server.stop();
    }
}

#[test]
fn a_chat_flood_is_rate_limited_and_the_room_stays_responsive() {
    for setup in SETUPS {
        let server = serve(setup, &["--chat-rate", "10", "--chat-burst", "20"]);
        let (mut a, mut b) = pair(&server, 1, setup);
        let mut flooder = connect(&server);
        login_enter(&mut flooder, &format!("{setup}-flood"), 1);
        assert!(matches!(next(&mut a), Got::NewUser(_, _)));
        assert!(matches!(next(&mut b), Got::NewUser(_, _)));
        let sent = 500;
        for i in 0..sent {
            flooder.chat(&format!("flood {i}")).unwrap();
        }
        let (mut ok, mut limited) = (0, 0);
        while ok + limited < sent {
            match next(&mut flooder) {
                Got::ChatRes(0) => ok += 1,
                Got::ChatRes(63) => limited += 1,
                Got::Chat(..) => {}
                other => panic!("{setup}: {other:?}"),
            }
        }
        assert!(
            limited > 0 && ok <= 20 + 10 * 5,
            "{setup}: ok {ok}, limited {limited}"
        );
        // a and b received exactly the accepted floods, then their own chat.
        for c in [&mut a, &mut b] {
            for _ in 0..ok {
                assert!(matches!(next(c), Got::Chat(..)));
            }
        }
        still_chatting(&mut a, &mut b, "after the flood");
        server.stop();
    }
}

#[test]
fn a_member_that_never_reads_is_cut_off_and_the_room_goes_on() {
    for setup in SETUPS {
        let server = serve(setup, &["--chat-rate", "0", "--send-queue-limit", "65536"]);
        let (mut a, mut b) = pair(&server, 1, setup);
        let mut deaf = connect(&server);
        login_enter(&mut deaf, &format!("{setup}-deaf"), 1);
        // Shrink its receive window so the server's queue fills fast.
        socket2::SockRef::from(deaf.stream())
            .set_recv_buffer_size(4096)
            .unwrap();
        assert!(matches!(next(&mut a), Got::NewUser(_, _)));
        assert!(matches!(next(&mut b), Got::NewUser(_, _)));
        let msg = "x".repeat(250);
        let mut left = false;
        for i in 0..40_000 {
            a.chat(&msg).unwrap();
            let mut answered = false;
            loop {
                match next(&mut a) {
                    Got::ChatRes(0) => answered = true,
                    Got::Chat(..) if answered => break,
                    Got::LeaveUser(_) => left = true,
                    other => panic!("{setup} {i}: {other:?}"),
                }
            }
            loop {
                match next(&mut b) {
                    Got::Chat(..) => break,
                    Got::LeaveUser(_) => {}
                    other => panic!("{setup}: {other:?}"),
                }
            }
            if left {
                break;
            }
        }
        assert!(
            left,
            "{setup}: the deaf member was cut off (its leave was announced)"
        );
        deaf.stream().shutdown(Shutdown::Both).ok();
        still_chatting(&mut a, &mut b, "after the cut");
        server.stop();
    }
}

#[test]
fn login_attempts_and_sessions_are_bounded_per_address() {
    let server = serve(
        "poll",
        &[
            "--login-rate-per-ip",
            "60",
            "--login-burst-per-ip",
            "3",
            "--login-limit-loopback",
            "true",
            "--max-sessions-per-ip",
            "6",
        ],
    );
    let mut codes = Vec::new();
    let mut clients = Vec::new();
    for i in 0..5 {
        let mut c = connect(&server);
        c.login(&format!("guess{i}"), "pw").unwrap();
        codes.push(next(&mut c));
        clients.push(c);
    }
    assert_eq!(&codes[..3], [Got::Login(0), Got::Login(0), Got::Login(0)]);
    assert_eq!(
        &codes[3..],
        [Got::Login(63), Got::Login(63)],
        "over the login rate"
    );
    // Five sessions open; the sixth is the last this address may hold.
    let mut sixth = raw(&server);
    let mut seventh = raw(&server);
    assert!(
        raw_closed(&mut seventh),
        "over the per-address session bound"
    );
    sixth
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(!raw_closed(&mut sixth), "the sixth stays open");
    server.stop();
}
