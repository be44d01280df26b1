//! The machine's side of history storage: the write-behind hook
//! (`Outbound::history`), logs restored at start (`Chat::restore_history`),
//! and, in cluster mode, chats numbered by the cluster and history read
//! from the shared log with the live 313s held meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use ringport_chat::testing::frame;
use ringport_chat::{
    AuthResult, Chat, ChatConfig, ChatNumber, ClaimResult, ClusterEvent, ClusterRequest, ConnId,
    EnterResult, HistoryPage, HistoryWrite, RestoredLog, RoomChange,
};
use ringport_proto::{LoginReq, Message, RoomChatNtf, ServerPacket, UserId};
use support::Host;

trait Summaries {
    /// Packets sent to `conn` since the last call, summarised.
    fn take(&mut self, conn: ConnId) -> Vec<String>;
}

impl Summaries for Host {
    /// Packets sent to `conn` since the last call, summarised.
    fn take(&mut self, conn: ConnId) -> Vec<String> {
        let mut got = Vec::new();
        for p in self.take_packets(conn) {
            got.push(match ServerPacket::decode(&p).unwrap() {
                ServerPacket::RoomChatRes(r) => format!("222:{}", r.result.code()),
                ServerPacket::RoomChatNtf(n) => format!("223:{}", n.message.as_str()),
                ServerPacket::RoomChatSeqNtf(n) => {
                    format!("313:{}:{}:{}", n.epoch, n.seq, n.message.as_str())
                }
                ServerPacket::RoomHistoryRes(r) => format!(
                    "315:{}:{}:{}:{}:{}",
                    r.result.code(),
                    r.epoch,
                    r.last_seq,
                    u8::from(r.lost),
                    r.count
                ),
                other => format!("{}", other.id()),
            });
        }
        got
    }
}

fn chat_frame(text: &str) -> Vec<u8> {
    let mut m = text.as_bytes().to_vec();
    m.resize(257, 0);
    frame(221, &m)
}

fn history_frame(epoch: u64, after: u64, max: u16) -> Vec<u8> {
    let mut body = epoch.to_le_bytes().to_vec();
    body.extend_from_slice(&after.to_le_bytes());
    body.extend_from_slice(&max.to_le_bytes());
    frame(314, &body)
}

fn packet(text: &str) -> Bytes {
    let mut p = Vec::new();
    RoomChatNtf {
        user_id: UserId::new("zed").unwrap(),
        message: Message::new(text).unwrap(),
    }
    .encode(&mut p);
    Bytes::from(p)
}

/// Logs `conn` in as `id` (answering the claim in cluster mode), enters
/// `room` (answering the enter), says hello with `history`.
fn join(chat: &mut Chat, host: &mut Host, conn: ConnId, id: &str, room: i32, history: bool) {
    let now = Instant::now();
    chat.handle_connect(conn, now);
    let mut login = Vec::new();
    LoginReq::new(id, "pw").unwrap().encode(&mut login);
    chat.handle_packet(conn, &login, now, host);
    let check = host.auth.pop().unwrap();
    chat.handle_auth_result(conn, check.ticket, AuthResult::Accepted, host);
    if let Some(ClusterRequest::Claim { ticket, .. }) = host.cluster.pop() {
        let result = ClaimResult::Claimed(i64::try_from(conn.0).unwrap());
        chat.handle_cluster(
            ClusterEvent::Claimed {
                conn,
                ticket,
                result,
            },
            host,
        );
    }
    chat.handle_packet(conn, &frame(206, &room.to_le_bytes()), now, host);
    if let Some(ClusterRequest::Enter { .. }) = host.cluster.pop() {
        let result = EnterResult::Entered {
            seq: 1,
            members: Vec::new(),
        };
        chat.handle_cluster(ClusterEvent::Entered { conn, room, result }, host);
    }
    if history {
        chat.handle_packet(conn, &frame(311, &1u32.to_le_bytes()), now, host);
    }
    host.take(conn);
}

#[test]
fn numbered_messages_are_handed_to_the_store_and_restored_logs_go_on() {
    let mut chat = Chat::new(ChatConfig::default());
    chat.set_history_persistent(true);
    let logs = vec![
        RestoredLog {
            room: 1,
            epoch: 500,
            last_seq: 7,
            entries: vec![(6, 10, packet("six")), (7, 11, packet("seven"))],
        },
        // Not a fixed room: skipped.
        RestoredLog {
            room: 5000,
            epoch: 9,
            last_seq: 1,
            entries: vec![(1, 1, packet("x"))],
        },
    ];
    assert_eq!(chat.restore_history(logs), 1);
    let mut host = Host::default();
    join(&mut chat, &mut host, ConnId(1), "ann", 1, true);
    let now = Instant::now();
    chat.handle_packet(ConnId(1), &history_frame(500, 5, 10), now, &mut host);
    assert_eq!(
        host.take(ConnId(1)),
        vec!["315:0:500:7:0:2", "313:500:6:six", "313:500:7:seven"]
    );
    chat.handle_packet(ConnId(1), &chat_frame("eight"), now, &mut host);
    assert_eq!(host.take(ConnId(1)), vec!["222:0", "313:500:8:eight"]);
    let [HistoryWrite::Append(record)] = host.history.as_slice() else {
        panic!("one append, got {:?}", host.history);
    };
    assert_eq!((record.room, record.epoch, record.seq), (1, 500, 8));
    let Ok(ServerPacket::RoomChatNtf(ntf)) = ServerPacket::decode(&record.packet) else {
        panic!("the record holds the 223");
    };
    assert_eq!(
        (ntf.user_id.as_str(), ntf.message.as_str()),
        ("ann", "eight")
    );
    // A fixed room's log outlives the idle time with a persistent store.
    chat.handle_disconnect(ConnId(1), &mut host);
    chat.handle_timeout(now + Duration::from_secs(24 * 3600), &mut host);
    assert_eq!(chat.stats().history_rooms, 1);
    assert_eq!(host.history.len(), 1, "nothing forgotten");
}

#[test]
fn without_a_store_nothing_is_handed_over() {
    let mut chat = Chat::new(ChatConfig::default());
    let mut host = Host::default();
    join(&mut chat, &mut host, ConnId(1), "ann", 1, true);
    chat.handle_packet(ConnId(1), &chat_frame("hi"), Instant::now(), &mut host);
    assert_eq!(host.take(ConnId(1))[1].split(':').nth(2), Some("1"));
    assert!(host.history.is_empty());
}

#[test]
fn cluster_numbers_chats_and_history_is_read_from_the_shared_log() {
    let mut chat = Chat::with_cluster(ChatConfig::default());
    let mut host = Host::default();
    let (ann, bob) = (ConnId(1), ConnId(2));
    join(&mut chat, &mut host, ann, "ann", 1, true);
    join(&mut chat, &mut host, bob, "bob", 1, false);
    host.take(ann); // bob's 208
    host.cluster.clear();
    let now = Instant::now();
    // bob (no history) gets the 223 at once; ann waits for the number.
    chat.handle_packet(bob, &chat_frame("b1"), now, &mut host);
    assert_eq!(host.take(bob), vec!["222:0", "223:b1"]);
    assert!(host.take(ann).is_empty());
    let Some(ClusterRequest::Chat { room: 1, packet: p }) = host.cluster.pop() else {
        panic!("the chat is published");
    };
    assert!(
        host.history.is_empty(),
        "the cluster keeps it, not the host store"
    );
    let number = |seq| ChatNumber {
        epoch: 77,
        seq,
        time_ms: 5,
    };
    let numbered = |seq, packet: Bytes, own| ClusterEvent::Remote {
        room: 1,
        change: RoomChange::NumberedChat {
            number: number(seq),
            own,
            packet,
        },
    };
    chat.handle_cluster(numbered(1, p, true), &mut host);
    assert_eq!(host.take(ann), vec!["313:77:1:b1"]);
    assert!(host.take(bob).is_empty(), "bob already has it");
    // Another node's chat: both.
    chat.handle_cluster(numbered(2, packet("z2"), false), &mut host);
    assert_eq!(host.take(ann), vec!["313:77:2:z2"]);
    assert_eq!(host.take(bob), vec!["223:z2"]);

    // ann asks for the history: read from the shared log; she waits.
    chat.handle_packet(ann, &history_frame(77, 0, 10), now, &mut host);
    let Some(ClusterRequest::History {
        conn,
        room: 1,
        epoch: 77,
        after_seq: 0,
        max: 10,
    }) = host.cluster.pop()
    else {
        panic!("a history read");
    };
    assert_eq!(conn, ann);
    // Her next request waits behind it; live 313s are held.
    chat.handle_packet(ann, &chat_frame("a4"), now, &mut host);
    chat.handle_cluster(numbered(3, packet("z3"), false), &mut host);
    assert!(host.take(ann).is_empty());
    assert_eq!(host.take(bob), vec!["223:z3"]);
    // The log was read when it held 1..3: z3 is not sent twice.
    let page = HistoryPage {
        epoch: 77,
        last_seq: 3,
        lost: false,
        more: false,
        messages: (1..=3).map(|s| (s, 5, packet(&format!("m{s}")))).collect(),
    };
    chat.handle_cluster(
        ClusterEvent::History {
            conn: ann,
            room: 1,
            page: Some(page),
        },
        &mut host,
    );
    assert_eq!(
        host.take(ann),
        vec![
            "315:0:77:3:0:3",
            "313:77:1:m1",
            "313:77:2:m2",
            "313:77:3:m3",
            "222:0"
        ]
    );
    assert_eq!(host.take(bob), vec!["223:a4"]);
    // a4 comes back numbered 4.
    let Some(ClusterRequest::Chat { packet: a4, .. }) = host.cluster.pop() else {
        panic!("a4 published");
    };
    chat.handle_cluster(numbered(4, a4, true), &mut host);
    assert_eq!(host.take(ann), vec!["313:77:4:a4"]);

    // Redis down: the read answers 106, a chat not numbered reaches ann as
    // a 223.
    chat.handle_packet(ann, &history_frame(77, 4, 10), now, &mut host);
    chat.handle_cluster(
        ClusterEvent::History {
            conn: ann,
            room: 1,
            page: None,
        },
        &mut host,
    );
    assert_eq!(host.take(ann), vec!["315:106:0:0:0:0"]);
    chat.handle_cluster(
        ClusterEvent::Unnumbered {
            room: 1,
            packet: packet("lost"),
        },
        &mut host,
    );
    assert_eq!(host.take(ann), vec!["223:lost"]);
    assert!(host.take(bob).is_empty());
    let stats = chat.cluster_stats().unwrap();
    assert_eq!(
        (
            stats.history_reads,
            stats.history_unavailable,
            stats.unnumbered_chats
        ),
        (1, 1, 1)
    );
}
