//! One attempt of a storm ([`Attempt`]): its state, how its I/O errors are
//! counted, and its socket events (connect, write the request, read and
//! check the answer; with `--tls` the handshake, then the same inside
//! TLS).

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use ringport_proto::{frame_len, DEFAULT_MAX_FRAME, HEADER_LEN};

use super::runner::Storm;
use super::{After, Probe};
use crate::load::tls::{handshake_error, TlsConn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Connecting,
    Waiting,
    Held,
}

#[derive(Debug)]
pub(super) struct Attempt {
    pub(super) stream: TcpStream,
    pub(super) serial: u64,
    pub(super) step: usize,
    pub(super) due_ns: u64,
    pub(super) state: State,
    /// The request, `out[out_pos..]` not written yet.
    pub(super) out: Vec<u8>,
    pub(super) out_pos: usize,
    /// Bytes received, not parsed yet (plaintext with TLS).
    pub(super) inbuf: Vec<u8>,
    /// Its TLS (`--tls`), from the moment it connected.
    pub(super) tls: Option<Box<TlsConn>>,
}

/// How an I/O error is counted.
pub(super) fn kind_of(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(24 | 23) => return "fd limit (generator)",
        Some(99) => return "no local port (generator)",
        _ => {}
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "refused",
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => "reset",
        io::ErrorKind::TimedOut => "timed out (kernel)",
        io::ErrorKind::AddrNotAvailable => "no local port (generator)",
        _ => "other I/O error",
    }
}

impl Storm<'_> {
    pub(super) fn handle(&mut self, slot: usize, now_ns: u64, writable: bool) {
        let Some(a) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let step = a.step;
        if a.state == State::Connecting {
            let error = match a.stream.take_error() {
                Ok(Some(e)) | Err(e) => Some(e),
                Ok(None) => None,
            };
            if let Some(e) = error {
                let kind = kind_of(&e);
                self.fail(step, kind, || format!("connecting: {e}"));
                self.finish(slot, false);
                return;
            }
            match a.stream.peer_addr() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // not yet
                Err(e) => {
                    let kind = kind_of(&e);
                    self.fail(step, kind, || format!("connecting: {e}"));
                    self.finish(slot, false);
                    return;
                }
            }
            let _ = a.stream.set_nodelay(true);
            a.state = State::Waiting;
            let latency = now_ns.saturating_sub(a.due_ns).max(1);
            self.out.connected += 1;
            self.out.connect_ns.saturating_record(latency);
            if let Some(s) = self.out.steps.get_mut(step) {
                s.connected += 1;
                s.connect_ns.saturating_record(latency);
            }
            if let Some(client) = &self.plan.tls {
                match client.connect() {
                    Ok(tls) => a.tls = Some(Box::new(tls)),
                    Err(e) => {
                        self.fail(step, "TLS error", || format!("{e:#}"));
                        self.finish(slot, false);
                        return;
                    }
                }
            }
        }
        if self.plan.tls.is_some() {
            self.handle_tls(slot, now_ns);
            return;
        }
        let Some(a) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        // Write what is left of the request.
        if (writable || a.out_pos == 0) && a.out_pos < a.out.len() {
            loop {
                match a.stream.write(&a.out[a.out_pos..]) {
                    Ok(n) => {
                        a.out_pos += n;
                        if a.out_pos == a.out.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let kind = kind_of(&e);
                        let held = a.state == State::Held;
                        self.fail(step, kind, || format!("sending the request: {e}"));
                        if held {
                            self.out.held_closed += 1;
                        }
                        self.finish(slot, false);
                        return;
                    }
                }
            }
        }
        // Read whatever came.
        loop {
            let Some(a) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            let n = match a.stream.read(&mut self.read_buf) {
                Ok(0) => {
                    if a.state == State::Held {
                        self.drop_held(slot);
                    } else {
                        self.fail(step, "closed by server", || {
                            "the server closed the connection before answering".into()
                        });
                        self.finish(slot, false);
                    }
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if a.state == State::Held {
                        self.drop_held(slot);
                    } else {
                        let kind = kind_of(&e);
                        self.fail(step, kind, || format!("reading the answer: {e}"));
                        self.finish(slot, false);
                    }
                    return;
                }
            };
            if a.state != State::Waiting {
                continue; // held: anything the server sends is ignored
            }
            a.inbuf.extend_from_slice(&self.read_buf[..n]);
            if !self.check_answer(slot, step, now_ns) {
                return;
            }
        }
    }

    /// Looks for the answer in what attempt `slot` received and counts it;
    /// false when the attempt is over (closed, or failed), true while it
    /// is waiting or held.
    fn check_answer(&mut self, slot: usize, step: usize, now_ns: u64) -> bool {
        match self.answer(slot) {
            Ok(None) => true,
            Ok(Some(code)) => {
                let Some(a) = self.slots[slot].as_ref() else {
                    return false;
                };
                let latency = now_ns.saturating_sub(a.due_ns).max(1);
                self.out.answered += 1;
                *self.out.codes.entry(code).or_default() += 1;
                self.out.answer_ns.saturating_record(latency);
                if let Some(s) = self.out.steps.get_mut(step) {
                    s.answered += 1;
                    s.answer_ns.saturating_record(latency);
                }
                let hold = self.plan.after == After::Hold;
                self.finish(slot, hold);
                hold
            }
            Err(what) => {
                self.fail(step, "bad answer", || what);
                self.finish(slot, false);
                false
            }
        }
    }

    /// The socket events of a connected TLS attempt: records out (the
    /// handshake's, then the request's, which rustls holds until the
    /// handshake is done), records in, decrypted and checked as the plain
    /// ones; again while rustls has something to send after a read.
    fn handle_tls(&mut self, slot: usize, now_ns: u64) {
        loop {
            let Some(a) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            let step = a.step;
            let held = a.state == State::Held;
            let Some(tls) = a.tls.as_deref_mut() else {
                return;
            };
            let mut write_blocked = false;
            if !held && (a.out_pos < a.out.len() || tls.wants_write()) {
                match tls.send(&mut a.stream, a.out.get(a.out_pos..).unwrap_or_default()) {
                    Ok((taken, blocked)) => {
                        a.out_pos += taken;
                        write_blocked = blocked;
                    }
                    Err(e) => {
                        let kind = kind_of(&e);
                        self.fail(step, kind, || format!("sending the request: {e}"));
                        self.finish(slot, false);
                        return;
                    }
                }
            }
            let n = match a.stream.read(&mut self.read_buf) {
                Ok(0) => {
                    if held {
                        self.drop_held(slot);
                    } else {
                        let during = if tls.is_handshaking() {
                            "during the TLS handshake"
                        } else {
                            "before answering"
                        };
                        self.fail(step, "closed by server", || {
                            format!("the server closed the connection {during}")
                        });
                        self.finish(slot, false);
                    }
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Done, unless what rustls answered still has to go
                    // out and the socket takes it (else: its writable
                    // event comes).
                    if held || write_blocked || !tls.wants_write() {
                        return;
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if held {
                        self.drop_held(slot);
                    } else {
                        let kind = kind_of(&e);
                        self.fail(step, kind, || format!("reading the answer: {e}"));
                        self.finish(slot, false);
                    }
                    return;
                }
            };
            if held {
                continue; // anything the server sends is ignored
            }
            let handshaking = tls.is_handshaking();
            if let Err(e) = tls.decrypt_to(&self.read_buf[..n], &mut a.inbuf) {
                let what = match &self.plan.tls {
                    Some(client) if handshaking => {
                        format!("{:#}", handshake_error(client, &e))
                    }
                    _ => e,
                };
                let kind = if handshaking {
                    "TLS handshake failed"
                } else {
                    "TLS error"
                };
                self.fail(step, kind, || what);
                self.finish(slot, false);
                return;
            }
            if handshaking && !tls.is_handshaking() {
                let latency = now_ns.saturating_sub(a.due_ns).max(1);
                self.out.handshake_ns.saturating_record(latency);
                if self.out.tls.is_none() {
                    self.out.tls = tls.negotiated();
                }
            }
            if !self.check_answer(slot, step, now_ns) {
                return;
            }
        }
    }

    /// Looks for the answer in what attempt `slot` received: `Ok(Some(code))`
    /// once it is there (0 for a matching echo).
    pub(super) fn answer(&mut self, slot: usize) -> Result<Option<u16>, String> {
        let Some(a) = self.slots[slot].as_mut() else {
            return Ok(None);
        };
        let mut pos = 0;
        let mut found = None;
        while let Some(len) =
            frame_len(&a.inbuf[pos..], DEFAULT_MAX_FRAME).map_err(|e| format!("bad frame: {e}"))?
        {
            let frame = &a.inbuf[pos..pos + len];
            pos += len;
            let id = u16::from_le_bytes([frame[2], frame[3]]);
            match (&self.plan.probe, id) {
                (Probe::Echo, ringport_proto::id::DEV_ECHO) => {
                    if frame == a.out.as_slice() {
                        found = Some(0);
                    } else {
                        return Err("the echo differs from the probe".into());
                    }
                }
                (Probe::Login { .. }, ringport_proto::id::LOGIN_RES) => {
                    let Some(code) = frame.get(HEADER_LEN..HEADER_LEN + 2) else {
                        return Err(format!("a {len}-byte 202"));
                    };
                    found = Some(u16::from_le_bytes([code[0], code[1]]));
                }
                _ => {}
            }
            if found.is_some() {
                break;
            }
        }
        a.inbuf.drain(..pos);
        Ok(found)
    }

    /// A held connection the server closed: counted, and its slot freed
    /// (a held attempt was counted as finished already).
    fn drop_held(&mut self, slot: usize) {
        self.out.held_closed += 1;
        if let Some(mut a) = self.slots[slot].take() {
            let _ = self.poll.registry().deregister(&mut a.stream);
            self.free.push(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(kind_of(&e), "refused");
        assert_eq!(
            kind_of(&io::Error::from_raw_os_error(24)),
            "fd limit (generator)"
        );
        assert_eq!(
            kind_of(&io::Error::from_raw_os_error(99)),
            "no local port (generator)"
        );
        assert_eq!(
            kind_of(&io::Error::from(io::ErrorKind::BrokenPipe)),
            "reset"
        );
    }
}
