//! End-to-end: the echo load against the tokio-echo baseline in both
//! framings, and against a server that corrupts echoes.
#![allow(clippy::unwrap_used)] // test code: a failed setup should panic

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use common::{json_number, run_echo, Server};

fn assert_clean_run(framing: &str) {
    let server = Server::tokio_echo(framing);
    let out = run_echo(server.addr, framing, &[]);
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "status {:?}, stdout {json}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(json_number(&json, "completed") > 0.0, "{json}");
    assert_eq!(json_number(&json, "mismatches"), 0.0, "{json}");
    assert_eq!(json_number(&json, "errors"), 0.0, "{json}");
    assert_eq!(json_number(&json, "connected"), 4.0, "{json}");
    assert!(json_number(&json, "p99_us") > 0.0, "{json}");
}

#[test]
fn raw_echo_against_tokio_baseline() {
    assert_clean_run("raw");
}

#[test]
fn packet_echo_against_tokio_baseline() {
    assert_clean_run("packet");
}

/// A server that echoes every chunk it reads with its last byte flipped.
fn start_corrupting_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    let n = match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf[n - 1] ^= 0x01;
                    if stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn corrupted_echo_is_a_mismatch_and_fails_the_run() {
    let addr = start_corrupting_server();
    for framing in ["raw", "packet"] {
        let out = run_echo(addr, framing, &[]);
        let json = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(2), "{framing}: {json}");
        assert!(json_number(&json, "mismatches") > 0.0, "{json}");
        assert_eq!(json_number(&json, "completed"), 0.0, "{json}");
        assert!(json.contains("\"first_mismatch\":\"connection"), "{json}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("mismatch"));
    }
}

#[test]
fn human_summary_reports_server_cpu() {
    let server = Server::tokio_echo("raw");
    let out = common::bench()
        .args(["echo", "--target", &server.addr.to_string()])
        .args(["--connections", "2", "--duration", "0.5", "--warmup", "0"])
        .args(["--server-pid", &server.pid().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    for needle in [
        "msg/s",
        "p99.9",
        "mismatches  0",
        "generator   CPU",
        "server      pid",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
}
