//! One attempt of a storm ([`Attempt`]): its state, how its I/O errors are
//! counted, and its socket events (connect, write the request, read and
//! check the answer).

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use ringport_proto::{frame_len, DEFAULT_MAX_FRAME, HEADER_LEN};

use super::runner::Storm;
use super::{After, Probe};

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
    /// Bytes received, not parsed yet.
    pub(super) inbuf: Vec<u8>,
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
            match self.answer(slot) {
                Ok(None) => {}
                Ok(Some(code)) => {
                    let Some(a) = self.slots[slot].as_ref() else {
                        return;
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
                    if !hold {
                        return;
                    }
                }
                Err(what) => {
                    self.fail(step, "bad answer", || what);
                    self.finish(slot, false);
                    return;
                }
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
