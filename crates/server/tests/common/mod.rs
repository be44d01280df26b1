//! Running the `ringport` binary in tests: start it on 127.0.0.1:0, learn the
//! address from its startup line, stop it with SIGTERM.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server process.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    /// The admin listener's address, when the startup line names one.
    pub admin: Option<SocketAddr>,
    /// The WebSocket listener's address, when the startup line names one.
    pub ws: Option<SocketAddr>,
    /// The TLS listener's address, when the startup line names one.
    pub tls: Option<SocketAddr>,
    pub log: Arc<Mutex<Vec<String>>>,
}

/// The address that follows `marker` in `line`, if any (text or JSON logs).
pub fn addr_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let rest = line.split(marker).nth(1)?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    addr.parse().ok()
}

/// Starts `ringport <args> --listen 127.0.0.1:0` and waits for its
/// "listening on ADDR" line.
pub fn start(args: &[&str]) -> Running {
    start_with_env(args, &[])
}

/// [`start`] with extra environment variables. Logs at `info` unless `args`
/// hold a `--log` of their own.
pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Running {
    start_full(&[], args, env)
}

/// Like [`start`], with the binary run under `wrapper` (e.g. `prlimit
/// --nofile=64:64`): `wrapper[0] wrapper[1..] ringport ARGS`.
pub fn start_wrapped(wrapper: &[&str], args: &[&str]) -> Running {
    start_full(wrapper, args, &[])
}

/// Like [`start`], without the `--listen 127.0.0.1:0` it appends: `args`
/// say where (or whether) the plain listener listens.
pub fn start_exact(args: &[&str]) -> Running {
    start_inner(&[], args, &[], false)
}

fn start_full(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Running {
    start_inner(wrapper, args, env, true)
}

fn start_inner(
    wrapper: &[&str],
    args: &[&str],
    env: &[(&str, &str)],
    plain_listener: bool,
) -> Running {
    let default_log: &[&str] = if args.contains(&"--log") {
        &[]
    } else {
        &["--log", "info"]
    };
    let bin = env!("CARGO_BIN_EXE_ringport");
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let listen: &[&str] = if plain_listener {
        &["--listen", "127.0.0.1:0"]
    } else {
        &[]
    };
    let mut child = command
        .args(default_log)
        .args(args)
        .args(listen)
        // In-memory accounts unless a flag or the test's own variable says
        // otherwise: no test leaves a `ringport.db` behind.
        .env("RINGPORT_ACCOUNTS__STORE", "memory")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (addr, admin, ws, tls) = loop {
        let Some(line) = lines.next() else {
            let status = child.wait().unwrap();
            panic!(
                "server exited before listening: {status}; log: {:?}",
                log.lock().unwrap()
            );
        };
        let line = line.unwrap();
        log.lock().unwrap().push(line.clone());
        if let Some(addr) = addr_after(&line, "listening on ") {
            let admin = addr_after(&line, "admin=").or_else(|| addr_after(&line, "\"admin\":\""));
            let ws = addr_after(&line, "ws=").or_else(|| addr_after(&line, "\"ws\":\""));
            let tls = addr_after(&line, "tls=").or_else(|| addr_after(&line, "\"tls\":\""));
            break (addr, admin, ws, tls);
        }
    };
    let log2 = log.clone();
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            log2.lock().unwrap().push(line);
        }
    });
    Running {
        child,
        addr,
        admin,
        ws,
        tls,
        log,
    }
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

    /// Waits for the server to exit by itself (after a signal sent earlier).
    pub fn wait_exit(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
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

/// One HTTP request; returns the status code and the body.
pub fn http(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {out:?}"));
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// `GET path`; returns the status code and the body.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    http(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: ringport\r\n\r\n").as_bytes(),
    )
}

/// The value of the sample `series` (name with labels) in a `/metrics`
/// scrape.
pub fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

/// Scrapes `admin`'s `/metrics` until every series has its expected value
/// (counters are published a moment after what they count: the engine
/// counts bytes when a send completes, the logic thread publishes after its
/// turn), then returns the last scrape; fails naming what differs.
pub fn scrape_until(admin: SocketAddr, expected: &[(&str, f64)]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = get(admin, "/metrics");
        assert_eq!(status, 200);
        let wrong: Vec<_> = expected
            .iter()
            .filter(|(s, v)| sample(&body, s) != Some(*v))
            .map(|(s, v)| format!("{s}: want {v}, got {:?}", sample(&body, s)))
            .collect();
        if wrong.is_empty() {
            return body;
        }
        assert!(Instant::now() < deadline, "{wrong:?}\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
