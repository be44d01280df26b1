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
    app.reconnect = false;
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

fn rust_room(number: i32, name: &str, users: u16) -> Room {
    Room {
        number,
        users,
        max_users: 8,
        name: Some(name.to_string()),
        closed: false,
    }
}

/// An app connected and logged in as ann.
fn logged_in(app: &mut App) {
    app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
    app.command(Command::Login {
        user: "ann".into(),
        password: "pw".into(),
    });
    packet(app, Incoming::Login(ResultCode::None));
}

#[test]
fn create_then_enter_by_name() {
    let mut app = App::new("s:1");
    logged_in(&mut app);
    assert_eq!(
        app.command(Command::Create {
            name: "rust fans".into(),
            max_users: 8
        }),
        [Effect::Send(Request::Create {
            name: "rust fans".into(),
            max_users: 8
        })]
    );
    packet(
        &mut app,
        Incoming::Create {
            result: ResultCode::None,
            room: 1000,
        },
    );
    assert_eq!(
        app.log.back(),
        Some(&Report::Create {
            name: Some("rust fans".into()),
            room: 1000,
            result: ResultCode::None
        })
    );
    assert_eq!(app.room, None, "creating does not enter");

    // A refused enter by name, then one by number, then a good one by name:
    // the answers pair with the requests in order.
    app.command(Command::EnterName("nope".into()));
    app.command(Command::Enter(99));
    assert_eq!(
        app.command(Command::EnterName("rust fans".into())),
        [Effect::Send(Request::EnterName("rust fans".into()))]
    );
    packet(
        &mut app,
        Incoming::EnterName {
            result: ResultCode::RoomNameUnknown,
            room: 0,
        },
    );
    assert_eq!(
        app.log.back(),
        Some(&Report::EnterName {
            name: Some("nope".into()),
            room: None,
            result: ResultCode::RoomNameUnknown
        })
    );
    packet(&mut app, Incoming::Enter(ResultCode::RoomInvalidIndex));
    assert_eq!(
        app.log.back(),
        Some(&Report::Enter {
            room: Some(99),
            result: ResultCode::RoomInvalidIndex
        })
    );
    packet(
        &mut app,
        Incoming::EnterName {
            result: ResultCode::None,
            room: 1000,
        },
    );
    assert_eq!(app.room, Some(1000));
    let status = app.status.clone().unwrap();
    assert_eq!(status.text, "ENTER rust fans: NONE (0)");
    packet(
        &mut app,
        Incoming::UserList {
            members: vec![member(7, "bob")],
            last: true,
        },
    );
    assert_eq!(
        app.log.back(),
        Some(&Report::Users {
            room: Some(1000),
            members: vec![member(7, "bob")]
        })
    );
}

#[test]
fn bad_room_names_are_refused_before_sending() {
    let mut app = App::new("s:1");
    logged_in(&mut app);
    let long = "x".repeat(33);
    assert!(app
        .command(Command::Create {
            name: long.clone(),
            max_users: 0
        })
        .is_empty());
    assert!(matches!(app.log.back(), Some(Report::CommandError(_))));
    assert!(app.command(Command::EnterName(long)).is_empty());
    assert!(matches!(app.log.back(), Some(Report::CommandError(_))));
}

#[test]
fn the_room_list_is_collected_and_follows_changes() {
    let mut app = App::new("s:1");
    logged_in(&mut app);
    assert_eq!(
        app.command(Command::Rooms { watch: true }),
        [Effect::Send(Request::Rooms { watch: true })]
    );
    packet(&mut app, Incoming::RoomsRes(ResultCode::None));
    assert!(app.watching);
    packet(
        &mut app,
        Incoming::RoomList {
            rooms: vec![rust_room(1000, "rust", 1)],
            last: false,
        },
    );
    assert!(app.rooms.is_empty(), "shown once complete");
    packet(
        &mut app,
        Incoming::RoomList {
            rooms: vec![rust_room(1001, "go", 2)],
            last: true,
        },
    );
    assert_eq!(
        app.log.back(),
        Some(&Report::Rooms(vec![
            rust_room(1000, "rust", 1),
            rust_room(1001, "go", 2)
        ]))
    );
    assert_eq!(app.rooms.keys().copied().collect::<Vec<_>>(), [1000, 1001]);

    packet(&mut app, Incoming::RoomChange(rust_room(1000, "rust", 5)));
    assert_eq!(app.rooms[&1000].users, 5);
    packet(&mut app, Incoming::RoomChange(rust_room(1002, "zig", 1)));
    assert_eq!(app.rooms.len(), 3);
    let closed = Room {
        closed: true,
        ..rust_room(1001, "go", 0)
    };
    packet(&mut app, Incoming::RoomChange(closed.clone()));
    assert_eq!(app.log.back(), Some(&Report::RoomChange(closed)));
    assert_eq!(app.rooms.keys().copied().collect::<Vec<_>>(), [1000, 1002]);

    // A refused list is reported and keeps the watch.
    app.command(Command::Rooms { watch: false });
    packet(
        &mut app,
        Incoming::RoomsRes(ResultCode::EnterRoomInvalidUserStatus),
    );
    assert!(app.watching);
    assert!(app.log.back().is_some_and(Report::is_failure));
    // A list without watch stops it.
    app.command(Command::Rooms { watch: false });
    packet(&mut app, Incoming::RoomsRes(ResultCode::None));
    assert!(!app.watching);
    // A lost connection forgets the list.
    app.net(NetEvent::Closed("gone".into()));
    assert!(app.rooms.is_empty());
}

#[test]
fn the_tui_watches_from_the_login_without_filling_the_log() {
    let mut app = App::new("s:1");
    app.auto_watch = true;
    assert!(app.take_effects().is_empty());
    logged_in(&mut app);
    assert_eq!(
        app.take_effects(),
        [Effect::Send(Request::Rooms { watch: true })]
    );
    assert!(app.take_effects().is_empty());
    let logged = app.log.len();
    packet(&mut app, Incoming::RoomsRes(ResultCode::None));
    packet(
        &mut app,
        Incoming::RoomList {
            rooms: vec![rust_room(1000, "rust", 1)],
            last: true,
        },
    );
    assert_eq!(
        app.log.len(),
        logged,
        "the automatic list stays out of the log"
    );
    assert!(app.watching);
    assert_eq!(app.rooms.len(), 1);
    // An explicit /rooms keeps the watch on, and is logged.
    assert_eq!(
        app.command(Command::Rooms { watch: false }),
        [Effect::Send(Request::Rooms { watch: true })]
    );
    packet(&mut app, Incoming::RoomsRes(ResultCode::None));
    packet(
        &mut app,
        Incoming::RoomList {
            rooms: vec![],
            last: true,
        },
    );
    assert_eq!(app.log.back(), Some(&Report::Rooms(vec![])));
    assert!(app.rooms.is_empty());
    // A failed login asks for nothing.
    let mut app = App::new("s:1");
    app.auto_watch = true;
    app.net(NetEvent::Connected("127.0.0.1:1".parse().unwrap()));
    app.command(Command::Login {
        user: "ann".into(),
        password: "pw".into(),
    });
    packet(&mut app, Incoming::Login(ResultCode::LoginUserInvalidPw));
    assert!(app.take_effects().is_empty());
}

fn seq(room: i32, epoch: u64, seq: u64, from: &str) -> Incoming {
    Incoming::ChatSeq(SeqChat {
        room,
        epoch,
        seq,
        time_ms: 1_700_000_000_000,
        from: from.into(),
        message: format!("m{seq}"),
    })
}

fn head(room: i32, epoch: u64, last_seq: u64, lost: bool, count: u16) -> Incoming {
    Incoming::History(HistoryHead {
        result: ResultCode::None,
        room,
        epoch,
        last_seq,
        lost,
        more: false,
        count,
    })
}

/// The chat lines of the log (from, message), and the log drained.
fn chats(app: &mut App) -> Vec<String> {
    app.drain_log()
        .into_iter()
        .filter_map(|r| match r {
            Report::Chat { from, message, .. } => Some(format!("{from}:{message}")),
            _ => None,
        })
        .collect()
}

/// An app that said hello (HISTORY and RESUME granted), logged in as ann
/// with a password, got a token, and entered room 3 whose history stood
/// at (epoch 7, seq 9); then saw 10 live.
fn resumable() -> App {
    let mut app = App::new("127.0.0.1:11021");
    app.command(Command::Connect(None));
    app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
    packet(
        &mut app,
        Incoming::Hello {
            result: ResultCode::None,
            features: Features::ALL,
        },
    );
    app.command(Command::Login {
        user: "ann".into(),
        password: "pw".into(),
    });
    packet(&mut app, Incoming::Login(ResultCode::None));
    packet(&mut app, Incoming::Token(Secret(b"tok".to_vec())));
    app.command(Command::Enter(3));
    packet(&mut app, Incoming::Enter(ResultCode::None));
    packet(
        &mut app,
        Incoming::UserList {
            members: vec![member(7, "bob")],
            last: true,
        },
    );
    // The quiet baseline: where room 3's history stands.
    assert_eq!(
        app.take_effects(),
        [Effect::Send(Request::History {
            epoch: 0,
            after_seq: RoomHistoryReq::LAST,
            max: 1
        })]
    );
    packet(&mut app, head(3, 7, 9, false, 1));
    packet(&mut app, seq(3, 7, 9, "bob"));
    packet(&mut app, seq(3, 7, 10, "bob"));
    assert_eq!(
        chats(&mut app),
        ["bob:m10"],
        "the baseline's message is old"
    );
    app
}

/// Drops the connection and reconnects up to the login.
fn drop_and_connect(app: &mut App) {
    app.net(NetEvent::Closed("connection reset".into()));
    assert!(app.reconnecting());
    assert_eq!(app.user, None);
    let effects = app.take_effects();
    let [Effect::ConnectAfter(addr, delay)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(addr, "127.0.0.1:11021");
    assert!(*delay >= Duration::from_millis(250) && *delay < Duration::from_millis(750));
    assert!(matches!(
        app.log.back(),
        Some(Report::Reconnecting { attempt: 1, .. })
    ));
    app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
    packet(
        app,
        Incoming::Hello {
            result: ResultCode::None,
            features: Features::ALL,
        },
    );
}

#[test]
fn a_reconnect_logs_in_with_the_token_first_then_catches_up_once_in_order() {
    let mut app = resumable();
    drop_and_connect(&mut app);
    // The token login (317) goes first.
    assert_eq!(
        app.take_effects(),
        [Effect::Send(Request::LoginToken(Secret(b"tok".to_vec())))]
    );
    packet(&mut app, Incoming::LoginToken(ResultCode::None));
    assert_eq!(app.user.as_deref(), Some("ann"));
    assert_eq!(app.take_effects(), [Effect::Send(Request::Enter(3))]);
    packet(&mut app, Incoming::Enter(ResultCode::None));
    assert_eq!(
        app.take_effects(),
        [Effect::Send(Request::History {
            epoch: 7,
            after_seq: 10,
            max: 100
        })],
        "no baseline while catching up"
    );
    packet(
        &mut app,
        Incoming::UserList {
            members: vec![member(7, "bob")],
            last: true,
        },
    );
    // Live 13 comes before the answer (11..=13); all held until then.
    packet(&mut app, seq(3, 7, 13, "bob"));
    packet(&mut app, head(3, 7, 13, false, 3));
    packet(&mut app, seq(3, 7, 11, "cat"));
    packet(&mut app, seq(3, 7, 12, "ann"));
    assert!(app.reconnecting());
    packet(&mut app, seq(3, 7, 13, "bob"));
    assert!(!app.reconnecting());
    let log = app.drain_log();
    let at = log
        .iter()
        .position(|r| matches!(r, Report::Reconnected { .. }))
        .unwrap();
    assert_eq!(
        log[at],
        Report::Reconnected {
            user: Some("ann".into()),
            room: Some(3),
            missed: 3
        }
    );
    assert!(log.contains(&Report::AutoLogin {
        user: "ann".into(),
        token: true,
        result: ResultCode::None
    }));
    assert!(!log.iter().any(|r| matches!(r, Report::Gap { .. })));
    let shown: Vec<_> = log[at + 1..]
        .iter()
        .map(|r| match r {
            Report::Chat {
                from, message, own, ..
            } => format!("{from}:{message}:{own}"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(shown, ["cat:m11:false", "ann:m12:true", "bob:m13:false"]);
    // Live again: a repeat is dropped, the next shown.
    packet(&mut app, seq(3, 7, 13, "bob"));
    packet(&mut app, seq(3, 7, 14, "bob"));
    assert_eq!(chats(&mut app), ["bob:m14"]);
}

#[test]
fn a_refused_token_falls_back_to_the_password_and_a_lost_history_shows_a_gap() {
    let mut app = resumable();
    drop_and_connect(&mut app);
    assert_eq!(
        app.take_effects(),
        [Effect::Send(Request::LoginToken(Secret(b"tok".to_vec())))]
    );
    packet(
        &mut app,
        Incoming::LoginToken(ResultCode::LoginBackendUnavailable),
    );
    let refused = Report::AutoLogin {
        user: "ann".into(),
        token: true,
        result: ResultCode::LoginBackendUnavailable,
    };
    assert_eq!(app.log.back(), Some(&refused));
    assert!(!refused.is_failure(), "the password follows");
    assert_eq!(
        app.take_effects(),
        [Effect::Send(Request::Login {
            user: "ann".into(),
            password: "pw".into()
        })]
    );
    packet(&mut app, Incoming::Login(ResultCode::None));
    packet(&mut app, Incoming::Token(Secret(b"tok2".to_vec())));
    assert_eq!(app.take_effects(), [Effect::Send(Request::Enter(3))]);
    packet(&mut app, Incoming::Enter(ResultCode::None));
    app.take_effects();
    // The room's history restarted (another epoch): a gap, then all kept.
    packet(&mut app, head(3, 8, 2, true, 2));
    packet(&mut app, seq(3, 8, 1, "bob"));
    packet(&mut app, seq(3, 8, 2, "bob"));
    let log = app.drain_log();
    let tail: Vec<_> = log.iter().rev().take(4).rev().cloned().collect();
    assert_eq!(
        tail[..2],
        [
            Report::Reconnected {
                user: Some("ann".into()),
                room: Some(3),
                missed: 2
            },
            Report::Gap { room: 3 }
        ]
    );
    // The next drop uses the fresh token.
    drop_and_connect(&mut app);
    assert_eq!(
        app.take_effects(),
        [Effect::Send(Request::LoginToken(Secret(b"tok2".to_vec())))]
    );
}

#[test]
fn failed_attempts_back_off_and_a_connect_ends_the_reconnect() {
    let mut app = resumable();
    app.net(NetEvent::Closed("reset".into()));
    app.take_effects();
    app.net(NetEvent::ConnectFailed {
        addr: "127.0.0.1:11021".into(),
        error: "refused".into(),
    });
    let effects = app.take_effects();
    let [Effect::ConnectAfter(_, delay)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert!(*delay >= Duration::from_millis(500) && *delay < Duration::from_millis(1500));
    assert!(matches!(
        app.log.back(),
        Some(Report::Reconnecting { attempt: 2, .. })
    ));
    assert!(app.reconnecting());
    assert_eq!(
        app.command(Command::Connect(None)),
        [Effect::Connect("127.0.0.1:11021".into())]
    );
    assert!(!app.reconnecting());
    // Not logged in at the drop: connected again is all.
    app.net(NetEvent::Closed("reset".into()));
    app.take_effects();
    app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
    assert!(app.take_effects().is_empty());
    assert!(!app.reconnecting());
    assert_eq!(
        app.log.back(),
        Some(&Report::Reconnected {
            user: None,
            room: None,
            missed: 0
        })
    );
    // --no-reconnect: nothing.
    app.reconnect = false;
    app.net(NetEvent::Closed("reset".into()));
    assert!(app.take_effects().is_empty());
    assert!(!app.reconnecting());
}

#[test]
fn history_shows_the_last_messages_and_live_ones_stay_live() {
    let mut app = resumable();
    assert_eq!(
        app.command(Command::History(5)),
        [Effect::Send(Request::History {
            epoch: 0,
            after_seq: RoomHistoryReq::LAST,
            max: 5
        })]
    );
    packet(&mut app, seq(3, 7, 11, "bob"));
    packet(&mut app, head(3, 7, 11, false, 2));
    packet(&mut app, seq(3, 7, 10, "bob"));
    packet(&mut app, seq(3, 7, 11, "bob"));
    packet(&mut app, seq(3, 7, 12, "cat"));
    let log = app.drain_log();
    let reports: Vec<_> = log
        .iter()
        .filter(|r| !matches!(r, Report::Command(_)))
        .collect();
    assert_eq!(reports.len(), 3, "{reports:#?}");
    assert!(matches!(reports[0], Report::Chat { message, .. } if message == "m11"));
    let Report::History {
        room: Some(3),
        result: ResultCode::None,
        messages,
    } = reports[1]
    else {
        panic!("{reports:#?}");
    };
    assert_eq!(messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [10, 11]);
    assert!(matches!(reports[2], Report::Chat { message, .. } if message == "m12"));
    // A refusal.
    app.command(Command::History(5));
    packet(
        &mut app,
        Incoming::History(HistoryHead {
            result: ResultCode::FeatureNotEnabled,
            ..HistoryHead {
                result: ResultCode::None,
                room: 0,
                epoch: 0,
                last_seq: 0,
                lost: false,
                more: false,
                count: 0,
            }
        }),
    );
    assert!(app.log.back().unwrap().is_failure());
}

#[test]
fn the_reconnect_gives_up_after_its_tries() {
    let mut app = resumable();
    app.reconnect_tries = 2;
    app.net(NetEvent::Closed("reset".into()));
    assert!(matches!(
        app.take_effects().as_slice(),
        [Effect::ConnectAfter(..)]
    ));
    let refused = || NetEvent::ConnectFailed {
        addr: "127.0.0.1:11021".into(),
        error: "refused".into(),
    };
    app.net(refused());
    assert!(matches!(
        app.log.back(),
        Some(Report::Reconnecting { attempt: 2, .. })
    ));
    assert!(matches!(
        app.take_effects().as_slice(),
        [Effect::ConnectAfter(..)]
    ));
    app.net(refused());
    assert_eq!(
        app.log.back(),
        Some(&Report::ReconnectGaveUp { attempts: 2 })
    );
    assert!(app.take_effects().is_empty(), "no third attempt");
    assert!(!app.reconnecting());
    // A connect by hand works as ever.
    assert_eq!(
        app.command(Command::Connect(None)),
        [Effect::Connect("127.0.0.1:11021".into())]
    );
}
