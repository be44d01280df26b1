//! History storage end to end (`chat.history_store`, docs/PROTOCOL.md
//! "History and resume"): a restart with the SQLite or the Redis store
//! keeps each fixed room's messages, numbers and epoch; in cluster mode
//! the numbers come from Redis, so a history client on one node sees the
//! chats of both nodes numbered 1..n, and catch-up works on the other node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use chat_support::{connect, got, login_enter, serve, Got};
use common::Running;
use ringport_accounts::testing::RedisServer;
use ringport_client::Client;
use ringport_proto::{ClientPacket, Features, HelloReq, RoomHistoryReq, ServerPacket};

const BACKEND: &str = "poll";

/// What a history client receives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum H {
    /// 313: epoch, seq, user, message.
    Seq(u64, u64, String, String),
    /// 315: result, epoch, last_seq, lost, more, count.
    Res(u16, u64, u64, bool, bool, u16),
    Other(Got),
}

fn recv(c: &mut Client) -> H {
    match c.recv().unwrap() {
        ServerPacket::RoomChatSeqNtf(n) => H::Seq(
            n.epoch,
            n.seq,
            n.user_id.as_str().into(),
            n.message.to_string(),
        ),
        ServerPacket::RoomHistoryRes(r) => H::Res(
            r.result.code(),
            r.epoch,
            r.last_seq,
            r.lost,
            r.more,
            r.count,
        ),
        other => H::Other(got(other)),
    }
}

/// Logs in, enters `room` and says hello with the history feature.
fn history_client(r: &Running, id: &str, room: i32) -> Client {
    let mut c = connect(r);
    login_enter(&mut c, id, room);
    c.send(&ClientPacket::HelloReq(HelloReq {
        features: Features::HISTORY,
    }))
    .unwrap();
    match c.recv().unwrap() {
        ServerPacket::HelloRes(res) => assert!(res.features.contains(Features::HISTORY)),
        other => panic!("{id}: expected a 312, got {other:?}"),
    }
    c
}

/// Sends a chat and returns the 313 it comes back as (after its 222).
fn chat(c: &mut Client, text: &str) -> (u64, u64) {
    c.chat(text).unwrap();
    assert_eq!(recv(c), H::Other(Got::ChatRes(0)));
    match recv(c) {
        H::Seq(epoch, seq, _, message) => {
            assert_eq!(message, text);
            (epoch, seq)
        }
        other => panic!("expected my 313, got {other:?}"),
    }
}

/// Asks 314 and returns the 315 and the messages (seq, user, message).
fn history(c: &mut Client, epoch: u64, after: u64) -> (H, Vec<(u64, String, String)>) {
    c.send(&ClientPacket::RoomHistoryReq(RoomHistoryReq {
        epoch,
        after_seq: after,
        max: 100,
    }))
    .unwrap();
    let res = recv(c);
    let H::Res(0, e, _, _, _, count) = res else {
        panic!("expected a 315(0), got {res:?}");
    };
    let messages = (0..count)
        .map(|_| match recv(c) {
            H::Seq(epoch, seq, user, message) => {
                assert_eq!(epoch, e);
                (seq, user, message)
            }
            other => panic!("expected a 313, got {other:?}"),
        })
        .collect();
    (res, messages)
}

fn texts(messages: &[(u64, String, String)]) -> Vec<(u64, &str)> {
    messages.iter().map(|(s, _, m)| (*s, m.as_str())).collect()
}

/// Three chats, a clean restart on the same store, then catch-up.
fn survives_a_restart(store: &[&str]) {
    let r = serve(BACKEND, store);
    let mut a = history_client(&r, "ann", 1);
    let (epoch, first) = chat(&mut a, "one");
    assert_eq!(first, 1);
    assert_eq!(chat(&mut a, "two"), (epoch, 2));
    assert_eq!(chat(&mut a, "three"), (epoch, 3));
    drop(a);
    r.stop();

    let r = serve(BACKEND, store);
    let mut b = history_client(&r, "bob", 1);
    // Where a client that saw message 1 left off: not lost.
    let (res, messages) = history(&mut b, epoch, 1);
    assert_eq!(res, H::Res(0, epoch, 3, false, false, 2));
    assert_eq!(texts(&messages), vec![(2, "two"), (3, "three")]);
    assert_eq!(messages[0].1, "ann");
    let (_, messages) = history(&mut b, 0, u64::MAX);
    assert_eq!(texts(&messages).len(), 3);
    // Numbering goes on in the same epoch.
    assert_eq!(chat(&mut b, "four"), (epoch, 4));
    drop(b);
    r.stop();
}

#[test]
fn a_restart_with_the_sqlite_store_keeps_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let db = db.to_str().unwrap();
    survives_a_restart(&["--history-store", "sqlite", "--history-sqlite", db]);
}

#[test]
fn a_restart_with_the_redis_store_keeps_the_history() {
    let Some(redis) = RedisServer::start("a_restart_with_the_redis_store_keeps_the_history") else {
        return;
    };
    let url = redis.url();
    survives_a_restart(&["--history-store", "redis", "--history-redis", &url]);
}

/// A node on `redis` with short timers.
fn node(redis: &RedisServer) -> Running {
    let url = redis.url();
    serve(
        BACKEND,
        &[
            "--cluster",
            url.as_str(),
            "--cluster-heartbeat-ms",
            "200",
            "--cluster-lease-ms",
            "1500",
            "--cluster-timeout-ms",
            "500",
            "--chat-rate",
            "0",
        ],
    )
}

#[test]
fn cluster_numbers_chats_once_and_catch_up_works_on_the_other_node() {
    let Some(redis) = RedisServer::start("cluster_history_catch_up") else {
        return;
    };
    let (na, nb) = (node(&redis), node(&redis));
    let mut ann = history_client(&na, "ann", 1);
    // A client without the history feature on node B.
    let mut bob = connect(&nb);
    login_enter(&mut bob, "bob", 1);
    match recv(&mut ann) {
        H::Other(Got::NewUser(_, id)) => assert_eq!(id, "bob"),
        other => panic!("expected bob's 208, got {other:?}"),
    }
    bob.chat("b1").unwrap();
    assert_eq!(recv(&mut bob), H::Other(Got::ChatRes(0)));
    assert_eq!(
        recv(&mut bob),
        H::Other(Got::Chat("bob".into(), "b1".into()))
    );
    let H::Seq(epoch, 1, user, message) = recv(&mut ann) else {
        panic!("expected b1 as 313 number 1");
    };
    assert_eq!((user.as_str(), message.as_str()), ("bob", "b1"));
    assert_eq!(chat(&mut ann, "a2"), (epoch, 2));
    assert_eq!(
        recv(&mut bob),
        H::Other(Got::Chat("ann".into(), "a2".into()))
    );
    bob.chat("b3").unwrap();
    assert_eq!(recv(&mut bob), H::Other(Got::ChatRes(0)));
    assert_eq!(
        recv(&mut bob),
        H::Other(Got::Chat("bob".into(), "b3".into()))
    );
    assert_eq!(recv(&mut ann), H::Seq(epoch, 3, "bob".into(), "b3".into()));

    // Catch-up on node B, from the shared log.
    let mut cid = history_client(&nb, "cid", 1);
    let (res, messages) = history(&mut cid, 0, u64::MAX);
    assert_eq!(res, H::Res(0, epoch, 3, false, false, 3));
    assert_eq!(texts(&messages), vec![(1, "b1"), (2, "a2"), (3, "b3")]);
    let (res, messages) = history(&mut cid, epoch, 1);
    assert_eq!(res, H::Res(0, epoch, 3, false, false, 2));
    assert_eq!(texts(&messages), vec![(2, "a2"), (3, "b3")]);
    // Another epoch: lost, from the oldest kept.
    let (res, _) = history(&mut cid, epoch + 1, 3);
    assert_eq!(res, H::Res(0, epoch, 3, true, false, 3));
    // Live chats after it are numbered on: 4 on both nodes.
    assert_eq!(chat(&mut cid, "c4"), (epoch, 4));
    match recv(&mut ann) {
        H::Other(Got::NewUser(_, id)) => assert_eq!(id, "cid"),
        other => panic!("expected cid's 208, got {other:?}"),
    }
    assert_eq!(recv(&mut ann), H::Seq(epoch, 4, "cid".into(), "c4".into()));
}
