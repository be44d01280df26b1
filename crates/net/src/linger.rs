//! The lingering close: what becomes of the socket of a session that was
//! closed after its queue was flushed (server close, shutdown).
//!
//! Closing a TCP socket while the peer is still writing makes Linux answer
//! the peer's next segment with a reset, and a reset throws away whatever
//! the kernel still had to deliver to the peer: the session's last bytes.
//! So such a socket is not closed at once. Its writing side is shut down
//! (the kernel sends FIN after the queued bytes), and it stays on this
//! thread's list, where whatever the peer sends is read and dropped, until
//! the peer's FIN (a read returns 0: the peer has read everything, or
//! stopped caring), an error (the peer reset), or its deadline; then the
//! descriptor is closed. The session itself is gone already: its slot was
//! released and its `Closed` event sent when the socket was handed over.
//!
//! Bounded twice: each socket lingers at most `linger_timeout` (plus one
//! check interval), and at most `linger_max` sockets linger per I/O thread
//! (one more closes the oldest at once). Checks never block (`MSG_DONTWAIT`)
//! and read at most 64 KiB per socket per check. The I/O loop checks every
//! 250 ms (its sweep); at shutdown it keeps checking every 10 ms until the
//! list is empty, so the thread exits at most `linger_timeout` after its
//! last session closed.

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::SockRef;

use crate::config::EngineConfig;
use crate::stats::ThreadStats;

/// Reads of up to [`SCRATCH`] bytes per socket and check: a peer that
/// keeps sending cannot hold the I/O thread (its window closes meanwhile).
const READ_ROUNDS: usize = 16;
const SCRATCH: usize = 4096;

/// How often lingering sockets are checked while an I/O thread that has
/// shut down waits for its last ones.
pub(crate) const EXIT_CHECK: Duration = Duration::from_millis(10);

/// What a non-blocking read pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// Nothing more for now; the peer has not closed.
    Open,
    /// The peer's FIN, or an error (reset): nothing left to wait for.
    Ended,
}

/// One I/O thread's lingering sockets, oldest first (every socket gets the
/// same timeout, so this is also deadline order).
pub(crate) struct Linger {
    timeout: Duration,
    max: usize,
    sockets: VecDeque<(OwnedFd, Instant)>,
    scratch: Box<[MaybeUninit<u8>]>,
    stats: Arc<ThreadStats>,
}

impl std::fmt::Debug for Linger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linger")
            .field("timeout", &self.timeout)
            .field("max", &self.max)
            .field("lingering", &self.sockets.len())
            .finish()
    }
}

impl Linger {
    pub(crate) fn new(cfg: &EngineConfig, stats: Arc<ThreadStats>) -> Self {
        Linger {
            timeout: cfg.linger_timeout,
            max: cfg.linger_max,
            sockets: VecDeque::new(),
            scratch: vec![MaybeUninit::uninit(); SCRATCH].into_boxed_slice(),
            stats,
        }
    }

    /// Whether sockets are kept at all (`linger_timeout` and `linger_max`
    /// both above zero).
    fn enabled(&self) -> bool {
        self.max > 0 && !self.timeout.is_zero()
    }

    /// No socket lingers.
    pub(crate) fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// Takes over the socket of a session closed after its queue was
    /// flushed. The caller has stopped every operation on it (io_uring: no
    /// operation in flight and no fixed-file entry left). With lingering
    /// off, closes it at once, as any other close.
    pub(crate) fn hand_over(&mut self, fd: OwnedFd, now: Instant) {
        if !self.enabled() {
            close_now(fd);
            return;
        }
        let sock = SockRef::from(&fd);
        // ENOTCONN: the peer reset the connection already; nothing to save.
        if sock.shutdown(Shutdown::Write).is_err()
            || drop_input(sock, &mut self.scratch) == Input::Ended
        {
            close_now(fd);
            return;
        }
        if self.sockets.len() >= self.max {
            if let Some((oldest, _)) = self.sockets.pop_front() {
                close_now(oldest);
                ThreadStats::add(&self.stats.linger_evicted, 1);
            }
        }
        self.sockets.push_back((fd, now + self.timeout));
        ThreadStats::add(&self.stats.lingered, 1);
        self.publish();
    }

    /// Reads and drops what each lingering socket received; closes those
    /// whose peer has closed (or reset) and those past their deadline.
    /// Never blocks.
    pub(crate) fn check(&mut self, now: Instant) {
        if self.sockets.is_empty() {
            return;
        }
        let (scratch, stats) = (&mut self.scratch, &self.stats);
        self.sockets.retain(|(fd, deadline)| {
            if drop_input(SockRef::from(fd), scratch) == Input::Ended {
                return false; // dropping the descriptor closes it
            }
            if now >= *deadline {
                ThreadStats::add(&stats.linger_timeouts, 1);
                return false;
            }
            true
        });
        self.publish();
    }

    fn publish(&self) {
        self.stats
            .lingering
            .store(self.sockets.len() as u64, Ordering::Relaxed);
    }
}

/// Reads and drops what the peer sent, up to [`READ_ROUNDS`] reads.
fn drop_input(sock: SockRef<'_>, scratch: &mut [MaybeUninit<u8>]) -> Input {
    for _ in 0..READ_ROUNDS {
        match sock.recv_with_flags(scratch, libc::MSG_DONTWAIT) {
            Ok(0) => return Input::Ended,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Input::Open,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Input::Ended,
        }
    }
    Input::Open
}

/// Reads and drops what the peer sent that nobody read yet, just before
/// the socket is closed. Closing a TCP socket with unread input makes the
/// kernel send a reset instead of a FIN, and a reset throws away whatever
/// the kernel still had to deliver. Used for every close at once (and for
/// the end of a lingering one); input arriving after the
/// close still draws a reset, which is why sessions closed after flushing
/// their queue linger instead. Bounded (a peer that keeps sending is not
/// waited for) and never blocks.
pub(crate) fn discard_unread_input(sock: SockRef<'_>) {
    const ROUNDS: usize = 16;
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    for _ in 0..ROUNDS {
        match sock.recv_with_flags(&mut buf, libc::MSG_DONTWAIT) {
            Ok(n) if n > 0 => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => return, // nothing left, end of stream, or an error
        }
    }
}

/// Closes a socket now, after dropping what input it holds (see
/// [`discard_unread_input`]): a FIN rather than a reset if the
/// peer is not writing at this very moment.
fn close_now(fd: OwnedFd) {
    discard_unread_input(SockRef::from(&fd));
    drop(fd);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::*;

    /// A connected pair: (the server side as an owned descriptor, the client).
    fn pair(listener: &TcpListener) -> (OwnedFd, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (OwnedFd::from(server), client)
    }

    fn linger(timeout: Duration, max: usize) -> (Linger, Arc<ThreadStats>) {
        let stats = Arc::new(ThreadStats::default());
        let cfg = EngineConfig {
            linger_timeout: timeout,
            linger_max: max,
            ..EngineConfig::default()
        };
        (Linger::new(&cfg, stats.clone()), stats)
    }

    fn get(c: &std::sync::atomic::AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    #[test]
    fn keeps_the_socket_until_the_peer_closes_and_drops_its_late_input() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (fd, mut client) = pair(&listener);
        let (mut l, stats) = linger(Duration::from_secs(30), 4);
        let t0 = Instant::now();
        l.hand_over(fd, t0);
        assert_eq!(get(&stats.lingering), 1);
        // The client sees EOF (the FIN of the shut-down writing side) and
        // may still write: the bytes are read and dropped, no reset.
        let mut buf = [0u8; 16];
        assert_eq!(client.read(&mut buf).unwrap(), 0);
        client.write_all(b"late").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        l.check(t0);
        assert_eq!(get(&stats.lingering), 1, "still lingering: no FIN yet");
        drop(client);
        std::thread::sleep(Duration::from_millis(20));
        l.check(t0);
        assert!(l.is_empty(), "closed on the peer's FIN");
        assert_eq!(get(&stats.lingering), 0);
        assert_eq!(get(&stats.linger_timeouts), 0);
        assert_eq!(get(&stats.lingered), 1);
    }

    #[test]
    fn the_deadline_and_the_cap_bound_it() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (mut l, stats) = linger(Duration::from_secs(2), 3);
        let t0 = Instant::now();
        let clients: Vec<TcpStream> = (0..5)
            .map(|_| {
                let (fd, c) = pair(&listener);
                l.hand_over(fd, t0);
                c
            })
            .collect();
        assert_eq!(get(&stats.lingering), 3, "at most linger_max");
        assert_eq!(get(&stats.linger_evicted), 2, "the two oldest closed");
        l.check(t0 + Duration::from_millis(1999));
        assert_eq!(get(&stats.lingering), 3);
        l.check(t0 + Duration::from_secs(2));
        assert!(l.is_empty());
        assert_eq!(get(&stats.linger_timeouts), 3);
        drop(clients);
    }

    #[test]
    fn off_closes_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        for (timeout, max) in [(Duration::ZERO, 4), (Duration::from_secs(2), 0)] {
            let (fd, mut client) = pair(&listener);
            let (mut l, stats) = linger(timeout, max);
            l.hand_over(fd, Instant::now());
            assert!(l.is_empty());
            assert_eq!(get(&stats.lingered), 0);
            let mut buf = [0u8; 16];
            assert_eq!(client.read(&mut buf).unwrap(), 0);
        }
    }

    /// What one check of `linger_max` (1,024) idle lingering sockets costs:
    /// one non-blocking read each. Printed, loosely bounded (the machine is
    /// shared); the loop pays it once per 250 ms sweep.
    #[test]
    fn a_check_of_a_full_list_is_cheap() {
        // Two descriptors per socket; raise the soft limit if it is low.
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        if soft < 4096 && hard > soft {
            let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard);
        }
        let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap().0;
        let n = 1024.min((soft.saturating_sub(128) / 2) as usize);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (mut l, _stats) = linger(Duration::from_secs(30), 1024);
        let t0 = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..n {
            let (fd, c) = pair(&listener);
            l.hand_over(fd, t0);
            clients.push(c);
        }
        let rounds = 20;
        let start = Instant::now();
        for _ in 0..rounds {
            l.check(t0);
        }
        let each = start.elapsed() / rounds;
        eprintln!("check of {n} lingering sockets: {each:?}");
        assert_eq!(l.sockets.len(), n);
        assert!(each < Duration::from_millis(50), "{each:?}");
    }
}
