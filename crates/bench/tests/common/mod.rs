//! Helpers shared by the integration tests: run the built binary, start the
//! tokio-echo baseline on a free port, read fields out of a JSON report.
#![allow(dead_code, clippy::unwrap_used)] // test helpers: a failure should panic

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};

/// The `ringport-bench` binary under test.
pub fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringport-bench"))
}

/// A server child process, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `tokio-echo` on `127.0.0.1:0` and waits for its address.
    pub fn tokio_echo(framing: &str) -> Server {
        let mut child = bench()
            .args([
                "tokio-echo",
                "--listen",
                "127.0.0.1:0",
                "--worker-threads",
                "1",
            ])
            .args(["--framing", framing])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server { child, addr }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a short `echo` load against `addr` with `--json`.
pub fn run_echo(addr: SocketAddr, framing: &str, extra: &[&str]) -> Output {
    bench()
        .args(["echo", "--target", &addr.to_string(), "--json"])
        .args(["--framing", framing, "--connections", "4", "--size", "100"])
        .args(["--duration", "0.8", "--warmup", "0.2"])
        .args(extra)
        .output()
        .unwrap()
}

/// The number after `"key":` in a flat JSON object.
pub fn json_number(json: &str, key: &str) -> f64 {
    let pattern = format!("\"{key}\":");
    let start = json
        .find(&pattern)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pattern.len();
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number in {json}"))
}
