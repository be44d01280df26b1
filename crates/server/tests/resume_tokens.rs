//! Resume tokens end to end (docs/PROTOCOL.md, "History and resume"): the
//! real binary on both backends, real sockets, secret files and SQLite
//! stores in temporary directories. A token from a password login logs in
//! again on a new connection (and after a restart with the SQLite store)
//! without the password; tampered, foreign, expired and revoked tokens are
//! refused with their codes; an unusable secret file stops the server (78).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chat_support::{connect, next, serve, Got, SETUPS};
use common::Running;
use ringport_client::proto::ServerPacket;
use ringport_client::Client;

/// Cheap hashing: these tests are about tokens.
const FAST: [&str; 4] = ["--argon2-memory-kib", "8", "--argon2-iterations", "1"];

/// 311 asking for RESUME; expects 312(0) granting it.
fn hello(c: &mut Client) {
    c.send_raw(&[0x09, 0x00, 0x37, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00])
        .unwrap();
    match c.recv().unwrap() {
        ServerPacket::HelloRes(r) => {
            assert_eq!(r.result.code(), 0);
        }
        other => panic!("expected 312, got {:?}", other.id()),
    }
}

/// Reads a 316 and returns its token.
fn token(c: &mut Client) -> Vec<u8> {
    match c.recv().unwrap() {
        ServerPacket::ResumeTokenNtf(t) => {
            assert!(t.ttl_secs > 0);
            t.token.to_vec()
        }
        other => panic!("expected 316, got {:?}", other.id()),
    }
}

/// Sends 317 with `token` and returns the 318's result code.
fn token_login(c: &mut Client, token: &[u8]) -> u16 {
    let len = u8::try_from(token.len()).unwrap();
    let total = u16::try_from(6 + token.len()).unwrap();
    let mut frame = total.to_le_bytes().to_vec();
    frame.extend_from_slice(&[0x3D, 0x01, 0x00, len]);
    frame.extend_from_slice(token);
    c.send_raw(&frame).unwrap();
    match c.recv().unwrap() {
        ServerPacket::LoginTokenRes(r) => r.result.code(),
        other => panic!("expected 318, got {:?}", other.id()),
    }
}

/// A new connection that says hello, logs in with `id`'s password and
/// returns the token it is given.
fn password_login(r: &Running, id: &str) -> (Client, Vec<u8>) {
    let mut c = connect(r);
    hello(&mut c);
    c.login(id, "pw").unwrap();
    assert_eq!(next(&mut c), Got::Login(0), "login of {id}");
    let t = token(&mut c);
    (c, t)
}

/// A new connection that says hello and logs in with `token`: the code,
/// and the fresh token on success.
fn resume(r: &Running, token: &[u8]) -> (u16, Option<Vec<u8>>) {
    let mut c = connect(r);
    hello(&mut c);
    let code = token_login(&mut c, token);
    let fresh = (code == 0).then(|| self::token(&mut c));
    (code, fresh)
}

#[test]
fn a_token_logs_in_again_without_the_password() {
    for setup in SETUPS {
        let r = serve(setup, &FAST);
        let (c, first) = password_login(&r, "ann");
        drop(c); // the connection is lost
        std::thread::sleep(Duration::from_millis(100));

        let mut c = connect(&r);
        hello(&mut c);
        assert_eq!(token_login(&mut c, &first), 0, "{setup}: 318(0)");
        let fresh = token(&mut c);
        assert!(!fresh.is_empty());
        // Logged in: a room can be entered.
        c.enter(0).unwrap();
        assert_eq!(next(&mut c), Got::Enter(0), "{setup}");
        drop(c);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(resume(&r, &fresh).0, 0, "{setup}: the fresh one works");

        // Tampered with: 111.
        let mut bad = first.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(resume(&r, &bad).0, 111, "{setup}: tampered");
        let mut bad = first.clone();
        bad[2] ^= 0x10; // the issue time
        assert_eq!(resume(&r, &bad).0, 111, "{setup}: tampered claims");

        // 317 without hello: 110.
        let mut c = connect(&r);
        assert_eq!(token_login(&mut c, &first), 110, "{setup}: no hello");
        drop(c);

        let admin = r.admin.unwrap();
        common::scrape_until(
            admin,
            &[
                ("ringport_token_logins_ok_total", 2.0),
                ("ringport_tokens_issued_total", 3.0),
                ("ringport_logins_total{result=\"token_invalid\"}", 2.0),
                ("ringport_logins_total{result=\"feature_not_enabled\"}", 1.0),
            ],
        );
        let log = r.log.lock().unwrap().join("\n");
        assert!(
            log.contains("token_secret=in memory"),
            "the memory store's key is said to be ephemeral: {log}"
        );
        r.stop();
    }
}

#[test]
fn a_token_signed_with_another_secret_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    for setup in SETUPS {
        let one = dir.path().join(format!("{setup}-one"));
        let two = dir.path().join(format!("{setup}-two"));
        let mut args = FAST.to_vec();
        let one_s = one.display().to_string();
        args.extend_from_slice(&["--token-secret-file", &one_s]);
        let a = serve(setup, &args);
        let (c, t) = password_login(&a, "bob");
        drop(c);

        let mut args = FAST.to_vec();
        let two_s = two.display().to_string();
        args.extend_from_slice(&["--token-secret-file", &two_s]);
        let b = serve(setup, &args);
        assert_eq!(resume(&b, &t).0, 111, "{setup}: another server's secret");
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(resume(&a, &t).0, 0, "{setup}: its own server takes it");
        // A third server on the first file accepts it: nodes sharing the
        // file accept each other's tokens (bob must exist there).
        let mut args = FAST.to_vec();
        args.extend_from_slice(&["--token-secret-file", &one_s]);
        let c3 = serve(setup, &args);
        let (c, _) = password_login(&c3, "bob");
        drop(c);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(resume(&c3, &t).0, 0, "{setup}: same file, same key");
        c3.stop();
        b.stop();
        a.stop();
    }
}

#[test]
fn an_expired_token_is_refused() {
    for setup in SETUPS {
        let mut args = FAST.to_vec();
        args.extend_from_slice(&["--token-ttl-secs", "1"]);
        let r = serve(setup, &args);
        let (c, t) = password_login(&r, "cy");
        drop(c);
        std::thread::sleep(Duration::from_millis(1300));
        assert_eq!(resume(&r, &t).0, 112, "{setup}: expired");
        let admin = r.admin.unwrap();
        common::scrape_until(
            admin,
            &[("ringport_logins_total{result=\"token_expired\"}", 1.0)],
        );
        r.stop();
    }
}

/// Runs `ringport user ARGS` with `stdin`; asserts success.
fn user(args: &[&str], stdin: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringport"))
        .arg("user")
        .args(args)
        .args(FAST)
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
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ringport user {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sqlite_server(setup: &str, db: &str) -> Running {
    let mut args = vec!["--accounts", db];
    args.extend_from_slice(&FAST);
    serve(setup, &args)
}

#[test]
fn sqlite_tokens_survive_a_restart_and_die_with_a_password_change() {
    for setup in SETUPS {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("ringport.db");
        let db = format!("sqlite:{}", db_path.display());
        let r = sqlite_server(setup, &db);
        let (c, first) = password_login(&r, "dee");
        drop(c);

        // The secret sits next to the database, private.
        let secret = dir.path().join("ringport.db.token-secret");
        let meta = std::fs::metadata(&secret).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{setup}");
        assert_eq!(meta.len(), 32);
        let bytes = std::fs::read(&secret).unwrap();
        r.stop();

        // Restarted: the same secret, the token still logs in.
        let r = sqlite_server(setup, &db);
        assert_eq!(std::fs::read(&secret).unwrap(), bytes, "{setup}: kept");
        let (code, fresh) = resume(&r, &first);
        assert_eq!(code, 0, "{setup}: a token survives a restart");
        let fresh = fresh.unwrap();
        let log = r.log.lock().unwrap().join("\n");
        assert!(log.contains("ringport.db.token-secret"), "{log}");

        // The password changes (while the server runs): both tokens die.
        std::thread::sleep(Duration::from_millis(20));
        user(&["passwd", "dee", "--accounts", &db], "new\n");
        assert_eq!(resume(&r, &first).0, 113, "{setup}: revoked");
        assert_eq!(resume(&r, &fresh).0, 113, "{setup}: revoked too");
        // The new password logs in and gets a token that holds.
        let mut c = connect(&r);
        hello(&mut c);
        c.login("dee", "new").unwrap();
        assert_eq!(next(&mut c), Got::Login(0));
        let after = token(&mut c);
        drop(c);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(resume(&r, &after).0, 0, "{setup}: a later token holds");

        // Deleted: its tokens die as well.
        std::thread::sleep(Duration::from_millis(100));
        let (c, last) = password_login(&r, "eve");
        drop(c);
        std::thread::sleep(Duration::from_millis(20));
        user(&["del", "eve", "--accounts", &db], "");
        assert_eq!(resume(&r, &last).0, 113, "{setup}: deleted");

        let admin = r.admin.unwrap();
        common::scrape_until(
            admin,
            &[("ringport_logins_total{result=\"token_revoked\"}", 3.0)],
        );
        r.stop();
    }
}

/// Runs `ringport serve` expecting it to refuse to start; its stderr.
fn refused(args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ringport"));
    command
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--accounts", "memory"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(78), "exit 78 for {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_unusable_secret_file_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("world-readable");
    std::fs::write(&open, [7u8; 32]).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open_s = open.display().to_string();
    let err = refused(&["--token-secret-file", &open_s]);
    assert!(
        err.contains(&open_s) && err.contains("group or others"),
        "{err}"
    );

    let short = dir.path().join("short");
    std::fs::write(&short, [7u8; 31]).unwrap();
    std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
    let short_s = short.display().to_string();
    let err = refused(&["--token-secret-file", &short_s]);
    assert!(err.contains(&short_s) && err.contains("31 bytes"), "{err}");

    let unreadable = dir.path().join("no-such-dir").join("secret");
    let unreadable_s = unreadable.display().to_string();
    let err = refused(&["--token-secret-file", &unreadable_s]);
    assert!(err.contains(&unreadable_s), "{err}");
    // Nothing was left behind for the refused files.
    assert_eq!(std::fs::read(&open).unwrap(), [7u8; 32]);
    assert!(!Path::new(&unreadable).exists());
}

/// A thousand clients come back with tokens while password logins queue
/// for the hashing workers: every token login is answered within 2 s.
#[test]
fn a_thousand_token_logins_pass_queued_passwords() {
    const CLIENTS: usize = 1000;
    for setup in SETUPS {
        // Default argon2 cost, one hashing worker: passwords are slow.
        let r = serve(setup, &["--auth-workers", "1", "--max-sessions", "4000"]);
        // One account, its token sent by every client: each check goes
        // through the store (a thousand accounts would need a thousand
        // hashes first); one client gets the id, the others 31.
        let (c, t) = password_login(&r, "zed");
        drop(c);
        std::thread::sleep(Duration::from_millis(100));
        // Password logins that will queue for the one worker.
        let mut pw: Vec<Client> = (0..30)
            .map(|i| {
                let mut c = connect(&r);
                c.login(&format!("pw{i}"), "pw").unwrap();
                c
            })
            .collect();
        let mut clients: Vec<Client> = (0..CLIENTS)
            .map(|_| {
                let mut c = connect(&r);
                hello(&mut c);
                c
            })
            .collect();
        let started = Instant::now();
        for c in &mut clients {
            let len = u8::try_from(t.len()).unwrap();
            let mut frame = u16::try_from(6 + t.len()).unwrap().to_le_bytes().to_vec();
            frame.extend_from_slice(&[0x3D, 0x01, 0x00, len]);
            frame.extend_from_slice(&t);
            c.send_raw(&frame).unwrap();
        }
        let mut codes = std::collections::BTreeMap::<u16, usize>::new();
        for c in &mut clients {
            match c.recv().unwrap() {
                ServerPacket::LoginTokenRes(r) => *codes.entry(r.result.code()).or_default() += 1,
                other => panic!("expected 318, got {:?}", other.id()),
            }
        }
        let took = started.elapsed();
        // One session holds "zed": the others are told 31 (logged in on
        // another session) — after the store check, which is the point.
        assert_eq!(codes.values().sum::<usize>(), CLIENTS, "{codes:?}");
        assert!(
            codes.keys().all(|&k| k == 0 || k == 31),
            "{setup}: {codes:?}"
        );
        assert_eq!(codes.get(&0).copied(), Some(1), "{setup}: {codes:?}");
        assert!(
            took < Duration::from_secs(2),
            "{setup}: {CLIENTS} token logins took {took:?}"
        );
        // The passwords still get their answers.
        for c in &mut pw {
            assert_eq!(next(c), Got::Login(0));
        }
        drop(clients);
        r.stop();
    }
}
