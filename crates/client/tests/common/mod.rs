//! Running a real `ringport serve` for the client's tests: the debug binary
//! of this workspace, beside the `ringport-client` binary under test, started
//! on 127.0.0.1:0; its address is read from its "listening on ADDR" line.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure should panic

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ringport_client::proto::{ResultCode, ServerPacket};
use ringport_client::Client;

/// The `ringport-client` binary under test.
pub fn client_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ringport-client"))
}

/// The `ringport` server binary of the same build, if it has been built.
/// `cargo test --workspace` builds it (the server package's own tests need
/// it) before any test runs; `cargo test -p ringport-client` alone does not.
fn server_binary() -> Option<PathBuf> {
    let path = client_binary().with_file_name(format!("ringport{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ringport serve` on a free loopback port (cheap password hashing,
/// no chat rate limit), or returns `None` after saying loudly why the test
/// is skipped. Under CI (`CI` set) a missing server binary is a failure.
pub fn start_server(test: &str) -> Option<Server> {
    start_server_on(test, &[])
}

/// [`start_server`] with extra `serve` flags (a backend, say).
pub fn start_server_on(test: &str, extra: &[&str]) -> Option<Server> {
    let Some(binary) = server_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "target/debug/ringport is not built, and CI is set: run the whole workspace's tests"
        );
        eprintln!(
            "\n*** SKIPPED {test}: the ringport server binary is not built beside {} \
             (run `cargo build -p ringport` first, or `cargo test --workspace`) ***\n",
            client_binary().display()
        );
        return None;
    };
    let mut child = Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--io-threads", "1"])
        .args(["--argon2-memory-kib", "8", "--argon2-iterations", "1"])
        .args(["--chat-rate", "0", "--log", "info"])
        // In-memory accounts (no file left behind) and no admin listener
        // (tests run in parallel; its default port would clash).
        .args(["--accounts", "memory", "--admin-listen", "none"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ringport serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "ringport serve exited before listening"
        );
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
    Some(Server { child, addr })
}

/// A library client with a read timeout, logged in as `user`.
pub fn logged_in(addr: SocketAddr, user: &str) -> Client {
    let mut client = Client::connect(addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client.login(user, "pw").unwrap();
    match client.recv().unwrap() {
        ServerPacket::LoginRes(res) => assert_eq!(res.result, ResultCode::None, "login {user}"),
        other => panic!("login {user}: {other:?}"),
    }
    client
}

/// Receives the next packet, which must be a response with `result`.
pub fn expect_result(client: &mut Client, id: u16, result: ResultCode) {
    let packet = client.recv().unwrap();
    assert_eq!(packet.id(), id, "{packet:?}");
    let got = match packet {
        ServerPacket::LoginRes(r) => r.result,
        ServerPacket::RoomEnterRes(r) => r.result,
        ServerPacket::RoomLeaveRes(r) => r.result,
        ServerPacket::RoomChatRes(r) => r.result,
        other => panic!("not a response: {other:?}"),
    };
    assert_eq!(got, result);
}

/// A `ringport-client --line` process fed `script` on its stdin, its output
/// lines arriving on `lines` (read by `reader`).
pub struct LineClient {
    /// The process.
    pub child: Child,
    /// Its stdout, a line at a time.
    pub lines: std::sync::mpsc::Receiver<String>,
    /// The thread reading it (ends with the process).
    pub reader: std::thread::JoinHandle<()>,
}

/// Starts `ringport-client --server ADDR --line --timeout 20` plus `extra`
/// and writes `script` to it.
pub fn line_client(addr: SocketAddr, extra: &[&str], script: &str) -> LineClient {
    use std::io::Write;
    let mut child = Command::new(client_binary())
        .args(["--server", &addr.to_string(), "--line"])
        .args(["--timeout", "20"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            tx.send(line.unwrap()).unwrap();
        }
    });
    LineClient {
        child,
        lines,
        reader,
    }
}
