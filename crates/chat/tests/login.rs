//! Login (201 → 202): every result code, the check order, concurrency of
//! logins of one id, unique ids and stale answers. (The machine with a real
//! account store: `crates/accounts/tests/chat_login.rs`.)

use ringport_chat::testing::{frame, AuthMode, Harness, Received};
use ringport_chat::{AuthResult, ChatConfig};
use ringport_proto::{id, ResultCode};

fn res(code: ResultCode) -> Received {
    Received::LoginRes(code)
}

fn login_body(user: &[u8], password: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8; 66];
    body[..user.len()].copy_from_slice(user);
    body[33..33 + password.len()].copy_from_slice(password);
    body
}

#[test]
fn success_is_202_0_and_counted() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
    assert_eq!(h.chat().logged_in_as(conn), Some("alice"));
    assert_eq!(h.stats().logins_ok, 1);
    assert_eq!(h.stats().users_logged_in, 1);
    assert_eq!(h.stats().logins_failed, 0);
}

#[test]
fn the_check_carries_the_request() {
    let mut h = Harness::new(ChatConfig {
        auto_register: false,
        ..ChatConfig::default()
    })
    .with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "s3cret");
    assert_eq!(h.take(conn), [], "nothing before the answer");
    let [check] = h.pending() else {
        panic!("one check expected")
    };
    assert_eq!(check.conn, conn);
    assert_eq!(check.user_id, "alice");
    assert_eq!(check.password(), Some("s3cret"));
    assert!(!check.auto_register);
    let shown = format!("{check:?}");
    assert!(
        !shown.contains("s3cret") && shown.contains("***"),
        "{shown}"
    );
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
}

#[test]
fn invalid_bodies_get_90() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.connect();
    let cases: Vec<Vec<u8>> = vec![
        vec![],                           // no body
        vec![0; 65],                      // one byte short
        vec![0; 67],                      // one byte long
        login_body(b"", b"pw"),           // empty user id
        login_body(b"alice", b""),        // empty password
        login_body(&[0xff, 0xfe], b"pw"), // invalid UTF-8
        {
            let mut b = login_body(b"alice", b"pw");
            b[..33].fill(b'a'); // user id without NUL
            b
        },
        {
            let mut b = login_body(b"alice", b"pw");
            b[33..].fill(b'p'); // password without NUL
            b
        },
    ];
    for body in &cases {
        h.send_frame(conn, &frame(id::LOGIN_REQ, body));
        assert_eq!(
            h.take(conn),
            [res(ResultCode::InvalidPacket)],
            "body {body:?}"
        );
    }
    assert_eq!(h.stats().invalid_packets, cases.len() as u64);
    assert_eq!(h.stats().login_failures.invalid_packet, cases.len() as u64);
    assert_eq!(h.stats().logins_failed, cases.len() as u64);
    // The session stays open and can still log in.
    h.login(conn, "alice", "pw");
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
}

#[test]
fn text_after_the_nul_is_ignored() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    let mut body = login_body(b"bob", b"pw");
    body[10] = b'x';
    body[60] = 0xff;
    h.send_frame(conn, &frame(id::LOGIN_REQ, &body));
    assert_eq!(h.pending()[0].user_id, "bob");
    assert_eq!(h.pending()[0].password(), Some("pw"));
}

#[test]
fn bad_body_is_checked_before_state() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.user("alice");
    h.send_frame(conn, &frame(id::LOGIN_REQ, &[0; 3]));
    assert_eq!(h.take(conn), [res(ResultCode::InvalidPacket)]);
}

#[test]
fn already_logged_in_here_is_31() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.user("alice");
    h.login(conn, "alice", "pw");
    assert_eq!(h.take(conn), [res(ResultCode::LoginUserAlready)]);
    h.login(conn, "bob", "pw");
    assert_eq!(h.take(conn), [res(ResultCode::LoginUserAlready)]);
    assert_eq!(h.chat().logged_in_as(conn), Some("alice"));
    assert_eq!(h.stats().login_failures.already, 2);
    // In a room too.
    h.enter(conn, 0);
    h.take(conn);
    h.login(conn, "carol", "pw");
    assert_eq!(h.take(conn), [res(ResultCode::LoginUserAlready)]);
}

#[test]
fn a_login_behind_a_login_in_flight_waits_then_is_31_without_a_second_check() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    h.login(conn, "alice", "pw");
    assert_eq!(h.take(conn), []);
    assert_eq!(h.pending().len(), 1);
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(
        h.take(conn),
        [res(ResultCode::None), res(ResultCode::LoginUserAlready)]
    );
    assert!(h.pending().is_empty(), "no second check");
}

#[test]
fn a_login_behind_a_failed_login_is_a_new_attempt() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "wrong");
    h.login(conn, "alice", "pw");
    h.answer(conn, AuthResult::Rejected);
    assert_eq!(h.take(conn), [res(ResultCode::LoginUserInvalidPw)]);
    assert_eq!(h.pending().len(), 1, "the second attempt is checked");
    assert_eq!(h.pending()[0].password(), Some("pw"));
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
}

#[test]
fn id_logged_in_elsewhere_is_31_after_the_password() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    let first = h.user("alice");
    let second = h.connect();
    h.login(second, "alice", "wrong");
    // The password is checked first: a wrong one gets 33, not 31.
    assert_eq!(
        h.pending().len(),
        1,
        "the store is asked even though alice is online"
    );
    h.answer(second, AuthResult::Rejected);
    assert_eq!(h.take(second), [res(ResultCode::LoginUserInvalidPw)]);
    h.login(second, "alice", "pw");
    h.answer(second, AuthResult::Accepted);
    assert_eq!(h.take(second), [res(ResultCode::LoginUserAlready)]);
    assert_eq!(h.chat().logged_in_as(first), Some("alice"));
    assert_eq!(h.chat().logged_in_as(second), None);
    assert_eq!(h.stats().users_logged_in, 1);
}

#[test]
fn two_concurrent_logins_of_one_id_first_answer_wins() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    let a = h.connect();
    let b = h.connect();
    h.login(a, "alice", "pw");
    h.login(b, "alice", "pw");
    assert_eq!(h.pending().len(), 2, "both checks run");
    // b's answer comes first.
    h.answer(b, AuthResult::Accepted);
    assert_eq!(h.take(b), [res(ResultCode::None)]);
    h.answer(a, AuthResult::Accepted);
    assert_eq!(h.take(a), [res(ResultCode::LoginUserAlready)]);
    assert_eq!(h.chat().logged_in_as(b), Some("alice"));
    // The loser is back to Connected and may log in as someone else.
    h.login(a, "bob", "pw");
    h.answer(a, AuthResult::Accepted);
    assert_eq!(h.take(a), [res(ResultCode::None)]);
}

#[test]
fn server_full_is_32_counting_logins_in_flight() {
    let config = ChatConfig {
        max_users: 2,
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config).with_auth(AuthMode::Deferred);
    let a = h.user("a");
    let b = h.connect();
    h.login(b, "b", "pw"); // in flight: takes the second slot
    let c = h.connect();
    h.login(c, "c", "pw");
    assert_eq!(h.take(c), [res(ResultCode::LoginUserUsedAllObj)]);
    assert_eq!(h.pending().len(), 1, "no check asked for a refused login");
    assert_eq!(h.stats().login_failures.server_full, 1);
    // A failed check frees its slot.
    h.answer(b, AuthResult::Rejected);
    h.login(c, "c", "pw");
    h.answer(c, AuthResult::Accepted);
    assert_eq!(h.take(c), [res(ResultCode::None)]);
    // A disconnect frees its slot.
    h.login(b, "b", "pw");
    assert_eq!(
        h.take(b),
        [
            res(ResultCode::LoginUserInvalidPw),
            res(ResultCode::LoginUserUsedAllObj)
        ]
    );
    h.disconnect(a);
    h.login(b, "b", "pw");
    h.answer(b, AuthResult::Accepted);
    assert_eq!(h.take(b), [res(ResultCode::None)]);
}

#[test]
fn thirty_one_is_checked_before_thirty_two() {
    let config = ChatConfig {
        max_users: 1,
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config);
    let a = h.user("a");
    h.login(a, "a", "pw");
    assert_eq!(h.take(a), [res(ResultCode::LoginUserAlready)]);
}

#[test]
fn wrong_password_is_33_and_the_session_may_retry() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user("alice"); // registers alice / pw
    h.disconnect(a);
    let b = h.connect();
    h.login(b, "alice", "nope");
    assert_eq!(h.take(b), [res(ResultCode::LoginUserInvalidPw)]);
    assert_eq!(h.chat().logged_in_as(b), None);
    h.login(b, "alice", "pw");
    assert_eq!(h.take(b), [res(ResultCode::None)]);
    assert_eq!(h.stats().login_failures.invalid_password, 1);
}

#[test]
fn store_unavailable_is_34() {
    let mut h =
        Harness::new(ChatConfig::default()).with_auth(AuthMode::Always(AuthResult::Unavailable));
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    assert_eq!(h.take(conn), [res(ResultCode::LoginBackendUnavailable)]);
    assert_eq!(h.stats().login_failures.backend_unavailable, 1);
    assert_eq!(h.stats().logins_failed, 1);
    h.set_auth(AuthMode::Always(AuthResult::Accepted));
    h.login(conn, "alice", "pw");
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
}

#[test]
fn login_is_released_on_disconnect() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user("alice");
    h.disconnect(a);
    assert_eq!(h.stats().users_logged_in, 0);
    let b = h.connect();
    h.login(b, "alice", "pw");
    assert_eq!(h.take(b), [res(ResultCode::None)]);
}

#[test]
fn unique_ids_are_never_reused() {
    let mut h = Harness::new(ChatConfig {
        room_max_users: 100,
        ..ChatConfig::default()
    });
    let watcher = h.user_in_room("watcher", 0);
    let mut seen = Vec::new();
    for round in 0..5 {
        let conn = h.user_in_room("alice", 0); // same id every time
        let got = h.take(watcher);
        let [Received::NewUser(uid, user)] = &got[..] else {
            panic!("round {round}: {got:?}")
        };
        assert_eq!(user, "alice");
        assert!(!seen.contains(uid), "uid {uid} reused");
        assert!(*uid >= 1);
        seen.push(*uid);
        h.disconnect(conn);
        h.take(watcher);
    }
}

#[test]
fn stale_answers_are_ignored() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    // Answer for a session that went away.
    let gone = h.connect();
    h.login(gone, "alice", "pw");
    let ticket = h.pending()[0].ticket;
    h.disconnect(gone);
    h.answer_stale(gone, ticket, AuthResult::Accepted);
    assert_eq!(h.stats().users_logged_in, 0);
    assert_eq!(h.stats().logins_ok, 0);
    // Wrong ticket: ignored, the real one still counts.
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    let ticket = h.pending()[0].ticket;
    assert_ne!(ticket, 0);
    h.answer_stale(conn, ticket + 1000, AuthResult::Accepted);
    h.answer_stale(conn, ticket.wrapping_sub(1), AuthResult::Rejected);
    assert_eq!(h.take(conn), []);
    h.answer_stale(conn, ticket, AuthResult::Accepted);
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
    // A duplicate answer after success: ignored.
    h.answer_stale(conn, ticket, AuthResult::Rejected);
    assert_eq!(h.take(conn), []);
    assert_eq!(h.chat().logged_in_as(conn), Some("alice"));
    // An answer for a connection never seen: ignored.
    h.answer_stale(ringport_chat::ConnId(999), 1, AuthResult::Accepted);
    assert_eq!(h.stats().logins_ok, 1);
}

#[test]
fn every_attempt_gets_a_fresh_ticket() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    let first = h.pending()[0].ticket;
    h.answer(conn, AuthResult::Rejected);
    h.login(conn, "alice", "pw");
    let second = h.pending()[0].ticket;
    assert_ne!(first, second);
    // The old ticket no longer answers the new attempt.
    h.answer_stale(conn, first, AuthResult::Accepted);
    assert_eq!(h.take(conn), [res(ResultCode::LoginUserInvalidPw)]);
}

#[test]
fn login_attempts_are_limited_per_address_without_hashing() {
    let mut h = Harness::new(ChatConfig {
        login_rate_per_ip: 60, // one a second
        login_burst_per_ip: 3,
        ..ChatConfig::default()
    })
    .with_auth(AuthMode::Deferred);
    let attacker: std::net::IpAddr = "203.0.113.7".parse().unwrap();
    let conns: Vec<_> = (0..5).map(|_| h.connect_from(attacker)).collect();
    for (i, conn) in conns.iter().enumerate() {
        h.login(*conn, &format!("guess{i}"), "pw");
    }
    assert_eq!(h.pending().len(), 3, "only the burst reaches the store");
    for conn in &conns[3..] {
        assert_eq!(h.take(*conn), [res(ResultCode::RoomTooManyPacket)]);
    }
    assert_eq!(h.stats().logins_rate_limited, 2);
    assert_eq!(
        h.stats().logins_failed,
        0,
        "rate-limited attempts are counted apart"
    );

    // Another address, a session the host gave no address, and loopback
    // (exempt by default) are free.
    let other = h.connect_from("198.51.100.1".parse().unwrap());
    h.login(other, "friend", "pw");
    let unknown = h.connect();
    h.login(unknown, "local", "pw");
    let lo: Vec<_> = (0..5)
        .map(|_| h.connect_from("127.0.0.1".parse().unwrap()))
        .collect();
    for (i, conn) in lo.iter().enumerate() {
        h.login(*conn, &format!("lo{i}"), "pw");
    }
    assert_eq!(h.pending().len(), 10);

    // A second later, one more attempt from the attacker passes; the refused
    // session may try again.
    h.advance(std::time::Duration::from_secs(1));
    h.login(conns[3], "guess3", "pw");
    assert_eq!(h.pending().len(), 11);
    h.login(conns[4], "guess4", "pw");
    assert_eq!(h.take(conns[4]), [res(ResultCode::RoomTooManyPacket)]);
    assert!(h.stats().login_limit_groups >= 1);
}

// The login deadline bounds the time to *send* a login request, not the
// server's queue (issue 18).

fn deadline_config() -> ChatConfig {
    ChatConfig {
        login_timeout: std::time::Duration::from_secs(10),
        ..ChatConfig::default()
    }
}

#[test]
fn a_login_in_flight_at_the_deadline_is_answered_not_closed() {
    use std::time::Duration;
    let mut h = Harness::new(deadline_config()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "pw"); // sent at once
    h.advance(Duration::from_secs(10)); // the deadline passes in the queue
    assert!(!h.is_closed(conn), "a session whose request waits is kept");
    assert_eq!(h.stats().login_timeouts, 0);
    assert_eq!(h.stats().login_deadlines_extended, 1);
    h.advance(Duration::from_secs(5));
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
    assert_eq!(h.chat().logged_in_as(conn), Some("alice"));
    assert_eq!(h.chat().next_timeout(), None);
}

#[test]
fn a_late_34_leaves_time_to_retry_then_the_moved_deadline_closes() {
    use std::time::Duration;
    let mut h = Harness::new(deadline_config()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    h.advance(Duration::from_secs(10)); // deadline at 10 s moves to 20 s
    assert_eq!(
        h.chat().next_timeout(),
        Some(h.now() + Duration::from_secs(10))
    );
    h.advance(Duration::from_secs(1));
    h.answer(conn, AuthResult::Unavailable); // overloaded: 34 at 11 s
    assert_eq!(h.take(conn), [res(ResultCode::LoginBackendUnavailable)]);
    assert!(!h.is_closed(conn), "it may try again");
    // The deadline is not re-armed by the answer: 20 s still holds.
    h.advance(Duration::from_millis(8_999));
    assert!(!h.is_closed(conn));
    h.advance(Duration::from_millis(1));
    assert!(h.is_closed(conn), "never logged in by the moved deadline");
    assert_eq!(h.stats().login_timeouts, 1);
}

#[test]
fn a_retry_before_the_moved_deadline_is_answered() {
    use std::time::Duration;
    let mut h = Harness::new(deadline_config()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    h.advance(Duration::from_secs(10));
    h.answer(conn, AuthResult::Unavailable);
    assert_eq!(h.take(conn), [res(ResultCode::LoginBackendUnavailable)]);
    h.advance(Duration::from_secs(3));
    h.login(conn, "alice", "pw");
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
    h.advance(Duration::from_secs(60));
    assert!(!h.is_closed(conn));
}

#[test]
fn a_login_still_in_flight_at_the_moved_deadline_is_kept_again() {
    use std::time::Duration;
    let mut h = Harness::new(deadline_config()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    h.advance(Duration::from_secs(10));
    h.advance(Duration::from_secs(10));
    assert!(!h.is_closed(conn));
    assert_eq!(h.stats().login_deadlines_extended, 2);
    h.answer(conn, AuthResult::Rejected);
    assert_eq!(h.take(conn), [res(ResultCode::LoginUserInvalidPw)]);
    h.advance(Duration::from_secs(10));
    assert!(h.is_closed(conn));
}

#[test]
fn a_session_that_sends_nothing_is_still_closed_at_the_deadline() {
    use std::time::Duration;
    let mut h = Harness::new(deadline_config()).with_auth(AuthMode::Deferred);
    let idle = h.connect();
    let waiting = h.connect();
    h.login(waiting, "w", "pw");
    h.echo(idle, b"not a login"); // other requests do not hold the deadline
    h.take(idle);
    h.advance(Duration::from_secs(10));
    assert!(h.is_closed(idle));
    assert!(!h.is_closed(waiting));
    assert_eq!(h.stats().login_timeouts, 1);
}

#[test]
fn a_failed_login_answered_before_the_deadline_does_not_extend_it() {
    use std::time::Duration;
    let mut h = Harness::new(deadline_config()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    h.advance(Duration::from_secs(9));
    h.answer(conn, AuthResult::Rejected);
    h.advance(Duration::from_secs(1));
    assert!(h.is_closed(conn));
    assert_eq!(h.stats().login_deadlines_extended, 0);
}

/// Found by the chat_ops fuzzer: with a zero `login_timeout` (which
/// `Chat::new` accepts; only `validate` refuses it) a deadline moved for a
/// login in flight landed at `now` and `handle_timeout` popped it forever.
/// Now it returns, the session is kept, and its deadline is due again.
#[test]
fn a_zero_login_timeout_with_a_login_in_flight_does_not_hang() {
    use std::time::Duration;
    let mut h = Harness::new(ChatConfig {
        login_timeout: Duration::ZERO,
        ..ChatConfig::default()
    })
    .with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    h.advance(Duration::from_millis(1));
    assert!(!h.is_closed(conn), "its login is in flight");
    assert_eq!(h.stats().login_deadlines_extended, 1);
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(h.take(conn), [res(ResultCode::None)]);
}
