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
