//! History and resume (311–318): hello and the features granted, numbered
//! chat to opted-in members beside 223s to the others, history pages
//! (after a position, the last N, lost and more), epochs, resume tokens
//! (issued, used, tampered, expired, revoked, another server's), and a
//! reconnect in the middle of a conversation that ends with every message
//! exactly once, in order.

use std::time::Duration;

use ringport_chat::testing::{frame, Harness, Received};
use ringport_chat::{ChatConfig, ConnId, TokenKey};
use ringport_proto::{ClientPacket, Features, HelloReq, LoginTokenReq, ResultCode, RoomHistoryReq};

fn config() -> ChatConfig {
    ChatConfig {
        token_key: Some(TokenKey::new([42; 32])),
        chat_rate: 0,
        room_max_users: 10,
        ..ChatConfig::default()
    }
}

fn hello(h: &mut Harness, conn: ConnId, features: Features) -> Received {
    h.send(conn, &ClientPacket::HelloReq(HelloReq { features }));
    let got = h.take(conn);
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].clone()
}

/// A session that said hello with both features, logged in as `id`;
/// returns it and its token.
fn resumable(h: &mut Harness, id: &str) -> (ConnId, Vec<u8>) {
    let conn = h.connect();
    hello(h, conn, Features::ALL);
    h.login(conn, id, "pw");
    let got = h.take(conn);
    match got.as_slice() {
        [Received::LoginRes(ResultCode::None), Received::Token(token, 86_400)] => {
            (conn, token.clone())
        }
        other => panic!("login of {id}: {other:?}"),
    }
}

fn history(h: &mut Harness, conn: ConnId, epoch: u64, after_seq: u64, max: u16) -> Vec<Received> {
    h.send(
        conn,
        &ClientPacket::RoomHistoryReq(RoomHistoryReq {
            epoch,
            after_seq,
            max,
        }),
    );
    h.take(conn)
}

fn token_login(h: &mut Harness, conn: ConnId, token: &[u8]) -> Vec<Received> {
    h.send(conn, &ClientPacket::LoginTokenReq(LoginTokenReq { token }));
    h.take(conn)
}

/// (seq, sender, text) of the 313s in `got`.
fn numbered(got: &[Received]) -> Vec<(u64, String, String)> {
    got.iter()
        .filter_map(|r| match r {
            Received::ChatSeq {
                seq,
                user_id,
                message,
                ..
            } => Some((*seq, user_id.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn hello_grants_what_the_server_has_on() {
    let mut h = Harness::new(config());
    let conn = h.connect();
    assert_eq!(
        hello(&mut h, conn, Features(0xFF)),
        Received::HelloRes(ResultCode::None, 3),
        "unknown bits are ignored"
    );
    let mut h = Harness::new(ChatConfig::default());
    let conn = h.connect();
    assert_eq!(
        hello(&mut h, conn, Features::ALL),
        Received::HelloRes(ResultCode::None, 1),
        "no token secret: no resume"
    );
    let mut h = Harness::new(ChatConfig {
        history_len: 0,
        ..config()
    });
    let conn = h.connect();
    assert_eq!(
        hello(&mut h, conn, Features::ALL),
        Received::HelloRes(ResultCode::None, 2),
        "history off"
    );
    // A bad body is 90, in a 312.
    h.send_frame(conn, &frame(ringport_proto::id::HELLO_REQ, &[1, 2]));
    assert_eq!(
        h.take(conn),
        [Received::HelloRes(ResultCode::InvalidPacket, 0)]
    );
}

#[test]
fn opted_in_members_get_numbered_chat_and_the_others_223() {
    let mut h = Harness::new(config());
    let (ann, _) = resumable(&mut h, "ann");
    h.enter(ann, 0);
    h.take(ann);
    let bob = h.user_in_room("bob", 0);
    h.take(ann);
    h.chat_message(bob, "one");
    assert_eq!(
        h.take(bob),
        [
            Received::ChatRes(ResultCode::None),
            Received::ChatNtf {
                user_id: "bob".into(),
                message: "one".into()
            }
        ]
    );
    let got = h.take(ann);
    let [Received::ChatSeq {
        room: 0,
        epoch,
        seq: 1,
        time_ms,
        ..
    }] = got.as_slice()
    else {
        panic!("{got:?}");
    };
    assert_eq!(*time_ms, Harness::WALL_START_MS);
    assert!(*epoch > 0);
    h.advance(Duration::from_millis(250));
    h.chat_message(ann, "two");
    let got = h.take(ann);
    assert_eq!(got[0], Received::ChatRes(ResultCode::None));
    assert_eq!(numbered(&got), vec![(2, "ann".into(), "two".into())]);
    // Opting out mid-room: 223s again.
    hello(&mut h, ann, Features::NONE);
    h.chat_message(bob, "three");
    assert!(matches!(h.take(ann).as_slice(), [Received::ChatNtf { .. }]));
}

#[test]
fn history_pages_after_a_position_the_last_n_lost_and_more() {
    let mut h = Harness::new(ChatConfig {
        history_len: 5,
        ..config()
    });
    let (ann, _) = resumable(&mut h, "ann");
    h.enter(ann, 2);
    h.take(ann);
    for i in 1..=7 {
        h.chat_message(ann, &format!("m{i}"));
    }
    let epoch = match h.take(ann).last() {
        Some(Received::ChatSeq { epoch, seq: 7, .. }) => *epoch,
        other => panic!("{other:?}"),
    };
    // After 4: 5, 6, 7.
    let got = history(&mut h, ann, epoch, 4, 100);
    assert_eq!(
        got[0],
        Received::HistoryRes {
            result: ResultCode::None,
            room: 2,
            epoch,
            last_seq: 7,
            lost: false,
            more: false,
            count: 3
        }
    );
    let seqs: Vec<u64> = numbered(&got).iter().map(|m| m.0).collect();
    assert_eq!(seqs, vec![5, 6, 7]);
    // The last 2.
    let got = history(&mut h, ann, 0, RoomHistoryReq::LAST, 2);
    assert_eq!(
        numbered(&got).iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![6, 7]
    );
    // After 1: 2 is gone (5 kept: 3..=7): lost, from 3, and more after a page of 2.
    let got = history(&mut h, ann, epoch, 1, 2);
    assert!(matches!(
        got[0],
        Received::HistoryRes {
            lost: true,
            more: true,
            count: 2,
            ..
        }
    ));
    assert_eq!(
        numbered(&got).iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![3, 4]
    );
    // Another epoch: lost.
    let got = history(&mut h, ann, epoch + 1, 7, 10);
    assert!(matches!(
        got[0],
        Received::HistoryRes {
            lost: true,
            count: 5,
            ..
        }
    ));
    // Nothing missed: an empty page.
    let got = history(&mut h, ann, epoch, 7, 10);
    assert!(matches!(
        got.as_slice(),
        [Received::HistoryRes {
            lost: false,
            more: false,
            count: 0,
            ..
        }]
    ));
}

#[test]
fn history_refusals() {
    let mut h = Harness::new(config());
    let conn = h.user("plain");
    assert!(matches!(
        history(&mut h, conn, 0, 0, 10).as_slice(),
        [Received::HistoryRes {
            result: ResultCode::ChatRoomInvalidRoomNumber,
            ..
        }]
    ));
    h.enter(conn, 1);
    h.take(conn);
    assert!(matches!(
        history(&mut h, conn, 0, 0, 10).as_slice(),
        [Received::HistoryRes {
            result: ResultCode::FeatureNotEnabled,
            ..
        }]
    ));
}

#[test]
fn a_room_empty_for_the_idle_time_starts_a_new_epoch() {
    let mut h = Harness::new(config());
    let (ann, _) = resumable(&mut h, "ann");
    h.enter(ann, 3);
    h.chat_message(ann, "before");
    let old = match h.take(ann).last() {
        Some(Received::ChatSeq { epoch, .. }) => *epoch,
        other => panic!("{other:?}"),
    };
    h.leave(ann);
    h.advance(Duration::from_secs(301));
    h.enter(ann, 3);
    h.take(ann);
    let got = history(&mut h, ann, old, 1, 10);
    match got.as_slice() {
        [Received::HistoryRes {
            epoch,
            lost: true,
            last_seq: 0,
            count: 0,
            ..
        }] => assert!(*epoch > old),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tokens_log_in_without_the_password_and_are_refused_when_bad() {
    let mut h = Harness::new(config());
    let (first, token) = resumable(&mut h, "ann");
    h.disconnect(first);
    h.advance(Duration::from_millis(10));
    // A new connection logs in with the token: no password check asked
    // of a hash, a fresh token.
    let conn = h.connect();
    hello(&mut h, conn, Features::ALL);
    let got = token_login(&mut h, conn, &token);
    match got.as_slice() {
        [Received::LoginTokenRes(ResultCode::None), Received::Token(fresh, _)] => {
            assert_ne!(fresh, &token, "a fresh token")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.chat().logged_in_as(conn), Some("ann"));
    assert_eq!(
        token_login(&mut h, conn, &token),
        [Received::LoginTokenRes(ResultCode::LoginUserAlready)]
    );
    assert_eq!(h.stats().token_logins_ok, 1);

    let fresh = |h: &mut Harness| {
        let conn = h.connect();
        hello(h, conn, Features::ALL);
        conn
    };
    // Tampered.
    let mut bad = token.clone();
    bad[5] ^= 1;
    let c = fresh(&mut h);
    assert_eq!(
        token_login(&mut h, c, &bad),
        [Received::LoginTokenRes(ResultCode::TokenInvalid)]
    );
    // Another server's secret.
    let other = TokenKey::new([7; 32]).issue("ann", h.wall_ms(), 60_000);
    assert_eq!(
        token_login(&mut h, c, &other),
        [Received::LoginTokenRes(ResultCode::TokenInvalid)]
    );
    // Without hello: 110.
    let plain = h.connect();
    assert_eq!(
        token_login(&mut h, plain, &token),
        [Received::LoginTokenRes(ResultCode::FeatureNotEnabled)]
    );
    // Revoked (a password change after it was issued).
    h.disconnect(conn);
    let at = h.wall_ms();
    h.revoke_tokens("ann", at);
    assert_eq!(
        token_login(&mut h, c, &token),
        [Received::LoginTokenRes(ResultCode::TokenRevoked)]
    );
    // Expired: a day and a second later.
    let (_, later) = resumable(&mut h, "bob");
    h.advance(Duration::from_secs(86_401));
    let c = fresh(&mut h);
    assert_eq!(
        token_login(&mut h, c, &later),
        [Received::LoginTokenRes(ResultCode::TokenExpired)]
    );
    let f = h.stats().login_failures;
    assert_eq!(
        (
            f.token_invalid,
            f.feature_not_enabled,
            f.token_revoked,
            f.token_expired,
            f.already
        ),
        (2, 1, 1, 1, 1)
    );
}

#[test]
fn a_reconnect_mid_conversation_ends_with_every_message_once_in_order() {
    let mut h = Harness::new(config());
    let (ann, token) = resumable(&mut h, "ann");
    h.enter(ann, 4);
    h.take(ann);
    let bob = h.user_in_room("bob", 4);
    let mut transcript: Vec<(u64, String, String)> = Vec::new();
    let mut epoch = 0;
    for i in 0..3 {
        h.chat_message(bob, &format!("before {i}"));
        for got in h.take(ann) {
            if let Received::ChatSeq { epoch: e, .. } = got {
                epoch = e;
            }
            transcript.extend(numbered(&[got]));
        }
    }
    // The connection drops; the conversation goes on.
    h.disconnect(ann);
    for i in 0..4 {
        h.chat_message(bob, &format!("while away {i}"));
    }
    // Back: hello, token, enter, then a live message races the history
    // request, as it may over a real network.
    let ann = h.connect();
    hello(&mut h, ann, Features::ALL);
    assert_eq!(
        token_login(&mut h, ann, &token)[0],
        Received::LoginTokenRes(ResultCode::None)
    );
    h.enter(ann, 4);
    h.take(ann);
    h.chat_message(bob, "live");
    let live = numbered(&h.take(ann));
    let last = transcript.last().map_or(0, |m| m.0);
    let page = history(&mut h, ann, epoch, last, 100);
    assert!(matches!(page[0], Received::HistoryRes { lost: false, .. }));
    for message in numbered(&page).into_iter().chain(live) {
        if transcript.iter().all(|m| m.0 != message.0) {
            transcript.push(message);
        }
    }
    transcript.sort_by_key(|m| m.0);
    let texts: Vec<&str> = transcript.iter().map(|m| m.2.as_str()).collect();
    assert_eq!(
        texts,
        [
            "before 0",
            "before 1",
            "before 2",
            "while away 0",
            "while away 1",
            "while away 2",
            "while away 3",
            "live"
        ]
    );
    let seqs: Vec<u64> = transcript.iter().map(|m| m.0).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<u64>>());
}
