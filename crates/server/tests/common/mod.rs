//! Running the `ringport` binary in tests: start it on 127.0.0.1:0, learn the
//! address from its startup line, stop it with SIGTERM.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server process.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Starts `ringport <args> --listen 127.0.0.1:0` and waits for its
/// "listening on ADDR" line.
pub fn start(args: &[&str]) -> Running {
    start_wrapped(&[], args)
}

/// Like [`start`], with the binary run under `wrapper` (e.g. `prlimit
/// --nofile=64:64`): `wrapper[0] wrapper[1..] ringport ARGS`.
pub fn start_wrapped(wrapper: &[&str], args: &[&str]) -> Running {
    let bin = env!("CARGO_BIN_EXE_ringport");
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let mut child = command
        .args(["--log", "info"])
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let log = Arc::new(Mutex::new(Vec::new()));
    let addr = loop {
        let Some(line) = lines.next() else {
            let status = child.wait().unwrap();
            panic!(
                "server exited before listening: {status}; log: {:?}",
                log.lock().unwrap()
            );
        };
        let line = line.unwrap();
        log.lock().unwrap().push(line.clone());
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .parse::<SocketAddr>()
                .unwrap();
        }
    };
    let log2 = log.clone();
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            log2.lock().unwrap().push(line);
        }
    });
    Running { child, addr, log }
}

impl Running {
    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        signal(&self.child, "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and asserts a clean exit.
    pub fn stop(self) {
        let status = self.terminate();
        assert_eq!(status.code(), Some(0), "clean exit after SIGTERM");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal with the `kill` command (keeps tests free of unsafe code).
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
