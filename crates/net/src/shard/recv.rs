//! Received bytes: cut into frames ([`Framing`]) and delivered, with a
//! trailing partial frame kept in a pooled per-session buffer.

use super::{Shard, Slot, State};
use crate::buf::pool::Pool;
use crate::event::CloseReason;
use crate::framing::Framing;
use crate::handler::Reply;
use crate::stats::ThreadStats;

/// What became of the bytes handed to [`Shard::on_recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvOutcome {
    /// Delivered (or discarded for a draining session).
    Ok,
    /// The session was closed (bad frame).
    Closed,
}

/// The stream cannot be cut into frames any more: a length the framing
/// refuses, or a partial frame longer than the framing's largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BadFrame;

impl<F: Framing, S> Shard<F, S> {
    /// Is there room to deliver up to `n` more bytes for `slot`? False
    /// means the application holds every batch: the caller must hold the
    /// bytes back (see [`Delivery::room_for`](super::Delivery::room_for)).
    pub(crate) fn room_for(&mut self, slot: usize, n: usize) -> bool {
        let need = n + self.slots.get(slot).map_or(0, |s| s.rx.len());
        self.delivery.room_for(need)
    }

    /// Bytes arrived for `slot`: cut them into frames and deliver them. The
    /// caller has checked [`Shard::room_for`].
    pub(crate) fn on_recv(&mut self, slot: usize, data: &[u8]) -> RecvOutcome {
        ThreadStats::add(&self.stats.bytes_in, data.len() as u64);
        let id = self.id_of(slot);
        let Slot {
            state,
            rx,
            sendq,
            last_rx,
            ..
        } = &mut self.slots[slot];
        if *state != State::Open {
            return RecvOutcome::Ok; // draining: the application is done with it
        }
        *last_rx = self.now;
        let mut reply = Reply::new(sendq, &mut self.tx_pool, self.send_queue_limit);
        let mut frames = 0u64;
        let delivery = &mut self.delivery;
        let mut deliver = |f: &[u8]| {
            frames += 1;
            delivery.frame(id, f, &mut reply);
        };
        let result = cut_frames(&self.framing, rx, &mut self.rx_pool, data, &mut deliver);
        let (over_limit, close, queued) = (reply.over_limit(), reply.closing(), reply.queued());
        ThreadStats::add(&self.stats.frames_in, frames);
        if queued > 0 {
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
            Err(BadFrame) => {
                self.close(slot, CloseReason::BadFrame);
                RecvOutcome::Closed
            }
        }
    }
}

/// Delivers every whole frame of `data`, after the partial frame `rx`
/// holds, and keeps what is left of a frame in `rx` (taken from `pool`
/// while a partial frame exists, given back once it completes). Only that
/// trailing partial frame is ever copied.
fn cut_frames<F: Framing>(
    framing: &F,
    rx: &mut Vec<u8>,
    pool: &mut Pool<Vec<u8>>,
    data: &[u8],
    deliver: &mut impl FnMut(&[u8]),
) -> Result<(), BadFrame> {
    let max = framing.max_frame_len();
    if rx.is_empty() {
        let used = split_frames(framing, data, deliver)?;
        let rest = &data[used..];
        if rest.is_empty() {
            return Ok(());
        }
        if rest.len() > max {
            return Err(BadFrame);
        }
        *rx = pool.take();
        rx.extend_from_slice(rest);
        Ok(())
    } else {
        rx.extend_from_slice(data);
        let used = split_frames(framing, rx, deliver)?;
        rx.drain(..used);
        if rx.is_empty() {
            pool.give(std::mem::take(rx));
            Ok(())
        } else if rx.len() > max {
            Err(BadFrame)
        } else {
            Ok(())
        }
    }
}

/// Cuts whole frames off the front of `buf`, calling `deliver` for each.
/// Returns how many bytes were consumed.
fn split_frames<F: Framing>(
    framing: &F,
    buf: &[u8],
    deliver: &mut impl FnMut(&[u8]),
) -> Result<usize, BadFrame> {
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        match framing.frame_len(rest) {
            Ok(Some(n)) if n >= 1 && n <= rest.len() => {
                deliver(&rest[..n]);
                pos += n;
            }
            Ok(Some(_)) | Err(_) => return Err(BadFrame),
            Ok(None) => break,
        }
    }
    Ok(pos)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::FrameError;

    /// 2-byte little-endian total length, like the chat header's first field.
    #[derive(Clone)]
    struct Len16;

    impl Framing for Len16 {
        fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
            if buf.len() < 2 {
                return Ok(None);
            }
            let n = u16::from_le_bytes([buf[0], buf[1]]) as usize;
            if !(2..=64).contains(&n) {
                return Err(FrameError {
                    reason: "bad length",
                    len: n,
                });
            }
            Ok((buf.len() >= n).then_some(n))
        }

        fn max_frame_len(&self) -> usize {
            64
        }
    }

    fn frames_of(buf: &[u8]) -> Result<(Vec<Vec<u8>>, usize), BadFrame> {
        let mut out = Vec::new();
        let used = split_frames(&Len16, buf, &mut |f: &[u8]| out.push(f.to_vec()))?;
        Ok((out, used))
    }

    #[test]
    fn splits_every_whole_frame_and_keeps_the_rest() {
        let buf = [3, 0, b'a', 4, 0, b'b', b'c', 5, 0, b'x'];
        let (frames, used) = frames_of(&buf).unwrap();
        assert_eq!(frames, vec![vec![3, 0, b'a'], vec![4, 0, b'b', b'c']]);
        assert_eq!(used, 7);
    }

    #[test]
    fn refuses_bad_lengths() {
        assert!(frames_of(&[1, 0, 0]).is_err());
        assert!(frames_of(&[65, 0]).is_err());
        assert_eq!(frames_of(&[3]).unwrap().1, 0, "incomplete is not an error");
    }
}
