//! Test support (feature `testing`): [`RedisServer`], a real `redis-server`
//! on a free loopback port, for tests of the Redis account store and of
//! hosts that use a Redis (the server's cluster tests, the bench's Redis
//! run).
//!
//! When the binary is absent, [`RedisServer::start`] prints a loud skip
//! message and returns `None` — unless `RINGPORT_REQUIRE_REDIS=1` (set by
//! CI), which turns the skip into a failure.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` child process, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

/// Whether CI demands the Redis tests run.
fn required() -> bool {
    std::env::var_os("RINGPORT_REQUIRE_REDIS").is_some_and(|v| v == "1")
}

impl RedisServer {
    /// Starts a server on a free port, or `None` (after a loud message)
    /// when `redis-server` is not installed.
    ///
    /// # Panics
    ///
    /// If the binary is absent and `RINGPORT_REQUIRE_REDIS=1`, or the server
    /// does not come up within 10 s.
    pub fn start(test: &str) -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                !required(),
                "{test}: redis-server is not installed and RINGPORT_REQUIRE_REDIS=1 \
                 (install the redis-server package)"
            );
            eprintln!(
                "\n*** SKIPPED {test}: redis-server is not installed \
                 (set RINGPORT_REQUIRE_REDIS=1 to make this a failure) ***\n"
            );
            return None;
        }
        let port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
            Ok(addr) => addr.port(),
            Err(e) => panic!("no free port: {e}"),
        };
        let mut server = RedisServer { child: None, port };
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the server (SIGKILL) and waits for it: the port refuses
    /// connections until [`RedisServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty: nothing is
    /// persisted) and waits until it accepts connections.
    ///
    /// # Panics
    ///
    /// If it cannot be spawned or does not come up within 10 s.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn();
        match child {
            Ok(child) => self.child = Some(child),
            Err(e) => panic!("cannot start redis-server: {e}"),
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if Self::answers_ping(self.addr()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers_ping(addr: SocketAddr) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = TcpStream::connect(addr) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
