//! Requests are answered in the order they were received, end to end on
//! real sockets: `[echo, login, echo, enter, chat, leave]` written at once
//! is answered in exactly that order (both backends), also with a slow
//! account store and in cluster mode; and a client that pipelines thousands
//! of requests behind a slow login is paused (not read), not disconnected,
//! and answered in full and in order.
//!
//! The slow store is a real Redis account store reached through a proxy in
//! this test that holds every command back (`DelayProxy`): a test facility,
//! nothing in the `ringport` binary is slowed or changed for it. Tests
//! needing Redis skip loudly without `redis-server` unless
//! `RINGPORT_REQUIRE_REDIS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use chat_support::{connect, next, serve, try_next, Got, SETUPS};
use common::{sample, Running};
use ringport_accounts::testing::RedisServer;
use ringport_client::proto::{ClientPacket, DevEcho, LoginReq, RoomChatReq, RoomEnterReq};
use ringport_client::Client;

fn encode(packet: &ClientPacket<'_>, out: &mut Vec<u8>) {
    packet.encode(out).unwrap();
}

/// `[DEV_ECHO "first", LOGIN_REQ id, DEV_ECHO "second", ROOM_ENTER_REQ 1,
/// ROOM_CHAT_REQ "hi", ROOM_LEAVE_REQ]` as one buffer.
fn burst(id: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&ClientPacket::DevEcho(DevEcho { body: b"first" }), &mut out);
    encode(
        &ClientPacket::LoginReq(LoginReq::new(id, "pw").unwrap()),
        &mut out,
    );
    encode(
        &ClientPacket::DevEcho(DevEcho { body: b"second" }),
        &mut out,
    );
    encode(
        &ClientPacket::RoomEnterReq(RoomEnterReq { room_number: 1 }),
        &mut out,
    );
    encode(
        &ClientPacket::RoomChatReq(RoomChatReq::new("hi").unwrap()),
        &mut out,
    );
    encode(
        &ClientPacket::RoomLeaveReq(ringport_client::proto::RoomLeaveReq),
        &mut out,
    );
    out
}

/// What [`burst`] must get, in this order (the 223 of its own chat follows
/// the 222, as for any chat).
fn answers(id: &str) -> Vec<Got> {
    vec![
        Got::Echo(b"first".to_vec()),
        Got::Login(0),
        Got::Echo(b"second".to_vec()),
        Got::Enter(0),
        Got::List(vec![]),
        Got::ChatRes(0),
        Got::Chat(id.into(), "hi".into()),
        Got::Leave(0),
    ]
}

/// Reads what [`burst`] is owed: as many packets as [`answers`] lists, or
/// fewer if none comes for a while (then the comparison shows what came).
fn read_answers(c: &mut Client, id: &str) -> Vec<Got> {
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    (0..answers(id).len()).map_while(|_| try_next(c)).collect()
}

/// Writes [`burst`] in one write and reads the answers; returns them and
/// how long the login answer took.
fn send_burst(r: &Running, id: &str) -> (Vec<Got>, Duration) {
    let mut c = connect(r);
    let started = Instant::now();
    c.send_raw(&burst(id)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut login_after = Duration::ZERO;
    for _ in 0..answers(id).len() {
        let Some(packet) = try_next(&mut c) else {
            break;
        };
        if matches!(packet, Got::Login(_)) {
            login_after = started.elapsed();
        }
        got.push(packet);
    }
    (got, login_after)
}

#[test]
fn pipelined_requests_are_answered_in_request_order() {
    for setup in SETUPS {
        let r = serve(setup, &["--chat-rate", "0"]);
        // Several sessions at once, so the password checks really are in
        // flight on the workers while the rest of each burst arrives.
        let ids: Vec<String> = (0..8).map(|i| format!("order{i}")).collect();
        let handles: Vec<_> = ids
            .iter()
            .map(|id| {
                let (addr, id) = (r.addr, id.clone());
                std::thread::spawn(move || {
                    let mut c = Client::connect(addr).unwrap();
                    c.send_raw(&burst(&id)).unwrap();
                    read_answers(&mut c, &id)
                })
            })
            .collect();
        for (id, handle) in ids.iter().zip(handles) {
            let got = handle.join().unwrap();
            // Each session is alone in room 1 only if the others are not
            // there at that moment: compare the user list loosely.
            let want = answers(id);
            assert_eq!(got.len(), want.len(), "{setup}: {id}: {got:?}");
            for (g, w) in got.iter().zip(&want) {
                match (g, w) {
                    (Got::List(_), Got::List(_)) => {}
                    (Got::Chat(from, _), Got::Chat(..)) if from != id => {
                        panic!("{setup}: {id}: a chat of {from} among its answers: {got:?}")
                    }
                    _ => assert_eq!(g, w, "{setup}: {id}: {got:?}"),
                }
            }
        }
        r.stop();
    }
}

#[test]
fn a_single_pipelined_session_gets_exactly_its_answers_in_order() {
    for setup in SETUPS {
        let r = serve(setup, &[]);
        let (got, _) = send_burst(&r, "alone");
        assert_eq!(got, answers("alone"), "{setup}");
        r.stop();
    }
}

/// A TCP proxy that holds every chunk sent to `target` back by `delay`:
/// the server's store commands each take `delay` longer.
struct DelayProxy {
    addr: SocketAddr,
}

impl DelayProxy {
    fn start(target: SocketAddr, delay: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                std::thread::spawn(move || pipe(client, server, delay));
                std::thread::spawn(move || pipe(s2, c2, Duration::ZERO));
            }
        });
        DelayProxy { addr }
    }

    fn url(&self) -> String {
        format!("redis://{}/0", self.addr)
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                std::thread::sleep(delay);
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

const STORE_DELAY: Duration = Duration::from_millis(300);

/// `ringport serve` on `setup` with its accounts in `redis` behind a
/// [`DelayProxy`].
fn serve_with_slow_store(setup: &str, redis: &RedisServer, extra: &[&str]) -> Running {
    let proxy = DelayProxy::start(redis.addr(), STORE_DELAY);
    let url = proxy.url();
    let mut args = vec![
        "--accounts",
        url.as_str(),
        "--accounts-timeout-ms",
        "5000",
        // Not the working directory (a Redis store's default).
        "--token-secret-file",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/ringport-token-secret"),
    ];
    args.extend_from_slice(extra);
    serve(setup, &args)
}

#[test]
fn pipelined_requests_wait_for_a_slow_account_store() {
    let Some(redis) = RedisServer::start("pipelined_requests_wait_for_a_slow_account_store") else {
        return;
    };
    for setup in SETUPS {
        let r = serve_with_slow_store(setup, &redis, &[]);
        let id = format!("slow-{setup}");
        let (got, login_after) = send_burst(&r, &id);
        assert_eq!(got, answers(&id), "{setup}");
        assert!(
            login_after >= STORE_DELAY,
            "{setup}: the store was slow ({login_after:?})"
        );
        r.stop();
    }
}

#[test]
fn pipelined_requests_wait_for_the_cluster_claim_and_enter() {
    let Some(redis) = RedisServer::start("pipelined_requests_wait_for_the_cluster_claim_and_enter")
    else {
        return;
    };
    let url = redis.url();
    for setup in SETUPS {
        let r = serve(
            setup,
            &[
                "--cluster",
                &url,
                "--cluster-heartbeat-ms",
                "200",
                "--cluster-lease-ms",
                "1500",
                "--cluster-timeout-ms",
                "2000",
            ],
        );
        // Someone on the node is in room 1 already: the enter's answer
        // lists them, and they hear of each newcomer and its chat.
        let mut ann = connect(&r);
        chat_support::login_enter(&mut ann, &format!("ann-{setup}"), 1);
        for i in 0..3 {
            let id = format!("c{i}-{setup}");
            let (got, _) = send_burst(&r, &id);
            let mut want = answers(&id);
            // The list names ann (and no one else).
            assert!(
                matches!(got.get(4), Some(Got::List(list)) if list.len() == 1),
                "{setup}: in order, the 209 naming ann fifth: {got:?}"
            );
            want[4] = got[4].clone();
            assert_eq!(got, want, "{setup}");
            assert!(matches!(next(&mut ann), Got::NewUser(_, name) if name == id));
            assert_eq!(next(&mut ann), Got::Chat(id.clone(), "hi".into()));
            assert!(matches!(next(&mut ann), Got::LeaveUser(_)));
        }
        r.stop();
    }
}

/// Thousands of echoes written behind a login the store answers slowly:
/// the server stops reading the session once its queue is full (TCP holds
/// the client back), does not cut it off, and answers everything in order.
#[test]
fn thousands_of_requests_behind_a_slow_login_are_paused_not_dropped() {
    let Some(redis) =
        RedisServer::start("thousands_of_requests_behind_a_slow_login_are_paused_not_dropped")
    else {
        return;
    };
    const ECHOES: usize = 5_000;
    for setup in SETUPS {
        let r = serve_with_slow_store(setup, &redis, &[]);
        let mut c = connect(&r);
        let mut bytes = Vec::new();
        encode(
            &ClientPacket::LoginReq(LoginReq::new("flood", "pw").unwrap()),
            &mut bytes,
        );
        for i in 0..ECHOES {
            // 5 + 100 bytes each: about 0.5 MB, more than the queue bound
            // many times over.
            let body = format!("{i:0100}");
            encode(
                &ClientPacket::DevEcho(DevEcho {
                    body: body.as_bytes(),
                }),
                &mut bytes,
            );
        }
        // Written from another thread: the server may stop reading before
        // all of it is sent.
        let mut writer = c.try_clone().unwrap();
        let write = std::thread::spawn(move || writer.send_raw(&bytes));
        assert_eq!(next(&mut c), Got::Login(0), "{setup}");
        for i in 0..ECHOES {
            let want = format!("{i:0100}").into_bytes();
            match next(&mut c) {
                Got::Echo(body) if body == want => {}
                other => panic!("{setup}: echo {i}: got {other:?}"),
            }
        }
        write.join().unwrap().unwrap();
        // Still connected, and answering.
        c.echo(b"after").unwrap();
        assert_eq!(next(&mut c), Got::Echo(b"after".to_vec()), "{setup}");
        let admin = r.admin.expect("admin listener");
        let (_, scrape) = common::get(admin, "/metrics");
        let pauses = sample(&scrape, "ringport_pipeline_pauses_total").unwrap_or(0.0);
        let queued = sample(&scrape, "ringport_requests_queued_total").unwrap_or(0.0);
        assert!(pauses >= 1.0, "{setup}: reading was paused ({pauses})");
        assert!(queued >= 64.0, "{setup}: requests queued ({queued})");
        let slow = sample(
            &scrape,
            "ringport_session_closes_total{reason=\"slow_consumer\"}",
        );
        assert!(
            slow.unwrap_or(0.0) == 0.0,
            "{setup}: nobody cut off ({slow:?})"
        );
        r.stop();
    }
}
