//! Received bytes: cut into frames by the session's wire ([`Wire`]: the
//! [`Framing`] as is, or WebSocket) and delivered, with a trailing partial
//! unit kept in a pooled per-session buffer.

use super::{Delivery, Shard, Slot, State};
use crate::buf::pool::Pool;
use crate::buf::send_queue::Sealer;
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::handler::Reply;
use crate::id::SessionId;
use crate::stats::ThreadStats;
use crate::transport::Transport;
use crate::wire::{Wire, WireEnd, WireSink};

/// What became of the bytes handed to [`Shard::on_recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvOutcome {
    /// Delivered (or discarded for a draining session).
    Ok,
    /// The session was closed (bad frame).
    Closed,
}

impl<F: Framing, S> Shard<F, S> {
    /// Is there room to deliver up to `n` more bytes for `slot`? False
    /// means the application holds every batch: the caller must hold the
    /// bytes back (see [`Delivery::room_for`](super::Delivery::room_for)).
    pub(crate) fn room_for(&mut self, slot: usize, n: usize) -> bool {
        let need = n + self.slots.get(slot).map_or(0, |s| s.rx.len());
        self.delivery.room_for(need)
    }

    /// Bytes arrived for `slot`: decrypt them if the session is under TLS,
    /// cut them into frames (through the session's wire: plain frames, or
    /// WebSocket) and deliver them. The caller has checked
    /// [`Shard::room_for`] (what TLS decrypts is never longer than what
    /// arrived, plus one record held back).
    pub(crate) fn on_recv(&mut self, slot: usize, data: &[u8]) -> RecvOutcome {
        ThreadStats::add(&self.stats.bytes_in, data.len() as u64);
        if self.slots[slot].tls.is_some() {
            self.on_tls_recv(slot, data)
        } else {
            self.on_plain(slot, data)
        }
    }

    /// A TLS session's bytes: records in, plaintext to [`Shard::on_plain`],
    /// handshake answers and alerts out (the session is marked dirty; the
    /// backend's next send seals them).
    fn on_tls_recv(&mut self, slot: usize, data: &[u8]) -> RecvOutcome {
        let s = &mut self.slots[slot];
        let Some(tls) = s.tls.as_deref_mut() else {
            return RecvOutcome::Ok;
        };
        if s.state != State::Open {
            return RecvOutcome::Ok; // draining: the application is done with it
        }
        s.last_rx = self.now;
        let handshaking = tls.is_handshaking();
        let mut plain = std::mem::take(&mut self.tls_plain);
        plain.clear();
        let result = tls.input(data, &mut plain);
        let finished = result.map_or(true, |input| input.handshake_done);
        if finished && tls.leave_handshake() {
            self.shared.tls_handshakes.end();
        }
        let wants_write = tls.wants_write();
        let input = match result {
            Ok(input) => input,
            Err(failure) => {
                if handshaking {
                    self.stats.tls_failed(failure);
                }
                self.tls_plain = plain;
                // rustls's alert goes out, then the session closes.
                self.drain(slot, CloseReason::TlsError);
                return RecvOutcome::Closed;
            }
        };
        if input.handshake_done {
            ThreadStats::add(&self.stats.tls_handshakes, 1);
        }
        if wants_write || (input.handshake_done && !s.sendq.is_empty()) {
            self.mark_dirty(slot);
        }
        let mut outcome = RecvOutcome::Ok;
        if !plain.is_empty() {
            outcome = self.on_plain(slot, &plain);
        }
        self.tls_plain = plain;
        if input.peer_closed && outcome == RecvOutcome::Ok {
            // close_notify: nothing more comes; what is queued still goes.
            self.drain(slot, CloseReason::PeerClosed);
            outcome = RecvOutcome::Closed;
        }
        outcome
    }

    /// Plaintext for `slot` (as received, or decrypted).
    fn on_plain(&mut self, slot: usize, data: &[u8]) -> RecvOutcome {
        let id = self.id_of(slot);
        let Slot {
            state,
            rx,
            sendq,
            last_rx,
            wire,
            listener,
            ..
        } = &mut self.slots[slot];
        if *state != State::Open {
            return RecvOutcome::Ok; // draining: the application is done with it
        }
        *last_rx = self.now;
        let input_queue_empty = sendq.is_empty();
        let mut reply = Reply::new(sendq, &mut self.tx_pool, self.send_queue_limit);
        let mut sink = ShardSink {
            id,
            delivery: &mut self.delivery,
            reply: &mut reply,
            frames: 0,
            raw: false,
        };
        let mut input = Input {
            wire,
            transport: &self.transports[usize::from(*listener)],
            framing: &self.framing,
            scratch: &mut self.scratch,
        };
        let handshaking = matches!(input.wire, Wire::Handshake);
        let was_empty = input_queue_empty;
        let result = input.cut(rx, &mut self.rx_pool, data, &mut sink);
        if handshaking {
            match input.wire {
                Wire::WebSocket(_) => ThreadStats::add(&self.stats.ws_upgrades, 1),
                Wire::Done => ThreadStats::add(&self.stats.http_answers, 1),
                _ => {}
            }
        }
        let (frames, raw) = (sink.frames, sink.raw);
        let (over_limit, close, queued) = (reply.over_limit(), reply.closing(), reply.queued());
        ThreadStats::add(&self.stats.frames_in, frames);
        if queued > 0 || raw {
            if was_empty {
                // The stall clock starts when the queue stops being empty
                // (as in `enqueue`): a pong after a quiet spell is not late.
                self.slots[slot].send_progress = self.now;
            }
            ThreadStats::add(&self.stats.frames_out, queued);
            self.mark_dirty(slot);
            self.check_high_water(slot);
        }
        if over_limit {
            self.close(slot, CloseReason::SlowConsumer);
            return RecvOutcome::Closed;
        }
        match result {
            Ok(()) => {
                if close {
                    self.drain(slot, CloseReason::ServerClose);
                }
                RecvOutcome::Ok
            }
            Err(end) if end.flush => {
                // An answer or a close frame is queued: send it, then close.
                self.drain(slot, end.reason);
                RecvOutcome::Closed
            }
            Err(end) => {
                self.close(slot, end.reason);
                RecvOutcome::Closed
            }
        }
    }
}

/// Delivers a session's frames to the application and queues the wire's
/// own answers (HTTP, pongs, close frames) on its send queue.
struct ShardSink<'a, 'r> {
    id: SessionId,
    delivery: &'a mut Delivery,
    reply: &'a mut Reply<'r>,
    frames: u64,
    raw: bool,
}

impl WireSink for ShardSink<'_, '_> {
    fn deliver(&mut self, frame: &[u8]) {
        self.frames += 1;
        self.delivery.frame(self.id, frame, self.reply);
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.reply.send_raw(bytes);
        self.raw = true;
    }
}

/// One session's input side for one receive.
struct Input<'a, F> {
    wire: &'a mut Wire,
    transport: &'a Transport,
    framing: &'a F,
    scratch: &'a mut Vec<u8>,
}

impl<F: Framing> Input<'_, F> {
    /// Uses every whole unit of `data`, after the partial one `rx` holds,
    /// and keeps what is left of a unit in `rx` (taken from `pool` while a
    /// partial unit exists, given back once it completes). Only that
    /// trailing partial unit is ever copied; it may be at most what the
    /// wire allows to buffer.
    fn cut(
        &mut self,
        rx: &mut Vec<u8>,
        pool: &mut Pool<Vec<u8>>,
        data: &[u8],
        sink: &mut impl WireSink,
    ) -> Result<(), WireEnd> {
        let too_long = WireEnd {
            reason: CloseReason::BadFrame,
            flush: false,
        };
        if rx.is_empty() {
            let used = self.input(data, sink)?;
            let rest = &data[used..];
            if rest.is_empty() {
                return Ok(());
            }
            if rest.len() > self.max_buffered() {
                return Err(too_long);
            }
            *rx = pool.take();
            rx.extend_from_slice(rest);
            Ok(())
        } else {
            rx.extend_from_slice(data);
            let used = self.input(rx, sink)?;
            rx.drain(..used);
            if rx.is_empty() {
                pool.give(std::mem::take(rx));
                Ok(())
            } else if rx.len() > self.max_buffered() {
                Err(too_long)
            } else {
                Ok(())
            }
        }
    }

    fn input(&mut self, buf: &[u8], sink: &mut impl WireSink) -> Result<usize, WireEnd> {
        self.wire
            .input(self.transport, self.framing, buf, self.scratch, sink)
    }

    fn max_buffered(&self) -> usize {
        self.wire
            .max_buffered(self.transport, self.framing.max_frame_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::test_framing::Len16;

    #[derive(Default)]
    struct Frames(Vec<Vec<u8>>);

    impl WireSink for Frames {
        fn deliver(&mut self, frame: &[u8]) {
            self.0.push(frame.to_vec());
        }
        fn send_raw(&mut self, _bytes: &[u8]) {
            unreachable!("plain frames need no answers");
        }
    }

    /// Feeds `reads` one after the other to a TCP session's input; returns
    /// the frames and what is left buffered, or how the session ended.
    fn cut(reads: &[&[u8]]) -> Result<(Vec<Vec<u8>>, Vec<u8>), WireEnd> {
        let mut wire = Wire::Tcp;
        let mut scratch = Vec::new();
        let mut input = Input {
            wire: &mut wire,
            transport: &Transport::Tcp,
            framing: &Len16,
            scratch: &mut scratch,
        };
        let (mut rx, mut pool, mut frames) = (Vec::new(), Pool::new(4, 1024), Frames::default());
        for data in reads {
            input.cut(&mut rx, &mut pool, data, &mut frames)?;
        }
        Ok((frames.0, rx))
    }

    #[test]
    fn splits_every_whole_frame_and_keeps_the_rest() {
        let (frames, rest) = cut(&[&[3, 0, b'a', 4, 0, b'b', b'c', 5, 0, b'x']]).unwrap();
        assert_eq!(frames, vec![vec![3, 0, b'a'], vec![4, 0, b'b', b'c']]);
        assert_eq!(rest, [5, 0, b'x']);
        // The rest completes with the next read.
        let (frames, rest) = cut(&[&[5, 0, b'x'], &[b'y', b'z', 2]]).unwrap();
        assert_eq!(frames, vec![vec![5, 0, b'x', b'y', b'z']]);
        assert_eq!(rest, [2]);
    }

    #[test]
    fn refuses_bad_lengths() {
        let bad = WireEnd {
            reason: CloseReason::BadFrame,
            flush: false,
        };
        assert_eq!(cut(&[&[1, 0, 0]]).unwrap_err(), bad);
        assert_eq!(cut(&[&[65, 0]]).unwrap_err(), bad);
        assert_eq!(cut(&[&[3]]).unwrap().1, [3], "incomplete is not an error");
    }
}
