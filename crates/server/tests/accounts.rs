//! Accounts end to end, through `ringport serve` and `ringport user`:
//! durability of SQLite registrations across SIGKILL, the admin commands, a
//! Redis outage during chat, one damaged account record, and one id
//! registered on two nodes at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chat_support::{connect, next, serve, Got};
use common::Running;
use ringport_accounts::testing::RedisServer;

const BACKEND: &str = "poll"; // accounts do not depend on the backend

/// Logs in on a fresh connection and returns the result code (and the
/// connection, still open).
fn login(r: &Running, id: &str, pw: &str) -> (u16, ringport_client::Client) {
    let mut c = connect(r);
    c.login(id, pw).unwrap();
    match next(&mut c) {
        Got::Login(code) => (code, c),
        other => panic!("expected a login answer, got {other:?}"),
    }
}

fn sqlite_arg(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("ringport.db").display())
}

/// Runs `ringport user ARGS` with `stdin` as its input.
fn user(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringport"))
        .arg("user")
        .args(args)
        .args(["--argon2-memory-kib", "8", "--argon2-iterations", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn sqlite_registrations_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_arg(dir.path());
    let server = serve(BACKEND, &["--accounts", &store]);
    let ids: Vec<String> = (0..8).map(|i| format!("user{i}")).collect();
    let mut open = Vec::new();
    for id in &ids {
        let (code, c) = login(&server, id, &format!("pw-{id}"));
        assert_eq!(code, 0, "{id} registered");
        open.push(c);
    }
    // Killed right after the last answer: no clean shutdown, no flush.
    common::signal(&server.child, "KILL");
    drop(server);
    drop(open);

    // Restarted without auto-registration: a lost account could not log in.
    let server = serve(BACKEND, &["--accounts", &store, "--auto-register", "false"]);
    for id in &ids {
        assert_eq!(login(&server, id, &format!("pw-{id}")).0, 0, "{id} kept");
        assert_eq!(login(&server, id, "wrong").0, 33, "{id} password checked");
    }
    assert_eq!(
        login(&server, "stranger", "pw").0,
        33,
        "no auto-registration"
    );
    server.stop();
}

#[test]
fn user_admin_commands_manage_the_store_the_server_uses() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_arg(dir.path());
    let acc = ["--accounts", store.as_str()];

    let out = user(&[&["add", "bob"][..], &acc].concat(), "s3cret\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = user(&[&["add", "bob"][..], &acc].concat(), "other\n");
    assert_eq!(out.status.code(), Some(1), "duplicate add fails");
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    let out = user(&[&["add", "ann"][..], &acc].concat(), "pw\r\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = user(&[&["add", "empty"][..], &acc].concat(), "\n");
    assert_eq!(out.status.code(), Some(1), "empty password refused");
    let long_id = "x".repeat(40);
    let out = user(&[&["add", long_id.as_str()][..], &acc].concat(), "pw\n");
    assert_eq!(out.status.code(), Some(1), "id longer than the wire allows");
    assert!(
        text(&out.stderr).contains("invalid user id"),
        "{}",
        text(&out.stderr)
    );

    let out = user(&[&["list"][..], &acc].concat(), "");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "ann\nbob\n");
    let plain = std::fs::read(dir.path().join("ringport.db")).unwrap();
    assert!(
        !plain.windows(6).any(|w| w == b"s3cret"),
        "password on disk"
    );

    let server = serve(BACKEND, &["--accounts", &store, "--auto-register", "false"]);
    assert_eq!(login(&server, "bob", "s3cret").0, 0);
    assert_eq!(
        login(&server, "ann", "pw").0,
        0,
        "CR LF stripped from stdin"
    );
    assert_eq!(login(&server, "bob", "wrong").0, 33);

    // Changed while the server runs: the next login sees it.
    let out = user(&[&["passwd", "bob"][..], &acc].concat(), "n3w\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(login(&server, "bob", "s3cret").0, 33);
    assert_eq!(login(&server, "bob", "n3w").0, 0);
    let out = user(&[&["passwd", "nobody"][..], &acc].concat(), "x\n");
    assert_eq!(out.status.code(), Some(1));

    let out = user(&[&["del", "bob"][..], &acc].concat(), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(login(&server, "bob", "n3w").0, 33);
    let out = user(&[&["del", "bob"][..], &acc].concat(), "");
    assert_eq!(out.status.code(), Some(1), "deleting twice fails");
    server.stop();

    let out = user(&["list", "--accounts", "nonsense"], "");
    assert_eq!(
        out.status.code(),
        Some(78),
        "bad --accounts is a configuration error"
    );
    assert!(
        text(&out.stderr).contains("accounts.store"),
        "{}",
        text(&out.stderr)
    );
}

/// Waits until `id` can log in (the store came back), returning the code.
fn login_until_ok(r: &Running, id: &str, pw: &str) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, _c) = login(r, id, pw);
        if code == 0 || Instant::now() > deadline {
            return code;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn redis_outage_fails_logins_with_34_while_chat_goes_on() {
    let Some(mut redis) =
        RedisServer::start("redis_outage_fails_logins_with_34_while_chat_goes_on")
    else {
        return;
    };
    let url = redis.url();
    // The token secret of a Redis store defaults to the working directory:
    // keep it in a temporary one.
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("token-secret").display().to_string();
    let server = serve(
        BACKEND,
        &[
            "--accounts",
            &url,
            "--token-secret-file",
            &secret,
            "--accounts-timeout-ms",
            "500",
            "--chat-rate",
            "0",
        ],
    );
    let (code, mut ann) = login(&server, "ann", "a");
    assert_eq!(code, 0);
    let (code, mut bob) = login(&server, "bob", "b");
    assert_eq!(code, 0);
    ann.enter(1).unwrap();
    assert_eq!(next(&mut ann), Got::Enter(0));
    assert_eq!(next(&mut ann), Got::List(vec![]));
    bob.enter(1).unwrap();
    assert_eq!(next(&mut bob), Got::Enter(0));
    assert!(matches!(next(&mut bob), Got::List(_)));
    assert!(matches!(next(&mut ann), Got::NewUser(_, _)));

    let admin = server.admin.expect("admin listener");
    assert_eq!(common::get(admin, "/health/ready").0, 200);

    redis.stop();
    for i in 0..5 {
        let started = Instant::now();
        let (code, _c) = login(&server, &format!("late{i}"), "pw");
        assert_eq!(code, 34, "store down: backend unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "answered in bounded time"
        );
        // Logged-in users keep chatting meanwhile.
        ann.chat(&format!("during outage {i}")).unwrap();
        let msg = Got::Chat("ann".into(), format!("during outage {i}"));
        assert_eq!(next(&mut ann), Got::ChatRes(0));
        assert_eq!(next(&mut ann), msg);
        assert_eq!(next(&mut bob), msg);
    }

    assert_eq!(
        common::get(admin, "/health/ready").0,
        503,
        "not ready while the store is down"
    );
    assert_eq!(common::get(admin, "/health/live").0, 200);

    redis.restart();
    assert_eq!(
        login_until_ok(&server, "late0", "pw"),
        0,
        "logins work again"
    );
    assert_eq!(common::get(admin, "/health/ready").0, 200, "ready again");
    bob.chat("after").unwrap();
    assert_eq!(next(&mut bob), Got::ChatRes(0));
    assert_eq!(next(&mut bob), Got::Chat("bob".into(), "after".into()));
    assert_eq!(next(&mut ann), Got::Chat("bob".into(), "after".into()));
    server.stop();
}

/// Sends one command to Redis in RESP and returns its reply's first line.
fn redis_command(addr: std::net::SocketAddr, args: &[&str]) -> String {
    let mut command = format!("*{}\r\n", args.len());
    for a in args {
        command.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(command.as_bytes()).unwrap();
    let mut reply = [0u8; 64];
    let n = s.read(&mut reply).unwrap();
    text(&reply[..n]).lines().next().unwrap_or("").to_string()
}

/// One account whose stored hash is damaged (in the shared Redis store,
/// where any tool can write): its logins are answered 34, everyone else
/// logs in, and the server stays ready — one bad record is not a store
/// outage.
#[test]
fn a_damaged_account_record_fails_only_its_logins_and_the_server_stays_ready() {
    let Some(redis) = RedisServer::start(
        "a_damaged_account_record_fails_only_its_logins_and_the_server_stays_ready",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("token-secret").display().to_string();
    let server = serve(
        BACKEND,
        &["--accounts", &redis.url(), "--token-secret-file", &secret],
    );
    let admin = server.admin.expect("admin listener");
    assert_eq!(login(&server, "eve", "pw").0, 0, "eve registered");
    assert_eq!(login(&server, "ann", "pw").0, 0, "ann registered");
    assert_eq!(common::get(admin, "/health/ready").0, 200);

    for phc in [
        "not a hash",
        // A cost far beyond the caps: refused before any memory is taken.
        "$argon2id$v=19$m=4000000000,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    ] {
        let reply = redis_command(redis.addr(), &["HSET", "ringport:account:eve", "phc", phc]);
        assert_eq!(reply, ":0", "eve's phc replaced");
        for _ in 0..3 {
            assert_eq!(login(&server, "eve", "pw").0, 34, "{phc}: eve's login");
            assert_eq!(login(&server, "ann", "pw").0, 0, "{phc}: ann's login");
        }
        assert_eq!(
            common::get(admin, "/health/ready").0,
            200,
            "{phc}: still ready"
        );
    }
    server.stop();
}

#[test]
fn one_id_registered_on_two_nodes_at_once_has_one_winner() {
    let Some(redis) = RedisServer::start("one_id_registered_on_two_nodes_at_once_has_one_winner")
    else {
        return;
    };
    let url = redis.url();
    // Two nodes share the token secret, as a cluster's must.
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("token-secret").display().to_string();
    let a = serve(
        BACKEND,
        &["--accounts", &url, "--token-secret-file", &secret],
    );
    let b = serve(
        BACKEND,
        &["--accounts", &url, "--token-secret-file", &secret],
    );
    for round in 0..10 {
        let id = format!("race{round}");
        let mut ca = connect(&a);
        let mut cb = connect(&b);
        ca.login(&id, "from-a").unwrap();
        cb.login(&id, "from-b").unwrap();
        let codes = [next(&mut ca), next(&mut cb)];
        let zeros = codes.iter().filter(|g| **g == Got::Login(0)).count();
        assert_eq!(zeros, 1, "round {round}: {codes:?}");
        for g in &codes {
            assert!(
                matches!(g, Got::Login(0 | 31 | 33)),
                "round {round}: {codes:?}"
            );
        }
    }
    a.stop();
    b.stop();
}
