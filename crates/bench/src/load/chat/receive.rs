//! The receiving half of the `chat` load: one shared read buffer, a
//! connection's unparsed tail kept in its own small buffer and put back in
//! front of the next read; one clock read per `read`, many packets per read;
//! a short read means the socket is drained. A TLS connection's socket is
//! read into a second shared buffer and decrypted into the first
//! ([`Load::read_tls`]); the rest is the same. After the load, the slow
//! member's socket is read empty ([`Load::drain_slow`]).

use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::conn::Errors;
use super::runner::Load;
use super::tracker::Tracker;
use super::wire::{parse_nats, parse_redis, parse_ringport, parse_ringport_ws, Incoming};
use super::{SlowOutcome, SlowPlan, MAX_FRAME, READ_CHUNK};
use crate::cli::{ChatSystem, ChatTransport};
use crate::load::nanos;

impl Load<'_> {
    /// After the load: reads the slow member's socket empty, counting the
    /// deliveries still in it, until the connection ends or `slow.drain`
    /// passes.
    pub(super) fn drain_slow(&mut self, slow: SlowPlan) -> SlowOutcome {
        let since_t0 = |at: Instant| at.saturating_duration_since(self.t0).as_secs_f64();
        let stopped_at_secs = self
            .slow_stopped
            .map_or(slow.stop_at.as_secs_f64(), since_t0);
        let mut outcome = SlowOutcome {
            stopped_at_secs,
            read_before_stop: self.tracker.slow_delivered,
            leave_notices: self.tracker.left,
            first_leave_notice_secs: self.tracker.first_left_ns.map(|ns| ns as f64 / 1e9),
            drained_deliveries: 0,
            drained_bytes: 0,
            end: "open".into(),
        };
        let conn = &mut self.conns[slow.member];
        if !conn.open {
            outcome.end = "closed".into(); // seen closed before it stopped reading
            return outcome;
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        let mut buf = std::mem::take(&mut conn.partial);
        let deadline = Instant::now() + slow.drain;
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    outcome.end = "closed".into();
                    break;
                }
                Ok(n) => {
                    outcome.drained_bytes += n as u64;
                    match conn.tls.as_deref_mut() {
                        None => buf.extend_from_slice(&chunk[..n]),
                        Some(tls) => {
                            if let Err(e) = tls.decrypt_to(&chunk[..n], &mut buf) {
                                outcome.end = format!("error: {e}");
                                break;
                            }
                        }
                    }
                    let mut deliveries = 0;
                    match parse_ringport(&buf, MAX_FRAME, |e| {
                        if matches!(e, Incoming::Delivery(_)) {
                            deliveries += 1;
                        }
                    }) {
                        Ok(used) => {
                            buf.drain(..used);
                        }
                        Err(e) => {
                            outcome.end = format!("error: {e}");
                            break;
                        }
                    }
                    outcome.drained_deliveries += deliveries;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        break; // still open
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    outcome.end = "reset".into();
                    break;
                }
                Err(e) => {
                    outcome.end = format!("error: {e}");
                    break;
                }
            }
        }
        conn.open = false;
        outcome
    }
    /// Reads everything connection `i` has and handles every whole packet.
    pub(super) fn read(&mut self, i: usize) {
        if let Some(slow) = self.plan.slow.filter(|s| s.member == i) {
            if self.slow_stopped.is_some() {
                return;
            }
            let now = Instant::now();
            if now >= self.t0 + slow.stop_at {
                self.slow_stopped = Some(now);
                return;
            }
        }
        if self.conns[i].tls.is_some() {
            self.read_tls(i);
            return;
        }
        let conn = &mut self.conns[i];
        let rbuf = &mut self.rbuf;
        let tracker = &mut self.tracker;
        let system = self.plan.system;
        let ws = self.plan.transport == ChatTransport::Ws;
        let mut filled = conn.partial.len();
        let mut pong = false;
        if filled > rbuf.len() {
            self.errors.protocol_errors += 1;
            self.errors
                .note(i, "a packet larger than the read buffer".into());
            conn.open = false;
        } else {
            rbuf[..filled].copy_from_slice(&conn.partial);
            conn.partial.clear();
        }
        while conn.open {
            let space = rbuf.len() - filled;
            if space == 0 {
                self.errors.protocol_errors += 1;
                self.errors
                    .note(i, "a value larger than the read buffer".into());
                conn.open = false;
                break;
            }
            let read = conn
                .stream
                .read(&mut rbuf[filled..filled + space.min(READ_CHUNK)]);
            let n = match step(read, &mut self.errors, i, &mut conn.open) {
                ReadStep::Got(n) => n,
                ReadStep::Again => continue,
                ReadStep::Stop => break,
            };
            let now_ns = nanos(Instant::now().saturating_duration_since(self.t0));
            filled += n;
            let mut pings = 0usize;
            let parsed = parse_events(system, ws, &rbuf[..filled], tracker, i, now_ns, &mut pings);
            for _ in 0..pings {
                conn.out.extend_from_slice(b"PONG\r\n");
                pong = true;
            }
            match parsed {
                Ok(used) => {
                    rbuf.copy_within(used..filled, 0);
                    filled -= used;
                }
                Err(e) => {
                    self.errors.protocol_errors += 1;
                    self.errors.note(i, e);
                    conn.open = false;
                    break;
                }
            }
            if n < space.min(READ_CHUNK) {
                break; // a short read: the socket is drained
            }
        }
        if conn.open {
            conn.partial.extend_from_slice(&rbuf[..filled]);
            if pong && !conn.blocked {
                self.flush(i);
            }
        } else {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }

    /// [`Load::read`] of a TLS connection: each socket read (into the
    /// shared `cbuf`) is decrypted into the shared read buffer and parsed
    /// there; anything rustls wants to send back goes out at once.
    fn read_tls(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        let Some(tls) = conn.tls.as_deref_mut() else {
            return;
        };
        let rbuf = &mut self.rbuf;
        let cbuf = &mut self.cbuf;
        let tracker = &mut self.tracker;
        let system = self.plan.system;
        let ws = self.plan.transport == ChatTransport::Ws;
        let mut filled = conn.partial.len();
        let mut pings = 0usize;
        if filled > rbuf.len() {
            self.errors.protocol_errors += 1;
            self.errors
                .note(i, "a packet larger than the read buffer".into());
            conn.open = false;
        } else {
            rbuf[..filled].copy_from_slice(&conn.partial);
            conn.partial.clear();
        }
        while conn.open {
            let n = match step(conn.stream.read(cbuf), &mut self.errors, i, &mut conn.open) {
                ReadStep::Got(n) => n,
                ReadStep::Again => continue,
                ReadStep::Stop => break,
            };
            let now_ns = nanos(Instant::now().saturating_duration_since(self.t0));
            let decrypted = tls.decrypt(&cbuf[..n], rbuf, &mut filled, |buf| {
                parse_events(system, ws, buf, tracker, i, now_ns, &mut pings)
            });
            if let Err(e) = decrypted {
                self.errors.protocol_errors += 1;
                self.errors.note(i, e);
                conn.open = false;
                break;
            }
            if tls.peer_closed() {
                self.errors.closed_by_server += 1;
                self.errors
                    .note(i, "the server closed the TLS session".into());
                conn.open = false;
                break;
            }
            if n < cbuf.len() {
                break; // a short read: the socket is drained
            }
        }
        for _ in 0..pings {
            conn.out.extend_from_slice(b"PONG\r\n");
        }
        if conn.open {
            conn.partial.extend_from_slice(&rbuf[..filled]);
            if (pings > 0 || tls.wants_write()) && !conn.blocked {
                self.flush(i);
            }
        } else {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }
}

/// Parses every whole packet (or message) at the start of `buf`, hands
/// each to the tracker as received by member `i` at `now_ns`, counts the
/// NATS `PING`s in `pings`, and returns the bytes used.
#[inline]
fn parse_events(
    system: ChatSystem,
    ws: bool,
    buf: &[u8],
    tracker: &mut Tracker,
    i: usize,
    now_ns: u64,
    pings: &mut usize,
) -> Result<usize, String> {
    let handle = |event: Incoming<'_>| {
        if event == Incoming::Ping {
            *pings += 1;
        }
        tracker.incoming(i, event, now_ns);
    };
    match system {
        ChatSystem::Ringport if ws => parse_ringport_ws(buf, MAX_FRAME, handle),
        ChatSystem::Ringport => parse_ringport(buf, MAX_FRAME, handle),
        ChatSystem::Redis => parse_redis(buf, handle),
        ChatSystem::Nats => parse_nats(buf, handle),
    }
}

/// What one read of a member's socket gave.
enum ReadStep {
    /// Bytes.
    Got(usize),
    /// Interrupted: read again.
    Again,
    /// Nothing more this turn: drained (`WouldBlock`), or the connection is
    /// over (closed by the server, or an error, counted and noted; `open`
    /// is cleared).
    Stop,
}

/// Sorts the result of one read of member `i`'s socket.
fn step(read: io::Result<usize>, errors: &mut Errors, i: usize, open: &mut bool) -> ReadStep {
    match read {
        Ok(0) => {
            errors.closed_by_server += 1;
            errors.note(i, "the server closed the connection".into());
            *open = false;
            ReadStep::Stop
        }
        Ok(n) => ReadStep::Got(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadStep::Stop,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadStep::Again,
        Err(e) => {
            errors.io_errors += 1;
            errors.note(i, format!("reading: {e}"));
            *open = false;
            ReadStep::Stop
        }
    }
}
