//! The `ringport echo` binary end to end: starts on a free port, echoes raw
//! bytes and DEV_ECHO packets on both backends, closes a session that sends a
//! bad frame, and exits 0 on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use ringport_client::proto::ServerPacket;

mod common;

fn start(extra: &[&str]) -> common::Running {
    let mut args = vec!["echo", "--io-threads", "2"];
    args.extend_from_slice(extra);
    common::start(&args)
}

fn stop(r: common::Running) {
    r.stop();
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

#[test]
fn raw_echo_on_both_backends_inline_and_on_an_app_thread() {
    for (backend, mode) in [
        ("io-uring", None),
        ("poll", None),
        ("io-uring", Some("--app-thread")),
        ("poll", Some("--app-thread")),
    ] {
        let mut args = vec!["--backend", backend];
        args.extend(mode);
        let r = start(&args);
        let mut c = connect(r.addr);
        c.write_all(b"stage one").unwrap();
        let mut buf = [0u8; 9];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"stage one", "{backend}");
        stop(r);
    }
}

#[test]
fn packet_echo_and_bad_frame() {
    for (backend, mode) in [
        ("io-uring", None),
        ("poll", None),
        ("io-uring", Some("--app-thread")),
        ("poll", Some("--app-thread")),
    ] {
        let mut args = vec!["--backend", backend, "--framing", "packet"];
        args.extend(mode);
        let r = start(&args);
        let mut client = ringport_client::Client::connect(r.addr).unwrap();
        client.echo(b"ping").unwrap();
        match client.recv().unwrap() {
            ServerPacket::DevEcho(echo) => assert_eq!(echo.body, b"ping", "{backend}"),
            other => panic!("{backend}: expected an echo, got {other:?}"),
        }
        // A type byte other than 0 comes back as 0; other ids are ignored.
        let mut c = connect(r.addr);
        c.write_all(&[5, 0, 201, 0, 0]).unwrap(); // a bodyless login: ignored
        c.write_all(&[7, 0, 1, 0, 9, b'h', b'i']).unwrap();
        let mut buf = [0u8; 7];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(buf, [7, 0, 1, 0, 0, b'h', b'i'], "{backend}");
        // A length below the header closes that session only.
        c.write_all(&[3, 0, 1, 0, 0]).unwrap();
        let mut rest = Vec::new();
        let n = c.read_to_end(&mut rest).unwrap_or(0);
        assert_eq!(n, 0, "{backend}: closed without a reply");
        client.echo(b"still here").unwrap();
        assert!(matches!(client.recv().unwrap(), ServerPacket::DevEcho(_)));
        stop(r);
    }
}

#[test]
fn bind_failure_exits_1_with_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_ringport"))
        .args(["echo", "--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_ringport"))
        .args(["echo", "--backend", "carrier-pigeon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend"));
}

/// A server whose stderr reader has gone away (a supervisor or a test that
/// exited) still shuts down cleanly on SIGTERM: logging to a closed pipe
/// must not kill the thread that logs.
#[test]
fn sigterm_works_after_stderr_is_closed() {
    use std::io::BufRead;
    for backend in ["io-uring", "poll"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringport"))
            .args([
                "--log",
                "debug",
                "echo",
                "--listen",
                "127.0.0.1:0",
                "--backend",
                backend,
            ])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("listening on") {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "server printed its address"
            );
        }
        drop(stderr); // nobody reads the server's log any more
        std::thread::sleep(Duration::from_millis(100));
        common::signal(&child, "TERM");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{backend}: the server ignored SIGTERM once its stderr was closed");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "{backend}: clean exit");
    }
}
