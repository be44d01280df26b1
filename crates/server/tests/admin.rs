//! The admin listener of `ringport serve` over real sockets: `/metrics`
//! counts what a chat session did, `/health/ready` turns 503 as soon as a
//! drain begins while clients still receive everything queued for them, and
//! requests that are not what it serves are refused without harm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use chat_support::*;
use common::{get, http, sample, scrape_until};

#[test]
fn metrics_count_what_the_clients_did() {
    for setup in SETUPS {
        let r = serve(setup, &[]);
        let admin = r.admin.expect("the startup line names the admin address");
        let mut alice = connect(&r);
        let mut bob = connect(&r);
        login_enter(&mut alice, "alice", 1);
        login_enter(&mut bob, "bob", 1);
        assert!(matches!(next(&mut alice), Got::NewUser(_, _)));
        for i in 0..3 {
            alice.chat(&format!("hello {i}")).unwrap();
            assert_eq!(next(&mut alice), Got::ChatRes(0));
            assert!(matches!(next(&mut alice), Got::Chat(_, _)));
            assert!(matches!(next(&mut bob), Got::Chat(_, _)));
        }
        // A wrong password for a known id, then that session goes away.
        let mut carol = connect(&r);
        carol.login("alice", "not the password").unwrap();
        assert_eq!(next(&mut carol), Got::Login(33));
        drop(carol);

        // In: 3 logins (71 bytes), 2 enters (9), 3 chats (262).
        let bytes_in = 3 * 71 + 2 * 9 + 3 * 262;
        // Out: alice 202, 207, empty 209 (6), 208 for bob (5+8+1+3),
        // 3 × (222 + 223); bob 202, 207, 209 with alice (5+1+8+1+5), 3 × 223;
        // carol 202.
        let alice_out = 7 + 7 + 6 + 17 + 3 * (7 + 295);
        let bob_out = 7 + 7 + 20 + 3 * 295;
        let bytes_out = alice_out + bob_out + 7;
        let backend_series = format!("ringport_backend_info{{backend=\"{}\"}}", backend_of(setup));
        let scrape = scrape_until(
            admin,
            &[
                ("ringport_logins_total{result=\"ok\"}", 2.0),
                ("ringport_logins_total{result=\"invalid_password\"}", 1.0),
                ("ringport_logins_total{result=\"already\"}", 0.0),
                ("ringport_chat_messages_in_total", 3.0),
                ("ringport_chat_deliveries_out_total", 6.0),
                ("ringport_rooms_active", 1.0),
                ("ringport_users_in_rooms", 2.0),
                ("ringport_users_logged_in", 2.0),
                ("ringport_sessions_open", 2.0),
                ("ringport_sessions_accepted_total", 3.0),
                ("ringport_session_closes_total{reason=\"peer_closed\"}", 1.0),
                (
                    "ringport_session_closes_total{reason=\"slow_consumer\"}",
                    0.0,
                ),
                ("ringport_bytes_in_total", bytes_in as f64),
                ("ringport_bytes_out_total", bytes_out as f64),
                ("ringport_frames_in_total", 8.0),
                ("ringport_store_request_duration_seconds_count", 3.0),
                ("ringport_ready", 1.0),
                ("ringport_draining", 0.0),
                (backend_series.as_str(), 1.0),
            ],
        );
        for family in [
            "# TYPE ringport_coalesced_frames counter",
            "# TYPE ringport_sends counter",
            "# TYPE ringport_store_request_duration_seconds histogram",
            "# HELP ringport_sessions_open",
        ] {
            assert!(scrape.contains(family), "{setup}: {family}\n{scrape}");
        }
        assert_eq!(get(admin, "/health/live"), (200, "live\n".into()));
        assert_eq!(get(admin, "/health/ready"), (200, "ready\n".into()));
        r.stop();
    }
}

#[test]
fn requests_it_does_not_serve_are_refused() {
    let r = serve("poll", &[]);
    let admin = r.admin.unwrap();
    assert_eq!(get(admin, "/nope").0, 404);
    assert_eq!(http(admin, b"POST /metrics HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(http(admin, b"garbage\r\n\r\n").0, 400);
    // A head larger than the limit is cut off, not buffered.
    let mut huge = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
    huge.resize(64 * 1024, b'a');
    let mut s = TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(&huge); // the server may close before taking it all
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    // A client that sends nothing holds the admin thread for at most the
    // request timeout; scrapes go on afterwards.
    let idle = TcpStream::connect(admin).unwrap();
    assert_eq!(get(admin, "/health/live").0, 200);
    drop(idle);
    r.stop();
}

/// A client with a tiny receive buffer, so what the server sends it piles
/// up in the server's send queue instead of the kernel's buffers.
fn slow_client(addr: SocketAddr) -> ringport_client::Client {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_recv_buffer_size(4096).unwrap();
    s.connect(&addr.into()).unwrap();
    let c = ringport_client::Client::from_stream(s.into()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

// More than the kernel takes into a loopback socket's buffers (about 3 MiB
// here with a 4 KiB receiver), so a drain has to wait for the slow client
// and the test can look at the server meanwhile.
const CHATS: usize = 20_000;
const CHUNK: usize = 500;

/// A server whose slow client has megabytes queued for it (checked through
/// the send-queue gauges), with a long shutdown grace; returns the server,
/// its admin address and the slow client, which has read nothing yet.
fn server_with_a_backlog(setup: &str) -> (common::Running, SocketAddr, ringport_client::Client) {
    let r = serve(
        setup,
        &[
            "--chat-rate",
            "0",
            "--shutdown-grace",
            "60",
            "--send-queue-limit",
            "33554432",
        ],
    );
    let admin = r.admin.unwrap();
    assert_eq!(get(admin, "/health/ready").0, 200);
    let mut slow = slow_client(r.addr);
    login_enter(&mut slow, "slow", 0);
    let mut talker = connect(&r);
    login_enter(&mut talker, "talker", 0);
    assert!(matches!(next(&mut slow), Got::NewUser(_, _)));
    // The talker's chats: once it has its own notify for each, the slow
    // client's copy is queued on the server (or in the kernel).
    for chunk in 0..CHATS / CHUNK {
        for i in 0..CHUNK {
            talker
                .chat(&format!("message {}", chunk * CHUNK + i))
                .unwrap();
        }
        for _ in 0..CHUNK {
            assert_eq!(next(&mut talker), Got::ChatRes(0));
            assert!(matches!(next(&mut talker), Got::Chat(_, _)));
        }
    }
    // The slow client's backlog shows as send-queue depth.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let scrape = get(admin, "/metrics").1;
        let queued = sample(&scrape, "ringport_send_queue_bytes").unwrap();
        let longest = sample(&scrape, "ringport_send_queue_max_bytes").unwrap();
        if queued > 0.0 {
            assert!(longest > 0.0 && longest <= queued, "{scrape}");
            break;
        }
        assert!(Instant::now() < deadline, "{setup}: no queue depth seen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (r, admin, slow)
}

#[test]
fn a_drain_turns_ready_off_and_delivers_everything_queued() {
    for setup in SETUPS {
        let (r, admin, mut slow) = server_with_a_backlog(setup);
        common::signal(&r.child, "TERM");
        // Ready turns 503 while the slow client's data is still queued.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, body) = get(admin, "/health/ready");
            if status == 503 {
                assert_eq!(body, "not ready: draining\n");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{setup}: still ready after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(get(admin, "/health/live").0, 200, "{setup}: alive");
        let scrape = get(admin, "/metrics").1;
        assert_eq!(sample(&scrape, "ringport_draining"), Some(1.0), "{scrape}");
        // Everything queued reaches the slow client, in order, then EOF.
        for i in 0..CHATS {
            assert_eq!(
                next(&mut slow),
                Got::Chat("talker".into(), format!("message {i}")),
                "{setup}"
            );
        }
        assert!(closed(&mut slow), "{setup}: closed after the last packet");
        let status = r.wait_exit();
        assert_eq!(
            status.code(),
            Some(0),
            "{setup}: clean exit after the drain"
        );
    }
}

#[test]
fn a_second_signal_exits_at_once_with_130() {
    let (r, admin, _slow) = server_with_a_backlog("poll");
    common::signal(&r.child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(admin, "/health/ready").0 != 503 {
        assert!(Instant::now() < deadline, "still ready after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Draining, and it would wait up to 60 s for the slow client.
    common::signal(&r.child, "INT");
    assert_eq!(r.wait_exit().code(), Some(130));
}
