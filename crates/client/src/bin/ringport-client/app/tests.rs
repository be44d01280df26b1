//! The app driven through commands and network events, no I/O.

use super::*;

fn member(uid: i64, id: &str) -> Member {
    Member {
        user_unique_id: uid,
        user_id: id.to_string(),
    }
}

fn names(app: &App) -> Vec<&str> {
    app.members.iter().map(|m| m.user_id.as_str()).collect()
}

fn packet(app: &mut App, p: Incoming) {
    app.net(NetEvent::Packet(p));
}

/// An app connected, logged in as ann and in room 3 with `others`.
fn in_room(others: Vec<Member>) -> App {
    let mut app = App::new("127.0.0.1:11021");
    app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
    app.command(Command::Login {
        user: "ann".into(),
        password: "pw".into(),
    });
    packet(&mut app, Incoming::Login(ResultCode::None));
    app.command(Command::Enter(3));
    packet(&mut app, Incoming::Enter(ResultCode::None));
    packet(
        &mut app,
        Incoming::UserList {
            members: others,
            last: true,
        },
    );
    app
}

#[test]
fn member_list_follows_209_208_217() {
    let mut app = in_room(vec![member(7, "bob"), member(9, "cat")]);
    assert_eq!(app.user.as_deref(), Some("ann"));
    assert_eq!(app.room, Some(3));
    assert_eq!(names(&app), ["bob", "cat"]);
    assert_eq!(
        app.log.back(),
        Some(&Report::Users {
            room: Some(3),
            members: vec![member(7, "bob"), member(9, "cat")]
        })
    );

    packet(&mut app, Incoming::NewUser(member(11, "dan")));
    assert_eq!(names(&app), ["bob", "cat", "dan"]);
    // A repeated 208 for the same unique id does not duplicate.
    packet(&mut app, Incoming::NewUser(member(11, "dan")));
    assert_eq!(names(&app), ["bob", "cat", "dan"]);

    packet(&mut app, Incoming::LeaveUser(9));
    assert_eq!(names(&app), ["bob", "dan"]);
    assert_eq!(
        app.log.back(),
        Some(&Report::Left {
            room: Some(3),
            uid: 9,
            user: Some("cat".into())
        })
    );
    // 217 for someone unknown: reported with the unique id only.
    packet(&mut app, Incoming::LeaveUser(1234));
    assert_eq!(names(&app), ["bob", "dan"]);
    assert!(matches!(
        app.log.back(),
        Some(Report::Left { user: None, .. })
    ));

    // Leaving empties the list; entering another room starts afresh.
    app.command(Command::Leave);
    packet(&mut app, Incoming::Leave(ResultCode::None));
    assert_eq!(app.room, None);
    assert!(app.members.is_empty());
    app.command(Command::Enter(4));
    packet(&mut app, Incoming::Enter(ResultCode::None));
    packet(
        &mut app,
        Incoming::UserList {
            members: vec![member(20, "eve")],
            last: true,
        },
    );
    assert_eq!(app.room, Some(4));
    assert_eq!(names(&app), ["eve"]);
}

#[test]
fn long_user_lists_span_packets() {
    let mut app = in_room(Vec::new());
    assert!(app.members.is_empty());
    app.command(Command::Leave);
    packet(&mut app, Incoming::Leave(ResultCode::None));
    app.command(Command::Enter(5));
    packet(&mut app, Incoming::Enter(ResultCode::None));
    let first: Vec<Member> = (0..127).map(|i| member(i, &format!("u{i}"))).collect();
    packet(
        &mut app,
        Incoming::UserList {
            members: first,
            last: false,
        },
    );
    // No Users report until the list is complete.
    assert!(!matches!(app.log.back(), Some(Report::Users { .. })));
    packet(
        &mut app,
        Incoming::UserList {
            members: vec![member(500, "last")],
            last: true,
        },
    );
    assert_eq!(app.members.len(), 128);
    match app.log.back() {
        Some(Report::Users { room, members }) => {
            assert_eq!(*room, Some(5));
            assert_eq!(members.len(), 128);
        }
        other => panic!("{other:?}"),
    }
    // The next list replaces it instead of extending it.
    packet(
        &mut app,
        Incoming::UserList {
            members: vec![member(1, "x")],
            last: true,
        },
    );
    assert_eq!(names(&app), ["x"]);
}

#[test]
fn status_names_each_result_code() {
    let mut app = in_room(Vec::new());
    assert_eq!(
        app.status,
        Some(Status {
            text: "ENTER 3: NONE (0)".into(),
            ok: true
        })
    );
    app.command(Command::Enter(99));
    packet(
        &mut app,
        Incoming::Enter(ResultCode::EnterRoomInvalidUserStatus),
    );
    assert_eq!(
        app.status,
        Some(Status {
            text: "ENTER 99: ENTER_ROOM_INVALID_USER_STATUS (52)".into(),
            ok: false
        })
    );
    assert_eq!(app.room, Some(3), "a refused enter keeps the room");
    for code in ResultCode::ALL {
        packet(&mut app, Incoming::ChatRes(code));
        let status = app.status.clone().unwrap();
        assert_eq!(
            status.text,
            format!("CHAT: {} ({})", code.name(), code.code())
        );
        assert_eq!(status.ok, code.is_success());
        assert_eq!(app.log.back().unwrap().is_failure(), !code.is_success());
    }
    packet(&mut app, Incoming::Leave(ResultCode::RoomInvalidIndex));
    assert_eq!(
        app.status.as_ref().unwrap().text,
        "LEAVE: ROOM_INVALID_INDEX (61)"
    );
    let mut app = App::new("x:1");
    app.net(NetEvent::Connected("127.0.0.1:1".parse().unwrap()));
    app.command(Command::Login {
        user: "bob".into(),
        password: "pw".into(),
    });
    packet(&mut app, Incoming::Login(ResultCode::LoginUserInvalidPw));
    assert_eq!(
        app.status.as_ref().unwrap().text,
        "LOGIN bob: LOGIN_USER_INVALID_PW (33)"
    );
    assert_eq!(app.user, None);
}

#[test]
fn own_messages_are_marked() {
    let mut app = in_room(vec![member(7, "bob")]);
    packet(
        &mut app,
        Incoming::Chat {
            from: "bob".into(),
            message: "hi".into(),
        },
    );
    packet(
        &mut app,
        Incoming::Chat {
            from: "ann".into(),
            message: "yo".into(),
        },
    );
    let chats: Vec<_> = app
        .log
        .iter()
        .filter_map(|r| match r {
            Report::Chat {
                from, own, room, ..
            } => Some((from.as_str(), *own, *room)),
            _ => None,
        })
        .collect();
    assert_eq!(chats, [("bob", false, Some(3)), ("ann", true, Some(3))]);
}

#[test]
fn commands_become_requests_and_passwords_stay_out_of_the_log() {
    let mut app = App::new("127.0.0.1:11021");
    // Login while not connected connects first.
    app.input.set("/login ann hunter2");
    let effects = app.submit();
    assert_eq!(
        effects,
        [
            Effect::Connect("127.0.0.1:11021".into()),
            Effect::Send(Request::Login {
                user: "ann".into(),
                password: "hunter2".into()
            })
        ]
    );
    assert!(matches!(app.conn, Conn::Connecting(_)));
    let logged = format!("{:?}", app.log);
    assert!(!logged.contains("hunter2"), "{logged}");
    assert!(logged.contains("/login ann ********"), "{logged}");
    // A bad /login line is echoed masked too.
    app.input.set("/login");
    app.submit();
    app.input.set("/frob ann hunter3");
    app.submit();
    assert!(!format!("{:?}", app.log).contains("hunter3"));

    app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
    app.input.set("/enter 2");
    assert_eq!(app.submit(), [Effect::Send(Request::Enter(2))]);
    app.input.set("hello there");
    assert_eq!(
        app.submit(),
        [Effect::Send(Request::Chat("hello there".into()))]
    );
    app.input.set("/echo ping");
    assert_eq!(
        app.submit(),
        [Effect::Send(Request::Echo(b"ping".to_vec()))]
    );
    app.input.set("/leave");
    assert_eq!(app.submit(), [Effect::Send(Request::Leave)]);
    app.input.set("/quit");
    assert_eq!(app.submit(), [Effect::Quit]);
    app.input.set("   ");
    assert!(app.submit().is_empty());
}

#[test]
fn local_checks_refuse_without_sending() {
    let mut app = App::new("s:1");
    assert!(app.command(Command::Enter(1)).is_empty());
    assert!(matches!(app.log.back(), Some(Report::CommandError(_))));
    app.net(NetEvent::Connected("127.0.0.1:1".parse().unwrap()));
    assert!(app.command(Command::Chat("x".repeat(257))).is_empty());
    assert!(app
        .command(Command::Login {
            user: "u".repeat(33),
            password: "p".into()
        })
        .is_empty());
    assert!(app.command(Command::Sleep(Default::default())).is_empty());
    assert!(app.log.iter().rev().take(3).all(Report::is_failure));
    assert_eq!(
        app.command(Command::Connect(Some("other:2".into()))),
        [Effect::Connect("other:2".into())]
    );
}

#[test]
fn a_closed_connection_forgets_the_session() {
    let mut app = in_room(vec![member(7, "bob")]);
    app.net(NetEvent::Closed("connection closed by the server".into()));
    assert_eq!(app.user, None);
    assert_eq!(app.room, None);
    assert!(app.members.is_empty());
    assert!(matches!(app.conn, Conn::Down(_)));
    assert!(app.log.back().unwrap().is_failure());
}

#[test]
fn the_log_is_bounded() {
    let mut app = App::new("s:1");
    for _ in 0..LOG_LIMIT + 10 {
        app.net(NetEvent::Packet(Incoming::Echo(Vec::new())));
    }
    assert_eq!(app.log.len(), LOG_LIMIT);
    assert_eq!(app.drain_log().len(), LOG_LIMIT);
    assert!(app.log.is_empty());
}
