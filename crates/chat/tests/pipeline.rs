//! Requests are answered in the order they were received: pipelined requests
//! wait behind a login whose password is being checked, in a bounded
//! per-session queue that pauses and resumes reading, and die with their
//! session.

use std::time::Duration;

use ringport_chat::testing::{AuthMode, Harness, Received};
use ringport_chat::{AuthResult, ChatConfig, ConnId};
use ringport_proto::ResultCode;

fn echo(body: &str) -> Received {
    Received::Echo(body.as_bytes().to_vec())
}

/// A session that sends `[DEV_ECHO "first", LOGIN_REQ, DEV_ECHO "second",
/// ROOM_ENTER_REQ 3]` at once; the check is not answered yet.
fn pipelined(h: &mut Harness) -> ConnId {
    let conn = h.connect();
    h.echo(conn, b"first");
    h.login(conn, "alice", "pw");
    h.echo(conn, b"second");
    h.enter(conn, 3);
    // Only what came before the login is answered.
    assert_eq!(h.take(conn), [echo("first")]);
    assert_eq!(h.chat().queued_requests(conn).0, 2);
    conn
}

fn deferred(config: ChatConfig) -> Harness {
    Harness::new(config).with_auth(AuthMode::Deferred)
}

#[test]
fn requests_behind_an_accepted_login_are_answered_after_it_in_order() {
    let mut h = deferred(ChatConfig::default());
    let conn = pipelined(&mut h);
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(
        h.take(conn),
        [
            Received::LoginRes(ResultCode::None),
            echo("second"),
            Received::EnterRes(ResultCode::None),
            Received::UserList(vec![]),
        ]
    );
    assert_eq!(h.chat().room_of(conn), Some(3));
    assert_eq!(h.chat().queued_requests(conn), (0, 0));
    assert_eq!(h.stats().requests_queued, 2);
    assert!(h.reading_log(conn).is_empty(), "two requests: no pause");
}

#[test]
fn requests_behind_a_rejected_login_are_handled_as_not_logged_in() {
    for (result, code) in [
        (AuthResult::Rejected, ResultCode::LoginUserInvalidPw),
        (AuthResult::Unavailable, ResultCode::LoginBackendUnavailable),
    ] {
        let mut h = deferred(ChatConfig::default());
        let conn = pipelined(&mut h);
        h.leave(conn);
        h.chat_message(conn, "hi");
        h.answer(conn, result);
        assert_eq!(
            h.take(conn),
            [
                Received::LoginRes(code),
                echo("second"),
                Received::EnterRes(ResultCode::EnterRoomInvalidUserStatus),
                Received::LeaveRes(ResultCode::RoomInvalidIndex),
                Received::ChatRes(ResultCode::ChatRoomInvalidRoomNumber),
            ],
            "{result:?}"
        );
        assert!(!h.chat().is_waiting(conn));
    }
}

#[test]
fn a_second_login_in_the_queue_starts_its_check_and_the_rest_waits_again() {
    let mut h = deferred(ChatConfig::default());
    let conn = h.connect();
    h.login(conn, "alice", "wrong");
    h.echo(conn, b"a");
    h.login(conn, "alice", "pw");
    h.echo(conn, b"b");
    h.enter(conn, 0);
    h.answer(conn, AuthResult::Rejected);
    assert_eq!(
        h.take(conn),
        [
            Received::LoginRes(ResultCode::LoginUserInvalidPw),
            echo("a")
        ]
    );
    assert!(h.chat().is_waiting(conn), "the second login is checked");
    assert_eq!(h.chat().queued_requests(conn).0, 2);
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(
        h.take(conn),
        [
            Received::LoginRes(ResultCode::None),
            echo("b"),
            Received::EnterRes(ResultCode::None),
            Received::UserList(vec![]),
        ]
    );
}

#[test]
fn other_sessions_are_not_held_up() {
    let mut h = deferred(ChatConfig::default());
    let slow = pipelined(&mut h);
    let other = h.connect();
    h.echo(other, b"quick");
    assert_eq!(h.take(other), [echo("quick")]);
    h.answer(slow, AuthResult::Accepted);
    assert_eq!(h.take(slow).len(), 4);
}

#[test]
fn notifies_from_others_may_come_between_the_answers() {
    let mut h = deferred(ChatConfig::default());
    // Bob is in room 3 before alice's login is answered.
    h.set_auth(AuthMode::Always(AuthResult::Accepted));
    let bob = h.user_in_room("bob", 3);
    h.set_auth(AuthMode::Deferred);
    let alice = pipelined(&mut h);
    h.chat_message(alice, "hello");
    // While alice waits, bob chats: nothing reaches alice (not in the room).
    h.chat_message(bob, "anyone?");
    assert_eq!(h.take(alice), []);
    h.answer(alice, AuthResult::Accepted);
    let got = h.take(alice);
    assert_eq!(
        got[..3],
        [
            Received::LoginRes(ResultCode::None),
            echo("second"),
            Received::EnterRes(ResultCode::None),
        ]
    );
    assert!(matches!(&got[3], Received::UserList(list) if list.len() == 1));
    assert_eq!(
        got[4..],
        [
            Received::ChatRes(ResultCode::None),
            Received::ChatNtf {
                user_id: "alice".into(),
                message: "hello".into()
            },
        ]
    );
    // Bob hears of alice's enter, then her chat.
    let bob_got = h.take(bob);
    assert!(
        matches!(bob_got.last(), Some(Received::ChatNtf { user_id, .. }) if user_id == "alice")
    );
}

#[test]
fn a_full_queue_pauses_reading_keeps_what_still_arrives_and_resumes_once_drained() {
    let config = ChatConfig {
        pipeline_frames: 4,
        ..ChatConfig::default()
    };
    let mut h = deferred(config);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    for i in 0..3 {
        h.echo(conn, format!("{i}").as_bytes());
    }
    assert!(!h.is_paused(conn), "3 of 4: not yet");
    h.echo(conn, b"3");
    assert!(h.is_paused(conn), "the 4th fills the queue: paused");
    assert_eq!(h.stats().pipeline_pauses, 1);
    // Frames the engine had already read when it paused: queued, not
    // dropped, and no second pause.
    for i in 4..20 {
        h.echo(conn, format!("{i}").as_bytes());
    }
    assert_eq!(h.chat().queued_requests(conn).0, 20);
    assert_eq!(h.reading_log(conn), [true]);
    assert_eq!(h.take(conn), []);
    h.answer(conn, AuthResult::Accepted);
    let mut want = vec![Received::LoginRes(ResultCode::None)];
    want.extend((0..20).map(|i| echo(&format!("{i}"))));
    assert_eq!(h.take(conn), want);
    assert_eq!(h.reading_log(conn), [true, false], "resumed once drained");
    assert!(!h.is_paused(conn));
    assert_eq!(h.stats().requests_queued, 20);
}

#[test]
fn the_byte_bound_pauses_too() {
    let config = ChatConfig {
        pipeline_bytes: 100,
        ..ChatConfig::default()
    };
    let mut h = deferred(config);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    let body = [7u8; 40]; // 45-byte frames
    h.echo(conn, &body);
    h.echo(conn, &body);
    assert!(!h.is_paused(conn), "90 bytes of 100");
    h.echo(conn, &body);
    assert!(h.is_paused(conn), "135 bytes");
    assert_eq!(h.chat().queued_requests(conn), (3, 135));
    h.answer(conn, AuthResult::Rejected);
    assert_eq!(h.take(conn).len(), 4);
    assert_eq!(h.reading_log(conn), [true, false]);
}

#[test]
fn a_paused_session_stays_paused_until_the_whole_queue_has_drained() {
    let config = ChatConfig {
        pipeline_frames: 3,
        ..ChatConfig::default()
    };
    let mut h = deferred(config);
    let conn = h.connect();
    h.login(conn, "alice", "wrong");
    h.echo(conn, b"a");
    h.login(conn, "alice", "pw");
    h.echo(conn, b"b");
    h.echo(conn, b"c");
    assert!(h.is_paused(conn));
    // The first answer lets "a" through, then the second login waits with
    // "b" and "c" behind it: still paused.
    h.answer(conn, AuthResult::Rejected);
    assert_eq!(
        h.take(conn),
        [
            Received::LoginRes(ResultCode::LoginUserInvalidPw),
            echo("a")
        ]
    );
    assert!(h.is_paused(conn));
    assert_eq!(h.reading_log(conn), [true]);
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(
        h.take(conn),
        [Received::LoginRes(ResultCode::None), echo("b"), echo("c")]
    );
    assert_eq!(h.reading_log(conn), [true, false]);
}

/// Found by the property test: when the last queued request is itself a
/// login (in flight now), the queue is empty: reading resumes at once
/// rather than when that login is answered.
#[test]
fn reading_resumes_when_the_queue_is_empty_even_with_a_login_in_flight() {
    let config = ChatConfig {
        pipeline_frames: 2,
        ..ChatConfig::default()
    };
    let mut h = deferred(config);
    let conn = h.connect();
    h.login(conn, "alice", "wrong");
    h.echo(conn, b"a");
    h.login(conn, "alice", "pw");
    assert!(h.is_paused(conn));
    h.answer(conn, AuthResult::Rejected);
    assert_eq!(
        h.take(conn),
        [
            Received::LoginRes(ResultCode::LoginUserInvalidPw),
            echo("a")
        ]
    );
    assert!(h.chat().is_waiting(conn), "the second login is in flight");
    assert_eq!(
        h.reading_log(conn),
        [true, false],
        "resumed: nothing queued"
    );
    // What comes next waits again.
    h.echo(conn, b"b");
    assert_eq!(h.take(conn), []);
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(
        h.take(conn),
        [Received::LoginRes(ResultCode::None), echo("b")]
    );
}

#[test]
fn a_disconnect_drops_the_queue_and_the_late_answer() {
    let config = ChatConfig {
        pipeline_frames: 2,
        ..ChatConfig::default()
    };
    let mut h = deferred(config);
    let conn = pipelined(&mut h);
    assert!(h.is_paused(conn));
    let ticket = h.pending()[0].ticket;
    h.disconnect(conn);
    assert!(!h.chat().has_session(conn));
    assert_eq!(h.chat().queued_requests(conn), (0, 0));
    h.answer_stale(conn, ticket, AuthResult::Accepted);
    assert_eq!(h.take(conn), []);
    assert_eq!(h.reading_log(conn), [true], "a gone session is not resumed");
    assert_eq!(h.stats().logins_ok, 0);
    assert_eq!(h.stats().users_logged_in, 0);
}

#[test]
fn the_login_deadline_keeps_a_session_whose_login_is_in_flight_with_its_queue() {
    let config = ChatConfig {
        login_timeout: Duration::from_secs(2),
        pipeline_frames: 2,
        ..ChatConfig::default()
    };
    let mut h = deferred(config);
    let conn = pipelined(&mut h);
    assert!(h.is_paused(conn));
    h.advance(Duration::from_secs(2));
    assert!(!h.is_closed(conn), "its login waits on the server");
    assert_eq!(h.stats().login_timeouts, 0);
    // Answered late: the login and the requests behind it, in order.
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(
        h.take(conn),
        [
            Received::LoginRes(ResultCode::None),
            echo("second"),
            Received::EnterRes(ResultCode::None),
            Received::UserList(vec![]),
        ]
    );
    assert_eq!(h.reading_log(conn), [true, false], "paused, then resumed");
}

#[test]
fn queued_chats_are_charged_when_they_arrived() {
    let config = ChatConfig {
        chat_rate: 1,
        chat_burst: 2,
        ..ChatConfig::default()
    };
    let mut h = deferred(config);
    let conn = h.connect();
    h.login(conn, "alice", "pw");
    h.enter(conn, 0);
    for _ in 0..3 {
        h.chat_message(conn, "m");
    }
    // The check takes 5 s, enough to refill the bucket; but the chats
    // arrived at once, so the third is over the limit all the same.
    h.advance(Duration::from_secs(5));
    h.answer(conn, AuthResult::Accepted);
    let codes: Vec<Received> = h
        .take(conn)
        .into_iter()
        .filter(|r| matches!(r, Received::ChatRes(_)))
        .collect();
    assert_eq!(
        codes,
        [
            Received::ChatRes(ResultCode::None),
            Received::ChatRes(ResultCode::None),
            Received::ChatRes(ResultCode::RoomTooManyPacket),
        ]
    );
}
