//! Rooms (206/215 and disconnect): result codes 52/54/61/90, check order,
//! the 207 → 209 → 208 order, user lists (empty, split at 127), leave and
//! disconnect notifies, rooms freed when empty.

use ringport_chat::testing::{frame, AuthMode, Harness, Received};
use ringport_chat::{AuthResult, ChatConfig};
use ringport_proto::{id, ResultCode};

fn enter_res(code: ResultCode) -> Received {
    Received::EnterRes(code)
}

fn leave_res(code: ResultCode) -> Received {
    Received::LeaveRes(code)
}

#[test]
fn enter_empty_room_gets_207_then_an_empty_209() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.user("alice");
    h.enter(conn, 0);
    assert_eq!(
        h.take(conn),
        [enter_res(ResultCode::None), Received::UserList(vec![])]
    );
    assert_eq!(h.chat().room_of(conn), Some(0));
    assert_eq!((h.stats().rooms_active, h.stats().users_in_rooms), (1, 1));
}

#[test]
fn enter_order_is_207_209_then_208_to_the_others_encoded_once() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("alice", 5);
    let b = h.user_in_room("bob", 5);
    h.clear_all();
    let c = h.user("carol");
    h.enter(c, 5);
    let got = h.take(c);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], enter_res(ResultCode::None));
    let Received::UserList(list) = &got[1] else {
        panic!("{got:?}")
    };
    let names: Vec<&str> = list.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["alice", "bob"], "members in the order they entered");
    let uid_c = h.unique_id(c).expect("208 seen");
    for other in [a, b] {
        assert_eq!(h.take(other), [Received::NewUser(uid_c, "carol".into())]);
    }
    // The 209 ids are the ones the 208s announced.
    assert_eq!(list[0].0, h.unique_id(a).unwrap_or(list[0].0));
    let shared = h.last_shared();
    assert_eq!(shared.len(), 2);
    assert!(
        shared.iter().all(|(_, addr)| *addr == shared[0].1),
        "one buffer for all"
    );
}

#[test]
fn user_list_is_split_at_127() {
    for (others, sizes) in [
        (126usize, vec![126]),
        (127, vec![127, 0]),
        (200, vec![127, 73]),
        (254, vec![127, 127, 0]),
    ] {
        let config = ChatConfig {
            room_max_users: 300,
            max_users: 1000,
            ..ChatConfig::default()
        };
        let mut h = Harness::new(config);
        h.set_check_each_step(false);
        for i in 0..others {
            h.user_in_room(&format!("user{i}"), 1);
        }
        let last = h.user("last");
        h.enter(last, 1);
        let got = h.take(last);
        assert_eq!(got[0], enter_res(ResultCode::None));
        let lists: Vec<usize> = got[1..]
            .iter()
            .map(|p| match p {
                Received::UserList(l) => l.len(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(lists, sizes, "{others} others");
        h.check();
    }
}

#[test]
fn enter_needs_logged_in_and_not_in_a_room_52() {
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Deferred);
    let conn = h.connect();
    h.enter(conn, 0);
    assert_eq!(
        h.take(conn),
        [enter_res(ResultCode::EnterRoomInvalidUserStatus)]
    );
    h.login(conn, "alice", "pw");
    h.enter(conn, 0); // login in flight: the enter waits for it
    assert_eq!(h.take(conn), []);
    h.answer(conn, AuthResult::Accepted);
    assert_eq!(
        h.take(conn),
        [
            Received::LoginRes(ResultCode::None),
            enter_res(ResultCode::None),
            Received::UserList(vec![])
        ]
    );
    h.enter(conn, 1); // already in a room
    assert_eq!(
        h.take(conn),
        [enter_res(ResultCode::EnterRoomInvalidUserStatus)]
    );
    h.enter(conn, 0); // even the same one
    assert_eq!(
        h.take(conn),
        [enter_res(ResultCode::EnterRoomInvalidUserStatus)]
    );
    assert_eq!(h.chat().room_of(conn), Some(0));
}

#[test]
fn room_out_of_range_is_61() {
    let mut h = Harness::new(ChatConfig {
        room_start: 100,
        rooms: 3,
        ..ChatConfig::default()
    });
    let conn = h.user("alice");
    for room in [99, 103, 0, -1, i32::MIN, i32::MAX] {
        h.enter(conn, room);
        assert_eq!(
            h.take(conn),
            [enter_res(ResultCode::RoomInvalidIndex)],
            "room {room}"
        );
    }
    for room in [100, 102] {
        h.enter(conn, room);
        assert_eq!(h.take(conn)[0], enter_res(ResultCode::None), "room {room}");
        h.leave(conn);
        h.take(conn);
    }
}

#[test]
fn room_range_at_the_top_of_i32_does_not_overflow() {
    let config = ChatConfig {
        room_start: i32::MAX - 1,
        rooms: 2,
        // No room is left for created rooms above the fixed ones.
        rooms_per_user: 0,
        ..ChatConfig::default()
    };
    assert_eq!(config.validate(), Ok(()));
    let mut h = Harness::new(config);
    let conn = h.user("alice");
    h.enter(conn, i32::MIN);
    assert_eq!(h.take(conn), [enter_res(ResultCode::RoomInvalidIndex)]);
    h.enter(conn, i32::MAX);
    assert_eq!(h.take(conn)[0], enter_res(ResultCode::None));
}

#[test]
fn full_room_is_54() {
    let mut h = Harness::new(ChatConfig {
        room_max_users: 2,
        ..ChatConfig::default()
    });
    h.user_in_room("a", 0);
    h.user_in_room("b", 0);
    h.clear_all();
    let c = h.user("c");
    h.enter(c, 0);
    assert_eq!(h.take(c), [enter_res(ResultCode::EnterRoomFullUser)]);
    assert_eq!(h.chat().room_of(c), None);
    // Another room is fine.
    h.enter(c, 1);
    assert_eq!(h.take(c)[0], enter_res(ResultCode::None));
}

#[test]
fn enter_check_order_90_52_61_54() {
    let mut h = Harness::new(ChatConfig {
        room_max_users: 1,
        ..ChatConfig::default()
    });
    let anon = h.connect();
    // 90 before 52: bad body from a session not logged in.
    h.send_frame(anon, &frame(id::ROOM_ENTER_REQ, &[1, 2, 3]));
    h.send_frame(anon, &frame(id::ROOM_ENTER_REQ, &[1, 2, 3, 4, 5]));
    assert_eq!(
        h.take(anon),
        [
            enter_res(ResultCode::InvalidPacket),
            enter_res(ResultCode::InvalidPacket)
        ]
    );
    // 52 before 61.
    h.enter(anon, -5);
    assert_eq!(
        h.take(anon),
        [enter_res(ResultCode::EnterRoomInvalidUserStatus)]
    );
    // 61 is about the number only; 54 after it.
    h.user_in_room("a", 0);
    let b = h.user("b");
    h.enter(b, 99);
    assert_eq!(h.take(b), [enter_res(ResultCode::RoomInvalidIndex)]);
    h.enter(b, 0);
    assert_eq!(h.take(b), [enter_res(ResultCode::EnterRoomFullUser)]);
    assert_eq!(h.stats().invalid_packets, 2);
}

#[test]
fn leave_sends_216_then_217_to_the_remaining_encoded_once() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("a", 0);
    let b = h.user_in_room("b", 0);
    let c = h.user_in_room("c", 0);
    let uid_a = h.unique_id(a).or(Some(1));
    h.clear_all();
    h.leave(a);
    assert_eq!(h.take(a), [leave_res(ResultCode::None)]);
    for other in [b, c] {
        let got = h.take(other);
        assert!(
            matches!(got[..], [Received::LeaveUser(uid)] if Some(uid) == uid_a),
            "{got:?}"
        );
    }
    let shared = h.last_shared();
    assert_eq!(shared.len(), 2);
    assert_eq!(shared[0].1, shared[1].1);
    // Back to LoggedIn: can enter again, even another room.
    assert_eq!(h.chat().room_of(a), None);
    assert_eq!(h.chat().logged_in_as(a), Some("a"));
    h.enter(a, 1);
    assert_eq!(
        h.take(a),
        [enter_res(ResultCode::None), Received::UserList(vec![])]
    );
}

#[test]
fn leave_outside_a_room_is_61() {
    let mut h = Harness::new(ChatConfig::default());
    let anon = h.connect();
    h.leave(anon);
    assert_eq!(h.take(anon), [leave_res(ResultCode::RoomInvalidIndex)]);
    let user = h.user("alice");
    h.leave(user);
    assert_eq!(h.take(user), [leave_res(ResultCode::RoomInvalidIndex)]);
    h.enter(user, 0);
    h.leave(user);
    h.take(user);
    h.leave(user);
    assert_eq!(h.take(user), [leave_res(ResultCode::RoomInvalidIndex)]);
}

#[test]
fn leave_with_a_body_is_90_before_61() {
    let mut h = Harness::new(ChatConfig::default());
    let anon = h.connect();
    h.send_frame(anon, &frame(id::ROOM_LEAVE_REQ, &[0]));
    assert_eq!(h.take(anon), [leave_res(ResultCode::InvalidPacket)]);
    let user = h.user_in_room("alice", 0);
    h.send_frame(user, &frame(id::ROOM_LEAVE_REQ, &[0, 0]));
    assert_eq!(h.take(user), [leave_res(ResultCode::InvalidPacket)]);
    assert_eq!(h.chat().room_of(user), Some(0), "still in the room");
}

#[test]
fn last_to_leave_frees_the_room_which_is_reusable() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("a", 2);
    let b = h.user_in_room("b", 2);
    h.clear_all();
    h.leave(a);
    assert_eq!(h.stats().rooms_active, 1);
    h.disconnect(b);
    assert_eq!(
        h.take(a),
        [leave_res(ResultCode::None)],
        "a is out: no 217 for it"
    );
    assert_eq!((h.stats().rooms_active, h.stats().users_in_rooms), (0, 0));
    assert!(h.chat().room_members(2).is_empty());
    h.enter(a, 2);
    assert_eq!(
        h.take(a),
        [enter_res(ResultCode::None), Received::UserList(vec![])]
    );
    assert_eq!(h.stats().rooms_active, 1);
}

#[test]
fn disconnect_in_a_room_notifies_the_others() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("a", 0);
    let b = h.user_in_room("b", 0);
    let uid_b = h.unique_id(b).expect("208 about b seen");
    h.clear_all();
    h.disconnect(b);
    assert_eq!(h.take(a), [Received::LeaveUser(uid_b)]);
    assert_eq!(h.chat().room_members(0), [a]);
    // b's id is free again; the new login gets a new unique id.
    let b2 = h.user_in_room("b", 0);
    let got = h.take(a);
    assert!(
        matches!(&got[..], [Received::NewUser(uid, name)] if *uid != uid_b && name == "b"),
        "{got:?}"
    );
    assert_ne!(b2, b);
}

#[test]
fn disconnect_outside_rooms_sends_nothing() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("a", 0);
    let b = h.user("b");
    let c = h.connect();
    h.clear_all();
    h.disconnect(b);
    h.disconnect(c);
    assert_eq!(h.take(a), []);
    // Twice, or for an unknown connection: ignored.
    h.disconnect(c);
    h.disconnect(ringport_chat::ConnId(12345));
    assert_eq!(h.stats().sessions, 1);
}

#[test]
fn rooms_are_independent() {
    let mut h = Harness::new(ChatConfig::default());
    let a = h.user_in_room("a", 0);
    let b = h.user_in_room("b", 1);
    h.clear_all();
    h.chat_message(a, "only room 0");
    assert_eq!(h.take(b), []);
    h.leave(a);
    assert_eq!(h.take(b), []);
}
