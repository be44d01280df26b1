//! The `ringport` binary as an operator meets it: configuration layers and
//! their precedence, `config example` / `config check`, exit codes, systemd
//! notification, JSON logs, the log file and per-session spans.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// Runs the binary to completion. Accounts default to the in-memory store
/// (through the environment, so a test's own flag or variable still wins)
/// so that no test leaves a `ringport.db` behind.
fn ringport(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringport"))
        .args(args)
        .env("RINGPORT_ACCOUNTS__STORE", "memory")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh directory under the target's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ops-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

const CHEAP: [&str; 4] = ["--argon2-memory-kib", "8", "--argon2-iterations", "1"];

#[test]
fn the_printed_example_is_valid_and_is_the_contrib_file() {
    let out = ringport(&["config", "example"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let contrib = include_str!("../../../contrib/ringport.toml");
    assert_eq!(text, contrib);
    let dir = temp_dir("example");
    let path = write(&dir, "ringport.toml", &text);
    let out = ringport(&["config", "check", &path], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

#[test]
fn bad_configuration_exits_78_naming_the_key_and_the_file() {
    let dir = temp_dir("bad");
    let unknown = write(
        &dir,
        "unknown.toml",
        "[chat]\nrooms = 3\nroom_maxusers = 9\n",
    );
    let malformed = write(
        &dir,
        "malformed.toml",
        "[engine]\nmax_sessions = \"lots\"\n",
    );
    let range = write(&dir, "range.toml", "[engine]\nrecv_buffers = 1000\n");
    let cluster_range = write(&dir, "cluster_range.toml", "[cluster]\nlease_ms = 50\n");
    let cluster_unknown = write(&dir, "cluster_unknown.toml", "[cluster]\nlease = 5000\n");
    for (args, needles) in [
        (
            vec!["config", "check", &unknown],
            vec!["unknown.toml", "room_maxusers"],
        ),
        (
            vec!["serve", "--config", &unknown],
            vec!["unknown.toml", "room_maxusers"],
        ),
        (
            vec!["serve", "--config", &malformed],
            vec!["malformed.toml", "max_sessions"],
        ),
        (
            vec!["config", "check", &range],
            vec!["range.toml", "engine.recv_buffers"],
        ),
        (
            vec!["serve", "--config", &range],
            vec!["range.toml", "engine.recv_buffers"],
        ),
        (
            vec!["serve", "--config", "/nonexistent/ringport.toml"],
            vec!["/nonexistent/ringport.toml"],
        ),
        (vec!["serve", "--rooms", "0"], vec!["chat.rooms"]),
        (
            vec!["config", "check", &cluster_range],
            vec!["cluster_range.toml", "cluster.lease_ms"],
        ),
        (
            vec!["serve", "--config", &cluster_unknown],
            vec!["cluster_unknown.toml", "lease"],
        ),
        (
            vec!["serve", "--cluster-heartbeat-ms", "5000"],
            vec!["cluster.heartbeat_ms"],
        ),
        (
            vec!["serve", "--cluster", "redis://:s3cret@nowhere:port"],
            vec!["cluster.url", "redis://:***@nowhere:port"],
        ),
    ] {
        let out = ringport(&args, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(78), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: {n} in {err}");
        }
        assert!(!err.contains("s3cret"), "{args:?}: {err}");
    }
    let out = ringport(&["serve"], &[("RINGPORT_CLUSTER__LEASE_MS", "10")]);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        stderr(&out).contains("cluster.lease_ms"),
        "{}",
        stderr(&out)
    );
    let out = ringport(&["serve"], &[("RINGPORT_CHAT__ROOMZ", "3")]);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        stderr(&out).contains("RINGPORT_CHAT__ROOMZ"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["serve", "--no-such-flag"],
        vec!["serve", "--rooms", "many"],
        vec!["serve", "--admin-listen", "everywhere"],
        vec!["serve", "--log-format", "xml"],
        vec!["serve", "--log", "info,[[["],
        vec!["config", "check"],
        vec!["frobnicate"],
    ] {
        let out = ringport(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_port_that_cannot_be_bound_exits_1_with_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = ringport(&["serve", "--listen", &addr, "--admin-listen", "none"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("cannot listen on {addr}")),
        "{}",
        stderr(&out)
    );
    let out = ringport(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            &addr,
            "--accounts",
            "memory",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&addr) && err.contains("admin.listen"), "{err}");
}

#[test]
fn a_log_file_that_cannot_be_created_exits_1() {
    let dir = temp_dir("nolog");
    let blocker = write(&dir, "not-a-dir", "a file where a directory should be");
    let prefix = format!("{blocker}/ringport");
    let mut args = vec!["serve", "--log-file", &prefix, "--admin-listen", "none"];
    args.extend(CHEAP);
    let out = ringport(&args, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("log.file"), "{}", stderr(&out));
}

/// The value of `key=` in a text log line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = temp_dir("layers");
    let file = write(
        &dir,
        "ringport.toml",
        "[chat]\nrooms = 3\nroom_start = 100\nroom_max_users = 2\n[admin]\nlisten = \"none\"\n",
    );
    let mut args = vec!["serve", "--config", &file, "--rooms", "7"];
    args.extend(CHEAP);
    let r = common::start_with_env(
        &args,
        &[
            ("RINGPORT_CHAT__ROOMS", "5"),
            ("RINGPORT_CHAT__ROOM_START", "200"),
        ],
    );
    let log = r.log.lock().unwrap().join("\n");
    let line = log
        .lines()
        .find(|l| l.contains("listening on"))
        .unwrap()
        .to_string();
    assert_eq!(
        field(&line, "rooms"),
        Some("7"),
        "flag over env and file: {line}"
    );
    assert_eq!(
        field(&line, "room_start"),
        Some("200"),
        "env over file: {line}"
    );
    assert_eq!(
        field(&line, "room_max_users"),
        Some("2"),
        "file over default: {line}"
    );
    assert_eq!(field(&line, "admin"), Some("none"), "{line}");
    assert_eq!(
        field(&line, "max_sessions"),
        Some("10000"),
        "default: {line}"
    );
    assert_eq!(r.admin, None);
    // The rooms really are 200..=206 (rooms 7 from 200).
    let mut c = ringport_client::Client::connect(r.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.login("u", "p").unwrap();
    let _ = c.recv().unwrap();
    for (room, code) in [(206, 0), (207, 61)] {
        c.enter(room).unwrap();
        match c.recv().unwrap() {
            ringport_client::proto::ServerPacket::RoomEnterRes(res) => {
                assert_eq!(res.result.code(), code, "room {room}");
            }
            other => panic!("{other:?}"),
        }
        if code == 0 {
            let _ = c.recv().unwrap(); // the user list
            c.leave().unwrap();
            let _ = c.recv().unwrap();
        }
    }
    r.stop();
}

#[test]
fn cluster_keys_layer_like_the_others_and_hide_the_password() {
    // Nothing listens on the URL's port: the node starts anyway (logins
    // would answer 34) and says what it was told.
    let dir = temp_dir("cluster-layers");
    let file = write(
        &dir,
        "ringport.toml",
        "[cluster]\nurl = \"redis://:s3cret@127.0.0.1:1/0\"\nprefix = \"file:\"\nnode_id = \"from-file\"\n[admin]\nlisten = \"none\"\n",
    );
    let mut args = vec!["serve", "--config", &file, "--cluster-node-id", "from-flag"];
    args.extend(CHEAP);
    let r = common::start_with_env(
        &args,
        &[
            ("RINGPORT_CLUSTER__PREFIX", "env:"),
            ("RINGPORT_CLUSTER__NODE_ID", "from-env"),
        ],
    );
    let log = r.log.lock().unwrap().join("\n");
    assert!(!log.contains("s3cret"), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("cluster mode") && l.contains("node="))
        .unwrap_or_else(|| panic!("no cluster line in {log}"))
        .to_string();
    assert_eq!(field(&line, "node"), Some("from-flag"), "flag: {line}");
    assert_eq!(
        field(&line, "prefix"),
        Some("env:"),
        "env over file: {line}"
    );
    assert_eq!(
        field(&line, "redis"),
        Some("redis://:***@127.0.0.1:1/0"),
        "file, redacted: {line}"
    );
    let listening = log.lines().find(|l| l.contains("listening on")).unwrap();
    assert_eq!(
        field(listening, "cluster"),
        Some("redis://:***@127.0.0.1:1/0"),
        "{listening}"
    );
    r.stop();
}

#[test]
fn systemd_hears_ready_then_stopping() {
    let dir = temp_dir("notify");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut args = vec!["serve", "--admin-listen", "none"];
    args.extend(CHEAP);
    let r = common::start_with_env(&args, &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())]);
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.lines().any(|l| l == "READY=1"), "{msg:?}");
    common::signal(&r.child, "TERM");
    let n = socket.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.lines().any(|l| l == "STOPPING=1"), "{msg:?}");
    assert_eq!(r.wait_exit().code(), Some(0));
}

#[test]
fn json_logs_a_log_file_and_session_spans() {
    let dir = temp_dir("logs");
    let prefix = dir.join("ringport");
    let mut args = vec![
        "serve",
        "--log-format",
        "json",
        "--log-file",
        prefix.to_str().unwrap(),
        "--admin-listen",
        "none",
    ];
    args.extend(CHEAP);
    let r = common::start(&args);
    let mut c = ringport_client::Client::connect(r.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.login("jsonuser", "secret-password").unwrap();
    let _ = c.recv().unwrap();
    drop(c);
    r.stop();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ringport."))
        })
        .collect();
    assert_eq!(files.len(), 1, "one dated file: {files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let listening = text
        .lines()
        .find(|l| l.contains("listening on"))
        .expect("the startup line is in the file");
    assert!(
        listening.starts_with('{') && listening.ends_with('}'),
        "{listening}"
    );
    for key in [
        "\"level\":\"INFO\"",
        "\"backend\":",
        "\"io_threads\":",
        "\"store\":\"memory\"",
    ] {
        assert!(listening.contains(key), "{key} in {listening}");
    }
    assert!(!text.contains("secret-password"), "no passwords in logs");

    // Debug level: the chat's lines carry the session span with id and peer.
    let mut args = vec!["--log", "debug", "serve", "--admin-listen", "none"];
    args.extend(CHEAP);
    let r = common::start(&args);
    let mut c = ringport_client::Client::connect(r.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let me = c.local_addr().unwrap();
    c.login("spanuser", "secret-password").unwrap();
    let _ = c.recv().unwrap();
    drop(c);
    std::thread::sleep(Duration::from_millis(200));
    let log = r.log.lock().unwrap().join("\n");
    r.stop();
    let line = log
        .lines()
        .find(|l| l.contains("login ok"))
        .unwrap_or_else(|| panic!("no login line in {log}"));
    assert!(line.contains("session{id="), "{line}");
    assert!(line.contains(&format!("peer={me}")), "{line}");
    assert!(!log.contains("secret-password"), "no passwords in logs");
}
