//! The client library and `ringport-client` line mode against a real
//! `ringport serve` on loopback: two users log in, enter a room, see each
//! other's messages and the leave notify; a created room is made, listed,
//! watched, entered by name and chatted in.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup should panic

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{client_binary, expect_result, line_client, logged_in, start_server, LineClient};
use ringport_client::proto::{id, ResultCode, ServerPacket};

#[test]
fn library_two_users_chat_in_a_room() {
    let Some(server) = start_server("library_two_users_chat_in_a_room") else {
        return;
    };
    let mut ann = logged_in(server.addr, "ann");
    ann.enter(3).unwrap();
    expect_result(&mut ann, id::ROOM_ENTER_RES, ResultCode::None);
    assert!(ann.recv_user_list().unwrap().is_empty());

    let mut bob = logged_in(server.addr, "bob");
    bob.enter(3).unwrap();
    expect_result(&mut bob, id::ROOM_ENTER_RES, ResultCode::None);
    let members = bob.recv_user_list().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user_id, "ann");
    let ann_uid = members[0].user_unique_id;

    let bob_uid = match ann.recv().unwrap() {
        ServerPacket::RoomNewUserNtf(ntf) => {
            assert_eq!(ntf.user_id.as_str(), "bob");
            ntf.user_unique_id
        }
        other => panic!("{other:?}"),
    };
    assert_ne!(ann_uid, bob_uid);

    bob.chat("hi ann").unwrap();
    expect_result(&mut bob, id::ROOM_CHAT_RES, ResultCode::None);
    for client in [&mut bob, &mut ann] {
        match client.recv().unwrap() {
            ServerPacket::RoomChatNtf(ntf) => {
                assert_eq!(ntf.user_id.as_str(), "bob");
                assert_eq!(ntf.message.as_str(), "hi ann");
            }
            other => panic!("{other:?}"),
        }
    }

    bob.leave().unwrap();
    expect_result(&mut bob, id::ROOM_LEAVE_RES, ResultCode::None);
    match ann.recv().unwrap() {
        ServerPacket::RoomLeaveUserNtf(ntf) => assert_eq!(ntf.user_unique_id, bob_uid),
        other => panic!("{other:?}"),
    }

    // A second handle on the same connection sends while this one reads.
    let mut ann_writer = ann.try_clone().unwrap();
    ann_writer.echo(b"ping").unwrap();
    match ann.recv().unwrap() {
        ServerPacket::DevEcho(echo) => assert_eq!(echo.body, b"ping"),
        other => panic!("{other:?}"),
    }
    // Refusals come back by name.
    bob.chat("nobody hears this").unwrap();
    expect_result(
        &mut bob,
        id::ROOM_CHAT_RES,
        ResultCode::ChatRoomInvalidRoomNumber,
    );
    bob.enter(1000).unwrap();
    expect_result(&mut bob, id::ROOM_ENTER_RES, ResultCode::RoomInvalidIndex);
}

/// Replaces the digits after `uid=` (given by the server) with `N`.
fn normalize(line: &str) -> String {
    match line.split_once("uid=") {
        Some((head, tail)) => {
            let rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{head}uid=N{rest}")
        }
        None => line.to_string(),
    }
}

#[test]
fn line_mode_sees_another_users_messages() {
    let Some(server) = start_server("line_mode_sees_another_users_messages") else {
        return;
    };
    let script = "\
# ann waits for bob, hears him, sees him go
/login ann pw
/enter 3
/echo ping
/expect ENTER room=3 user=bob
hello bob
/expect CHAT room=3 from=bob: hi ann
/expect LEAVE room=3 user=bob
/leave
/quit
/enter 4
";
    let LineClient {
        mut child,
        lines: rx,
        reader,
    } = line_client(server.addr, &["--strict"], script);
    let next = |what: &str| {
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no line from the client while waiting for {what}"))
    };
    let mut seen = Vec::new();
    // Bob comes once ann is in the room and her echo is back.
    loop {
        let line = next("ECHO");
        seen.push(line.clone());
        if line.starts_with("ECHO") {
            break;
        }
    }
    let mut bob = logged_in(server.addr, "bob");
    bob.enter(3).unwrap();
    expect_result(&mut bob, id::ROOM_ENTER_RES, ResultCode::None);
    let members = bob.recv_user_list().unwrap();
    assert_eq!(members.len(), 1);
    // ann chats once she has seen bob enter.
    match bob.recv().unwrap() {
        ServerPacket::RoomChatNtf(ntf) => {
            assert_eq!(ntf.user_id.as_str(), "ann");
            assert_eq!(ntf.message.as_str(), "hello bob");
        }
        other => panic!("{other:?}"),
    }
    bob.chat("hi ann").unwrap();
    expect_result(&mut bob, id::ROOM_CHAT_RES, ResultCode::None);
    assert!(matches!(bob.recv().unwrap(), ServerPacket::RoomChatNtf(_)));
    bob.leave().unwrap();
    expect_result(&mut bob, id::ROOM_LEAVE_RES, ResultCode::None);

    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(rx.try_iter());
    let seen: Vec<String> = seen.iter().map(|l| normalize(l)).collect();
    let addr = server.addr;
    assert_eq!(
        seen,
        [
            format!("CONNECTED addr={addr}"),
            "LOGIN ok user=ann".into(),
            "ENTER ok room=3".into(),
            "USERS room=3 count=0".into(),
            "ECHO ok len=4: ping".into(),
            "ENTER room=3 user=bob uid=N".into(),
            "CHAT ok".into(),
            "CHAT room=3 from=ann: hello bob".into(),
            "CHAT room=3 from=bob: hi ann".into(),
            "LEAVE room=3 user=bob uid=N".into(),
            "LEAVE ok room=3".into(),
        ]
    );
    assert!(status.success(), "{status}");
}

/// Runs a line-mode script and returns (exit code, stdout).
fn run_script(args: &[&str], script: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!(
        "ringport-client-test-{}-{}",
        std::process::id(),
        script.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("script.txt");
    std::fs::write(&path, script).unwrap();
    let out = Command::new(client_binary())
        .args(args)
        .arg("--script")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn line_mode_exit_codes() {
    let Some(server) = start_server("line_mode_exit_codes") else {
        return;
    };
    let addr = server.addr.to_string();
    // A refused request is printed by name; only --strict makes it fatal.
    let script = "/login cat pw\n/enter 999\n/echo still here\n";
    let (code, out) = run_script(&["--server", &addr], script);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("ENTER error room=999 code=61 name=ROOM_INVALID_INDEX\n"),
        "{out}"
    );
    assert!(out.contains("ECHO ok len=10: still here\n"), "{out}");
    let script = "/login dan pw\n/enter 999\n/echo never\n";
    let (code, out) = run_script(&["--server", &addr, "--strict"], script);
    assert_eq!(code, Some(1), "{out}");
    assert!(!out.contains("ECHO"), "{out}");
    // A bad line and an /expect that times out fail too.
    let (code, out) = run_script(&["--server", &addr, "--strict"], "/frob\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("ERROR command: unknown command /frob"),
        "{out}"
    );
    let (code, out) = run_script(
        &["--server", &addr, "--strict", "--timeout", "0.3"],
        "/expect nothing like this\n",
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("TIMEOUT expect: nothing like this\n"), "{out}");
    // --wait none pipelines; the answers still come before the exit, and
    // in request order: the server answers what follows a login only once
    // the login (its password checked on another thread) is answered.
    let (code, out) = run_script(
        &["--server", &addr, "--wait", "none"],
        "/echo first\n/login eve pw\n/enter 2\nquick\n/leave\n",
    );
    assert_eq!(code, Some(0), "{out}");
    let mut from = 0;
    for line in [
        "ECHO ok len=5: first",
        "LOGIN ok user=eve",
        "ENTER ok room=2",
        "CHAT room=2 from=eve: quick",
        "LEAVE ok room=2",
    ] {
        let Some(at) = out[from..].find(line) else {
            panic!("{line} after byte {from} in {out}");
        };
        from += at + line.len();
    }
    drop(server);

    // No server: exit code 3.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (code, out) = run_script(&["--server", &addr], "/login x pw\n");
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.starts_with(&format!("CONNECT error addr={addr}: ")),
        "{out}"
    );
}

#[test]
fn line_mode_creates_lists_and_enters_a_room_by_name() {
    let Some(server) = start_server("line_mode_creates_lists_and_enters_a_room_by_name") else {
        return;
    };
    let script = "\
/login ann pw
/create rust fans 8
/create RUST FANS
/rooms
/enter rust fans
/rooms watch
/expect users=2/8
hello bob
/expect CHAT room=1000 from=bob: hi ann
/leave
/quit
";
    let LineClient {
        mut child,
        lines: rx,
        reader,
    } = line_client(server.addr, &[], script);
    // The watched list shows ann alone in the room; then bob comes.
    let watched = r"ROOM number=1000 name=rust\x20fans users=1/8";
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no line from the client; so far {seen:#?}"));
        seen.push(line.clone());
        if line == watched {
            break;
        }
    }
    let mut bob = logged_in(server.addr, "bob");
    bob.enter(1000).unwrap();
    expect_result(&mut bob, id::ROOM_ENTER_RES, ResultCode::None);
    let members = bob.recv_user_list().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user_id, "ann");
    match bob.recv().unwrap() {
        ServerPacket::RoomChatNtf(ntf) => {
            assert_eq!(ntf.user_id.as_str(), "ann");
            assert_eq!(ntf.message.as_str(), "hello bob");
        }
        other => panic!("{other:?}"),
    }
    bob.chat("hi ann").unwrap();
    expect_result(&mut bob, id::ROOM_CHAT_RES, ResultCode::None);

    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(rx.try_iter());
    let seen: Vec<String> = seen.iter().map(|l| normalize(l)).collect();
    assert!(status.success(), "{status} {seen:#?}");

    // Up to the watched list, the output is fixed: the default server has
    // the 10 fixed rooms 0 to 9, of 4 users each, all empty.
    let list = |created_users: u32| {
        let mut lines = vec!["ROOMS count=11".to_string()];
        lines.extend((0..10).map(|n| format!("ROOM number={n} name=- users=0/4")));
        lines.push(format!(
            r"ROOM number=1000 name=rust\x20fans users={created_users}/8"
        ));
        lines
    };
    let mut expected = vec![
        format!("CONNECTED addr={}", server.addr),
        "LOGIN ok user=ann".into(),
        r"CREATE ok room=1000 name=rust\x20fans".into(),
        "CREATE error ROOM_NAME_TAKEN (101)".into(),
    ];
    expected.extend(list(0));
    expected.extend([
        "ENTER ok room=1000".into(),
        "USERS room=1000 count=0".into(),
    ]);
    expected.extend(list(1));
    assert!(seen.len() > expected.len(), "{seen:#?}");
    assert_eq!(seen[..expected.len()], expected[..], "{seen:#?}");
    // Then, in this order (306s may come between them, at most one a
    // second per room): bob's arrival as a change, the chat, the leave.
    let rest = &seen[expected.len()..];
    let mut at = 0;
    for want in [
        r"ROOM number=1000 name=rust\x20fans users=2/8",
        "CHAT ok",
        "CHAT room=1000 from=ann: hello bob",
        "CHAT room=1000 from=bob: hi ann",
        "LEAVE ok room=1000",
    ] {
        let Some(found) = rest[at..].iter().position(|l| l == want) else {
            panic!("{want} after line {at} in {rest:#?}");
        };
        at += found + 1;
    }
    assert!(
        rest.iter().any(|l| l == "ENTER room=1000 user=bob uid=N"),
        "{rest:#?}"
    );
}
