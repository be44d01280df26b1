//! Created rooms (301/303/307 and 306): creating, the check order and
//! every refusal code, names unique with case ignored, the list, watching
//! with at most one 306 per room per second, enter by name and by number,
//! the idle close, and the C# client's view (nothing it did not ask for).

use std::time::Duration;

use ringport_chat::testing::{Harness, Received, RoomEntry};
use ringport_chat::{ChatConfig, ConnId};
use ringport_proto::ResultCode;

fn created(h: &mut Harness, conn: ConnId, name: &str, max: u16) -> i32 {
    h.create_room(conn, name.as_bytes(), max);
    match h.take(conn).as_slice() {
        [Received::CreateRes(ResultCode::None, number)] => *number,
        other => panic!("create {name}: {other:?}"),
    }
}

fn create_code(h: &mut Harness, conn: ConnId, name: &[u8], max: u16) -> ResultCode {
    h.create_room(conn, name, max);
    match h.take(conn).as_slice() {
        [Received::CreateRes(code, 0)] => *code,
        other => panic!("create {name:?}: {other:?}"),
    }
}

fn entry(number: i32, name: Option<&str>, users: u16, max: u16) -> RoomEntry {
    RoomEntry {
        number,
        users,
        max_users: max,
        created: name.is_some(),
        closed: false,
        name: name.map(str::to_owned),
    }
}

#[test]
fn create_list_and_enter_by_name_and_number() {
    let mut h = Harness::new(ChatConfig::default());
    let ann = h.user("ann");
    let number = created(&mut h, ann, "Rust fans", 8);
    assert_eq!(number, 1000, "created rooms are numbered from 1000");
    assert_eq!(created(&mut h, ann, "go", 0), 1001);
    // Creating does not enter.
    assert_eq!(h.chat().room_of(ann), None);

    h.enter_name(ann, b"RUST FANS");
    assert_eq!(
        h.take(ann),
        [
            Received::EnterNameRes(ResultCode::None, 1000),
            Received::UserList(vec![])
        ]
    );
    let bob = h.user("bob");
    h.enter(bob, 1000);
    let got = h.take(bob);
    assert_eq!(got[0], Received::EnterRes(ResultCode::None));
    assert_eq!(h.take(ann).len(), 1, "208 about bob");

    h.list_rooms(bob, false);
    let got = h.take(bob);
    assert_eq!(got[0], Received::ListRes(ResultCode::None));
    let Received::RoomList(rooms) = &got[1] else {
        panic!("{got:?}");
    };
    assert_eq!(rooms.len(), 12, "10 fixed rooms, 2 created");
    assert_eq!(rooms[0], entry(0, None, 0, 4));
    assert_eq!(rooms[10], entry(1000, Some("Rust fans"), 2, 8));
    assert_eq!(rooms[11], entry(1001, Some("go"), 0, 4));
    assert_eq!(got.len(), 2);
}

#[test]
fn refusals_come_in_the_documented_order_with_their_codes() {
    let config = ChatConfig {
        rooms_per_user: 2,
        max_created_rooms: 3,
        room_create_rate: 0,
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config);
    let conn = h.connect();
    assert_eq!(
        create_code(&mut h, conn, b"x", 0),
        ResultCode::EnterRoomInvalidUserStatus
    );
    let ann = h.user("ann");
    for bad in [
        &b""[..],
        b"a\0b",
        b"tab\there",
        b"\xff\xfe",
        b" lead",
        b"trail ",
        b"0123456789abcdef0123456789abcdefX",
    ] {
        assert_eq!(
            create_code(&mut h, ann, bad, 0),
            ResultCode::RoomNameInvalid,
            "{bad:?}"
        );
    }
    // A bad name beats a bad capacity.
    assert_eq!(
        create_code(&mut h, ann, b"", 5000),
        ResultCode::RoomNameInvalid
    );
    assert_eq!(
        create_code(&mut h, ann, b"big", 1001),
        ResultCode::RoomCapacityInvalid
    );
    created(&mut h, ann, "Lobby", 1000);
    assert_eq!(
        create_code(&mut h, ann, b"lOBBY", 0),
        ResultCode::RoomNameTaken
    );
    created(&mut h, ann, "two", 0);
    assert_eq!(
        create_code(&mut h, ann, b"three", 0),
        ResultCode::RoomCreateLimitUser
    );
    let bob = h.user("bob");
    created(&mut h, bob, "three", 0);
    assert_eq!(
        create_code(&mut h, bob, b"four", 0),
        ResultCode::RoomCreateLimitServer
    );
    // A body that disagrees with its name length is 90.
    h.send_frame(bob, &[0x09, 0x00, 0x2D, 0x01, 0x00, 0x00, 0x00, 0x05, b'a']);
    assert_eq!(
        h.take(bob),
        [Received::CreateRes(ResultCode::InvalidPacket, 0)]
    );
    let failures = h.stats().create_failures;
    assert_eq!(
        (
            failures.name_invalid,
            failures.name_taken,
            failures.user_limit,
            failures.server_limit,
            failures.invalid_packet
        ),
        (8, 1, 1, 1, 1)
    );
}

#[test]
fn creates_are_rate_limited_per_session() {
    let mut h = Harness::new(ChatConfig {
        rooms_per_user: 100,
        ..ChatConfig::default()
    });
    let ann = h.user("ann");
    for i in 0..5 {
        created(&mut h, ann, &format!("r{i}"), 0);
    }
    assert_eq!(
        create_code(&mut h, ann, b"r5", 0),
        ResultCode::RoomTooManyPacket
    );
    // 10 a minute: one more every 6 s.
    h.advance(Duration::from_secs(6));
    created(&mut h, ann, "r5", 0);
}

#[test]
fn enter_by_name_codes() {
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.connect();
    h.enter_name(conn, b"x");
    assert_eq!(
        h.take(conn),
        [Received::EnterNameRes(
            ResultCode::EnterRoomInvalidUserStatus,
            0
        )]
    );
    let ann = h.user("ann");
    h.enter_name(ann, b"a\nb");
    assert_eq!(
        h.take(ann),
        [Received::EnterNameRes(ResultCode::RoomNameInvalid, 0)]
    );
    h.enter_name(ann, b"nowhere");
    assert_eq!(
        h.take(ann),
        [Received::EnterNameRes(ResultCode::RoomNameUnknown, 0)]
    );
    created(&mut h, ann, "tiny", 1);
    let bob = h.user("bob");
    h.enter_name(bob, b"tiny");
    h.take(bob);
    h.enter_name(ann, b"Tiny");
    assert_eq!(
        h.take(ann),
        [Received::EnterNameRes(ResultCode::EnterRoomFullUser, 0)]
    );
    // A number that is not an open created room is 61.
    h.enter(ann, 1005);
    assert_eq!(
        h.take(ann),
        [Received::EnterRes(ResultCode::RoomInvalidIndex)]
    );
}

#[test]
fn an_empty_created_room_closes_after_the_idle_time_and_its_name_is_free() {
    let mut h = Harness::new(ChatConfig {
        room_idle_close: Duration::from_secs(300),
        ..ChatConfig::default()
    });
    let ann = h.user("ann");
    let number = created(&mut h, ann, "cafe", 0);
    h.enter(ann, number);
    h.take(ann);
    // Occupied rooms never close.
    h.advance(Duration::from_secs(600));
    assert_eq!(h.stats().rooms_created_open, 1);
    h.leave(ann);
    h.take(ann);
    h.advance(Duration::from_secs(299));
    assert_eq!(h.stats().rooms_created_open, 1);
    // Entering again stops the clock; leaving restarts it.
    h.enter(ann, number);
    h.leave(ann);
    h.take(ann);
    h.advance(Duration::from_secs(299));
    assert_eq!(h.stats().rooms_created_open, 1);
    h.advance(Duration::from_secs(1));
    assert_eq!(
        (h.stats().rooms_created_open, h.stats().rooms_closed),
        (0, 1)
    );
    h.enter(ann, number);
    assert_eq!(
        h.take(ann),
        [Received::EnterRes(ResultCode::RoomInvalidIndex)]
    );
    // The name is free, and the number is not given again yet.
    assert_eq!(created(&mut h, ann, "CAFE", 0), number + 1);
}

#[test]
fn watchers_get_at_most_one_change_per_room_per_second_ending_in_the_current_state() {
    let mut h = Harness::new(ChatConfig {
        room_max_users: 10,
        ..ChatConfig::default()
    });
    let watcher = h.user("watcher");
    h.list_rooms(watcher, true);
    h.take(watcher);
    let ann = h.user("ann");
    let number = created(&mut h, ann, "busy", 0);
    assert_eq!(
        h.take(watcher),
        [Received::RoomChange(entry(number, Some("busy"), 0, 10))]
    );
    // Five people come in within the second: nothing now...
    let mut members = Vec::new();
    for i in 0..5 {
        let conn = h.user(&format!("m{i}"));
        h.enter(conn, number);
        members.push(conn);
    }
    assert_eq!(h.take(watcher), []);
    // ... and one 306 with all five when the second is over.
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.take(watcher),
        [Received::RoomChange(entry(number, Some("busy"), 5, 10))]
    );
    // Fixed rooms are watched too.
    h.enter(ann, 3);
    assert_eq!(
        h.take(watcher),
        [Received::RoomChange(entry(3, None, 1, 10))]
    );
    // Stopping the watch stops the 306s.
    h.list_rooms(watcher, false);
    h.take(watcher);
    h.leave(ann);
    h.advance(Duration::from_secs(5));
    assert_eq!(h.take(watcher), []);
}

#[test]
fn a_closed_room_reaches_watchers_flagged_closed() {
    let mut h = Harness::new(ChatConfig {
        room_idle_close: Duration::from_secs(1),
        ..ChatConfig::default()
    });
    let watcher = h.user("watcher");
    h.list_rooms(watcher, true);
    h.take(watcher);
    let ann = h.user("ann");
    let number = created(&mut h, ann, "brief", 3);
    h.take(watcher);
    h.advance(Duration::from_secs(2));
    let closed = RoomEntry {
        closed: true,
        ..entry(number, Some("brief"), 0, 3)
    };
    assert_eq!(h.take(watcher), [Received::RoomChange(closed)]);
}

#[test]
fn sessions_that_never_ask_see_nothing_new() {
    // The C# client logs in, enters and chats: it must never get a 30x.
    let mut h = Harness::new(ChatConfig::default());
    let old = h.user_in_room("csharp", 0);
    h.take(old);
    let ann = h.user("ann");
    let number = created(&mut h, ann, "new room", 0);
    h.enter(ann, number);
    h.leave(ann);
    h.enter(ann, 0);
    h.advance(Duration::from_secs(400));
    for got in h.take(old) {
        assert!(
            matches!(got, Received::NewUser(..) | Received::LeaveUser(_)),
            "{got:?}"
        );
    }
}

#[test]
fn a_list_costs_a_chat_token() {
    let mut h = Harness::new(ChatConfig {
        chat_rate: 1,
        chat_burst: 2,
        ..ChatConfig::default()
    });
    let ann = h.user("ann");
    h.list_rooms(ann, false);
    h.list_rooms(ann, false);
    h.take(ann);
    h.list_rooms(ann, false);
    assert_eq!(
        h.take(ann),
        [Received::ListRes(ResultCode::RoomTooManyPacket)]
    );
}
