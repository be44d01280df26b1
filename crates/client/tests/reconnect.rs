//! `ringport-client` line mode reconnecting to a real `ringport serve`: a
//! small TCP proxy between the client and the server cuts the connection
//! (the server keeps running); while the client is away (the proxy holds
//! its new connection back) another user chats; once through, the client
//! has logged in again (resume token, or the password if the token is
//! refused), entered its room again and printed every missed message
//! exactly once, in order.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup should panic

mod common;

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use common::{expect_result, line_client, logged_in, start_server_on, LineClient};
use ringport_client::proto::{id, ResultCode, ServerPacket};
use ringport_client::Client;

/// A TCP proxy to `upstream`: [`Proxy::cut`] closes the connections it
/// carries and holds new ones back (accepted, not forwarded) until
/// [`Proxy::open`].
struct Proxy {
    addr: SocketAddr,
    gate: Arc<(Mutex<bool>, Condvar)>,
    socks: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let gate = Arc::new((Mutex::new(true), Condvar::new()));
        let socks = Arc::new(Mutex::new(Vec::new()));
        let (g, s) = (gate.clone(), socks.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let (gate, socks) = (g.clone(), s.clone());
                thread::spawn(move || {
                    let (open, cv) = &*gate;
                    let mut is_open = open.lock().unwrap();
                    while !*is_open {
                        is_open = cv.wait(is_open).unwrap();
                    }
                    drop(is_open);
                    let server = TcpStream::connect(upstream).unwrap();
                    socks
                        .lock()
                        .unwrap()
                        .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                    pipe(client, server);
                });
            }
        });
        Proxy { addr, gate, socks }
    }

    /// Closes every connection carried now; new ones wait for `open`.
    fn cut(&self) {
        *self.gate.0.lock().unwrap() = false;
        for sock in self.socks.lock().unwrap().drain(..) {
            let _ = sock.shutdown(Shutdown::Both);
        }
    }

    /// Lets connections through again.
    fn open(&self) {
        *self.gate.0.lock().unwrap() = true;
        self.gate.1.notify_all();
    }
}

/// Copies both ways until either side ends, then closes both.
fn pipe(a: TcpStream, b: TcpStream) {
    let copy = |mut from: TcpStream, mut to: TcpStream| {
        thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        })
    };
    copy(a.try_clone().unwrap(), b.try_clone().unwrap());
    copy(b, a);
}

/// Receives until a 223 from `from` with `message` (skipping 208s, 217s).
fn recv_chat(client: &mut Client, from: &str, message: &str) {
    loop {
        match client.recv().unwrap() {
            ServerPacket::RoomChatNtf(ntf)
                if ntf.user_id.as_str() == from && ntf.message.as_str() == message =>
            {
                return
            }
            ServerPacket::RoomChatNtf(ntf) => panic!("unexpected chat {ntf:?}"),
            _ => {}
        }
    }
}

fn chat(client: &mut Client, message: &str) {
    client.chat(message).unwrap();
    expect_result(client, id::ROOM_CHAT_RES, ResultCode::None);
    recv_chat(client, "bob", message);
}

#[test]
fn line_mode_reconnects_and_shows_every_missed_message_once_in_order() {
    for backend in ["io-uring", "poll"] {
        reconnects_on(backend);
    }
}

fn reconnects_on(backend: &str) {
    let Some(server) = start_server_on(
        "line_mode_reconnects_and_shows_every_missed_message_once",
        &["--backend", backend],
    ) else {
        return;
    };
    let proxy = Proxy::start(server.addr);
    let script = "\
/login ann pw
/enter 3
/expect CHAT room=3 from=bob: before
/expect RECONNECTED
/expect CHAT room=3 from=bob: missed 3
back again
/expect CHAT room=3 from=bob: after
/history 6
/quit
";
    let LineClient {
        mut child,
        lines: rx,
        reader,
    } = line_client(proxy.addr, &["--strict"], script);
    let mut seen: Vec<String> = Vec::new();
    let wait_for = |prefix: &str, seen: &mut Vec<String>| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no {prefix:?} from the client; so far {seen:#?}"));
        seen.push(line.clone());
        if line.starts_with(prefix) {
            return;
        }
    };

    // ann is in room 3; bob comes and says something she sees.
    wait_for("USERS room=3", &mut seen);
    let mut bob = logged_in(server.addr, "bob");
    bob.enter(3).unwrap();
    expect_result(&mut bob, id::ROOM_ENTER_RES, ResultCode::None);
    assert_eq!(bob.recv_user_list().unwrap().len(), 1);
    chat(&mut bob, "before");
    wait_for("CHAT room=3 from=bob: before", &mut seen);

    // The connection drops; the server sees ann leave.
    proxy.cut();
    wait_for("RECONNECTING attempt=1 ", &mut seen);
    loop {
        if let ServerPacket::RoomLeaveUserNtf(_) = bob.recv().unwrap() {
            break;
        }
    }
    // While she is away (her new connection held back), bob chats on.
    for n in 1..=3 {
        chat(&mut bob, &format!("missed {n}"));
    }
    proxy.open();
    wait_for("RECONNECTED", &mut seen);
    // She is back in the room: she chats, and hears bob live.
    recv_chat(&mut bob, "ann", "back again");
    chat(&mut bob, "after");

    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(rx.try_iter());
    assert!(status.success(), "{status} {seen:#?}");

    let count = |line: &str| seen.iter().filter(|l| *l == line).count();
    let at = |line: &str| {
        seen.iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line} not in {seen:#?}"))
    };
    // Every message live or caught up exactly once, in order.
    let order = [
        "CHAT room=3 from=bob: before",
        "RECONNECTED user=ann room=3 missed=3",
        "CHAT room=3 from=bob: missed 1",
        "CHAT room=3 from=bob: missed 2",
        "CHAT room=3 from=bob: missed 3",
        "CHAT room=3 from=ann: back again",
        "CHAT room=3 from=bob: after",
        "HISTORY room=3 count=6",
        "CHAT room=3 seq=1 from=bob: before",
        "CHAT room=3 seq=2 from=bob: missed 1",
        "CHAT room=3 seq=3 from=bob: missed 2",
        "CHAT room=3 seq=4 from=bob: missed 3",
        "CHAT room=3 seq=5 from=ann: back again",
        "CHAT room=3 seq=6 from=bob: after",
    ];
    for line in order {
        assert_eq!(count(line), 1, "{line} in {seen:#?}");
    }
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{pair:?} in {seen:#?}");
    }
    assert!(!seen.iter().any(|l| l.starts_with("GAP")), "{seen:#?}");
    // The drop, the reconnect and the login again: with the token (the
    // server grants RESUME; with in-memory accounts its secret lives as
    // long as the process).
    let reconnected = at("RECONNECTED user=ann room=3 missed=3");
    let closed = seen.iter().position(|l| l.starts_with("CLOSED: ")).unwrap();
    let after_drop = &seen[closed..reconnected];
    assert!(
        after_drop[1].starts_with("RECONNECTING attempt=1 in="),
        "{seen:#?}"
    );
    assert!(
        after_drop.contains(&format!("CONNECTED addr={}", proxy.addr)),
        "{seen:#?}"
    );
    let logins: Vec<&String> = after_drop
        .iter()
        .filter(|l| l.starts_with("LOGIN "))
        .collect();
    assert_eq!(
        logins,
        ["LOGIN ok user=ann via=token"],
        "{backend}: {seen:#?}"
    );
    assert!(
        after_drop.iter().any(|l| l == "ENTER ok room=3"),
        "{seen:#?}"
    );
}

/// `--reconnect-tries 2`: when the server is gone for good, the client
/// tries twice, says it gave up, and line mode exits with code 3 (the
/// connection's) instead of retrying forever.
#[test]
fn line_mode_gives_up_after_its_reconnect_tries() {
    let Some(server) = start_server_on("line_mode_gives_up_after_its_reconnect_tries", &[]) else {
        return;
    };
    // The last line waits (20 s) for something that never comes: the
    // client is still running when the server goes.
    let script = "/login ann pw\n/expect never printed\n";
    let LineClient {
        mut child,
        lines: rx,
        reader,
    } = line_client(server.addr, &["--reconnect-tries", "2"], script);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        seen.push(line.clone());
        if line.starts_with("LOGIN ok") {
            break;
        }
    }
    drop(server);
    // Two attempts: 0.5 s and 1 s, each ±50 %, then the end.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            seen.extend(rx.try_iter());
            panic!("the client is still reconnecting after 15 s: {seen:#?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    seen.extend(rx.try_iter());
    assert_eq!(status.code(), Some(3), "{seen:#?}");
    let attempts: Vec<&String> = seen
        .iter()
        .filter(|l| l.starts_with("RECONNECTING attempt="))
        .collect();
    assert_eq!(attempts.len(), 2, "{seen:#?}");
    assert!(
        attempts[1].starts_with("RECONNECTING attempt=2 "),
        "{seen:#?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("RECONNECT gave-up attempts=2"),
        "{seen:#?}"
    );
}
