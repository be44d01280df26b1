//! `--backend auto` falls back to poll, with one warning saying why, when the
//! kernel refuses io_uring; `--backend io-uring` then fails with a clear
//! error and exit code 1.
//!
//! The kernel is made to refuse io_uring with the `kernel.io_uring_disabled`
//! sysctl (Linux 6.6+), which is system-wide: this test lives alone in its
//! own binary (cargo runs test binaries one after another), restores the
//! setting when it ends (even by panic), and needs root. Elsewhere it says
//! loudly that it did not run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

const SYSCTL: &str = "/proc/sys/kernel/io_uring_disabled";

/// Puts the sysctl back as it was.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(SYSCTL, &self.0);
    }
}

#[test]
fn auto_falls_back_to_poll_when_io_uring_is_refused() {
    let Ok(original) = std::fs::read_to_string(SYSCTL) else {
        eprintln!("\n*** SKIPPED: {SYSCTL} does not exist (kernel older than 6.6) ***\n");
        return;
    };
    if std::fs::write(SYSCTL, original.trim()).is_err() {
        eprintln!("\n*** SKIPPED: writing {SYSCTL} needs root ***\n");
        return;
    }
    let _restore = Restore(original.trim().to_string());
    std::fs::write(SYSCTL, "2").unwrap();

    // auto: one warning naming the reason, then the poll backend.
    let r = common::start(&["echo", "--backend", "auto", "--io-threads", "2"]);
    let log = r.log.lock().unwrap().join("\n");
    let warnings = log.matches("using the poll backend instead").count();
    assert_eq!(warnings, 1, "one warning line: {log}");
    assert!(
        log.contains("Operation not permitted"),
        "it says why: {log}"
    );
    assert!(
        log.contains("backend=poll"),
        "poll in the startup line: {log}"
    );
    let mut c = std::net::TcpStream::connect(r.addr).unwrap();
    use std::io::{Read, Write};
    c.write_all(b"still serving").unwrap();
    let mut buf = [0u8; 13];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"still serving");
    r.stop();

    // io-uring required: a clear error, exit 1.
    let out = Command::new(env!("CARGO_BIN_EXE_ringport"))
        .args(["echo", "--listen", "127.0.0.1:0", "--backend", "io-uring"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("io_uring is unavailable"), "{stderr}");
}
