//! Scale-out end to end: two or three `ringport serve --cluster` processes
//! on one real redis-server. Users on different nodes share rooms: chat,
//! presence (209/208/217), capacity (54), one login per id (31), unique
//! ids, a killed node's members removed, a Redis outage survived, and the
//! cluster counters on `/metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::time::{Duration, Instant};

use chat_support::{connect, login, login_enter, next, quiet, serve, Got};
use common::{get, sample, scrape_until, Running};
use ringport_accounts::testing::RedisServer;
use ringport_client::Client;

const BACKEND: &str = "poll"; // the cluster does not depend on the backend

/// A node on `redis` with short timers so the tests run quickly.
fn node(redis: &RedisServer, extra: &[&str]) -> Running {
    let url = redis.url();
    let mut args = vec![
        "--cluster",
        url.as_str(),
        "--cluster-heartbeat-ms",
        "200",
        "--cluster-lease-ms",
        "1500",
        "--cluster-claim-ttl-ms",
        "2000",
        "--cluster-timeout-ms",
        "500",
        "--chat-rate",
        "0",
    ];
    args.extend_from_slice(extra);
    serve(BACKEND, &args)
}

/// Logs in on a fresh connection; the result code and the connection.
fn try_login(r: &Running, id: &str) -> (u16, Client) {
    let mut c = connect(r);
    c.login(id, "pw").unwrap();
    match next(&mut c) {
        Got::Login(code) => (code, c),
        other => panic!("expected a login answer, got {other:?}"),
    }
}

/// Retries a login until it gets `want` (within 10 s).
fn login_eventually(r: &Running, id: &str, want: u16) -> Client {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, c) = try_login(r, id);
        if code == want {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "{id}: login still answers {code}, wanted {want}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn new_user(c: &mut Client) -> (i64, String) {
    match next(c) {
        Got::NewUser(uid, id) => (uid, id),
        other => panic!("expected a 208, got {other:?}"),
    }
}

#[test]
fn users_on_two_nodes_share_a_room() {
    let Some(redis) = RedisServer::start("users_on_two_nodes_share_a_room") else {
        return;
    };
    let a = node(&redis, &[]);
    let b = node(&redis, &[]);

    let mut ann = connect(&a);
    assert_eq!(login_enter(&mut ann, "ann", 1), vec![]);
    let mut bob = connect(&b);
    let list = login_enter(&mut bob, "bob", 1);
    assert_eq!(list.len(), 1, "bob sees ann across nodes: {list:?}");
    let (ann_uid, ann_name) = list[0].clone();
    assert_eq!(ann_name, "ann");
    let (bob_uid, bob_name) = new_user(&mut ann);
    assert_eq!(bob_name, "bob");
    assert_ne!(ann_uid, bob_uid, "unique ids across nodes");

    // One sender's messages arrive in order on the other node.
    for i in 0..50 {
        ann.chat(&format!("m{i}")).unwrap();
    }
    for i in 0..50 {
        assert_eq!(next(&mut ann), Got::ChatRes(0));
        assert_eq!(next(&mut ann), Got::Chat("ann".into(), format!("m{i}")));
        assert_eq!(next(&mut bob), Got::Chat("ann".into(), format!("m{i}")));
    }
    bob.chat("hi ann").unwrap();
    assert_eq!(next(&mut bob), Got::ChatRes(0));
    assert_eq!(next(&mut bob), Got::Chat("bob".into(), "hi ann".into()));
    assert_eq!(next(&mut ann), Got::Chat("bob".into(), "hi ann".into()));

    // A third user on node A sees both; both hear of it.
    let mut cat = connect(&a);
    let mut list = login_enter(&mut cat, "cat", 1);
    list.sort();
    let mut want = vec![(ann_uid, "ann".to_string()), (bob_uid, "bob".to_string())];
    want.sort();
    assert_eq!(list, want);
    let (cat_uid, _) = new_user(&mut ann);
    assert_eq!(new_user(&mut bob), (cat_uid, "cat".to_string()));

    // Leave and disconnect reach the other node (217).
    bob.leave().unwrap();
    assert_eq!(next(&mut bob), Got::Leave(0));
    assert_eq!(next(&mut ann), Got::LeaveUser(bob_uid));
    assert_eq!(next(&mut cat), Got::LeaveUser(bob_uid));
    bob.enter(1).unwrap();
    assert_eq!(next(&mut bob), Got::Enter(0));
    let Got::List(mut list) = next(&mut bob) else {
        panic!("expected a list")
    };
    list.sort();
    let mut want = vec![(ann_uid, "ann".to_string()), (cat_uid, "cat".to_string())];
    want.sort();
    assert_eq!(list, want);
    assert_eq!(new_user(&mut ann), (bob_uid, "bob".to_string()));
    assert_eq!(new_user(&mut cat), (bob_uid, "bob".to_string()));
    drop(ann);
    assert_eq!(next(&mut bob), Got::LeaveUser(ann_uid));
    assert_eq!(next(&mut cat), Got::LeaveUser(ann_uid));

    // A room the other node does not serve stays silent there.
    let mut dan = connect(&b);
    login_enter(&mut dan, "dan", 2);
    dan.chat("only room 2").unwrap();
    assert_eq!(next(&mut dan), Got::ChatRes(0));
    assert_eq!(
        next(&mut dan),
        Got::Chat("dan".into(), "only room 2".into())
    );
    assert!(quiet(&mut cat, Duration::from_millis(300)));
    assert!(quiet(&mut bob, Duration::from_millis(300)));
    // Each node subscribes only to the rooms it serves.
    assert_eq!(subscribers(&redis, "ringport:room:1"), 2);
    assert_eq!(subscribers(&redis, "ringport:room:2"), 1);
    dan.leave().unwrap();
    assert_eq!(next(&mut dan), Got::Leave(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribers(&redis, "ringport:room:2") != 0 {
        assert!(Instant::now() < deadline, "B still subscribed to room 2");
        std::thread::sleep(Duration::from_millis(50));
    }
    a.stop();
    b.stop();
}

#[test]
fn capacity_and_logins_hold_cluster_wide() {
    let Some(redis) = RedisServer::start("capacity_and_logins_hold_cluster_wide") else {
        return;
    };
    let a = node(&redis, &["--room-max-users", "2"]);
    let b = node(&redis, &["--room-max-users", "2"]);

    let mut ann = connect(&a);
    login_enter(&mut ann, "ann", 3);
    let mut bob = connect(&b);
    login_enter(&mut bob, "bob", 3);
    let mut cat = connect(&a);
    login(&mut cat, "cat");
    cat.enter(3).unwrap();
    assert_eq!(next(&mut cat), Got::Enter(54), "full across nodes (A)");
    let mut dan = connect(&b);
    login(&mut dan, "dan");
    dan.enter(3).unwrap();
    assert_eq!(next(&mut dan), Got::Enter(54), "full across nodes (B)");
    // A place frees up on one node: the other node's user gets it.
    drop(ann);
    let _ = next(&mut bob); // 217 about ann
    dan.enter(3).unwrap();
    assert_eq!(next(&mut dan), Got::Enter(0));

    // One login per id across nodes: 31, until the holder goes away.
    let (code, _c) = try_login(&b, "cat");
    assert_eq!(code, 31, "cat is logged in on node A");
    drop(cat);
    let _cat_b = login_eventually(&b, "cat", 0);
    let (code, _c) = try_login(&a, "cat");
    assert_eq!(code, 31, "now held on node B");
    a.stop();
    b.stop();
}

#[test]
fn a_killed_node_disappears_from_the_others() {
    let Some(redis) = RedisServer::start("a_killed_node_disappears_from_the_others") else {
        return;
    };
    let a = node(&redis, &[]);
    let b = node(&redis, &[]);
    let mut ann = connect(&a);
    login_enter(&mut ann, "ann", 5);
    let mut bob = connect(&b);
    let list = login_enter(&mut bob, "bob", 5);
    let ann_uid = list[0].0;
    let _ = new_user(&mut ann);

    common::signal(&a.child, "KILL");
    let killed = Instant::now();
    // The lease (1.5 s) expires, B's heartbeat prunes ann: 217.
    assert_eq!(next(&mut bob), Got::LeaveUser(ann_uid));
    assert!(killed.elapsed() < Duration::from_secs(10));
    drop(a);
    // Her claim expires too (2 s): she can log in on B.
    let _ann_b = login_eventually(&b, "ann", 0);
    b.stop();
}

#[test]
fn a_redis_outage_degrades_and_recovers() {
    let Some(mut redis) = RedisServer::start("a_redis_outage_degrades_and_recovers") else {
        return;
    };
    let a = node(&redis, &[]);
    let b = node(&redis, &[]);
    let mut ann = connect(&a);
    login_enter(&mut ann, "ann", 7);
    let mut bob = connect(&b);
    let list = login_enter(&mut bob, "bob", 7);
    let ann_uid = list[0].0;
    let (bob_uid, _) = new_user(&mut ann);

    redis.stop();
    // Logins need the cluster: 34.
    let (code, _c) = try_login(&a, "cat");
    assert_eq!(code, 34, "no login claim without redis");
    // Local traffic keeps flowing.
    ann.chat("still here").unwrap();
    assert_eq!(next(&mut ann), Got::ChatRes(0));
    assert_eq!(next(&mut ann), Got::Chat("ann".into(), "still here".into()));

    redis.restart(); // empty: everything is registered again
    let mut cat = login_eventually(&b, "cat", 0);
    // Presence is re-registered: cat on B sees ann (A) and bob (B).
    let deadline = Instant::now() + Duration::from_secs(10);
    let list = loop {
        cat.enter(7).unwrap();
        assert_eq!(next(&mut cat), Got::Enter(0));
        let Got::List(mut list) = next(&mut cat) else {
            panic!("expected a list")
        };
        list.sort();
        if list.len() == 2 || Instant::now() > deadline {
            break list;
        }
        cat.leave().unwrap();
        assert_eq!(next(&mut cat), Got::Leave(0));
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut want = vec![(ann_uid, "ann".to_string()), (bob_uid, "bob".to_string())];
    want.sort();
    assert_eq!(list, want, "presence registered again after the outage");
    // Cross-node chat flows again (ann's node may learn of cat late:
    // skip presence notifies on the way).
    ann.chat("back").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match next(&mut cat) {
            Got::Chat(from, text) => {
                assert_eq!((from.as_str(), text.as_str()), ("ann", "back"));
                break;
            }
            other => assert!(Instant::now() < deadline, "{other:?}"),
        }
    }
    a.stop();
    b.stop();
}

/// Sends one inline command to the Redis server and returns its first
/// reply line.
fn redis_command(redis: &RedisServer, command: &str) -> String {
    use std::io::{BufRead, Write};
    let mut s = std::net::TcpStream::connect(redis.addr()).unwrap();
    s.write_all(format!("{command}\r\n").as_bytes()).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(s).read_line(&mut line).unwrap();
    line
}

/// How many connections are subscribed to `channel` (PUBSUB NUMSUB).
fn subscribers(redis: &RedisServer, channel: &str) -> i64 {
    use std::io::{BufRead, Write};
    let mut s = std::net::TcpStream::connect(redis.addr()).unwrap();
    s.write_all(format!("PUBSUB NUMSUB {channel}\r\n").as_bytes())
        .unwrap();
    let mut reader = std::io::BufReader::new(s);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(n) = line.strip_prefix(':') {
            return n.trim().parse().unwrap();
        }
    }
}

#[test]
fn a_leave_during_an_outage_is_written_when_redis_answers_again() {
    let Some(redis) =
        RedisServer::start("a_leave_during_an_outage_is_written_when_redis_answers_again")
    else {
        return;
    };
    let a = node(&redis, &[]);
    let b = node(&redis, &[]);
    let mut ann = connect(&a);
    login_enter(&mut ann, "ann", 8);
    let mut bob = connect(&b);
    login_enter(&mut bob, "bob", 8);
    let (bob_uid, _) = new_user(&mut ann);

    // Redis stops answering for less than a lease (data kept): bob's
    // leave cannot be written.
    assert_eq!(redis_command(&redis, "CLIENT PAUSE 1000 ALL"), "+OK\r\n");
    bob.leave().unwrap();
    assert_eq!(next(&mut bob), Got::Leave(0), "local leave works");
    // Once Redis answers, B removes bob's leftover entry: 217 on A.
    assert_eq!(next(&mut ann), Got::LeaveUser(bob_uid));
    let mut cat = connect(&b);
    assert_eq!(login_enter(&mut cat, "cat", 8).len(), 1, "only ann is left");
    a.stop();
    b.stop();
}

#[test]
fn three_nodes_one_room() {
    let Some(redis) = RedisServer::start("three_nodes_one_room") else {
        return;
    };
    let nodes: Vec<Running> = (0..3).map(|_| node(&redis, &[])).collect();
    let mut users: Vec<Client> = Vec::new();
    let mut uids = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let mut c = connect(n);
        let list = login_enter(&mut c, &format!("u{i}"), 0);
        assert_eq!(list.len(), i, "u{i} sees everyone before it: {list:?}");
        if i == 1 {
            uids.push(list[0].0); // u0's
        }
        for (j, earlier) in users.iter_mut().enumerate() {
            let (uid, name) = new_user(earlier);
            assert_eq!(name, format!("u{i}"), "u{j} hears of u{i}");
            if j == 0 {
                uids.push(uid);
            }
        }
        users.push(c);
    }
    // Unique ids across the three nodes.
    assert_eq!(uids.len(), 3);
    let mut distinct = uids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{uids:?}");
    // One chat reaches the two other nodes, every member once.
    users[1].chat("to all").unwrap();
    assert_eq!(next(&mut users[1]), Got::ChatRes(0));
    for u in users.iter_mut() {
        assert_eq!(next(u), Got::Chat("u1".into(), "to all".into()));
    }
    for u in users.iter_mut() {
        assert!(quiet(u, Duration::from_millis(200)), "no duplicates");
    }
    for n in nodes {
        n.stop();
    }
}

#[test]
fn metrics_count_the_cluster_traffic() {
    let Some(redis) = RedisServer::start("metrics_count_the_cluster_traffic") else {
        return;
    };
    let a = node(&redis, &[]);
    let b = node(&redis, &[]);
    let mut ann = connect(&a);
    login_enter(&mut ann, "ann", 4);
    let mut bob = connect(&b);
    login_enter(&mut bob, "bob", 4);
    let _ = new_user(&mut ann);

    const SENT: usize = 12;
    for i in 0..SENT {
        ann.chat(&format!("m{i}")).unwrap();
        assert_eq!(next(&mut ann), Got::ChatRes(0));
        assert_eq!(next(&mut ann), Got::Chat("ann".into(), format!("m{i}")));
        assert_eq!(next(&mut bob), Got::Chat("ann".into(), format!("m{i}")));
    }
    let sent = SENT as f64;
    scrape_until(
        b.admin.expect("the startup line names the admin address"),
        &[
            ("ringport_cluster_remote_chats_in_total", sent),
            ("ringport_cluster_remote_members", 1.0),
            ("ringport_cluster_chats_published_total", 0.0),
            ("ringport_cluster_chats_dropped_total", 0.0),
            ("ringport_cluster_redis_up", 1.0),
            ("ringport_cluster_redis_errors_total", 0.0),
            ("ringport_cluster_degraded_enters_total", 0.0),
        ],
    );
    let scrape = scrape_until(
        a.admin.expect("the startup line names the admin address"),
        &[
            ("ringport_cluster_chats_published_total", sent),
            ("ringport_cluster_remote_chats_in_total", 0.0),
            ("ringport_cluster_queue_depth", 0.0),
        ],
    );
    // bob's enter reached A, over the channel or (if a heartbeat's snapshot
    // came first) as a repair.
    let changes = sample(&scrape, "ringport_cluster_remote_changes_total");
    let repaired = sample(&scrape, "ringport_cluster_repaired_enters_total");
    assert_eq!(
        changes.zip(repaired).map(|(c, r)| c + r),
        Some(1.0),
        "{scrape}"
    );

    // Without Redis, chats are dropped and errors counted; when it is back,
    // the connection is made again.
    let mut redis = redis;
    redis.stop();
    ann.chat("lost").unwrap();
    assert_eq!(next(&mut ann), Got::ChatRes(0));
    assert_eq!(next(&mut ann), Got::Chat("ann".into(), "lost".into()));
    let scrape = scrape_until(
        a.admin.expect("the startup line names the admin address"),
        &[
            ("ringport_cluster_chats_dropped_total", 1.0),
            ("ringport_cluster_redis_up", 0.0),
        ],
    );
    assert!(
        sample(&scrape, "ringport_cluster_redis_errors_total").is_some_and(|n| n >= 1.0),
        "{scrape}"
    );
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, scrape) = get(a.admin.unwrap(), "/metrics");
        let up = sample(&scrape, "ringport_cluster_redis_up") == Some(1.0);
        let again = sample(&scrape, "ringport_cluster_reconnects_total").is_some_and(|n| n >= 1.0);
        if up && again {
            break;
        }
        assert!(Instant::now() < deadline, "no reconnect counted:\n{scrape}");
        std::thread::sleep(Duration::from_millis(50));
    }
    a.stop();
    b.stop();
}
