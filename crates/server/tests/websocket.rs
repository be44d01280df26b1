//! The WebSocket listener end to end, on both backends, against a real
//! `ringport serve --ws-listen` on its defaults: WebSocket and TCP users in
//! one room; the close codes bad input gets (RFC 6455); fragmentation,
//! ping/pong and the close handshake; the HTTP side of the listener (the web
//! client's page, 400/403/404/405, the head bound); the login deadline over
//! the upgrade; a WebSocket slow consumer.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod chat_support;
mod common;
mod ws_support;

use std::io::Write;
use std::time::{Duration, Instant};

use chat_support::{connect, login_enter, next, serve, Got, SETUPS};
use common::Running;
use ringport_client::proto::{ClientPacket, DevEcho, LoginReq, RoomChatReq};
use ws_support::{upgrade_request, RawWs, WsClient};

fn serve_ws(setup: &str, extra: &[&str]) -> Running {
    let mut args = vec!["--ws-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    serve(setup, &args)
}

#[test]
fn websocket_and_tcp_users_share_rooms_and_logins() {
    for setup in SETUPS {
        let server = serve_ws(setup, &[]);
        let ws_addr = server.ws.expect("the startup line names the ws listener");
        let mut alice = WsClient::connect(ws_addr);
        assert_eq!(alice.login_enter("alice", 1), vec![], "{setup}");
        let mut bob = connect(&server);
        let members = login_enter(&mut bob, "bob", 1);
        assert_eq!(members.len(), 1);
        let (alice_uid, name) = members[0].clone();
        assert_eq!(name, "alice");
        let bob_uid = match alice.next() {
            Got::NewUser(uid, name) if name == "bob" => uid,
            other => panic!("{setup}: expected bob's arrival, got {other:?}"),
        };

        alice.chat("hi from a browser ✓");
        assert_eq!(alice.next(), Got::ChatRes(0));
        assert_eq!(
            alice.next(),
            Got::Chat("alice".into(), "hi from a browser ✓".into())
        );
        assert_eq!(
            next(&mut bob),
            Got::Chat("alice".into(), "hi from a browser ✓".into())
        );
        bob.chat("hi from tcp").unwrap();
        assert_eq!(next(&mut bob), Got::ChatRes(0));
        assert_eq!(
            next(&mut bob),
            Got::Chat("bob".into(), "hi from tcp".into())
        );
        assert_eq!(alice.next(), Got::Chat("bob".into(), "hi from tcp".into()));

        // One login per id across transports, both ways.
        let mut bob2 = WsClient::connect(ws_addr);
        bob2.login("bob", "pw");
        assert_eq!(bob2.next(), Got::Login(31), "{setup}");
        let mut alice2 = connect(&server);
        alice2.login("alice", "pw").unwrap();
        assert_eq!(next(&mut alice2), Got::Login(31), "{setup}");

        // Leaving and disconnecting reach the other transport.
        bob.leave().unwrap();
        assert_eq!(next(&mut bob), Got::Leave(0));
        assert_eq!(alice.next(), Got::LeaveUser(bob_uid));
        bob.enter(1).unwrap();
        assert_eq!(next(&mut bob), Got::Enter(0));
        assert_eq!(next(&mut bob), Got::List(vec![(alice_uid, "alice".into())]));
        assert!(matches!(alice.next(), Got::NewUser(uid, _) if uid == bob_uid));
        alice.ws.close(None).unwrap();
        assert_eq!(next(&mut bob), Got::LeaveUser(alice_uid), "{setup}");
        server.stop();
    }
}

/// Writes something to a WebSocket connection.
type Sender = Box<dyn Fn(&mut RawWs)>;

/// What a client must never send, with the close code it gets.
fn violations() -> Vec<(&'static str, u16, Sender)> {
    let packet = |p: ClientPacket<'static>| {
        let mut out = Vec::new();
        p.encode(&mut out).unwrap();
        out
    };
    let echo = packet(ClientPacket::DevEcho(DevEcho { body: b"x" }));
    let two_packets = [echo.clone(), echo.clone()].concat();
    let mut bad_length = echo.clone();
    bad_length[0] = 9; // the header says 9 bytes, the message holds 6
    vec![
        (
            "a text message",
            1003,
            Box::new(|w: &mut RawWs| w.frame(0x81, b"hello", true)),
        ),
        (
            "an unmasked frame",
            1002,
            Box::new(move |w: &mut RawWs| w.frame(0x82, &[5, 0, 1, 0, 0], false)),
        ),
        (
            "a reserved opcode",
            1002,
            Box::new(|w: &mut RawWs| w.frame(0x83, b"", true)),
        ),
        (
            "reserved bits",
            1002,
            Box::new(|w: &mut RawWs| w.frame(0xc2, &[5, 0, 1, 0, 0], true)),
        ),
        (
            "a fragmented ping",
            1002,
            Box::new(|w: &mut RawWs| w.frame(0x09, b"p", true)),
        ),
        (
            "a continuation without a message",
            1002,
            Box::new(|w: &mut RawWs| w.frame(0x80, b"x", true)),
        ),
        (
            "a one-byte close payload",
            1002,
            Box::new(|w: &mut RawWs| w.frame(0x88, &[3], true)),
        ),
        (
            "an invalid close code",
            1002,
            Box::new(|w: &mut RawWs| w.frame(0x88, &1005u16.to_be_bytes(), true)),
        ),
        (
            "a close reason that is not UTF-8",
            1007,
            Box::new(|w: &mut RawWs| w.frame(0x88, &[3, 0xe8, 0xff], true)),
        ),
        (
            "a message over the max frame",
            1009,
            Box::new(|w: &mut RawWs| w.frame(0x82, &[0; 8193], true)),
        ),
        (
            "two packets in one message",
            1002,
            Box::new(move |w: &mut RawWs| w.frame(0x82, &two_packets, true)),
        ),
        (
            "a packet whose length disagrees",
            1002,
            Box::new(move |w: &mut RawWs| w.frame(0x82, &bad_length, true)),
        ),
        (
            "a message shorter than a header",
            1002,
            Box::new(|w: &mut RawWs| w.frame(0x82, &[5, 0], true)),
        ),
    ]
}

#[test]
fn bad_input_gets_its_close_code_and_disturbs_no_one_else() {
    for setup in SETUPS {
        let server = serve_ws(setup, &[]);
        let ws_addr = server.ws.unwrap();
        let mut bystander = WsClient::connect(ws_addr);
        bystander.login_ok("bystander");
        let mut packet_errors = 0.0;
        for (what, code, send) in violations() {
            let mut raw = RawWs::connect(ws_addr);
            send(&mut raw);
            assert_eq!(raw.expect_close(), Some(code), "{setup}: {what}");
            if what.contains("packet") || what.contains("header") {
                packet_errors += 1.0;
            }
            // Everyone else carries on.
            bystander.send(&ClientPacket::DevEcho(DevEcho {
                body: what.as_bytes(),
            }));
            assert_eq!(
                bystander.next(),
                Got::Echo(what.as_bytes().to_vec()),
                "{setup}: {what}"
            );
        }
        // Bad packets inside a message count as bad frames, as on TCP.
        let scrape = common::scrape_until(
            server.admin.unwrap(),
            &[
                ("ringport_sessions_open", 1.0),
                ("ringport_transport_sessions_open{transport=\"ws\"}", 1.0),
                ("ringport_transport_sessions_open{transport=\"tcp\"}", 0.0),
            ],
        );
        // Every connection here upgraded: the bystander and one per violation.
        let upgrades = common::sample(&scrape, "ringport_ws_upgrades_total").unwrap();
        assert_eq!(upgrades, violations().len() as f64 + 1.0, "{setup}");
        let accepted = common::sample(
            &scrape,
            "ringport_transport_sessions_accepted_total{transport=\"ws\"}",
        );
        assert_eq!(accepted, Some(upgrades), "{setup}");
        let bad = common::sample(
            &scrape,
            "ringport_session_closes_total{reason=\"bad_frame\"}",
        )
        .unwrap_or(0.0);
        assert!(
            bad >= packet_errors,
            "{setup}: bad_frame closes {bad} < {packet_errors}\n{scrape}"
        );
        server.stop();
    }
}

#[test]
fn fragments_pings_and_the_close_handshake() {
    for setup in SETUPS {
        let server = serve_ws(setup, &[]);
        let mut raw = RawWs::connect(server.ws.unwrap());
        let mut login = Vec::new();
        ClientPacket::LoginReq(LoginReq::new("frag", "pw").unwrap())
            .encode(&mut login)
            .unwrap();
        // The login in three fragments, with a ping between them.
        raw.frame(0x02, &login[..10], true);
        raw.frame(0x00, &login[10..40], true);
        raw.frame(0x89, b"are you there", true);
        raw.frame(0x80, &login[40..], true);
        assert_eq!(
            raw.read_frame(),
            Some((0x8a, b"are you there".to_vec())),
            "{setup}: pong first"
        );
        let (first, answer) = raw.read_frame().unwrap();
        assert_eq!(first, 0x82, "a whole binary message");
        assert_eq!(answer, [7, 0, 0xca, 0, 0, 0, 0], "{setup}: login ok");
        // An unsolicited pong is fine; then the client closes: the server
        // answers with the same code and ends the connection.
        raw.frame(0x8a, b"", true);
        raw.frame(0x88, &[0x0f, 0xa0, b'b', b'y', b'e'], true); // 4000
        assert_eq!(raw.read_frame(), Some((0x88, vec![0x0f, 0xa0])), "{setup}");
        assert_eq!(raw.read_frame(), None, "{setup}: connection ended");
        server.stop();
    }
}

#[test]
fn the_listener_serves_the_web_client_and_refuses_other_requests() {
    let server = serve_ws("io-uring", &[]);
    let ws = server.ws.unwrap();
    let (status, body) = common::get(ws, "/");
    assert_eq!(status, 200);
    assert!(
        body.contains("<title>") && body.contains("app.js"),
        "{body}"
    );
    for asset in ["/app.js", "/proto.js", "/style.css"] {
        assert_eq!(common::get(ws, asset).0, 200, "{asset}");
    }
    assert_eq!(common::get(ws, "/nope").0, 404);
    assert_eq!(
        common::http(
            ws,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        )
        .0,
        405
    );
    // An upgrade without its key, or of another version.
    let no_key = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Version: 13\r\n\r\n";
    assert_eq!(common::http(ws, no_key.as_bytes()).0, 400);
    let v8 = upgrade_request("").replace("Version: 13", "Version: 8");
    assert_eq!(common::http(ws, v8.as_bytes()).0, 400);
    // A request head over 8 KiB.
    let long = upgrade_request(&format!("X-Padding: {}\r\n", "a".repeat(9000)));
    assert_eq!(common::http(ws, long.as_bytes()).0, 400);
    // Not HTTP at all.
    assert_eq!(
        common::http(ws, b"\x05\x00\x01\x00\x00 not http\r\n\r\n").0,
        400
    );
    // Origins: the page's own is allowed (and none: not a browser), others
    // are refused.
    let same = upgrade_request("Origin: http://localhost\r\n");
    assert_eq!(RawWs::open(ws, &same).0, 101);
    let other = upgrade_request("Origin: https://evil.example\r\n");
    assert_eq!(RawWs::open(ws, &other).0, 403);
    server.stop();

    let allowed = serve_ws("poll", &["--ws-allowed-origins", "https://chat.example"]);
    let other = upgrade_request("Origin: https://chat.example\r\n");
    assert_eq!(RawWs::open(allowed.ws.unwrap(), &other).0, 101);
    allowed.stop();
}

#[test]
fn a_listener_that_names_its_hosts_refuses_every_other_name() {
    // DNS rebinding: a page on the attacker's name, which now resolves to
    // this listener, sends Host and Origin of that name; they agree, so
    // only the list of the listener's own names can refuse it.
    for setup in ["io-uring", "poll"] {
        let server = serve_ws(
            setup,
            &["--ws-allowed-hosts", "localhost, chat.example:11080"],
        );
        let ws = server.ws.unwrap();
        let get = |host: &str| {
            common::http(
                ws,
                format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
            )
            .0
        };
        assert_eq!(
            get("localhost:1234"),
            200,
            "{setup}: a listed name, any port"
        );
        assert_eq!(get("chat.example:11080"), 200, "{setup}");
        assert_eq!(
            get("chat.example:80"),
            421,
            "{setup}: listed with another port"
        );
        assert_eq!(get("rebound.attacker.example"), 421, "{setup}");
        assert_eq!(
            common::http(ws, b"GET / HTTP/1.1\r\n\r\n").0,
            421,
            "{setup}: no Host"
        );
        let rebound = upgrade_request("Origin: http://rebound.attacker.example\r\n")
            .replace("Host: localhost", "Host: rebound.attacker.example");
        assert_eq!(RawWs::open(ws, &rebound).0, 421, "{setup}");
        assert_eq!(RawWs::open(ws, &upgrade_request("")).0, 101, "{setup}");
        server.stop();
    }
}

#[test]
fn a_client_that_half_closes_after_its_request_still_gets_the_answer() {
    for setup in SETUPS {
        let server = serve_ws(setup, &[]);
        let mut s = std::net::TcpStream::connect(server.ws.unwrap()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap(); // as `nc -N` does
        let mut answer = Vec::new();
        std::io::Read::read_to_end(&mut s, &mut answer).unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{setup}: {text:.80}");
        assert!(text.contains("</html>"), "{setup}: the whole page");
        server.stop();
    }
}

#[test]
fn the_login_deadline_covers_the_upgrade() {
    for setup in SETUPS {
        // One second instead of the default ten keeps the test short.
        let server = serve_ws(setup, &["--login-timeout", "1"]);
        let ws = server.ws.unwrap();
        // Half a request head, then nothing.
        let mut silent = std::net::TcpStream::connect(ws).unwrap();
        silent
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        silent
            .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        // Upgraded, never logged in: a close frame, then the end.
        let mut idle = RawWs::connect(ws);
        let start = Instant::now();
        assert_eq!(idle.expect_close(), Some(1000), "{setup}");
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(8),
            "{setup}: {took:?}"
        );
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut silent, &mut rest);
        assert!(
            rest.is_empty() || rest.starts_with(b"HTTP/1.1 4"),
            "{setup}: {rest:?}"
        );
        server.stop();
    }
}

#[test]
fn an_idle_websocket_session_is_told_why() {
    for setup in SETUPS {
        // The idle timeout is off by default; one second keeps the test short.
        let server = serve_ws(setup, &["--idle-timeout", "1"]);
        let mut ws = WsClient::connect(server.ws.unwrap());
        ws.login_ok("idler");
        // Nothing more from the client: closed with 1008 after a second.
        assert_eq!(ws.close_code(), Some(1008), "{setup}");
        common::scrape_until(
            server.admin.unwrap(),
            &[(
                "ringport_session_closes_total{reason=\"idle_timeout\"}",
                1.0,
            )],
        );
        server.stop();
    }
}

#[test]
fn a_websocket_member_that_reads_nothing_is_closed_as_a_slow_consumer() {
    for setup in SETUPS {
        // Full speed is the point: no chat rate limit.
        let server = serve_ws(setup, &["--chat-rate", "0"]);
        let mut sleeper = WsClient::connect(server.ws.unwrap());
        sleeper.login_enter("sleeper", 2);
        let mut sender = connect(&server);
        login_enter(&mut sender, "sender", 2);
        // The sleeper may be closed only by the stall rule (10 s after its
        // socket stopped taking bytes): the sender's reads wait longer than
        // that, the bound is asserted below.
        sender
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let start = Instant::now();
        let w = sender.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let mut buf = Vec::new();
            for i in 0..60_000 {
                RoomChatReq::new(&format!("flood {i} {}", "x".repeat(200)))
                    .unwrap()
                    .encode(&mut buf);
                if i % 100 == 99 {
                    if w.stream().write_all(&buf).is_err() {
                        return;
                    }
                    buf.clear();
                }
            }
        });
        // The sender reads everything and sees the sleeper leave.
        let sleeper_left = loop {
            match next(&mut sender) {
                Got::LeaveUser(_) => break start.elapsed(),
                Got::ChatRes(0) | Got::Chat(..) => {}
                other => panic!("{setup}: {other:?}"),
            }
        };
        // Stop the writer (it may be held back by now: the sender no
        // longer reads).
        let _ = sender.stream().shutdown(std::net::Shutdown::Both);
        writer.join().unwrap();
        assert!(
            sleeper_left < Duration::from_secs(15),
            "{setup}: {sleeper_left:?}"
        );
        common::scrape_until(
            server.admin.unwrap(),
            &[(
                "ringport_session_closes_total{reason=\"slow_consumer\"}",
                1.0,
            )],
        );
        drop(sleeper);
        server.stop();
    }
}
