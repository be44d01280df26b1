//! Session-level behaviour: echo in any state, unknown and malformed
//! packets, login timeouts, and the stats.

use std::time::Duration;

use std::time::Instant;

use ringport_chat::testing::{frame, Action, AuthMode, Harness, Received, Recorder};
use ringport_chat::{AuthResult, Chat, ChatConfig, ConnId};
use ringport_proto::{id, ResultCode};

#[test]
fn echo_in_every_state_with_type_0() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.echo(conn, b"before login");
    h.echo(conn, b"");
    h.login(conn, "alice", "pw");
    h.echo(conn, b"authenticating");
    h.answer(conn, AuthResult::Accepted);
    h.echo(conn, b"logged in");
    h.enter(conn, 0);
    h.echo(conn, b"in a room");
    let got = h.take(conn);
    let echoes: Vec<&[u8]> = got
        .iter()
        .filter_map(|p| match p {
            Received::Echo(body) => Some(body.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(
        echoes,
        [
            &b"before login"[..],
            b"",
            b"authenticating",
            b"logged in",
            b"in a room"
        ]
    );
    // A type byte other than 0 is ignored; the echo carries type 0 (the
    // recorder checks it).
    let mut flagged = frame(id::DEV_ECHO, b"flags");
    flagged[4] = 0x80;
    h.send_frame(conn, &flagged);
    assert_eq!(h.take(conn), [Received::Echo(b"flags".to_vec())]);
}

#[test]
fn big_echo_comes_back_whole() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.connect();
    let body: Vec<u8> = (0..8000u32).map(|i| i as u8).collect();
    h.echo(conn, &body);
    assert_eq!(h.take(conn), [Received::Echo(body)]);
}

#[test]
fn unknown_ids_are_ignored_and_counted() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.user_in_room("alice", 0);
    let server_ids = [
        id::LOGIN_RES,
        id::ROOM_ENTER_RES,
        id::ROOM_NEW_USER_NTF,
        id::ROOM_USER_LIST_NTF,
        id::ROOM_LEAVE_RES,
        id::ROOM_LEAVE_USER_NTF,
        id::ROOM_CHAT_RES,
        id::ROOM_CHAT_NTF,
    ];
    let others = [0u16, 2, 200, 205, 999, u16::MAX];
    for packet_id in server_ids.iter().chain(&others) {
        h.send_frame(conn, &frame(*packet_id, &[1, 2, 3]));
    }
    assert_eq!(h.take(conn), []);
    assert_eq!(
        h.stats().unknown_packets,
        (server_ids.len() + others.len()) as u64
    );
    assert_eq!(h.stats().invalid_packets, 0);
    assert_eq!(h.chat().room_of(conn), Some(0), "state untouched");
}

#[test]
fn frames_that_are_not_one_packet_are_counted_and_ignored() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.connect();
    h.send_frame(conn, &[]);
    h.send_frame(conn, &[5, 0, 1]);
    let mut lying = frame(id::LOGIN_REQ, &[0; 66]);
    lying[0] = 10; // header says 10 bytes, frame has 71
    h.send_frame(conn, &lying);
    assert_eq!(h.take(conn), []);
    assert_eq!(h.stats().invalid_packets, 3);
}

#[test]
fn packets_for_unknown_connections_are_ignored() {
    let mut h = Harness::new(ChatConfig::default());
    h.echo(ConnId(77), b"x");
    assert_eq!(h.take(ConnId(77)), []);
    assert_eq!(h.stats().sessions, 0);
}

#[test]
fn connect_twice_is_ignored() {
    let mut chat = Chat::new(ChatConfig::default());
    let mut outbound = Recorder::default();
    let t0 = Instant::now();
    let conn = ConnId(1);
    chat.handle_connect(conn, t0);
    chat.handle_packet(
        conn,
        &frame(id::LOGIN_REQ, &login_body()),
        t0,
        &mut outbound,
    );
    let Some(Action::Authenticate(check)) = outbound.drain().pop() else {
        panic!("no check")
    };
    chat.handle_auth_result(conn, check.ticket, AuthResult::Accepted, &mut outbound);
    chat.handle_connect(conn, t0 + Duration::from_secs(1));
    assert_eq!(chat.stats().sessions, 1);
    assert_eq!(chat.logged_in_as(conn), Some("alice"));
    assert_eq!(chat.next_timeout(), None, "no new deadline");
}

fn login_body() -> Vec<u8> {
    let mut body = vec![0u8; 66];
    body[..5].copy_from_slice(b"alice");
    body[33..35].copy_from_slice(b"pw");
    body
}

#[test]
fn login_timeout_closes_sessions_not_logged_in() {
    let config = ChatConfig {
        login_timeout: Duration::from_secs(10),
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config).with_auth(AuthMode::Deferred);
    let idle = h.connect();
    assert_eq!(
        h.chat().next_timeout(),
        Some(h.now() + Duration::from_secs(10))
    );
    h.advance(Duration::from_secs(1));
    let waiting = h.connect(); // deadline at 11 s
    h.login(waiting, "w", "pw");
    let failed = h.connect();
    h.login(failed, "f", "pw");
    h.answer(failed, AuthResult::Rejected);
    let ok = h.connect();
    h.login(ok, "ok", "pw");
    h.answer(ok, AuthResult::Accepted);

    h.advance(Duration::from_millis(8_999)); // 9.999 s
    assert!(!h.is_closed(idle));
    h.advance(Duration::from_millis(1)); // 10 s: idle's deadline
    assert!(h.is_closed(idle));
    assert!(!h.is_closed(waiting));
    assert_eq!(h.stats().login_timeouts, 1);
    assert_eq!(
        h.chat().next_timeout(),
        Some(h.now() + Duration::from_secs(1))
    );
    h.advance(Duration::from_secs(1)); // 11 s: the other three's deadline
    assert!(!h.is_closed(waiting), "a check in flight saves it");
    assert!(h.is_closed(failed), "a failed login does not save it");
    assert!(!h.is_closed(ok));
    assert_eq!(h.stats().login_timeouts, 2);
    assert_eq!(h.stats().login_deadlines_extended, 1);
    assert_eq!(h.stats().sessions, 2);
    // The waiting session's deadline moved login_timeout on.
    assert_eq!(
        h.chat().next_timeout(),
        Some(h.now() + Duration::from_secs(10))
    );
    // Its late answer is applied.
    h.answer(waiting, AuthResult::Accepted);
    assert_eq!(h.take(waiting), [Received::LoginRes(ResultCode::None)]);
    assert_eq!(h.stats().users_logged_in, 2);
    assert_eq!(h.chat().next_timeout(), None);
    // Packets after the close are ignored.
    h.echo(idle, b"late");
    assert_eq!(h.take(idle), []);
}

#[test]
fn logged_in_sessions_never_time_out() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.user("alice");
    assert_eq!(h.chat().next_timeout(), None);
    h.advance(Duration::from_secs(3600));
    assert!(!h.is_closed(conn));
    // Even a host calling handle_timeout late, with no deadline due.
    let mut chat = Chat::new(ChatConfig::default());
    let mut outbound = Recorder::default();
    let t0 = Instant::now();
    chat.handle_connect(ConnId(1), t0);
    chat.handle_packet(
        ConnId(1),
        &frame(id::LOGIN_REQ, &login_body()),
        t0,
        &mut outbound,
    );
    let Some(Action::Authenticate(check)) = outbound.drain().pop() else {
        panic!("no check")
    };
    chat.handle_auth_result(ConnId(1), check.ticket, AuthResult::Accepted, &mut outbound);
    outbound.drain();
    chat.handle_timeout(t0 + Duration::from_secs(3600), &mut outbound);
    assert!(outbound.actions.is_empty());
    assert_eq!(chat.stats().login_timeouts, 0);
}

#[test]
fn disconnect_before_the_deadline_cancels_it() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.connect();
    h.disconnect(conn);
    assert_eq!(h.chat().next_timeout(), None);
    h.advance(Duration::from_secs(60));
    assert!(!h.is_closed(conn));
    assert_eq!(h.stats().login_timeouts, 0);
}

#[test]
fn stats_count_everything() {
    let mut h = Harness::new(ChatConfig {
        chat_rate: 1,
        chat_burst: 1,
        ..ChatConfig::default()
    });
    let a = h.user_in_room("a", 0);
    let b = h.user_in_room("b", 0);
    let c = h.user_in_room("c", 1);
    let anon = h.connect();
    h.login(anon, "a", "wrong"); // 33
    h.chat_message(a, "x"); // ok: 2 deliveries
    h.chat_message(a, "y"); // 63
    h.chat_message(c, "z"); // ok: 1 delivery
    h.send_frame(anon, &frame(id::ROOM_CHAT_REQ, &[])); // 90
    h.send_frame(anon, &frame(4242, &[])); // unknown
    let s = h.stats().clone();
    assert_eq!(s.sessions, 4);
    assert_eq!(s.users_logged_in, 3);
    assert_eq!(s.rooms_active, 2);
    assert_eq!(s.users_in_rooms, 3);
    assert_eq!(s.logins_ok, 3);
    assert_eq!(s.logins_failed, 1);
    assert_eq!(s.login_failures.count(ResultCode::LoginUserInvalidPw), 1);
    assert_eq!(s.login_failures.count(ResultCode::None), 0);
    assert_eq!(s.chats_in, 2);
    assert_eq!(s.deliveries_out, 3);
    assert_eq!(s.rate_limited, 1);
    assert_eq!(s.invalid_packets, 1);
    assert_eq!(s.unknown_packets, 1);
    assert_eq!(s.login_timeouts, 0);
    h.disconnect(b);
    h.disconnect(a);
    let s = h.stats();
    assert_eq!(
        (
            s.sessions,
            s.users_logged_in,
            s.rooms_active,
            s.users_in_rooms
        ),
        (2, 1, 1, 1)
    );
}
