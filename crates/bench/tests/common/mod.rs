//! Helpers shared by the integration tests: run the built binary, start the
//! tokio-echo baseline on a free port, read fields out of a JSON report.
#![allow(dead_code, clippy::unwrap_used)] // test helpers: a failure should panic

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
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

    /// Starts the `tokio-chat` baseline on `127.0.0.1:0` (one worker
    /// thread) and waits for its address.
    pub fn tokio_chat(rooms: u32, max_users: u32) -> Server {
        let mut child = bench()
            .args(["tokio-chat", "--listen", "127.0.0.1:0"])
            .args(["--worker-threads", "1", "--rooms", &rooms.to_string()])
            .args(["--room-max-users", &max_users.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let addr = wait_for_address(child.stdout.take().unwrap());
        Server { child, addr }
    }

    /// Starts `ringport serve` (the workspace's debug build) on
    /// `127.0.0.1:0` with cheap password hashing, one I/O thread and
    /// `extra` flags, and waits for its address. `None`, after a loud note,
    /// when the binary is not built and `CI` is unset; in CI a missing
    /// binary fails the test.
    pub fn ringport(test: &str, extra: &[&str]) -> Option<Server> {
        Server::ringport_line(test, extra).map(|(server, _)| server)
    }

    /// [`Server::ringport`], with its startup line (the other listeners'
    /// addresses: `ws=`, `tls=`).
    pub fn ringport_line(test: &str, extra: &[&str]) -> Option<(Server, String)> {
        let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/ringport");
        if !binary.exists() {
            // `cargo test --workspace` builds it (the ringport package's own
            // tests need it); only a partial run can miss it. CI must not.
            assert!(
                std::env::var_os("CI").is_none(),
                "target/debug/ringport is not built, and CI is set: run the whole workspace's tests"
            );
            eprintln!(
                "\n*** SKIPPED {test}: target/debug/ringport is not built \
                 (run `cargo build -p ringport` first) ***\n"
            );
            return None;
        }
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--io-threads", "1"])
            // Cheap password hashing, in-memory accounts and no admin
            // listener unless `extra` says otherwise (flags override the
            // environment): these tests check the generator's reports, and
            // some log in hundreds of members before their load starts.
            .env("RINGPORT_ACCOUNTS__ARGON2_MEMORY_KIB", "8")
            .env("RINGPORT_ACCOUNTS__ARGON2_ITERATIONS", "1")
            .env("RINGPORT_ACCOUNTS__STORE", "memory")
            .env("RINGPORT_ADMIN__LISTEN", "none")
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let line = wait_for_listening(child.stderr.take().unwrap());
        let addr = address_after(&line, "listening on ").unwrap();
        Some((Server { child, addr }, line))
    }

    /// A server already started as `child`, listening on `addr`.
    pub fn from_child(child: Child, addr: SocketAddr) -> Server {
        Server { child, addr }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Reads lines of `from` until one holds `listening on ADDR`; the rest of
/// the output is drained on a thread so the server never blocks on it.
pub fn wait_for_address(from: impl Read + Send + 'static) -> SocketAddr {
    let line = wait_for_listening(from);
    address_after(&line, "listening on ").unwrap()
}

/// Reads lines of `from` until one holds `listening on`, and returns it;
/// the rest is drained on a thread.
pub fn wait_for_listening(from: impl Read + Send + 'static) -> String {
    let mut lines = BufReader::new(from);
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "server exited before listening"
        );
        if line.contains("listening on ") {
            std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
            return line;
        }
    }
}

/// The address right after `marker` in `line` (`listening on `, `ws=`).
pub fn address_after(line: &str, marker: &str) -> Option<SocketAddr> {
    line.split(marker)
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs `ringport-bench` with `args`; returns (success, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = bench().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
