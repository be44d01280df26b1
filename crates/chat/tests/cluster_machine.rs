//! The cluster side of the state machine, without Redis: a host that
//! records cluster requests and answers them by hand. Claims, enters with
//! their capacity answer, stale answers undone, remote traffic fanned out,
//! snapshots repairing presence, and the in-process default untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ringport_chat::testing::frame;
use ringport_chat::{
    AuthResult, Chat, ChatConfig, ClaimResult, ClusterEvent, ClusterRequest, ConnId, EnterResult,
    RemoteMember, RoomChange,
};
use ringport_proto::{LoginReq, Message, RoomChatNtf, RoomEnterReq, ServerPacket, UserId};
use support::Host;

trait Summaries {
    /// Packets sent to `conn` since the last call, summarised.
    fn take(&mut self, conn: ConnId) -> Vec<String>;
}

impl Summaries for Host {
    /// Packets sent to `conn` since the last call, as (id, decoded summary).
    fn take(&mut self, conn: ConnId) -> Vec<String> {
        let mut got = Vec::new();
        for p in self.take_packets(conn) {
            got.push(match ServerPacket::decode(&p).unwrap() {
                ServerPacket::LoginRes(r) => format!("202:{}", r.result.code()),
                ServerPacket::RoomEnterRes(r) => format!("207:{}", r.result.code()),
                ServerPacket::RoomUserListNtf(l) => format!(
                    "209:{}",
                    l.members()
                        .map(|m| format!("{}={}", m.user_unique_id, m.user_id.as_str()))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                ServerPacket::RoomNewUserNtf(n) => {
                    format!("208:{}={}", n.user_unique_id, n.user_id.as_str())
                }
                ServerPacket::RoomLeaveUserNtf(n) => format!("217:{}", n.user_unique_id),
                ServerPacket::RoomChatRes(r) => format!("222:{}", r.result.code()),
                ServerPacket::RoomChatNtf(n) => {
                    format!("223:{}:{}", n.user_id.as_str(), n.message.as_str())
                }
                other => format!("{}", other.id()),
            });
        }
        got
    }
}

fn login_frame(id: &str) -> Vec<u8> {
    let mut f = Vec::new();
    LoginReq::new(id, "pw").unwrap().encode(&mut f);
    f
}

fn enter_frame(room: i32) -> Vec<u8> {
    frame(RoomEnterReq::ID, &room.to_le_bytes())
}

fn member(uid: i64, name: &str) -> RemoteMember {
    RemoteMember {
        unique_id: uid,
        user_id: Arc::from(name),
    }
}

/// Connects `conn` and logs it in as `id` with the cluster answering
/// `claim`; returns what the session got.
fn log_in(
    chat: &mut Chat,
    host: &mut Host,
    conn: ConnId,
    id: &str,
    claim: ClaimResult,
) -> Vec<String> {
    let now = Instant::now();
    chat.handle_connect(conn, now);
    chat.handle_packet(conn, &login_frame(id), now, host);
    let check = host.auth.pop().unwrap();
    chat.handle_auth_result(conn, check.ticket, AuthResult::Accepted, host);
    let Some(ClusterRequest::Claim {
        conn: c,
        ticket,
        user_id,
    }) = host.cluster.pop()
    else {
        panic!("a claim was asked");
    };
    assert_eq!((c, &*user_id), (conn, id));
    chat.handle_cluster(
        ClusterEvent::Claimed {
            conn,
            ticket,
            result: claim,
        },
        host,
    );
    host.take(conn)
}

/// Sends an enter for `room` and returns the cluster request it made.
fn ask_enter(chat: &mut Chat, host: &mut Host, conn: ConnId, room: i32) -> ClusterRequest {
    chat.handle_packet(conn, &enter_frame(room), Instant::now(), host);
    assert!(host.take(conn).is_empty(), "nothing before the answer");
    host.cluster.pop().expect("an enter was asked")
}

#[test]
fn login_is_claimed_cluster_wide_and_gets_the_clusters_unique_id() {
    let mut chat = Chat::with_cluster(ChatConfig::default());
    let mut host = Host::default();
    assert_eq!(
        log_in(
            &mut chat,
            &mut host,
            ConnId(1),
            "ann",
            ClaimResult::Claimed(900)
        ),
        vec!["202:0"]
    );
    assert_eq!(
        log_in(&mut chat, &mut host, ConnId(2), "bob", ClaimResult::Taken),
        vec!["202:31"]
    );
    assert_eq!(
        log_in(
            &mut chat,
            &mut host,
            ConnId(3),
            "cat",
            ClaimResult::Unavailable
        ),
        vec!["202:34"]
    );
    chat.check_invariants().unwrap();
    // The unique id is the cluster's.
    let ClusterRequest::Enter { unique_id, .. } = ask_enter(&mut chat, &mut host, ConnId(1), 0)
    else {
        panic!()
    };
    assert_eq!(unique_id, 900);
    // A disconnect releases the claim.
    chat.handle_disconnect(ConnId(1), &mut host);
    assert!(host.cluster.iter().any(
        |r| matches!(r, ClusterRequest::Release { conn: ConnId(1), user_id } if &**user_id == "ann")
    ));
}

#[test]
fn a_claim_answered_after_the_session_left_is_released() {
    let mut chat = Chat::with_cluster(ChatConfig::default());
    let mut host = Host::default();
    let now = Instant::now();
    chat.handle_connect(ConnId(1), now);
    chat.handle_packet(ConnId(1), &login_frame("ann"), now, &mut host);
    let check = host.auth.pop().unwrap();
    chat.handle_auth_result(ConnId(1), check.ticket, AuthResult::Accepted, &mut host);
    let Some(ClusterRequest::Claim { ticket, .. }) = host.cluster.pop() else {
        panic!()
    };
    chat.handle_disconnect(ConnId(1), &mut host);
    chat.handle_cluster(
        ClusterEvent::Claimed {
            conn: ConnId(1),
            ticket,
            result: ClaimResult::Claimed(5),
        },
        &mut host,
    );
    assert!(matches!(
        host.cluster.pop(),
        Some(ClusterRequest::Release {
            conn: ConnId(1),
            ..
        })
    ));
    chat.check_invariants().unwrap();
}

#[test]
fn enters_wait_for_the_cluster_and_list_remote_members() {
    let mut chat = Chat::with_cluster(ChatConfig::default());
    let mut host = Host::default();
    log_in(
        &mut chat,
        &mut host,
        ConnId(1),
        "ann",
        ClaimResult::Claimed(10),
    );
    log_in(
        &mut chat,
        &mut host,
        ConnId(2),
        "bob",
        ClaimResult::Claimed(11),
    );
    let req = ask_enter(&mut chat, &mut host, ConnId(1), 4);
    assert!(matches!(
        req,
        ClusterRequest::Enter {
            room: 4,
            max: 4,
            ..
        }
    ));
    // A second enter while the first is in flight waits for it (then 52:
    // already in a room).
    chat.handle_packet(ConnId(1), &enter_frame(4), Instant::now(), &mut host);
    assert_eq!(host.take(ConnId(1)), Vec::<String>::new());
    chat.handle_cluster(
        ClusterEvent::Entered {
            conn: ConnId(1),
            room: 4,
            result: EnterResult::Entered {
                seq: 3,
                members: vec![member(20, "rita")],
            },
        },
        &mut host,
    );
    assert_eq!(host.take(ConnId(1)), vec!["207:0", "209:20=rita", "207:52"]);
    // Full cluster-wide: 54.
    ask_enter(&mut chat, &mut host, ConnId(2), 4);
    chat.handle_cluster(
        ClusterEvent::Entered {
            conn: ConnId(2),
            room: 4,
            result: EnterResult::Full,
        },
        &mut host,
    );
    assert_eq!(host.take(ConnId(2)), vec!["207:54"]);
    // Redis down: the enter is done locally with what the node knows.
    ask_enter(&mut chat, &mut host, ConnId(2), 4);
    chat.handle_cluster(
        ClusterEvent::Entered {
            conn: ConnId(2),
            room: 4,
            result: EnterResult::Unavailable,
        },
        &mut host,
    );
    assert_eq!(host.take(ConnId(2)), vec!["207:0", "209:10=ann,20=rita"]);
    assert_eq!(host.take(ConnId(1)), vec!["208:11=bob"]);
    assert_eq!(chat.cluster_stats().unwrap().degraded_enters, 1);
    chat.check_invariants().unwrap();
}

#[test]
fn remote_traffic_reaches_local_members_and_snapshots_repair_presence() {
    let mut chat = Chat::with_cluster(ChatConfig::default());
    let mut host = Host::default();
    log_in(
        &mut chat,
        &mut host,
        ConnId(1),
        "ann",
        ClaimResult::Claimed(10),
    );
    ask_enter(&mut chat, &mut host, ConnId(1), 2);
    chat.handle_cluster(
        ClusterEvent::Entered {
            conn: ConnId(1),
            room: 2,
            result: EnterResult::Entered {
                seq: 5,
                members: vec![],
            },
        },
        &mut host,
    );
    host.take(ConnId(1));
    let remote = |change| ClusterEvent::Remote { room: 2, change };
    chat.handle_cluster(
        remote(RoomChange::Enter {
            seq: 6,
            member: member(30, "zed"),
        }),
        &mut host,
    );
    // An old change (already in the enter's snapshot) is skipped.
    chat.handle_cluster(
        remote(RoomChange::Enter {
            seq: 4,
            member: member(31, "old"),
        }),
        &mut host,
    );
    let mut packet = Vec::new();
    RoomChatNtf {
        user_id: UserId::new("zed").unwrap(),
        message: Message::new("hello").unwrap(),
    }
    .encode(&mut packet);
    chat.handle_cluster(
        remote(RoomChange::Chat {
            packet: Bytes::from(packet),
        }),
        &mut host,
    );
    assert_eq!(host.take(ConnId(1)), vec!["208:30=zed", "223:zed:hello"]);
    // Traffic for a room this node does not serve is ignored.
    chat.handle_cluster(
        ClusterEvent::Remote {
            room: 3,
            change: RoomChange::Enter {
                seq: 1,
                member: member(40, "x"),
            },
        },
        &mut host,
    );
    assert!(host.take(ConnId(1)).is_empty());
    // zed's node died: the snapshot no longer lists it (217); yan is new.
    chat.handle_cluster(
        ClusterEvent::Members {
            room: 2,
            seq: 9,
            members: vec![member(32, "yan")],
        },
        &mut host,
    );
    assert_eq!(host.take(ConnId(1)), vec!["217:30", "208:32=yan"]);
    // Local chat is published once, after the local members got it.
    chat.handle_packet(
        ConnId(1),
        &frame(221, &{
            let mut m = b"hi".to_vec();
            m.resize(257, 0);
            m
        }),
        Instant::now(),
        &mut host,
    );
    assert_eq!(host.take(ConnId(1)), vec!["222:0", "223:ann:hi"]);
    assert!(matches!(
        host.cluster.as_slice(),
        [ClusterRequest::Chat { room: 2, .. }]
    ));
    host.cluster.clear();
    // Leaving tells the cluster.
    chat.handle_disconnect(ConnId(1), &mut host);
    assert!(host.cluster.iter().any(|r| matches!(
        r,
        ClusterRequest::Leave {
            room: 2,
            unique_id: 10
        }
    )));
    chat.check_invariants().unwrap();
}

#[test]
fn the_in_process_default_never_asks_the_cluster() {
    let mut chat = Chat::new(ChatConfig::default());
    let mut host = Host::default();
    let now = Instant::now();
    chat.handle_connect(ConnId(1), now);
    chat.handle_packet(ConnId(1), &login_frame("ann"), now, &mut host);
    let check = host.auth.pop().unwrap();
    chat.handle_auth_result(ConnId(1), check.ticket, AuthResult::Accepted, &mut host);
    chat.handle_packet(ConnId(1), &enter_frame(0), now, &mut host);
    assert_eq!(host.take(ConnId(1)), vec!["202:0", "207:0", "209:"]);
    assert!(host.cluster.is_empty());
    assert!(!chat.is_clustered() && chat.cluster_stats().is_none());
}

fn echo_frame(body: &str) -> Vec<u8> {
    frame(1, body.as_bytes())
}

fn chat_frame(message: &str) -> Vec<u8> {
    let mut f = Vec::new();
    ringport_proto::ClientPacket::RoomChatReq(ringport_proto::RoomChatReq::new(message).unwrap())
        .encode(&mut f)
        .unwrap();
    f
}

/// `[echo, login, echo, enter, chat]` in one read, in cluster mode: the
/// requests wait for the password check, then for the claim, then (behind
/// the enter) for the cluster-wide enter; answered in request order.
#[test]
fn pipelined_requests_wait_for_the_claim_and_the_enter_in_order() {
    let mut chat = Chat::with_cluster(ChatConfig::default());
    let mut host = Host::default();
    let conn = ConnId(1);
    let now = Instant::now();
    chat.handle_connect(conn, now);
    for f in [
        echo_frame("first"),
        login_frame("ann"),
        echo_frame("second"),
        enter_frame(2),
        chat_frame("hi"),
    ] {
        chat.handle_packet(conn, &f, now, &mut host);
    }
    assert_eq!(host.take(conn), vec!["1"]);
    let check = host.auth.pop().unwrap();
    chat.handle_auth_result(conn, check.ticket, AuthResult::Accepted, &mut host);
    // The claim is in flight: still nothing.
    assert_eq!(host.take(conn), Vec::<String>::new());
    let Some(ClusterRequest::Claim { ticket, .. }) = host.cluster.pop() else {
        panic!("a claim was asked");
    };
    chat.handle_cluster(
        ClusterEvent::Claimed {
            conn,
            ticket,
            result: ClaimResult::Claimed(40),
        },
        &mut host,
    );
    // The login and the echo; the enter is now in flight, the chat waits.
    assert_eq!(host.take(conn), vec!["202:0", "1"]);
    let Some(ClusterRequest::Enter { room: 2, .. }) = host.cluster.pop() else {
        panic!("an enter was asked");
    };
    assert_eq!(chat.queued_requests(conn).0, 1);
    chat.handle_cluster(
        ClusterEvent::Entered {
            conn,
            room: 2,
            result: EnterResult::Entered {
                seq: 1,
                members: vec![],
            },
        },
        &mut host,
    );
    assert_eq!(
        host.take(conn),
        vec!["207:0", "209:", "222:0", "223:ann:hi"]
    );
    assert!(host.reading.is_empty());
    chat.check_invariants().unwrap();
}

/// A claim refused (31) or unavailable (34): the queued requests are
/// handled as for a session not logged in.
#[test]
fn requests_behind_a_refused_claim_are_handled_as_not_logged_in() {
    for (claim, code) in [
        (ClaimResult::Taken, "202:31"),
        (ClaimResult::Unavailable, "202:34"),
    ] {
        let mut chat = Chat::with_cluster(ChatConfig::default());
        let mut host = Host::default();
        let conn = ConnId(1);
        let now = Instant::now();
        chat.handle_connect(conn, now);
        for f in [
            login_frame("ann"),
            echo_frame("e"),
            enter_frame(2),
            chat_frame("hi"),
        ] {
            chat.handle_packet(conn, &f, now, &mut host);
        }
        let check = host.auth.pop().unwrap();
        chat.handle_auth_result(conn, check.ticket, AuthResult::Accepted, &mut host);
        let Some(ClusterRequest::Claim { ticket, .. }) = host.cluster.pop() else {
            panic!("a claim was asked");
        };
        chat.handle_cluster(
            ClusterEvent::Claimed {
                conn,
                ticket,
                result: claim,
            },
            &mut host,
        );
        assert_eq!(host.take(conn), vec![code, "1", "207:52", "222:81"]);
        assert!(host.cluster.is_empty(), "no enter asked");
        chat.check_invariants().unwrap();
    }
}

/// Requests behind an enter in flight fill the queue: reading pauses, and
/// resumes when the enter's answer has let them all through.
#[test]
fn requests_behind_an_enter_pause_and_resume_reading() {
    let config = ChatConfig {
        pipeline_frames: 8,
        ..ChatConfig::default()
    };
    let mut chat = Chat::with_cluster(config);
    let mut host = Host::default();
    let conn = ConnId(1);
    log_in(&mut chat, &mut host, conn, "ann", ClaimResult::Claimed(7));
    ask_enter(&mut chat, &mut host, conn, 1);
    for i in 0..12 {
        chat.handle_packet(
            conn,
            &echo_frame(&format!("{i}")),
            Instant::now(),
            &mut host,
        );
    }
    assert_eq!(host.reading, vec![(conn, true)], "paused once, at 8");
    assert_eq!(
        chat.queued_requests(conn).0,
        12,
        "the 4 beyond still queued"
    );
    chat.handle_cluster(
        ClusterEvent::Entered {
            conn,
            room: 1,
            result: EnterResult::Unavailable,
        },
        &mut host,
    );
    let got = host.take(conn);
    assert_eq!(got[..2], ["207:0", "209:"]);
    assert_eq!(got[2..], vec!["1"; 12]);
    assert_eq!(host.reading, vec![(conn, true), (conn, false)]);
    chat.check_invariants().unwrap();
}

/// A session that disconnects with an enter in flight and a queue: the
/// queue is dropped, the late answer undone, nothing is sent or resumed.
#[test]
fn a_disconnect_behind_an_enter_drops_the_queue() {
    let config = ChatConfig {
        pipeline_frames: 1,
        ..ChatConfig::default()
    };
    let mut chat = Chat::with_cluster(config);
    let mut host = Host::default();
    let conn = ConnId(1);
    log_in(&mut chat, &mut host, conn, "ann", ClaimResult::Claimed(7));
    ask_enter(&mut chat, &mut host, conn, 1);
    chat.handle_packet(conn, &echo_frame("x"), Instant::now(), &mut host);
    assert_eq!(host.reading, vec![(conn, true)]);
    chat.handle_disconnect(conn, &mut host);
    host.cluster.clear();
    chat.handle_cluster(
        ClusterEvent::Entered {
            conn,
            room: 1,
            result: EnterResult::Entered {
                seq: 1,
                members: vec![],
            },
        },
        &mut host,
    );
    assert!(host.take(conn).is_empty());
    assert!(matches!(
        host.cluster.as_slice(),
        [ClusterRequest::Leave {
            room: 1,
            unique_id: 7
        }]
    ));
    assert_eq!(host.reading, vec![(conn, true)], "not resumed");
    chat.check_invariants().unwrap();
    assert_eq!(chat.cluster_bookkeeping(), Some((0, 0, 0)));
}

fn create_frame(name: &str, max: u16) -> Vec<u8> {
    let mut f = Vec::new();
    ringport_proto::RoomCreateReq::new(name, max)
        .unwrap()
        .encode(&mut f);
    f
}

fn list_frame(watch: bool) -> Vec<u8> {
    let mut f = Vec::new();
    ringport_proto::RoomListReq { watch }.encode(&mut f);
    f
}

/// The rooms of the 305s sent to `conn` (number, name, users, capacity).
fn listed(host: &mut Host, conn: ConnId) -> Vec<(i32, String, u16, u16)> {
    let mut rooms = Vec::new();
    host.sent.retain(|(c, p)| {
        if *c != conn {
            return true;
        }
        if let Ok(ServerPacket::RoomListNtf(l)) = ServerPacket::decode(p) {
            rooms.extend(l.rooms().map(|r| {
                let name = r.name.map(|n| n.as_str().to_owned()).unwrap_or_default();
                (r.number, name, r.users, r.max_users)
            }));
        }
        false
    });
    rooms
}

fn shared(number: i32, name: &str, max: usize, creator: &str) -> ringport_chat::SharedRoom {
    ringport_chat::SharedRoom {
        number,
        name: Arc::from(name),
        key: Arc::from(name.to_lowercase().as_str()),
        max_users: max,
        creator: Arc::from(creator),
    }
}

#[test]
fn creates_are_decided_by_the_registry_and_requests_behind_them_wait() {
    use ringport_chat::CreateResult;
    let mut chat = Chat::with_cluster(ChatConfig::default());
    let mut host = Host::default();
    let ann = ConnId(1);
    log_in(&mut chat, &mut host, ann, "ann", ClaimResult::Claimed(7));
    let now = Instant::now();
    chat.handle_packet(ann, &create_frame("Rust Fans", 8), now, &mut host);
    let Some(ClusterRequest::Create {
        conn,
        room,
        per_user,
        max_rooms,
        first_number,
    }) = host.cluster.pop()
    else {
        panic!("a create was asked");
    };
    assert_eq!((conn, &*room.key, room.max_users), (ann, "rust fans", 8));
    assert_eq!((per_user, max_rooms, first_number), (3, 10_000, 1000));
    // A list sent meanwhile waits for the answer: answers stay in order.
    chat.handle_packet(ann, &list_frame(false), now, &mut host);
    assert!(host.take(ann).is_empty());
    assert!(chat.is_waiting(ann));
    chat.handle_cluster(
        ClusterEvent::Created {
            conn: ann,
            result: CreateResult::Created(1004),
        },
        &mut host,
    );
    let got = host.take(ann);
    assert_eq!(got, vec!["302", "304", "305"]);
    // The node's own RoomOpened arrives later: nothing changes.
    chat.handle_cluster(
        ClusterEvent::RoomOpened(shared(1004, "Rust Fans", 8, "ann")),
        &mut host,
    );
    assert_eq!(chat.stats().rooms_created_open, 1);
    chat.check_invariants().unwrap();
    for (result, code) in [
        (CreateResult::Taken, 101),
        (CreateResult::UserLimit, 104),
        (CreateResult::ServerLimit, 105),
        (CreateResult::Unavailable, 106),
    ] {
        chat.handle_packet(ann, &create_frame("other", 0), now, &mut host);
        host.cluster.pop().expect("a create was asked");
        chat.handle_cluster(ClusterEvent::Created { conn: ann, result }, &mut host);
        let sent = host.sent.pop().unwrap().1;
        match ServerPacket::decode(&sent).unwrap() {
            ServerPacket::RoomCreateRes(r) => assert_eq!(r.result.code(), code),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn the_registrys_rooms_are_listed_entered_by_name_and_closed_by_it() {
    let mut chat = Chat::with_cluster(ChatConfig::default());
    let mut host = Host::default();
    let bob = ConnId(2);
    log_in(&mut chat, &mut host, bob, "bob", ClaimResult::Claimed(8));
    // Another node created "Lobby", and has 3 members in it.
    chat.handle_cluster(
        ClusterEvent::RoomOpened(shared(1000, "Lobby", 5, "ann")),
        &mut host,
    );
    chat.handle_cluster(
        ClusterEvent::RoomUsers {
            room: 1000,
            users: 3,
        },
        &mut host,
    );
    let now = Instant::now();
    chat.handle_packet(bob, &list_frame(true), now, &mut host);
    let rooms = listed(&mut host, bob);
    assert_eq!(rooms.last(), Some(&(1000, "Lobby".to_owned(), 3, 5)));
    // Enter by name asks the cluster, marked as a created room.
    let mut name = Vec::new();
    ringport_proto::RoomEnterNameReq::new("LOBBY")
        .unwrap()
        .encode(&mut name);
    chat.handle_packet(bob, &name, now, &mut host);
    let Some(ClusterRequest::Enter {
        room, max, created, ..
    }) = host.cluster.pop()
    else {
        panic!("an enter was asked");
    };
    assert_eq!((room, max, created), (1000, 5, true));
    // Meanwhile the registry closed it: 102 for an enter by name.
    chat.handle_cluster(
        ClusterEvent::Entered {
            conn: bob,
            room: 1000,
            result: EnterResult::Gone,
        },
        &mut host,
    );
    assert_eq!(host.take(bob), vec!["308"]);
    chat.handle_cluster(ClusterEvent::RoomClosed { number: 1000 }, &mut host);
    assert_eq!(chat.stats().rooms_created_open, 0);
    // bob watches: the close reaches it as a 306.
    assert_eq!(host.take(bob), vec!["306"]);
    chat.handle_packet(bob, &enter_frame(1000), now, &mut host);
    assert_eq!(host.take(bob), vec!["207:61"]);
    chat.check_invariants().unwrap();
}

#[test]
fn a_registry_snapshot_repairs_the_room_list_and_the_node_never_closes_rooms_itself() {
    let mut chat = Chat::with_cluster(ChatConfig {
        room_idle_close: std::time::Duration::from_secs(1),
        ..ChatConfig::default()
    });
    let mut host = Host::default();
    let ann = ConnId(1);
    log_in(&mut chat, &mut host, ann, "ann", ClaimResult::Claimed(7));
    chat.handle_cluster(
        ClusterEvent::RoomOpened(shared(1000, "a", 4, "x")),
        &mut host,
    );
    chat.handle_cluster(
        ClusterEvent::Rooms(vec![shared(1001, "b", 4, "y"), shared(1002, "c", 4, "z")]),
        &mut host,
    );
    let now = Instant::now();
    chat.handle_packet(ann, &list_frame(false), now, &mut host);
    let numbers: Vec<i32> = listed(&mut host, ann).iter().map(|r| r.0).collect();
    assert_eq!(&numbers[10..], &[1001, 1002]);
    // Empty for far longer than the idle time: still open, the registry
    // decides.
    chat.handle_timeout(now + std::time::Duration::from_secs(60), &mut host);
    assert_eq!(chat.stats().rooms_created_open, 2);
    chat.check_invariants().unwrap();
}
