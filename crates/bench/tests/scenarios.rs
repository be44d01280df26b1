//! End-to-end: each scenario run briefly against a real `ringport serve`
//! (the workspace's debug build) on loopback, checking what it promises.
//! The tests take turns (one lock): each loads the machine for a second or
//! two, and a slow-consumer run next to another load would measure both.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup should panic

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{json_number, run, Server};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The value of a string field of a flat JSON object (first occurrence).
fn json_string(json: &str, key: &str) -> String {
    let pattern = format!("\"{key}\":\"");
    let start = json
        .find(&pattern)
        .unwrap_or_else(|| panic!("no string {key} in {json}"))
        + pattern.len();
    json[start..].split('"').next().unwrap().to_string()
}

/// The object under `key` (a nested report), as text.
fn json_object(json: &str, key: &str) -> String {
    let pattern = format!("\"{key}\":{{");
    let start = json
        .find(&pattern)
        .unwrap_or_else(|| panic!("no object {key} in {json}"))
        + pattern.len()
        - 1;
    let mut depth = 0;
    for (i, c) in json[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return json[start..=start + i].to_string();
                }
            }
            _ => {}
        }
    }
    panic!("unterminated object {key} in {json}");
}

fn ok(args: &[&str]) -> String {
    let (success, stdout, stderr) = run(args);
    assert!(success, "{args:?} failed: stdout {stdout}, stderr {stderr}");
    stdout
}

#[test]
fn connect_storm_opens_and_holds_connections() {
    let _turn = turn();
    let Some(server) = Server::ringport("connect_storm_opens_and_holds_connections", &[]) else {
        return;
    };
    let target = server.addr.to_string();
    let json = ok(&[
        "connect-storm",
        "--target",
        &target,
        "--start-rate",
        "50",
        "--max-rate",
        "200",
        "--step-secs",
        "0.5",
        "--connections",
        "500",
        "--json",
    ]);
    // 25 + 50 + 100 attempts, every one connected and its echo answered.
    assert_eq!(json_number(&json, "attempts"), 175.0, "{json}");
    assert_eq!(json_number(&json, "connected"), 175.0, "{json}");
    assert_eq!(json_number(&json, "answered"), 175.0, "{json}");
    assert_eq!(json_number(&json, "failed"), 0.0, "{json}");
    assert_eq!(json_number(&json, "reached_rate"), 200.0, "{json}");
    assert_eq!(json_number(&json, "held_open"), 175.0, "{json}");
    assert!(json_number(&json, "connect_p99_us") > 0.0, "{json}");
}

#[test]
fn connect_storm_stops_when_the_server_refuses() {
    let _turn = turn();
    let Some(server) = Server::ringport(
        "connect_storm_stops_when_the_server_refuses",
        &["--max-sessions", "30"],
    ) else {
        return;
    };
    let target = server.addr.to_string();
    let json = ok(&[
        "connect-storm",
        "--target",
        &target,
        "--start-rate",
        "100",
        "--max-rate",
        "400",
        "--step-secs",
        "0.5",
        "--json",
    ]);
    // The first step's 50 connections are more than the server's 30: the
    // rest are accepted and closed, and the storm stops after that step.
    assert!(json_number(&json, "connected") > 0.0, "{json}");
    assert!(json_number(&json, "failed") >= 15.0, "{json}");
    assert!(json.contains("\"reached_rate\":null"), "{json}");
    assert!(
        json_string(&json, "stopped_by").starts_with("failures"),
        "{json}"
    );
    assert!(json.contains("\"failures\":{\""), "{json}");
}

#[test]
fn login_storm_with_a_busy_room() {
    let _turn = turn();
    let Some(server) = Server::ringport(
        "login_storm_with_a_busy_room",
        &["--rooms", "1", "--room-max-users", "4", "--chat-rate", "0"],
    ) else {
        return;
    };
    let target = server.addr.to_string();
    let pid = server.pid().to_string();
    let json = ok(&[
        "login-storm",
        "--target",
        &target,
        "--rate",
        "40",
        "--duration",
        "1.5",
        "--chat-room-members",
        "4",
        "--chat-rate",
        "40",
        "--server-pid",
        &pid,
        "--json",
    ]);
    assert_eq!(json_number(&json, "attempts"), 60.0, "{json}");
    assert_eq!(json_number(&json, "logins_ok"), 60.0, "{json}");
    assert!(json.contains("\"codes\":{\"NONE (0)\":60}"), "{json}");
    assert!(json_number(&json, "answer_p99_us") > 0.0, "{json}");
    assert!(json.ends_with("\"pass\":true}\n"), "{json}");
    // The room ran through the storm with every delivery.
    let chat = json_object(&json, "chat");
    assert_eq!(json_number(&chat, "missing"), 0.0, "{chat}");
    assert!(json_number(&chat, "delivered") > 0.0, "{chat}");
    assert!(json_number(&chat, "p99_us") > 0.0, "{chat}");
}

/// A burst of first logins on the server's defaults (the default argon2
/// cost restored over the helper's cheap one, login deadline, admission
/// bound): every login is answered, 0 or 34.
#[test]
fn a_login_burst_is_answered_in_full() {
    let _turn = turn();
    let Some(server) = Server::ringport(
        "a_login_burst_is_answered_in_full",
        &["--argon2-memory-kib", "19456", "--argon2-iterations", "2"],
    ) else {
        return;
    };
    let target = server.addr.to_string();
    let pid = server.pid().to_string();
    let json = ok(&[
        "login-storm",
        "--target",
        &target,
        "--burst",
        "120",
        "--server-pid",
        &pid,
        "--json",
    ]);
    assert_eq!(json_number(&json, "attempts"), 120.0, "{json}");
    assert_eq!(json_number(&json, "answered"), 120.0, "{json}");
    assert_eq!(json_number(&json, "burst"), 120.0, "{json}");
    assert!(json_number(&json, "server_rss_kib") > 0.0, "{json}");
    assert!(json.ends_with("\"pass\":true}\n"), "{json}");
}

#[test]
fn login_storm_reports_refusals_and_small_rooms() {
    let _turn = turn();
    let Some(server) = Server::ringport(
        "login_storm_reports_refusals_and_small_rooms",
        &["--auto-register", "false"],
    ) else {
        return;
    };
    let target = server.addr.to_string();
    let (success, json, stderr) = run(&[
        "login-storm",
        "--target",
        &target,
        "--rate",
        "20",
        "--duration",
        "0.5",
        "--json",
    ]);
    assert!(success, "{stderr}");
    assert!(
        json.contains("\"codes\":{\"LOGIN_USER_INVALID_PW (33)\":10}"),
        "{json}"
    );
    assert!(json.ends_with("\"pass\":false}\n"), "{json}");
    assert!(stderr.contains("--auto-register"), "{stderr}");
    drop(server);

    let Some(server) = Server::ringport(
        "login_storm_reports_refusals_and_small_rooms",
        &["--rooms", "1", "--room-max-users", "2"],
    ) else {
        return;
    };
    let target = server.addr.to_string();
    let (success, _, stderr) = run(&[
        "login-storm",
        "--target",
        &target,
        "--duration",
        "0.5",
        "--chat-room-members",
        "3",
    ]);
    assert!(!success);
    assert!(stderr.contains("ENTER_ROOM_FULL_USER (54)"), "{stderr}");
    assert!(stderr.contains("--room-max-users 3"), "{stderr}");
}

#[test]
fn slow_consumer_is_cut_off_and_the_others_get_everything() {
    let _turn = turn();
    let Some(server) = Server::ringport(
        "slow_consumer_is_cut_off_and_the_others_get_everything",
        // Not the defaults, to see the cut within a short run: the slow
        // member is cut once its socket took nothing for 1 s (default 10 s),
        // and a 64 KiB kernel send buffer (default: autotuned to MiBs) makes
        // that stall come soon after it stops reading.
        &[
            "--rooms",
            "1",
            "--room-max-users",
            "4",
            "--chat-rate",
            "0",
            "--send-stall-timeout",
            "1",
            "--socket-send-buffer",
            "65536",
        ],
    ) else {
        return;
    };
    let target = server.addr.to_string();
    // ~2.4 MB/s towards the slow member: the kernel's buffers fill within a
    // fraction of a second, then its socket takes nothing.
    let json = ok(&[
        "slow-consumer",
        "--target",
        &target,
        "--members",
        "4",
        "--rate",
        "8000",
        "--warmup",
        "0.5",
        "--duration",
        "4",
        "--slow-drain",
        "3",
        "--json",
    ]);
    assert!(json.contains("\"slow_cut_off\":true"), "{json}");
    assert!(json.contains("\"others_clean\":true"), "{json}");
    assert_eq!(json_number(&json, "leave_notices"), 3.0, "{json}");
    assert!(json_number(&json, "cut_off_after_secs") > 0.0, "{json}");
    let chat = json_object(&json, "chat");
    assert_eq!(json_number(&chat, "missing"), 0.0, "{chat}");
    assert_eq!(
        json_number(&chat, "delivered"),
        json_number(&chat, "expected")
    );
    assert_eq!(json_number(&chat, "errors"), 0.0, "{chat}");
}

#[test]
fn soak_samples_the_server_and_misses_nothing() {
    let _turn = turn();
    let Some(server) = Server::ringport(
        "soak_samples_the_server_and_misses_nothing",
        &["--rooms", "2", "--room-max-users", "3", "--chat-rate", "0"],
    ) else {
        return;
    };
    let target = server.addr.to_string();
    let pid = server.pid().to_string();
    let json = ok(&[
        "soak",
        "--target",
        &target,
        "--rooms",
        "2",
        "--members",
        "3",
        "--rate",
        "60",
        "--duration",
        "2",
        "--warmup",
        "0.2",
        "--sample-every",
        "0.5",
        "--server-pid",
        &pid,
        "--json",
    ]);
    assert_eq!(json_number(&json, "missing"), 0.0, "{json}");
    assert!(json_number(&json, "samples_taken") >= 4.0, "{json}");
    assert!(json_number(&json, "rss_first_kib") > 0.0, "{json}");
    // The 6 connections, at least, were open while sampling.
    assert!(json_number(&json, "fds_max") >= 6.0, "{json}");
    assert!(json.contains("\"samples\":[{\"secs\":"), "{json}");
    assert!(json.ends_with("\"pass\":true}\n"), "{json}");
}

#[test]
fn chat_load_against_nats() {
    let _turn = turn();
    let Ok(status) = Command::new("nats-server").arg("--version").output() else {
        assert!(
            std::env::var_os("RINGPORT_REQUIRE_NATS").is_none_or(|v| v != "1"),
            "nats-server is not installed and RINGPORT_REQUIRE_NATS=1 (install the \
             nats-server package)"
        );
        eprintln!("\n*** SKIPPED chat_load_against_nats: nats-server is not installed ***\n");
        return;
    };
    assert!(status.status.success());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("nats-server")
        .args(["--addr", "127.0.0.1", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let target = addr.to_string();
    let (success, json, stderr) = run(&[
        "chat",
        "--target",
        &target,
        "--system",
        "nats",
        "--rooms",
        "2",
        "--members",
        "3",
        "--rate",
        "60",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        "--json",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(success, "{stderr}");
    let expected = json_number(&json, "expected");
    assert!((170.0..=190.0).contains(&expected), "{json}");
    assert_eq!(json_number(&json, "delivered"), expected, "{json}");
    for key in [
        "missing",
        "gaps",
        "duplicates",
        "foreign",
        "corrupt",
        "errors",
    ] {
        assert_eq!(json_number(&json, key), 0.0, "{key}: {json}");
    }
    // Not asserted: `pass`, which also needs p99 < 50 ms (a benchmark
    // verdict, not one for a loaded test machine).
}

#[test]
fn reconnect_storm_brings_everyone_back_with_tokens() {
    let _turn = turn();
    let Some(server) = Server::ringport("reconnect_storm_brings_everyone_back_with_tokens", &[])
    else {
        return;
    };
    let target = server.addr.to_string();
    let json = ok(&[
        "reconnect-storm",
        "--target",
        &target,
        "--clients",
        "60",
        "--setup-rate",
        "200",
        "--json",
    ]);
    assert!(json.contains("\"pass\":true"), "{json}");
    let tokens = json_object(&json, "tokens");
    assert!(tokens.contains("\"ok\":60"), "{tokens}");
    assert!(tokens.contains("\"unanswered\":0"), "{tokens}");
    let passwords = json_object(&json, "passwords");
    assert!(passwords.contains("\"unanswered\":0"), "{passwords}");
}
