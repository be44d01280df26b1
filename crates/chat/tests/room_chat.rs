//! Room chat (221 → 222 + 223): result codes 81/63/90, check order, fan-out
//! to every member including the sender (one shared buffer), pipelining, and
//! the rate limit driven by the fake clock.

use std::time::Duration;

use ringport_chat::testing::{frame, Harness, Received};
use ringport_chat::ChatConfig;
use ringport_proto::{id, ResultCode};

fn chat_res(code: ResultCode) -> Received {
    Received::ChatRes(code)
}

fn ntf(user_id: &str, message: &str) -> Received {
    Received::ChatNtf {
        user_id: user_id.into(),
        message: message.into(),
    }
}

fn message_body(text: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8; 257];
    body[..text.len()].copy_from_slice(text);
    body
}

#[test]
fn chat_reaches_every_member_including_the_sender_after_its_222() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("alice", 0);
    let b = h.user_in_room("bob", 0);
    let c = h.user_in_room("carol", 0);
    let outsider = h.user_in_room("dave", 1);
    h.clear_all();
    h.chat_message(b, "hello");
    assert_eq!(h.take(b), [chat_res(ResultCode::None), ntf("bob", "hello")]);
    assert_eq!(h.take(a), [ntf("bob", "hello")]);
    assert_eq!(h.take(c), [ntf("bob", "hello")]);
    assert_eq!(h.take(outsider), []);
    let shared = h.last_shared();
    assert_eq!(shared.len(), 3, "one shared send per member");
    assert!(
        shared.iter().all(|(_, addr)| *addr == shared[0].1),
        "encoded once"
    );
    assert_eq!(h.stats().chats_in, 1);
    assert_eq!(h.stats().deliveries_out, 3);
}

#[test]
fn alone_in_a_room_the_sender_still_gets_its_223() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("alice", 0);
    h.chat_message(a, "echo?");
    assert_eq!(
        h.take(a),
        [chat_res(ResultCode::None), ntf("alice", "echo?")]
    );
}

#[test]
fn pipelined_chats_keep_each_222_before_its_223() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("alice", 0);
    for i in 0..5 {
        h.chat_message(a, &format!("m{i}"));
    }
    let got = h.take(a);
    let expected: Vec<Received> = (0..5)
        .flat_map(|i| [chat_res(ResultCode::None), ntf("alice", &format!("m{i}"))])
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn longest_message_and_text_after_the_nul() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("alice", 0);
    let long = "é".repeat(128); // 256 bytes
    h.chat_message(a, &long);
    assert_eq!(h.take(a), [chat_res(ResultCode::None), ntf("alice", &long)]);
    let mut body = message_body(b"hi");
    body[100] = b'x';
    h.send_frame(a, &frame(id::ROOM_CHAT_REQ, &body));
    assert_eq!(h.take(a), [chat_res(ResultCode::None), ntf("alice", "hi")]);
}

#[test]
fn chat_outside_a_room_is_81() {
    let mut h = Harness::new(ChatConfig::default());
    let anon = h.connect();
    h.chat_message(anon, "hi");
    assert_eq!(
        h.take(anon),
        [chat_res(ResultCode::ChatRoomInvalidRoomNumber)]
    );
    let user = h.user("alice");
    h.chat_message(user, "hi");
    assert_eq!(
        h.take(user),
        [chat_res(ResultCode::ChatRoomInvalidRoomNumber)]
    );
    h.enter(user, 0);
    h.leave(user);
    h.take(user);
    h.chat_message(user, "hi");
    assert_eq!(
        h.take(user),
        [chat_res(ResultCode::ChatRoomInvalidRoomNumber)]
    );
    assert_eq!(h.stats().chats_in, 0);
}

#[test]
fn bad_bodies_are_90_before_the_state_check() {
    let mut h = Harness::new(ChatConfig::default());
    let anon = h.connect();
    let member = h.user_in_room("alice", 0);
    let bodies = [
        vec![],
        vec![0u8; 256],
        vec![0u8; 258],
        message_body(b""),           // empty message
        message_body(&[0xc3, 0x28]), // invalid UTF-8
        vec![b'a'; 257],             // no NUL
    ];
    for conn in [anon, member] {
        for body in &bodies {
            h.send_frame(conn, &frame(id::ROOM_CHAT_REQ, body));
            assert_eq!(
                h.take(conn),
                [chat_res(ResultCode::InvalidPacket)],
                "{conn} {body:?}"
            );
        }
    }
    assert_eq!(h.stats().invalid_packets, 2 * bodies.len() as u64);
    assert_eq!(h.stats().chats_in, 0);
}

#[test]
fn rate_limit_burst_then_refill() {
    let config = ChatConfig {
        chat_rate: 10,
        chat_burst: 20,
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config);
    let a = h.user_in_room("alice", 0);
    let b = h.user_in_room("bob", 0);
    h.clear_all();
    for i in 0..20 {
        h.chat_message(a, "x");
        assert_eq!(
            h.take(a)[0],
            chat_res(ResultCode::None),
            "message {i} of the burst"
        );
    }
    h.chat_message(a, "x");
    assert_eq!(
        h.take(a),
        [chat_res(ResultCode::RoomTooManyPacket)],
        "no 223 for a refused chat"
    );
    assert_eq!(h.stats().rate_limited, 1);
    h.take(b);
    h.chat_message(a, "x");
    h.take(a);
    assert_eq!(h.take(b), [], "refused chats reach nobody");
    // 100 ms later exactly one token is back.
    h.advance(Duration::from_millis(100));
    h.chat_message(a, "x");
    assert_eq!(h.take(a)[0], chat_res(ResultCode::None));
    h.chat_message(a, "x");
    assert_eq!(h.take(a), [chat_res(ResultCode::RoomTooManyPacket)]);
    // Refused chats do not push the refill back.
    h.advance(Duration::from_millis(100));
    h.chat_message(a, "x");
    assert_eq!(h.take(a)[0], chat_res(ResultCode::None));
    // After a long pause the whole burst is back, and no more.
    h.advance(Duration::from_secs(60));
    for _ in 0..20 {
        h.chat_message(a, "x");
        assert_eq!(h.take(a)[0], chat_res(ResultCode::None));
    }
    h.chat_message(a, "x");
    assert_eq!(h.take(a), [chat_res(ResultCode::RoomTooManyPacket)]);
    assert_eq!(h.stats().rate_limited, 4);
    // The limit is per session.
    h.clear_all();
    h.chat_message(b, "x");
    assert_eq!(h.take(b)[0], chat_res(ResultCode::None));
}

#[test]
fn rate_limit_survives_leaving_and_reentering() {
    let config = ChatConfig {
        chat_rate: 1,
        chat_burst: 2,
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config);
    let a = h.user_in_room("alice", 0);
    h.chat_message(a, "1");
    h.chat_message(a, "2");
    h.leave(a);
    h.enter(a, 1);
    h.take(a);
    h.chat_message(a, "3");
    assert_eq!(h.take(a), [chat_res(ResultCode::RoomTooManyPacket)]);
}

#[test]
fn state_is_checked_before_the_rate_limit() {
    let config = ChatConfig {
        chat_rate: 1,
        chat_burst: 1,
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config);
    let a = h.user("alice");
    for _ in 0..3 {
        h.chat_message(a, "x");
        assert_eq!(h.take(a), [chat_res(ResultCode::ChatRoomInvalidRoomNumber)]);
    }
    // Those did not take tokens.
    h.enter(a, 0);
    h.take(a);
    h.chat_message(a, "x");
    assert_eq!(h.take(a)[0], chat_res(ResultCode::None));
    assert_eq!(h.stats().rate_limited, 0);
}

#[test]
fn rate_zero_turns_the_limit_off() {
    let config = ChatConfig {
        chat_rate: 0,
        chat_burst: 0,
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config);
    let a = h.user_in_room("alice", 0);
    for _ in 0..500 {
        h.chat_message(a, "x");
    }
    let ok = h
        .take(a)
        .iter()
        .filter(|p| **p == chat_res(ResultCode::None))
        .count();
    assert_eq!(ok, 500);
    assert_eq!(h.stats().rate_limited, 0);
    assert_eq!(h.stats().deliveries_out, 500);
}
