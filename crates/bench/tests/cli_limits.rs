//! The binary refuses what it must refuse, and `idle` holds connections.
#![allow(clippy::unwrap_used)] // test code: a failed setup should panic

mod common;

use common::{bench, json_number, Server};

#[test]
fn remote_target_is_refused_without_allow_remote() {
    let out = bench()
        .args(["echo", "--target", "192.0.2.1:11021", "--duration", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
}

#[test]
fn bounds_are_enforced() {
    for args in [
        &["echo", "--connections", "20001"][..],
        &["echo", "--duration", "601"],
        &["echo", "--framing", "packet", "--size", "8193"],
        &["idle", "--hold", "1000"],
        &["chat", "--rooms", "21", "--members", "1000"],
        &["chat", "--members", "1001"],
        &["chat", "--rate", "0"],
        &["chat", "--size", "300"],
        &["chat", "--target", "192.0.2.1:11021"],
        &["connect-storm", "--connections", "20001"],
        &["connect-storm", "--max-rate", "100001"],
        &[
            "connect-storm",
            "--start-rate",
            "1",
            "--max-rate",
            "2",
            "--step-secs",
            "600",
        ],
        &["connect-storm", "--start-rate", "500", "--max-rate", "100"],
        &["connect-storm", "--close", "--attempts", "1000001"],
        &["connect-storm", "--target", "192.0.2.1:11021"],
        &["login-storm", "--duration", "601"],
        &["login-storm", "--rate", "0"],
        &["login-storm", "--rate", "100000", "--duration", "600"],
        &["login-storm", "--chat-room-members", "1001"],
        &[
            "login-storm",
            "--user-prefix",
            "abcdefghijklmnopqrstuvwxyz0123456",
        ],
        &["slow-consumer", "--members", "2"],
        &["slow-consumer", "--size", "300"],
        &[
            "slow-consumer",
            "--stop-after",
            "10",
            "--warmup",
            "1",
            "--duration",
            "5",
        ],
        &["soak", "--server-pid", "1", "--duration", "86401"],
        &[
            "soak",
            "--server-pid",
            "1",
            "--rooms",
            "21",
            "--members",
            "1000",
        ],
        &["soak", "--server-pid", "1", "--sample-every", "0.01"],
        &["soak"],
    ] {
        let out = bench().args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
    }
}

#[test]
fn idle_connections_are_counted() {
    let server = Server::tokio_echo("raw");
    let out = bench()
        .args(["idle", "--target", &server.addr.to_string()])
        .args(["--connections", "50", "--hold", "0.2", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    assert!(first.starts_with("connected 50 of 50 in "), "{first}");
    let json = lines.next().unwrap();
    assert_eq!(json_number(json, "connected"), 50.0);
    assert_eq!(json_number(json, "lost_while_holding"), 0.0);
}
