//! The web client (`crates/server/web`) in a real headless Chromium:
//!
//! - `codec_matches_ringport_proto`: the JS codec (`proto.js`) encodes every
//!   client packet (the created-rooms extension included) to the very bytes
//!   ringport-proto encodes, refuses the texts and room names ringport-proto
//!   refuses, and decodes every server packet that ringport-proto encodes to
//!   the fields ringport-proto decodes (malformed ones reported, not
//!   thrown); every result code has a name and a readable text.
//!   Screenshot: `target/web-client.png`.
//! - `ui_against_scripted_server`: the page (`index.html` + `app.js`) with
//!   its WebSocket replaced by a test double: the test checks the bytes the
//!   UI sends and feeds it packets encoded by ringport-proto (login, enter,
//!   member list, chat, leave, errors, close, and the lobby: the watched room
//!   list, its updates, creating a room, entering one by a click). Screenshots:
//!   `target/web-client-chat.png`, `target/web-client-phone.png`.
//!
//! Both skip loudly without chromium + chromedriver (see `support/browser.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use ringport_proto::{
    encode_room_list, encode_user_list, DevEcho, Features, HelloReq, HelloRes, LoginReq, LoginRes,
    LoginTokenReq, LoginTokenRes, ResultCode, ResumeTokenNtf, RoomChatNtf, RoomChatReq,
    RoomChatRes, RoomChatSeqNtf, RoomCreateReq, RoomCreateRes, RoomEnterNameReq, RoomEnterNameRes,
    RoomEnterReq, RoomEnterRes, RoomHistoryReq, RoomHistoryRes, RoomInfo, RoomLeaveReq,
    RoomLeaveRes, RoomLeaveUserNtf, RoomListChangeNtf, RoomListReq, RoomListRes, RoomMember,
    RoomName, RoomNewUserNtf, ServerPacket, UserId,
};
use serde_json::{json, Value};
use support::browser::Browser;
use support::static_files::{Routes, StaticFiles};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// JS: turns BigInt into strings and Uint8Array into hex, recursively, so a
/// decoded packet crosses WebDriver as plain JSON.
const JS_NORM: &str = r#"
const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
const norm = (v) =>
  typeof v === "bigint" ? v.toString()
  : v instanceof Uint8Array ? toHex(v)
  : Array.isArray(v) ? v.map(norm)
  : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]))
  : v;
"#;

/// Loads `index.html` and waits for the codec to be exposed.
async fn open_client(browser: &Browser, files: &StaticFiles, path: &str) {
    browser.goto(&files.url(path)).await;
    browser
        .wait_until(
            "window.ringport && window.ringport.proto",
            "window.ringport.proto",
        )
        .await;
}

// ---- codec ----------------------------------------------------------------

/// One encoder case: a JS call on `p` (the codec) with `a` (the args), and
/// what ringport-proto makes of the same input (`None`: refused).
struct Encode {
    name: &'static str,
    call: &'static str,
    args: Vec<Value>,
    expected: Option<Vec<u8>>,
}

fn rust_login(user: &str, password: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    LoginReq::new(user, password).ok()?.encode(&mut out);
    Some(out)
}

fn rust_chat(message: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    RoomChatReq::new(message).ok()?.encode(&mut out);
    Some(out)
}

fn rust_enter(room: i64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    RoomEnterReq {
        room_number: i32::try_from(room).ok()?,
    }
    .encode(&mut out);
    Some(out)
}

fn rust_echo(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    DevEcho { body }.encode(&mut out).ok()?;
    Some(out)
}

fn rust_create(name: &str, max_users: i64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    RoomCreateReq::new(name, u16::try_from(max_users).ok()?)
        .ok()?
        .encode(&mut out);
    Some(out)
}

fn rust_enter_name(name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    RoomEnterNameReq::new(name).ok()?.encode(&mut out);
    Some(out)
}

fn rust_list(watch: bool) -> Vec<u8> {
    encode_with(|o| RoomListReq { watch }.encode(o))
}

fn login(name: &'static str, user: &str, password: &str) -> Encode {
    Encode {
        name,
        call: "p.encodeLogin(a[0], a[1])",
        args: vec![json!(user), json!(password)],
        expected: rust_login(user, password),
    }
}

fn chat(name: &'static str, message: &str) -> Encode {
    Encode {
        name,
        call: "p.encodeChat(a[0])",
        args: vec![json!(message)],
        expected: rust_chat(message),
    }
}

fn encode_cases() -> Vec<Encode> {
    let mut leave = Vec::new();
    RoomLeaveReq.encode(&mut leave);
    let max_id = "é".repeat(16); // 32 bytes of UTF-8
    let long_id = format!("{max_id}a"); // 33
    let max_message = "€".repeat(85) + "x"; // 256
    let long_message = "€".repeat(86); // 258
    let mut cases = vec![
        login("login test/1234", "test", "1234"),
        login("login multi-byte", "Zoë-用户", "pässwörd🔑"),
        login("login 32-byte id", &max_id, "p"),
        login("login 33-byte id (refused)", &long_id, "p"),
        login("login 33-byte password (refused)", "u", &long_id),
        login("login empty id (refused)", "", "p"),
        login("login empty password (refused)", "u", ""),
        login("login NUL in id (refused)", "a\0b", "p"),
        Encode {
            name: "leave",
            call: "p.encodeLeave()",
            args: vec![],
            expected: Some(leave),
        },
        chat("chat hi", "hi"),
        chat("chat multi-byte", "héllo wörld, 世界 🎉"),
        chat("chat 256 bytes", &max_message),
        chat("chat 258 bytes (refused)", &long_message),
        chat("chat empty (refused)", ""),
        chat("chat NUL (refused)", "x\0y"),
    ];
    for room in [3i64, 0, -1, i64::from(i32::MAX), i64::from(i32::MIN)] {
        cases.push(Encode {
            name: "enter",
            call: "p.encodeEnter(a[0])",
            args: vec![json!(room)],
            expected: rust_enter(room),
        });
    }
    for room in [i64::from(i32::MAX) + 1, i64::from(i32::MIN) - 1] {
        cases.push(Encode {
            name: "enter out of i32 (refused)",
            call: "p.encodeEnter(a[0])",
            args: vec![json!(room)],
            expected: rust_enter(room),
        });
    }
    cases.push(Encode {
        name: "enter 1.5 (refused)",
        call: "p.encodeEnter(1.5)",
        args: vec![],
        expected: None,
    });
    for body in [&b""[..], &b"ping"[..], &[0u8, 1, 0x7f, 0x80, 0xff][..]] {
        cases.push(Encode {
            name: "echo",
            call: "p.encodeEcho(new Uint8Array(a[0]))",
            args: vec![json!(body)],
            expected: rust_echo(body),
        });
    }
    cases.push(Encode {
        name: "echo string body",
        call: "p.encodeEcho('hé')",
        args: vec![],
        expected: rust_echo("hé".as_bytes()),
    });
    room_encode_cases(&mut cases);
    history_encode_cases(&mut cases);
    cases
}

fn rust_hello(features: u32) -> Vec<u8> {
    encode_with(|o| {
        HelloReq {
            features: Features(features),
        }
        .encode(o)
    })
}

fn rust_history(epoch: u64, after_seq: u64, max: u16) -> Vec<u8> {
    encode_with(|o| {
        RoomHistoryReq {
            epoch,
            after_seq,
            max,
        }
        .encode(o)
    })
}

fn rust_login_token(token: &[u8]) -> Vec<u8> {
    encode_with(|o| LoginTokenReq { token }.encode(o))
}

/// The history-and-resume requests (311, 314, 317): features, u64 values
/// as BigInt (and safe integers), the token's length limits.
fn history_encode_cases(cases: &mut Vec<Encode>) {
    for features in [0u32, 1, 2, 3, u32::MAX] {
        cases.push(Encode {
            name: "hello",
            call: "p.encodeHello(a[0])",
            args: vec![json!(features)],
            expected: Some(rust_hello(features)),
        });
    }
    for call in [
        "p.encodeHello(-1)",
        "p.encodeHello(2 ** 32)",
        "p.encodeHello(1.5)",
    ] {
        cases.push(Encode {
            name: "hello out of u32 (refused)",
            call,
            args: vec![],
            expected: None,
        });
    }
    cases.push(Encode {
        name: "hello both",
        call: "p.encodeHello(p.Feature.HISTORY | p.Feature.RESUME)",
        args: vec![],
        expected: Some(rust_hello(3)),
    });
    for (epoch, after_seq, max) in [
        (0u64, u64::MAX, 20u16),
        (1000, 41, 100),
        (u64::MAX, u64::MAX - 1, 0),
        ((1 << 53) + 1, 1 << 60, u16::MAX),
        (1_700_000_000_000_000, 0, 1),
    ] {
        cases.push(Encode {
            name: "history (BigInt)",
            call: "p.encodeHistory(BigInt(a[0]), BigInt(a[1]), a[2])",
            args: vec![
                json!(epoch.to_string()),
                json!(after_seq.to_string()),
                json!(max),
            ],
            expected: Some(rust_history(epoch, after_seq, max)),
        });
    }
    cases.push(Encode {
        name: "history (numbers, default max)",
        call: "p.encodeHistory(1000, 41)",
        args: vec![],
        expected: Some(rust_history(1000, 41, 100)),
    });
    cases.push(Encode {
        name: "history: the last messages",
        call: "p.encodeHistory(0n, p.HISTORY_LAST, 20)",
        args: vec![],
        expected: Some(rust_history(0, RoomHistoryReq::LAST, 20)),
    });
    for call in [
        "p.encodeHistory(-1n, 0n, 1)",
        "p.encodeHistory(2n ** 64n, 0n, 1)",
        "p.encodeHistory(0n, 2n ** 64n, 1)",
        "p.encodeHistory(2 ** 53, 0, 1)",
        "p.encodeHistory(0.5, 0, 1)",
        "p.encodeHistory('1', 0, 1)",
        "p.encodeHistory(0n, 0n, 65536)",
        "p.encodeHistory(0n, 0n, -1)",
    ] {
        cases.push(Encode {
            name: "history out of range (refused)",
            call,
            args: vec![],
            expected: None,
        });
    }
    for len in [0usize, 1, 50, 82, 255] {
        let token: Vec<u8> = (0..len)
            .map(|i| u8::try_from(i * 37 % 256).unwrap())
            .collect();
        cases.push(Encode {
            name: "login with a token",
            call: "p.encodeLoginToken(fromHex(a[0]))",
            args: vec![json!(hex(&token))],
            expected: Some(rust_login_token(&token)),
        });
    }
    for call in [
        "p.encodeLoginToken(new Uint8Array(256))",
        "p.encodeLoginToken('token')",
        "p.encodeLoginToken([1, 2])",
    ] {
        cases.push(Encode {
            name: "token too long or not bytes (refused)",
            call,
            args: vec![],
            expected: None,
        });
    }
    // The protocol's own byte examples.
    assert_eq!(hex(&rust_hello(3)), "090037010003000000");
    assert_eq!(
        hex(&rust_history(0, RoomHistoryReq::LAST, 20)),
        "17003a01000000000000000000ffffffffffffffff1400"
    );
    assert_eq!(
        hex(&rust_history(1000, 41, 100)),
        "17003a0100e80300000000000029000000000000006400"
    );
}

/// The created-rooms requests (301, 303, 307): names valid and not, the
/// capacity's range, the watch flag.
fn room_encode_cases(cases: &mut Vec<Encode>) {
    let max_name = "é".repeat(16); // 32 bytes
    let long_name = format!("{max_name}a"); // 33
    let names: Vec<(&'static str, String)> = vec![
        ("rust", "rust".into()),
        ("multi-byte", "Zoë 用户 🦀 fans".into()),
        ("32 bytes", max_name),
        ("inner spaces", "a  b".into()),
        (
            "U+FEFF at the end (not white space in Unicode)",
            "a\u{feff}".into(),
        ),
        ("33 bytes (refused)", long_name),
        ("empty (refused)", String::new()),
        ("leading space (refused)", " rust".into()),
        ("trailing tab (refused)", "rust\t".into()),
        ("trailing U+3000 (refused)", "rust\u{3000}".into()),
        ("NUL (refused)", "a\0b".into()),
        ("newline (refused)", "a\nb".into()),
        ("DEL (refused)", "a\u{7f}".into()),
        ("C1 U+0085 (refused)", "a\u{85}b".into()),
    ];
    for (what, name) in names {
        cases.push(Encode {
            name: "create",
            call: "p.encodeCreateRoom(a[0])",
            args: vec![json!(name), json!(what)],
            expected: rust_create(&name, 0),
        });
        cases.push(Encode {
            name: "enter by name",
            call: "p.encodeEnterByName(a[0])",
            args: vec![json!(name), json!(what)],
            expected: rust_enter_name(&name),
        });
    }
    for max_users in [0i64, 1, 8, 1000, 65535, 65536, -1] {
        cases.push(Encode {
            name: "create with a capacity",
            call: "p.encodeCreateRoom(a[0], a[1])",
            args: vec![json!("room"), json!(max_users)],
            expected: rust_create("room", max_users),
        });
    }
    cases.push(Encode {
        name: "create capacity 1.5 (refused)",
        call: "p.encodeCreateRoom('room', 1.5)",
        args: vec![],
        expected: None,
    });
    for (call, expected) in [
        ("p.encodeListRooms(true)", Some(rust_list(true))),
        ("p.encodeListRooms(1)", Some(rust_list(true))),
        ("p.encodeListRooms(false)", Some(rust_list(false))),
        ("p.encodeListRooms(0)", Some(rust_list(false))),
        ("p.encodeListRooms(2)", None),
    ] {
        cases.push(Encode {
            name: "list rooms",
            call,
            args: vec![],
            expected,
        });
    }
    // The protocol's own byte examples.
    assert_eq!(
        hex(&rust_create("rust", 0).unwrap()),
        "0c002d010000000472757374"
    );
    assert_eq!(hex(&rust_list(true)), "06002f010001");
    assert_eq!(
        hex(&rust_enter_name("rust").unwrap()),
        "0a003301000472757374"
    );
}

/// What ringport-proto decodes from `frame`, in the JSON shape `proto.js`
/// returns (after `norm`).
fn expected_decode(frame: &[u8]) -> Value {
    let member =
        |uid: i64, user_id: UserId<'_>| json!({"uid": uid.to_string(), "userId": user_id.as_str()});
    let result = |id: u16, kind: &str, code: ResultCode| json!({"id": id, "kind": kind, "result": code.code()});
    let packet = match ServerPacket::decode(frame) {
        Err(_) => return json!({"ok": false}),
        Ok(p) => match p {
            ServerPacket::DevEcho(e) => json!({"id": 1, "kind": "echo", "body": hex(e.body)}),
            ServerPacket::LoginRes(r) => result(202, "loginRes", r.result),
            ServerPacket::RoomEnterRes(r) => result(207, "enterRes", r.result),
            ServerPacket::RoomLeaveRes(r) => result(216, "leaveRes", r.result),
            ServerPacket::RoomChatRes(r) => result(222, "chatRes", r.result),
            ServerPacket::RoomNewUserNtf(n) => json!({
                "id": 208, "kind": "newUser", "user": member(n.user_unique_id, n.user_id),
            }),
            ServerPacket::RoomUserListNtf(l) => json!({
                "id": 209,
                "kind": "userList",
                "users": l.members().map(|m| member(m.user_unique_id, m.user_id)).collect::<Vec<_>>(),
                "last": l.is_last(),
            }),
            ServerPacket::RoomLeaveUserNtf(n) => json!({
                "id": 217, "kind": "userLeft", "uid": n.user_unique_id.to_string(),
            }),
            ServerPacket::RoomChatNtf(n) => json!({
                "id": 223, "kind": "chat", "userId": n.user_id.as_str(), "message": n.message.as_str(),
            }),
            ServerPacket::RoomCreateRes(r) => json!({
                "id": 302, "kind": "createRes", "result": r.result.code(), "room": r.room_number,
            }),
            ServerPacket::RoomListRes(r) => result(304, "listRes", r.result),
            ServerPacket::RoomListNtf(l) => json!({
                "id": 305,
                "kind": "roomList",
                "rooms": l.rooms().map(room_json).collect::<Vec<_>>(),
                "last": l.is_last(),
            }),
            ServerPacket::RoomListChangeNtf(n) => json!({
                "id": 306, "kind": "roomChange", "room": room_json(n.room),
            }),
            ServerPacket::RoomEnterNameRes(r) => json!({
                "id": 308, "kind": "enterNameRes", "result": r.result.code(), "room": r.room_number,
            }),
            ServerPacket::Unknown { id, body } => {
                json!({"id": id, "kind": "unknown", "body": hex(body)})
            }
            ServerPacket::HelloRes(r) => json!({
                "id": 312, "kind": "helloRes", "result": r.result.code(), "features": r.features.0,
            }),
            ServerPacket::RoomChatSeqNtf(n) => json!({
                "id": 313,
                "kind": "chatSeq",
                "room": n.room,
                "epoch": n.epoch.to_string(),
                "seq": n.seq.to_string(),
                "timeMs": n.time_ms.to_string(),
                "userId": n.user_id.as_str(),
                "message": n.message.as_str(),
            }),
            ServerPacket::RoomHistoryRes(r) => json!({
                "id": 315,
                "kind": "historyRes",
                "result": r.result.code(),
                "room": r.room,
                "epoch": r.epoch.to_string(),
                "lastSeq": r.last_seq.to_string(),
                "lost": r.lost,
                "more": r.more,
                "count": r.count,
            }),
            ServerPacket::ResumeTokenNtf(t) => json!({
                "id": 316, "kind": "resumeToken", "ttlSecs": t.ttl_secs, "token": hex(t.token),
            }),
            ServerPacket::LoginTokenRes(r) => result(318, "loginTokenRes", r.result),
        },
    };
    json!({"ok": true, "packet": packet})
}

/// A room entry as `proto.js` decodes it.
fn room_json(room: RoomInfo<'_>) -> Value {
    json!({
        "number": room.number,
        "users": room.users,
        "maxUsers": room.max_users,
        "created": room.created,
        "closed": room.closed,
        "name": room.name.map(|n| n.as_str()),
    })
}

/// A room entry: a fixed room when `name` is `None`.
fn room(number: i32, users: u16, max_users: u16, name: Option<&str>) -> RoomInfo<'_> {
    RoomInfo {
        number,
        users,
        max_users,
        created: name.is_some(),
        closed: false,
        name: name.map(|n| RoomName::new(n).expect("test room names are valid")),
    }
}

fn room_list_frames(rooms: &[RoomInfo<'_>]) -> Vec<u8> {
    encode_with(|o| {
        encode_room_list(rooms.iter().copied(), o);
    })
}

fn room_change_frame(room: RoomInfo<'_>) -> Vec<u8> {
    encode_with(|o| RoomListChangeNtf { room }.encode(o))
}

fn user(text: &str) -> UserId<'_> {
    UserId::new(text).expect("test user ids are valid")
}

fn new_user_frame(uid: i64, id: &str) -> Vec<u8> {
    let mut out = Vec::new();
    RoomNewUserNtf {
        user_unique_id: uid,
        user_id: user(id),
    }
    .encode(&mut out);
    out
}

fn chat_ntf_frame(from: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    RoomChatNtf {
        user_id: user(from),
        message: ringport_proto::Message::new(message).expect("test messages are valid"),
    }
    .encode(&mut out);
    out
}

fn list_frames(members: &[(i64, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_user_list(
        members.iter().map(|&(uid, id)| RoomMember {
            user_unique_id: uid,
            user_id: user(id),
        }),
        &mut out,
    );
    out
}

/// Splits a buffer of whole frames (as ringport-proto writes them) into
/// frames.
fn split_frames(mut buf: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while let Some(len) =
        ringport_proto::frame_len(buf, ringport_proto::MAX_FRAME_LIMIT).expect("valid frames")
    {
        frames.push(buf[..len].to_vec());
        buf = &buf[len..];
    }
    assert!(buf.is_empty(), "a partial frame left over");
    frames
}

/// Server frames to decode: (name, frame).
fn decode_cases() -> Vec<(String, Vec<u8>)> {
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    assert_eq!(ResultCode::ALL.len(), 22, "every code is decoded below");
    for code in ResultCode::ALL {
        let c = code.code();
        let room_number = if code.is_success() { 1000 } else { 0 };
        for (name, frame) in [
            ("202", encode_with(|o| LoginRes::new(code).encode(o))),
            ("207", encode_with(|o| RoomEnterRes::new(code).encode(o))),
            ("216", encode_with(|o| RoomLeaveRes::new(code).encode(o))),
            ("222", encode_with(|o| RoomChatRes::new(code).encode(o))),
            ("304", encode_with(|o| RoomListRes::new(code).encode(o))),
            ("318", encode_with(|o| LoginTokenRes::new(code).encode(o))),
            (
                "312",
                encode_with(|o| {
                    HelloRes {
                        result: code,
                        features: Features::ALL,
                    }
                    .encode(o)
                }),
            ),
            (
                "302",
                encode_with(|o| {
                    RoomCreateRes {
                        result: code,
                        room_number,
                    }
                    .encode(o)
                }),
            ),
            (
                "308",
                encode_with(|o| {
                    RoomEnterNameRes {
                        result: code,
                        room_number,
                    }
                    .encode(o)
                }),
            ),
        ] {
            cases.push((format!("{name} result {c}"), frame));
        }
    }
    for (uid, id) in [
        (7, "bob"),
        (i64::MAX, "Zoë"),
        (i64::MIN, "用户"),
        (-1, &"é".repeat(16)[..]),
        ((1 << 53) + 1, "x"),
    ] {
        cases.push((format!("208 {uid} {id}"), new_user_frame(uid, id)));
    }
    cases.push(("209 empty".into(), list_frames(&[])));
    cases.push(("209 one".into(), list_frames(&[(7, "bob")])));
    cases.push((
        "209 non-ASCII ids".into(),
        list_frames(&[
            (1, "alice"),
            (2, "José"),
            (3, "用户"),
            (4, "🦀rust"),
            (i64::MAX, &"é".repeat(16)),
        ]),
    ));
    // 300 users: packets of 127, 127 and 46 (the last one says "end").
    let many: Vec<(i64, String)> = (0..300).map(|i| (1000 + i, format!("user-{i}"))).collect();
    let many: Vec<(i64, &str)> = many.iter().map(|(u, s)| (*u, s.as_str())).collect();
    let frames = split_frames(&list_frames(&many));
    assert_eq!(frames.len(), 3);
    for (i, frame) in frames.into_iter().enumerate() {
        cases.push((format!("209 of 300, part {i}"), frame));
    }
    // 127 exactly: a full packet then an empty one.
    let full: Vec<(i64, String)> = (0..127).map(|i| (i, format!("u{i}"))).collect();
    let full: Vec<(i64, &str)> = full.iter().map(|(u, s)| (*u, s.as_str())).collect();
    for (i, frame) in split_frames(&list_frames(&full)).into_iter().enumerate() {
        cases.push((format!("209 of 127, part {i}"), frame));
    }
    for uid in [42, -42, i64::MAX, i64::MIN, (1 << 53) + 1] {
        let frame = encode_with(|o| {
            RoomLeaveUserNtf {
                user_unique_id: uid,
            }
            .encode(o)
        });
        cases.push((format!("217 {uid}"), frame));
    }
    cases.push(("223 hi".into(), chat_ntf_frame("alice", "hi")));
    cases.push((
        "223 multi-byte".into(),
        chat_ntf_frame("Zoë-用户", "héllo wörld, 世界 🎉"),
    ));
    cases.push((
        "223 longest".into(),
        chat_ntf_frame(&"é".repeat(16), &("€".repeat(85) + "x")),
    ));
    room_decode_cases(&mut cases);
    history_decode_cases(&mut cases);
    cases.push(("echo".into(), raw_frame(1, 0, &[0, 1, 2, 0xff])));
    cases.push(("echo empty".into(), raw_frame(1, 0, &[])));
    cases.push(("unknown id 999".into(), raw_frame(999, 0, b"abc")));
    cases.push((
        "request id 201 is unknown".into(),
        raw_frame(201, 0, &[0; 66]),
    ));
    cases.push(("type byte ignored".into(), raw_frame(202, 0x80, &[0, 0])));

    // Malformed: ringport-proto refuses each; the JS must report, not throw.
    let chat_ok = chat_ntf_frame("alice", "hi");
    let mut no_nul = chat_ok.clone();
    no_nul[5..38].fill(b'a');
    let mut bad_utf8 = chat_ok.clone();
    bad_utf8[38] = 0xff;
    let mut empty_msg = chat_ok.clone();
    empty_msg[38] = 0;
    let mut empty_user = chat_ok.clone();
    empty_user[5] = 0;
    let list = list_frames(&[(7, "bob"), (8, "eve")]);
    let mut count_too_big = list.clone();
    count_too_big[5] = 3;
    let mut list_trailing = list.clone();
    list_trailing.push(0);
    fix_len(&mut list_trailing);
    let mut list_bad_utf8 = list.clone();
    list_bad_utf8[5 + 1 + 8 + 1] = 0xc3; // "bob" → invalid sequence
    let mut new_user_long = new_user_frame(7, "bob");
    new_user_long.push(b'x');
    fix_len(&mut new_user_long);
    let mut new_user_short = new_user_frame(7, "bob");
    new_user_short.pop();
    fix_len(&mut new_user_short);
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("202 body too short", raw_frame(202, 0, &[0])),
        ("202 body too long", raw_frame(202, 0, &[0, 0, 0])),
        ("217 body too short", raw_frame(217, 0, &[1, 2, 3])),
        ("223 truncated", {
            let mut f = chat_ok[..100].to_vec();
            fix_len(&mut f);
            f
        }),
        ("223 user id without NUL", no_nul),
        ("223 invalid UTF-8", bad_utf8),
        ("223 empty message", empty_msg),
        ("223 empty user id", empty_user),
        ("209 count larger than entries", count_too_big),
        ("209 trailing byte", list_trailing),
        ("209 invalid UTF-8 id", list_bad_utf8),
        ("209 count 128", raw_frame(209, 0, &[128])),
        ("209 no count", raw_frame(209, 0, &[])),
        ("208 id_len shorter than the rest", new_user_long),
        ("208 id_len longer than the rest", new_user_short),
        (
            "208 empty id",
            raw_frame(208, 0, &[7, 0, 0, 0, 0, 0, 0, 0, 0]),
        ),
        ("208 id_len 33", {
            let mut body = vec![7, 0, 0, 0, 0, 0, 0, 0, 33];
            body.extend([b'a'; 33]);
            raw_frame(208, 0, &body)
        }),
        ("header longer than the frame", {
            let mut f = raw_frame(202, 0, &[0, 0]);
            f[0] = 8;
            f
        }),
        ("header shorter than the frame", {
            let mut f = raw_frame(202, 0, &[0, 0]);
            f[0] = 6;
            f
        }),
        ("frame shorter than a header", vec![5, 0, 202]),
        ("empty frame", vec![]),
    ];
    for (name, frame) in malformed {
        assert!(
            ServerPacket::decode(&frame).is_err(),
            "ringport-proto accepts the malformed case {name}"
        );
        cases.push((format!("malformed: {name}"), frame));
    }
    cases
}

/// The created-rooms responses and notifies (302, 304 and 308 are above with
/// every code): numbers at the ends of i32, lists split at 127, 306 updates,
/// flags, and malformed entries.
fn room_decode_cases(cases: &mut Vec<(String, Vec<u8>)>) {
    for number in [i32::MAX, i32::MIN, -1, 1] {
        let create = encode_with(|o| {
            RoomCreateRes {
                result: ResultCode::None,
                room_number: number,
            }
            .encode(o)
        });
        cases.push((format!("302 room {number}"), create));
        let enter = encode_with(|o| {
            RoomEnterNameRes {
                result: ResultCode::None,
                room_number: number,
            }
            .encode(o)
        });
        cases.push((format!("308 room {number}"), enter));
    }
    // The protocol's example: fixed room 0 (2 of 4), room 1000 "rust" (3 of 8).
    let example = room_list_frames(&[room(0, 2, 4, None), room(1000, 3, 8, Some("rust"))]);
    assert_eq!(
        hex(&example),
        "1e003101000200000000020004000000e803000003000800010472757374"
    );
    cases.push(("305 the protocol's example".into(), example));
    cases.push(("305 empty".into(), room_list_frames(&[])));
    let max_name = "é".repeat(16);
    cases.push((
        "305 names and extremes".into(),
        room_list_frames(&[
            room(i32::MIN, 0, 0, None),
            room(7, u16::MAX, u16::MAX, None),
            room(1001, 1, 2, Some("Zoë 用户 🦀")),
            room(i32::MAX, 0, 1000, Some(&max_name)),
            room(1002, 0, 4, Some("a\u{feff}")),
        ]),
    ));
    // 300 rooms: 127, 127 and 46; 127 exactly: a full packet, then an empty one.
    let names: Vec<String> = (0..300).map(|i| format!("room {i}")).collect();
    for total in [300usize, 127] {
        let rooms: Vec<RoomInfo<'_>> = names[..total]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let number = i32::try_from(i).unwrap();
                room(1000 + number, 1, 4, (i % 3 != 0).then_some(n.as_str()))
            })
            .collect();
        let frames = split_frames(&room_list_frames(&rooms));
        assert_eq!(frames.len(), total / 127 + 1);
        for (i, frame) in frames.into_iter().enumerate() {
            cases.push((format!("305 of {total}, part {i}"), frame));
        }
    }
    cases.push((
        "306 the protocol's example".into(),
        room_change_frame(room(1000, 3, 8, Some("rust"))),
    ));
    cases.push((
        "306 fixed room".into(),
        room_change_frame(room(3, 1, 4, None)),
    ));
    cases.push((
        "306 closed".into(),
        room_change_frame(RoomInfo {
            closed: true,
            ..room(1000, 0, 8, Some("rust"))
        }),
    ));
    cases.push((
        "306 longest name".into(),
        room_change_frame(room(1000, 3, 8, Some(&max_name))),
    ));
    // Other flag bits are ignored; "created" without a name has no name.
    let entry = |flags: u8, name: &[u8]| {
        let mut body = vec![0xe8, 0x03, 0, 0, 3, 0, 8, 0, flags];
        body.push(u8::try_from(name.len()).unwrap());
        body.extend(name);
        body
    };
    cases.push((
        "306 unknown flag bits".into(),
        raw_frame(306, 0, &entry(0xfd, b"rust")),
    ));
    cases.push((
        "306 created without a name".into(),
        raw_frame(306, 0, &entry(1, b"")),
    ));
    cases.push((
        "306 closed fixed room".into(),
        raw_frame(306, 0, &entry(2, b"")),
    ));

    // Malformed: ringport-proto refuses each; the JS must report, not throw.
    let list = room_list_frames(&[room(0, 2, 4, None), room(1000, 3, 8, Some("rust"))]);
    let mut count_too_big = list.clone();
    count_too_big[5] = 3;
    let mut trailing = list.clone();
    trailing.push(0);
    fix_len(&mut trailing);
    let with_name = |name: &[u8]| {
        let mut body = vec![1];
        body.extend(entry(1, name));
        raw_frame(305, 0, &body)
    };
    let mut count_128 = vec![128];
    for i in 0..128 {
        count_128.extend(entry(1, format!("r{i}").as_bytes()));
    }
    let change = room_change_frame(room(1000, 3, 8, Some("rust")));
    let mut change_trailing = change.clone();
    change_trailing.push(b'x');
    fix_len(&mut change_trailing);
    let mut change_short = change.clone();
    change_short.pop();
    fix_len(&mut change_short);
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("302 body too short", raw_frame(302, 0, &[0, 0, 0xe8, 3, 0])),
        ("308 body too long", raw_frame(308, 0, &[0; 7])),
        ("304 body too long", raw_frame(304, 0, &[0; 3])),
        ("305 no count", raw_frame(305, 0, &[])),
        (
            "305 count 128, with 128 entries",
            raw_frame(305, 0, &count_128),
        ),
        ("305 count 255", raw_frame(305, 0, &[255])),
        ("305 count larger than entries", count_too_big),
        ("305 trailing byte", trailing),
        ("305 a BEL in a name", with_name(b"ru\x07st")),
        ("305 a newline in a name", with_name(b"a\nb")),
        ("305 a DEL in a name", with_name(b"a\x7f")),
        (
            "305 a C1 control in a name",
            with_name("a\u{85}b".as_bytes()),
        ),
        ("305 a NUL in a name", with_name(b"a\0b")),
        ("305 a leading space", with_name(b" rust")),
        (
            "305 a trailing U+3000",
            with_name("rust\u{3000}".as_bytes()),
        ),
        ("305 invalid UTF-8 name", with_name(b"r\xc3st")),
        ("305 name of 33 bytes", with_name(&[b'a'; 33])),
        (
            "305 entry truncated",
            raw_frame(305, 0, &[1, 0xe8, 3, 0, 0, 3]),
        ),
        ("306 trailing byte", change_trailing),
        ("306 name_len longer than the rest", change_short),
        ("306 empty", raw_frame(306, 0, &[])),
        (
            "306 a control character in a name",
            raw_frame(306, 0, &entry(1, b"\x1b[31m")),
        ),
    ];
    for (name, frame) in malformed {
        assert!(
            ServerPacket::decode(&frame).is_err(),
            "ringport-proto accepts the malformed case {name}"
        );
        cases.push((format!("malformed: {name}"), frame));
    }
}

fn chat_seq_frame(room: i32, epoch: u64, seq: u64, from: &str, message: &str) -> Vec<u8> {
    encode_with(|o| {
        RoomChatSeqNtf {
            room,
            epoch,
            seq,
            time_ms: 1_700_000_000_123,
            user_id: user(from),
            message: ringport_proto::Message::new(message).expect("test messages are valid"),
        }
        .encode(o)
    })
}

fn history_res_frame(room: i32, epoch: u64, last_seq: u64, lost: bool, count: u16) -> Vec<u8> {
    encode_with(|o| {
        RoomHistoryRes {
            result: ResultCode::None,
            room,
            epoch,
            last_seq,
            lost,
            more: false,
            count,
        }
        .encode(o)
    })
}

fn token_frame(ttl_secs: u32, token: &[u8]) -> Vec<u8> {
    encode_with(|o| ResumeTokenNtf { ttl_secs, token }.encode(o))
}

/// The history-and-resume server packets (312 and 318 are above with every
/// code): 313 numbered chat, 315 with its flags, 316 tokens of 0 to 255
/// bytes, and malformed bodies.
fn history_decode_cases(cases: &mut Vec<(String, Vec<u8>)>) {
    for features in [0u32, 1, 2, 3, 0xffff_fffc] {
        let frame = encode_with(|o| {
            HelloRes {
                result: ResultCode::None,
                features: Features(features),
            }
            .encode(o)
        });
        cases.push((format!("312 features {features}"), frame));
    }
    assert_eq!(
        hex(&encode_with(|o| HelloRes {
            result: ResultCode::None,
            features: Features::ALL
        }
        .encode(o))),
        "0b00380100000003000000"
    );
    cases.push(("313 hi".into(), chat_seq_frame(3, 1000, 42, "alice", "hi")));
    cases.push((
        "313 multi-byte".into(),
        chat_seq_frame(
            -7,
            u64::MAX,
            (1 << 53) + 1,
            "Zoë-用户",
            "héllo wörld, 世界 🎉",
        ),
    ));
    cases.push((
        "313 longest".into(),
        chat_seq_frame(
            i32::MAX,
            1 << 63,
            u64::MAX,
            &"é".repeat(16),
            &("€".repeat(85) + "x"),
        ),
    ));
    let negative_time = encode_with(|o| {
        RoomChatSeqNtf {
            room: i32::MIN,
            epoch: 0,
            seq: 0,
            time_ms: i64::MIN,
            user_id: user("x"),
            message: ringport_proto::Message::new("y").unwrap(),
        }
        .encode(o)
    });
    assert_eq!(negative_time.len(), 323);
    cases.push(("313 extremes".into(), negative_time));
    for (lost, more) in [(false, false), (true, false), (false, true), (true, true)] {
        let frame = encode_with(|o| {
            RoomHistoryRes {
                result: ResultCode::None,
                room: 1000,
                epoch: 1_700_000_000_000_000,
                last_seq: 141,
                lost,
                more,
                count: 100,
            }
            .encode(o)
        });
        cases.push((format!("315 lost {lost} more {more}"), frame));
    }
    for code in ResultCode::ALL {
        let frame = encode_with(|o| RoomHistoryRes::new(code).encode(o));
        cases.push((format!("315 result {}", code.code()), frame));
    }
    cases.push((
        "315 extremes".into(),
        history_res_frame(i32::MIN, u64::MAX, u64::MAX, false, u16::MAX),
    ));
    let mut other_flags = history_res_frame(3, 5, 6, false, 1);
    other_flags[27] = 0xfc; // bits other than lost and more are ignored
    cases.push(("315 unknown flag bits".into(), other_flags));
    for len in [0usize, 1, 50, 82, 255] {
        let token: Vec<u8> = (0..len)
            .map(|i| u8::try_from(255 - i % 256).unwrap())
            .collect();
        cases.push((
            format!("316 token of {len} bytes"),
            token_frame(86_400, &token),
        ));
    }
    cases.push(("316 ttl max".into(), token_frame(u32::MAX, b"t")));

    // Malformed: ringport-proto refuses each; the JS must report, not throw.
    let seq_ok = chat_seq_frame(3, 1000, 42, "alice", "hi");
    let mut seq_bad_utf8 = seq_ok.clone();
    seq_bad_utf8[66] = 0xff;
    let mut seq_no_nul = seq_ok.clone();
    seq_no_nul[33..66].fill(b'a');
    let mut seq_empty_msg = seq_ok.clone();
    seq_empty_msg[66] = 0;
    let token = token_frame(60, b"abc");
    let mut token_trailing = token.clone();
    token_trailing.push(0);
    fix_len(&mut token_trailing);
    let mut token_short = token.clone();
    token_short.pop();
    fix_len(&mut token_short);
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("312 body too short", raw_frame(312, 0, &[0, 0, 3, 0, 0])),
        ("312 body too long", raw_frame(312, 0, &[0; 7])),
        ("313 truncated", {
            let mut f = seq_ok[..300].to_vec();
            fix_len(&mut f);
            f
        }),
        ("313 a 223-sized body", {
            let mut f = seq_ok[..295].to_vec();
            fix_len(&mut f);
            f
        }),
        ("313 invalid UTF-8", seq_bad_utf8),
        ("313 user id without NUL", seq_no_nul),
        ("313 empty message", seq_empty_msg),
        ("315 body too short", raw_frame(315, 0, &[0; 24])),
        ("315 body too long", raw_frame(315, 0, &[0; 26])),
        ("316 empty", raw_frame(316, 0, &[])),
        ("316 no length", raw_frame(316, 0, &[60, 0, 0, 0])),
        ("316 trailing byte", token_trailing),
        ("316 len longer than the rest", token_short),
        ("318 body too long", raw_frame(318, 0, &[0; 3])),
    ];
    for (name, frame) in malformed {
        assert!(
            ServerPacket::decode(&frame).is_err(),
            "ringport-proto accepts the malformed case {name}"
        );
        cases.push((format!("malformed: {name}"), frame));
    }
}

fn encode_with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

fn raw_frame(id: u16, kind: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(5 + body.len()).expect("small frame");
    let mut out = Vec::new();
    out.extend(len.to_le_bytes());
    out.extend(id.to_le_bytes());
    out.push(kind);
    out.extend(body);
    out
}

fn fix_len(frame: &mut [u8]) {
    let len = u16::try_from(frame.len())
        .expect("small frame")
        .to_le_bytes();
    frame[..2].copy_from_slice(&len);
}

/// Every response kind that carries a result code.
const RESPONSE_KINDS: [&str; 10] = [
    "loginRes",
    "enterRes",
    "leaveRes",
    "chatRes",
    "createRes",
    "listRes",
    "enterNameRes",
    "helloRes",
    "historyRes",
    "loginTokenRes",
];

#[tokio::test]
async fn codec_matches_ringport_proto() {
    let Some(browser) = Browser::start_or_skip("web_codec::codec_matches_ringport_proto").await
    else {
        return;
    };
    let files = StaticFiles::serve(&support::web_dir());
    open_client(&browser, &files, "/").await;

    // Encoders.
    let script = format!(
        "{JS_NORM}\nconst p = window.ringport.proto; const a = arguments[0];\n\
         try {{ return {{ hex: toHex(eval(arguments[1])) }}; }} \
         catch (e) {{ return {{ error: `${{e.name}}: ${{e.message}}` }}; }}"
    );
    let cases = encode_cases();
    for case in &cases {
        let got = browser
            .eval(
                &script,
                vec![Value::Array(case.args.clone()), json!(case.call)],
            )
            .await;
        match &case.expected {
            Some(bytes) => assert_eq!(
                got,
                json!({"hex": hex(bytes)}),
                "encoder case {:?}: {} {:?}",
                case.name,
                case.call,
                case.args
            ),
            None => {
                let error = got["error"].as_str().unwrap_or_default();
                assert!(
                    error.starts_with("ProtoError: "),
                    "encoder case {:?} must be refused with a ProtoError, got {got}",
                    case.name
                );
            }
        }
    }
    eprintln!("{} encoder cases match ringport-proto", cases.len());

    // Decoder.
    let script = format!(
        "{JS_NORM}\nconst p = window.ringport.proto;\n\
         try {{\n\
           const d = p.decode(fromHex(arguments[0]).buffer);\n\
           return d.ok ? {{ ok: true, packet: norm(d.packet) }} : {{ ok: false, id: d.id, error: d.error }};\n\
         }} catch (e) {{ return {{ threw: String(e) }}; }}"
    );
    let cases = decode_cases();
    for (name, frame) in &cases {
        let got = browser.eval(&script, vec![json!(hex(frame))]).await;
        let expected = expected_decode(frame);
        if expected["ok"] == json!(false) {
            assert_eq!(got["ok"], json!(false), "decoder case {name}: {got}");
            assert!(
                got["error"].as_str().is_some_and(|e| !e.is_empty()),
                "decoder case {name}: a readable error expected, got {got}"
            );
        } else {
            assert_eq!(got, expected, "decoder case {name}");
        }
    }
    eprintln!("{} decoder cases match ringport-proto", cases.len());

    // A result code protocol v1 does not define: ringport-proto refuses the
    // packet; the web client keeps the number and shows it as unknown.
    let frame = raw_frame(202, 0, &77u16.to_le_bytes());
    assert!(ServerPacket::decode(&frame).is_err());
    let got = browser.eval(&script, vec![json!(hex(&frame))]).await;
    assert_eq!(
        got,
        json!({"ok": true, "packet": {"id": 202, "kind": "loginRes", "result": 77}})
    );

    // Readable text for every failure code, per response kind.
    let texts = browser
        .eval(
            "const p = window.ringport.proto; const out = {};\n\
             for (const kind of arguments[1])\n\
               for (const code of arguments[0]) out[`${kind} ${code}`] = p.resultText(kind, code);\n\
             return out;",
            vec![
                json!(ResultCode::ALL.map(|c| c.code()).to_vec()),
                json!(RESPONSE_KINDS),
            ],
        )
        .await;
    for kind in RESPONSE_KINDS {
        for code in ResultCode::ALL {
            let c = code.code();
            let text = &texts[format!("{kind} {c}")];
            if code.is_success() {
                assert_eq!(
                    text,
                    &Value::Null,
                    "{kind} {c}: success has no failure text"
                );
            } else {
                let text = text.as_str().unwrap_or_default();
                assert!(
                    text.ends_with(&format!(" ({c})")) && !text.contains("unknown result"),
                    "{kind} {c}: {text:?}"
                );
            }
        }
    }
    assert_eq!(
        texts["loginRes 33"],
        json!("Login failed: wrong password, or unknown user id (33)")
    );
    assert_eq!(
        texts["chatRes 63"],
        json!("Message not sent: too many messages, slow down (63)")
    );
    assert_eq!(
        texts["createRes 101"],
        json!("Cannot create the room: a room with this name is already open (101)")
    );
    assert_eq!(
        texts["enterNameRes 102"],
        json!("Cannot enter the room: no open room has this name (102)")
    );
    assert_eq!(
        texts["loginTokenRes 112"],
        json!("Could not resume the session: the saved session has expired (112)")
    );
    assert_eq!(
        texts["loginTokenRes 34"],
        json!("Could not resume the session: the account store is unavailable or busy, try again later (34)")
    );
    assert_eq!(
        texts["historyRes 110"],
        json!(
            "Cannot fetch the missed messages: the server keeps no history for this session (110)"
        )
    );
    // Every code of ringport-proto has its protocol name, and no other.
    let names = browser
        .eval("return window.ringport.proto.RESULT_NAMES;", vec![])
        .await;
    let expected: serde_json::Map<String, Value> = ResultCode::ALL
        .iter()
        .map(|c| (c.code().to_string(), json!(c.name())))
        .collect();
    assert_eq!(names, Value::Object(expected), "RESULT_NAMES");

    // The page itself: every id of the automation contract is there, and
    // without a server at /ws it shows the connection closed.
    let missing = browser
        .eval(
            "return ['user','password','login','room','enter','leave','message','send',\
             'status','log','members','conn-state','reconnect','lobby','rooms','room-count',\
             'room-name','room-capacity','create','create-error']\
             .filter((id) => !document.getElementById(id));",
            vec![],
        )
        .await;
    assert_eq!(missing, json!([]), "ids missing from index.html");
    browser
        .wait_until(
            "document.getElementById('conn-state').textContent === 'closed'",
            "the closed state (no WebSocket server here)",
        )
        .await;
    let globals = browser
        .eval(
            "return Object.keys(window.ringport).concat(Object.keys(window.ringport.proto).length > 0 ? [] : ['empty']);",
            vec![],
        )
        .await;
    assert_eq!(globals, json!(["proto"]));
    browser.screenshot("web-client").await;
    browser.close().await;
}

// ---- UI against a scripted server -----------------------------------------

/// A WebSocket test double, loaded before app.js: records what the page
/// sends (hex) and delivers what the test gives.
const MOCK_WS: &str = r#"
(() => {
  const toHex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
  const fromHex = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16))).buffer;
  class MockSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      window.__mock.socket = this;
      window.__mock.urls.push(url);
      setTimeout(() => { this.readyState = 1; this.onopen && this.onopen({}); }, 0);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error("send on a socket that is not open");
      window.__mock.sent.push(toHex(data));
    }
    close(code = 1000, reason = "") { this.readyState = 3; }
  }
  window.__mock = {
    sent: [],
    urls: [],
    socket: null,
    deliver(hex) { this.socket.onmessage({ data: fromHex(hex) }); },
    serverClose(code, reason) { this.socket.readyState = 3; this.socket.onclose({ code, reason }); },
  };
  window.WebSocket = MockSocket;
})();
"#;

/// Serves the web files plus `/mock.html`: `index.html` with [`MOCK_WS`]
/// loaded first.
fn serve_with_mock() -> StaticFiles {
    let index = std::fs::read_to_string(support::web_dir().join("index.html")).expect("index.html");
    let marker = r#"<script type="module" src="/app.js"></script>"#;
    assert!(
        index.contains(marker),
        "index.html loads /app.js as a module"
    );
    let mock_html = index.replace(
        marker,
        &format!("<script src=\"/mock-ws.js\"></script>\n  {marker}"),
    );
    let mut routes = Routes::new();
    routes.insert(
        "/mock.html".into(),
        ("text/html; charset=utf-8", mock_html.into_bytes()),
    );
    routes.insert(
        "/mock-ws.js".into(),
        (
            "text/javascript; charset=utf-8",
            MOCK_WS.as_bytes().to_vec(),
        ),
    );
    StaticFiles::serve_with(&support::web_dir(), routes)
}

async fn sent(browser: &Browser) -> Vec<String> {
    let v = browser.eval("return window.__mock.sent;", vec![]).await;
    serde_json::from_value(v).expect("sent is a list of hex strings")
}

/// Waits for the page to have sent `n` packets and checks the last one.
async fn expect_sent(browser: &Browser, n: usize, packet: &[u8], what: &str) {
    browser
        .wait_until(&format!("window.__mock.sent.length >= {n}"), what)
        .await;
    let sent = sent(browser).await;
    assert_eq!(sent.len(), n, "{what}: packets sent: {sent:?}");
    assert_eq!(sent[n - 1], hex(packet), "{what}: bytes sent");
}

/// Waits for the page to have sent `first - 1 + packets.len()` packets and
/// checks the last ones (sent together, without waiting for an answer).
async fn expect_sent_all(browser: &Browser, first: usize, packets: &[Vec<u8>], what: &str) {
    let n = first - 1 + packets.len();
    browser
        .wait_until(&format!("window.__mock.sent.length >= {n}"), what)
        .await;
    let sent = sent(browser).await;
    assert_eq!(sent.len(), n, "{what}: packets sent: {sent:?}");
    let expected: Vec<String> = packets.iter().map(|p| hex(p)).collect();
    assert_eq!(sent[first - 1..], expected[..], "{what}: bytes sent");
}

async fn deliver(browser: &Browser, frames: &[u8]) {
    for frame in split_frames(frames) {
        browser
            .eval(
                "window.__mock.deliver(arguments[0]);",
                vec![json!(hex(&frame))],
            )
            .await;
    }
}

async fn status(browser: &Browser) -> (String, String) {
    let v = browser
        .eval(
            "const s = document.getElementById('status'); return [s.textContent, s.dataset.ok];",
            vec![],
        )
        .await;
    (
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

async fn members(browser: &Browser) -> Vec<String> {
    let v = browser
        .eval(
            "return Array.from(document.querySelectorAll('#members > li'), (li) => li.dataset.userId);",
            vec![],
        )
        .await;
    serde_json::from_value(v).expect("member ids")
}

/// The lobby's rooms as `[name shown, "users/max", data-number]`.
async fn lobby_rooms(browser: &Browser) -> Value {
    browser
        .eval(
            "return Array.from(document.querySelectorAll('#rooms > li'), (li) => [\
               li.querySelector('.room-name').textContent,\
               li.querySelector('.room-users').textContent,\
               li.dataset.number]);",
            vec![],
        )
        .await
}

/// Whether the element with `id` is displayed.
async fn shown(browser: &Browser, id: &str) -> bool {
    browser
        .eval(
            "return document.getElementById(arguments[0]).checkVisibility();",
            vec![json!(id)],
        )
        .await
        == json!(true)
}

/// Right after login (2 packets sent): the page lists and watches the rooms
/// (3), shows them and their updates, refuses a bad name itself, creates a
/// room (4 refused, 5 created), enters it by a click (6) and leaves it (7).
async fn lobby_against_scripted_server(browser: &Browser) {
    expect_sent(browser, 4, &rust_list(true), "list and watch").await;
    assert!(shown(browser, "lobby").await, "the lobby once logged in");
    assert!(!shown(browser, "log").await, "no chat log in the lobby");
    deliver(
        browser,
        &encode_with(|o| RoomListRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(
        browser,
        &room_list_frames(&[
            room(0, 2, 4, None),
            room(1, 0, 4, None),
            room(1000, 3, 8, Some("rust")),
        ]),
    )
    .await;
    assert_eq!(
        lobby_rooms(browser).await,
        json!([
            ["Room 0", "2/4", "0"],
            ["Room 1", "0/4", "1"],
            ["rust", "3/8", "1000"]
        ])
    );
    // Updates: a count, a new room (sorted in), a closed room, a full room.
    deliver(browser, &room_change_frame(room(1, 1, 4, None))).await;
    deliver(browser, &room_change_frame(room(1001, 2, 2, Some("Zoë's")))).await;
    deliver(
        browser,
        &room_change_frame(RoomInfo {
            closed: true,
            ..room(1000, 0, 8, Some("rust"))
        }),
    )
    .await;
    assert_eq!(
        lobby_rooms(browser).await,
        json!([
            ["Room 0", "2/4", "0"],
            ["Room 1", "1/4", "1"],
            ["Zoë's", "2/2 full", "1001"]
        ])
    );
    assert_eq!(browser.text("#room-count").await, "(3)");

    // A name the protocol refuses never leaves the page.
    browser.type_into("#room-name", " chess").await;
    browser.click("#create").await;
    assert_eq!(
        browser.text("#create-error").await,
        "Room name starts or ends with white space"
    );
    assert_eq!(sent(browser).await.len(), 4, "nothing sent");
    // Taken: the error shows by the form.
    browser.type_into("#room-name", "chess").await;
    browser.type_into("#room-capacity", "6").await;
    browser.click("#create").await;
    expect_sent(browser, 5, &rust_create("chess", 6).unwrap(), "create").await;
    deliver(
        browser,
        &encode_with(|o| RoomCreateRes::new(ResultCode::RoomNameTaken).encode(o)),
    )
    .await;
    let taken = "Cannot create the room: a room with this name is already open (101)";
    assert_eq!(browser.text("#create-error").await, taken);
    assert_eq!(status(browser).await, (taken.into(), "false".into()));
    // Created (Enter in the name field; default capacity): the 306 lists it.
    browser.type_into("#room-capacity", "").await;
    browser.type_into("#room-name", "chess club\n").await;
    expect_sent(browser, 6, &rust_create("chess club", 0).unwrap(), "create").await;
    deliver(
        browser,
        &encode_with(|o| {
            RoomCreateRes {
                result: ResultCode::None,
                room_number: 1002,
            }
            .encode(o)
        }),
    )
    .await;
    assert_eq!(
        status(browser).await,
        (
            "Created room 1002 (chess club): click it to enter".into(),
            "true".into()
        )
    );
    assert!(!shown(browser, "create-error").await);
    deliver(
        browser,
        &room_change_frame(room(1002, 0, 4, Some("chess club"))),
    )
    .await;
    browser.screenshot("web-client-lobby").await;

    // A click enters it by number; leaving comes back to the lobby.
    browser
        .click("#rooms li[data-name='chess club'] button")
        .await;
    expect_sent(browser, 7, &rust_enter(1002).unwrap(), "enter by a click").await;
    deliver(
        browser,
        &encode_with(|o| RoomEnterRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(browser, &list_frames(&[])).await;
    browser
        .wait_until("document.body.dataset.session === 'inRoom'", "in room")
        .await;
    assert_eq!(status(browser).await.0, "Entered chess club (room 1002)");
    assert!(!shown(browser, "lobby").await, "no lobby in a room");
    assert_eq!(
        browser.text("#session-info").await,
        "alice · chess club (room 1002)"
    );
    deliver(
        browser,
        &room_change_frame(room(1002, 1, 4, Some("chess club"))),
    )
    .await;
    browser.click("#leave").await;
    let mut leave = Vec::new();
    RoomLeaveReq.encode(&mut leave);
    expect_sent(browser, 8, &leave, "leave").await;
    deliver(
        browser,
        &encode_with(|o| RoomLeaveRes::new(ResultCode::None).encode(o)),
    )
    .await;
    browser
        .wait_until("document.body.dataset.session === 'loggedIn'", "lobby")
        .await;
    assert_eq!(status(browser).await.0, "Left chess club (room 1002)");
    assert!(shown(browser, "lobby").await);
    assert_eq!(
        lobby_rooms(browser).await[3],
        json!(["chess club", "1/4", "1002"]),
        "the count the watch sent while in the room"
    );
}

/// Waits for the page to show the connection closed and returns what it
/// showed then, read at once (it reconnects by itself within a second):
/// `{ detail, code, retry, disabled: [login, enter, leave, send] }`.
async fn closed_snapshot(browser: &Browser) -> Value {
    browser
        .wait_until(
            "(() => {\n\
               const s = document.getElementById('conn-state');\n\
               if (s.textContent !== 'closed') return false;\n\
               const r = document.getElementById('conn-retry');\n\
               window.__closed = { detail: document.getElementById('conn-detail').textContent,\n\
                 code: s.dataset.code, retry: r.hidden ? null : r.textContent,\n\
                 disabled: ['login','enter','leave','send'].map((id) => document.getElementById(id).disabled) };\n\
               return true; })()",
            "the connection closed",
        )
        .await;
    browser.eval("return window.__closed;", vec![]).await
}

#[tokio::test]
async fn ui_against_scripted_server() {
    let Some(browser) = Browser::start_or_skip("web_codec::ui_against_scripted_server").await
    else {
        return;
    };
    let files = serve_with_mock();
    open_client(&browser, &files, "/mock.html").await;
    browser
        .wait_until("document.body.dataset.conn === 'open'", "open")
        .await;
    let urls = browser.eval("return window.__mock.urls;", vec![]).await;
    assert_eq!(urls, json!([format!("ws://{}/ws", files.addr())]));
    // The page says hello first: numbered chat and resume tokens.
    expect_sent(&browser, 1, &rust_hello(3), "hello").await;

    // A wrong password (Enter in the password field logs in).
    browser.type_into("#user", "alice").await;
    browser.type_into("#password", "bad\n").await;
    expect_sent(&browser, 2, &rust_login("alice", "bad").unwrap(), "login").await;
    deliver(
        &browser,
        &encode_with(|o| LoginRes::new(ResultCode::LoginUserInvalidPw).encode(o)),
    )
    .await;
    browser
        .wait_until(
            "document.getElementById('status').dataset.ok === 'false'",
            "login failure",
        )
        .await;
    assert_eq!(
        status(&browser).await.0,
        "Login failed: wrong password, or unknown user id (33)"
    );

    // Then the right one.
    browser.type_into("#password", "secret\n").await;
    expect_sent(
        &browser,
        3,
        &rust_login("alice", "secret").unwrap(),
        "login",
    )
    .await;
    deliver(
        &browser,
        &encode_with(|o| LoginRes::new(ResultCode::None).encode(o)),
    )
    .await;
    browser
        .wait_until("document.body.dataset.session === 'loggedIn'", "logged in")
        .await;
    assert_eq!(
        status(&browser).await,
        ("Logged in as alice".into(), "true".into())
    );

    lobby_against_scripted_server(&browser).await;

    // Enter room 3: 207, then the list (bob, José), then a newcomer.
    browser.type_into("#room", "3\n").await;
    expect_sent(&browser, 9, &rust_enter(3).unwrap(), "enter").await;
    deliver(
        &browser,
        &encode_with(|o| RoomEnterRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(&browser, &list_frames(&[(7, "bob"), (9, "José")])).await;
    browser
        .wait_until("document.body.dataset.session === 'inRoom'", "in room")
        .await;
    assert_eq!(members(&browser).await, ["alice", "bob", "José"]);
    let big_uid = (1i64 << 60) + 3;
    deliver(&browser, &new_user_frame(big_uid, "用户")).await;
    assert_eq!(members(&browser).await, ["alice", "bob", "José", "用户"]);
    let uid_attr = browser
        .eval(
            "return document.querySelector('#members li[data-user-id=\"用户\"]').dataset.uid;",
            vec![],
        )
        .await;
    assert_eq!(uid_attr, json!(big_uid.to_string()), "i64 uid kept exactly");

    // Chat: Enter sends; the own line comes from the 223, like everyone's.
    browser.type_into("#message", "héllo wörld ✓\n").await;
    expect_sent(&browser, 10, &rust_chat("héllo wörld ✓").unwrap(), "chat").await;
    let value = browser
        .eval("return document.getElementById('message').value;", vec![])
        .await;
    assert_eq!(value, json!(""), "the input is cleared once sent");
    deliver(
        &browser,
        &encode_with(|o| RoomChatRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(&browser, &chat_ntf_frame("alice", "héllo wörld ✓")).await;
    deliver(
        &browser,
        &chat_ntf_frame("bob", "hi alice, welcome to room 3"),
    )
    .await;
    deliver(&browser, &chat_ntf_frame("José", "¡hola! <b>not bold</b>")).await;
    let lines = browser
        .eval(
            "return Array.from(document.querySelectorAll('#log > li[data-kind=\"chat\"]'), (li) => ({\n\
               sender: li.querySelector('.sender').textContent,\n\
               text: li.querySelector('.text').textContent,\n\
               own: li.dataset.own, time: li.querySelector('time').textContent }));",
            vec![],
        )
        .await;
    let lines = lines.as_array().expect("lines").clone();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        (&lines[0]["sender"], &lines[0]["text"], &lines[0]["own"]),
        (&json!("alice"), &json!("héllo wörld ✓"), &json!("true"))
    );
    assert_eq!(
        (&lines[1]["sender"], &lines[1]["own"]),
        (&json!("bob"), &json!("false"))
    );
    assert_eq!(
        lines[2]["text"],
        json!("¡hola! <b>not bold</b>"),
        "text, never HTML"
    );
    assert!(lines
        .iter()
        .all(|l| l["time"].as_str().is_some_and(|t| t.len() >= 5)));
    let bold = browser
        .eval("return document.querySelectorAll('#log b').length;", vec![])
        .await;
    assert_eq!(bold, json!(0));

    // Too long for the field: refused in the UI, nothing sent.
    browser.type_into("#message", &"é".repeat(150)).await;
    let counter = browser.text("#message-bytes").await;
    assert_eq!(counter, "300/256");
    browser.click("#send").await;
    browser
        .wait_until(
            "document.getElementById('status').dataset.ok === 'false'",
            "refusal",
        )
        .await;
    assert_eq!(
        status(&browser).await.0,
        "Message is too long: 300 bytes of UTF-8, at most 256 fit"
    );
    assert_eq!(sent(&browser).await.len(), 10, "nothing sent");
    browser.type_into("#message", "").await;

    // Rate limited, a malformed packet, and bob leaving.
    deliver(
        &browser,
        &encode_with(|o| RoomChatRes::new(ResultCode::RoomTooManyPacket).encode(o)),
    )
    .await;
    assert_eq!(
        status(&browser).await,
        (
            "Message not sent: too many messages, slow down (63)".into(),
            "false".into()
        )
    );
    deliver(&browser, &raw_frame(223, 0, &[0; 10])).await;
    deliver(&browser, &raw_frame(4242, 0, b"future packet")).await;
    deliver(
        &browser,
        &encode_with(|o| RoomLeaveUserNtf { user_unique_id: 7 }.encode(o)),
    )
    .await;
    assert_eq!(members(&browser).await, ["alice", "José", "用户"]);
    let system = browser
        .eval(
            "return Array.from(document.querySelectorAll('#log > li[data-kind=\"system\"] .text'), (s) => s.textContent);",
            vec![],
        )
        .await;
    let system: Vec<String> = serde_json::from_value(system).expect("system lines");
    assert!(
        system
            .iter()
            .any(|l| l.starts_with("Ignored a malformed packet (id 223)")),
        "{system:?}"
    );
    assert!(system.contains(&"bob left".to_string()), "{system:?}");
    assert!(system.contains(&"用户 joined".to_string()), "{system:?}");
    deliver(
        &browser,
        &chat_ntf_frame("用户", "multi-byte ids work too ✓"),
    )
    .await;

    browser.type_into("#message", "draft").await;
    browser.screenshot("web-client-chat").await;
    browser.set_window_size(390, 844).await;
    browser.screenshot("web-client-phone").await;
    browser.set_window_size(1280, 800).await;
    browser.type_into("#message", "").await;

    // Leave.
    browser.click("#leave").await;
    let mut leave = Vec::new();
    RoomLeaveReq.encode(&mut leave);
    expect_sent(&browser, 11, &leave, "leave").await;
    deliver(
        &browser,
        &encode_with(|o| RoomLeaveRes::new(ResultCode::None).encode(o)),
    )
    .await;
    browser
        .wait_until(
            "document.body.dataset.session === 'loggedIn'",
            "left the room",
        )
        .await;
    assert!(members(&browser).await.is_empty());
    assert_eq!(status(&browser).await.0, "Left room 3");

    // Entering a full room fails readably.
    browser.type_into("#room", "5").await;
    browser.click("#enter").await;
    expect_sent(&browser, 12, &rust_enter(5).unwrap(), "enter").await;
    deliver(
        &browser,
        &encode_with(|o| RoomEnterRes::new(ResultCode::EnterRoomFullUser).encode(o)),
    )
    .await;
    assert_eq!(
        status(&browser).await,
        (
            "Cannot enter the room: the room is full (54)".into(),
            "false".into()
        )
    );

    // The server closes: state, code and reason shown, and the page
    // reconnects by itself; no token was given, so the login form is back.
    browser
        .eval(
            "window.__mock.serverClose(1001, 'server shutting down');",
            vec![],
        )
        .await;
    let closed = closed_snapshot(&browser).await;
    assert_eq!(closed["detail"], json!("(code 1001: server shutting down)"));
    assert_eq!(closed["code"], json!("1001"));
    let retry = closed["retry"].as_str().unwrap_or_default();
    assert!(retry.starts_with("reconnecting in "), "{closed}");
    assert_eq!(closed["disabled"], json!([true, true, true, true]));
    browser
        .wait_until("document.body.dataset.conn === 'open'", "reopened")
        .await;
    assert_eq!(
        browser
            .eval("return document.body.dataset.session;", vec![])
            .await,
        json!("connected")
    );
    assert_eq!(
        browser
            .eval("return window.__mock.urls.length;", vec![])
            .await,
        json!(2)
    );
    expect_sent(&browser, 13, &rust_hello(3), "hello again, no token").await;
    assert!(!shown(&browser, "conn-retry").await);
    assert_eq!(
        lobby_rooms(&browser).await,
        json!([]),
        "no rooms once closed"
    );
    browser.close().await;
}

/// The chat and gap lines of `#log`, in order: a chat line as its text, a
/// gap as `"GAP"`.
async fn log_lines(browser: &Browser) -> Vec<String> {
    let v = browser
        .eval(
            "return Array.from(document.querySelectorAll('#log > li[data-kind=\"chat\"], #log > li[data-kind=\"gap\"]'),\
               (li) => li.dataset.kind === 'gap' ? 'GAP' : li.querySelector('.text').textContent);",
            vec![],
        )
        .await;
    serde_json::from_value(v).expect("log lines")
}

/// The saved session (`sessionStorage`), `Value::Null` when none; and
/// nothing ever in `localStorage`.
async fn saved_session(browser: &Browser) -> Value {
    let v = browser
        .eval(
            "return [sessionStorage.getItem('ringport.session'), localStorage.length];",
            vec![],
        )
        .await;
    assert_eq!(v[1], json!(0), "nothing in localStorage");
    match v[0].as_str() {
        Some(text) => serde_json::from_str(text).expect("the saved session is JSON"),
        None => Value::Null,
    }
}

fn hello_res(features: u32) -> Vec<u8> {
    encode_with(|o| {
        HelloRes {
            result: ResultCode::None,
            features: Features(features),
        }
        .encode(o)
    })
}

/// History and resume against the scripted server: the token kept in
/// sessionStorage; after a dropped connection the page reconnects by
/// itself, logs in with the token, enters its room again and asks for the
/// messages after the last one shown; a live message before the 315 and a
/// repeated one are shown once, in order, with a gap line for lost ones; a
/// reload logs in with the token directly and falls back to the password
/// when it is refused; logging out forgets it.
#[tokio::test]
async fn resume_against_scripted_server() {
    let Some(browser) = Browser::start_or_skip("web_codec::resume_against_scripted_server").await
    else {
        return;
    };
    let files = serve_with_mock();
    open_client(&browser, &files, "/mock.html").await;
    browser
        .wait_until("document.body.dataset.conn === 'open'", "open")
        .await;
    expect_sent(&browser, 1, &rust_hello(3), "hello").await;
    deliver(&browser, &hello_res(3)).await;
    assert_eq!(saved_session(&browser).await, Value::Null);
    browser.type_into("#user", "alice").await;
    browser.type_into("#password", "secret\n").await;
    expect_sent(
        &browser,
        2,
        &rust_login("alice", "secret").unwrap(),
        "login",
    )
    .await;
    let token: Vec<u8> = (0u8..64).collect();
    deliver(
        &browser,
        &encode_with(|o| LoginRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(&browser, &token_frame(86_400, &token)).await;
    expect_sent(&browser, 3, &rust_list(true), "list and watch").await;
    let saved = saved_session(&browser).await;
    assert_eq!(
        (&saved["user"], &saved["token"], &saved["room"]),
        (&json!("alice"), &json!(hex(&token)), &Value::Null),
        "{saved}"
    );

    // Enter room 3: no position yet, so the recent messages are asked for.
    const EPOCH: u64 = 1_700_000_000_000_000;
    browser.type_into("#room", "3\n").await;
    expect_sent(&browser, 4, &rust_enter(3).unwrap(), "enter").await;
    deliver(
        &browser,
        &encode_with(|o| RoomEnterRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(&browser, &list_frames(&[(7, "bob")])).await;
    expect_sent(
        &browser,
        5,
        &rust_history(0, RoomHistoryReq::LAST, 20),
        "the recent messages",
    )
    .await;
    deliver(&browser, &history_res_frame(3, EPOCH, 5, false, 2)).await;
    deliver(&browser, &chat_seq_frame(3, EPOCH, 4, "bob", "m4")).await;
    deliver(&browser, &chat_seq_frame(3, EPOCH, 5, "José", "m5 ✓")).await;
    deliver(&browser, &chat_seq_frame(3, EPOCH, 6, "bob", "m6")).await;
    deliver(&browser, &chat_seq_frame(3, EPOCH, 6, "bob", "m6")).await;
    assert_eq!(log_lines(&browser).await, ["m4", "m5 ✓", "m6"]);
    let seqs = browser
        .eval(
            "return Array.from(document.querySelectorAll('#log > li[data-kind=\"chat\"]'), (li) => li.dataset.seq);",
            vec![],
        )
        .await;
    assert_eq!(seqs, json!(["4", "5", "6"]));
    assert_eq!(saved_session(&browser).await["room"], json!(3));

    // The connection drops: reconnect, hello, the token, the room again.
    browser
        .eval("window.__mock.serverClose(1006, '');", vec![])
        .await;
    let closed = closed_snapshot(&browser).await;
    assert!(
        closed["retry"]
            .as_str()
            .is_some_and(|r| r.starts_with("reconnecting in ")),
        "{closed}"
    );
    browser
        .wait_until(
            "document.body.dataset.conn === 'open' && window.__mock.urls.length === 2",
            "reconnected",
        )
        .await;
    expect_sent(
        &browser,
        7,
        &rust_login_token(&token),
        "login with the token",
    )
    .await;
    assert_eq!(sent(&browser).await[5], hex(&rust_hello(3)), "hello first");
    let login_disabled = browser
        .eval("return document.getElementById('login').disabled;", vec![])
        .await;
    assert_eq!(login_disabled, json!(true), "no password while resuming");
    let token2: Vec<u8> = vec![0xab; 82];
    deliver(&browser, &hello_res(3)).await;
    deliver(
        &browser,
        &encode_with(|o| LoginTokenRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(&browser, &token_frame(86_400, &token2)).await;
    expect_sent_all(
        &browser,
        8,
        &[rust_list(true), rust_enter(3).unwrap()],
        "list and watch, the room again",
    )
    .await;
    deliver(
        &browser,
        &encode_with(|o| RoomEnterRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(&browser, &list_frames(&[(7, "bob")])).await;
    expect_sent(
        &browser,
        10,
        &rust_history(EPOCH, 6, 100),
        "the messages after the last one shown",
    )
    .await;
    // A live message before the 315; m7 is lost; m9 comes twice.
    deliver(&browser, &chat_seq_frame(3, EPOCH, 9, "bob", "m9")).await;
    assert_eq!(log_lines(&browser).await, ["m4", "m5 ✓", "m6"], "held back");
    deliver(&browser, &history_res_frame(3, EPOCH, 9, true, 2)).await;
    deliver(&browser, &chat_seq_frame(3, EPOCH, 8, "bob", "m8")).await;
    deliver(&browser, &chat_seq_frame(3, EPOCH, 9, "bob", "m9")).await;
    deliver(&browser, &chat_seq_frame(3, EPOCH, 10, "bob", "m10")).await;
    assert_eq!(
        log_lines(&browser).await,
        ["m4", "m5 ✓", "m6", "GAP", "m8", "m9", "m10"]
    );
    assert!(browser
        .text("#log > li[data-kind='gap']")
        .await
        .contains("Some messages were lost"));
    let saved = saved_session(&browser).await;
    assert_eq!(
        (&saved["user"], &saved["token"], &saved["room"]),
        (&json!("alice"), &json!(hex(&token2)), &json!(3)),
        "{saved}"
    );
    browser.screenshot("web-client-resumed").await;

    // A reload logs in with the token at once; refused, the password it is,
    // and the page still goes back to room 3.
    browser.eval("location.reload();", vec![]).await;
    open_client(&browser, &files, "/mock.html").await;
    browser
        .wait_until("document.body.dataset.conn === 'open'", "open")
        .await;
    expect_sent(
        &browser,
        2,
        &rust_login_token(&token2),
        "login with the token",
    )
    .await;
    assert_eq!(sent(&browser).await[0], hex(&rust_hello(3)), "hello first");
    deliver(&browser, &hello_res(3)).await;
    deliver(
        &browser,
        &encode_with(|o| LoginTokenRes::new(ResultCode::TokenInvalid).encode(o)),
    )
    .await;
    assert_eq!(
        status(&browser).await,
        (
            "Could not resume the session: the saved session is not valid (111): log in with your password"
                .into(),
            "false".into()
        )
    );
    assert!(shown(&browser, "login-form").await);
    let user = browser
        .eval("return document.getElementById('user').value;", vec![])
        .await;
    assert_eq!(user, json!("alice"));
    assert_eq!(
        saved_session(&browser).await,
        Value::Null,
        "a refused token is dropped"
    );
    browser.type_into("#password", "secret\n").await;
    expect_sent(
        &browser,
        3,
        &rust_login("alice", "secret").unwrap(),
        "login",
    )
    .await;
    deliver(
        &browser,
        &encode_with(|o| LoginRes::new(ResultCode::None).encode(o)),
    )
    .await;
    deliver(&browser, &token_frame(60, &token)).await;
    expect_sent_all(
        &browser,
        4,
        &[rust_list(true), rust_enter(3).unwrap()],
        "list and watch, room 3 again",
    )
    .await;
    deliver(
        &browser,
        &encode_with(|o| RoomEnterRes::new(ResultCode::None).encode(o)),
    )
    .await;
    expect_sent(
        &browser,
        6,
        &rust_history(0, RoomHistoryReq::LAST, 20),
        "the recent messages (a new page has no positions)",
    )
    .await;
    assert_eq!(saved_session(&browser).await["room"], json!(3));

    // Log out: the saved session is gone, a new connection says hello only.
    browser.click("#logout").await;
    browser
        .wait_until(
            "document.body.dataset.conn === 'open' && window.__mock.urls.length === 2",
            "a new connection",
        )
        .await;
    expect_sent(&browser, 7, &rust_hello(3), "hello").await;
    assert_eq!(saved_session(&browser).await, Value::Null);
    assert_eq!(
        browser
            .eval("return document.body.dataset.session;", vec![])
            .await,
        json!("connected")
    );
    assert_eq!(status(&browser).await.0, "Logged out");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(sent(&browser).await.len(), 7, "no token login");
    browser.close().await;
}
