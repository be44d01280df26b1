//! The sending half of the `chat` load: every message that has come due is
//! queued on its sender's buffer ([`Load::send_due`]), then each touched
//! connection is written once ([`Load::flush`]; with TLS, the queued
//! plaintext is encrypted then). How late a message was queued is the send
//! lag.

use std::io::{self, Write};
use std::time::Instant;

use super::runner::Load;
use super::wire::{write_text, Stamp};
use super::OUT_LIMIT;
use crate::load::nanos;

impl Load<'_> {
    /// Queues every message due by `now` on its sender, then writes each
    /// touched connection once.
    pub(super) fn send_due(&mut self, now: Instant) {
        let elapsed = nanos(now.saturating_duration_since(self.t0));
        let t = &self.tracker.schedule;
        let slow = self.tracker.slow;
        let size = self.plan.size;
        while self.next_g < t.total {
            let g = self.next_g;
            let sched_ns = t.sched_ns(g);
            if sched_ns > elapsed {
                break;
            }
            self.next_g += 1;
            let sender = t.rotation.sender(g) as usize;
            if slow == Some(sender as u64) {
                continue; // the slow member sends nothing
            }
            let receivers = if slow.is_some_and(|s| s / t.m == sender as u64 / t.m) {
                t.m - 1
            } else {
                t.m
            };
            let measured = g >= t.first_measured;
            if measured {
                self.scheduled += 1;
                self.expected += receivers;
            }
            let env = &self.envelopes[sender / self.plan.members as usize];
            let conn = &mut self.conns[sender];
            if !conn.open || conn.out.len() - conn.out_pos + env.len(size) > OUT_LIMIT {
                self.unsent += 1;
                continue;
            }
            conn.out.extend_from_slice(&env.prefix);
            let stamp = Stamp {
                sender: sender as u32,
                seq: g / t.n,
                sched_ns,
            };
            write_text(&mut conn.out, stamp, size);
            conn.out.extend_from_slice(&env.suffix);
            self.sent_all += 1;
            self.expected_all += receivers;
            if measured {
                self.sent += 1;
                self.lag_ns
                    .saturating_record(elapsed.saturating_sub(sched_ns).max(1));
            }
            if !conn.queued {
                conn.queued = true;
                self.dirty.push(sender);
            }
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        for &i in &dirty {
            self.conns[i].queued = false;
            if !self.conns[i].blocked {
                self.flush(i);
            }
        }
        dirty.clear();
        self.dirty = dirty;
    }

    /// Writes as much of connection `i`'s queued bytes as the socket takes.
    pub(super) fn flush(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        if let Some(tls) = conn.tls.as_deref_mut() {
            // Everything queued becomes records (rustls takes up to 64 KiB
            // ahead of the socket), written until the socket blocks.
            if conn.open {
                match tls.send(&mut conn.stream, &conn.out[conn.out_pos..]) {
                    Ok((taken, blocked)) => {
                        conn.out_pos += taken;
                        conn.blocked = blocked;
                    }
                    Err(e) => {
                        self.errors.io_errors += 1;
                        self.errors.note(i, format!("writing: {e}"));
                        conn.open = false;
                    }
                }
            }
        } else {
            while conn.open && conn.out_pos < conn.out.len() {
                match conn.stream.write(&conn.out[conn.out_pos..]) {
                    Ok(0) => {
                        self.errors.io_errors += 1;
                        self.errors.note(i, "the socket took no bytes".into());
                        conn.open = false;
                    }
                    Ok(n) => conn.out_pos += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        conn.blocked = true;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.errors.io_errors += 1;
                        self.errors.note(i, format!("writing: {e}"));
                        conn.open = false;
                    }
                }
            }
        }
        if conn.out_pos == conn.out.len() {
            conn.out.clear();
            conn.out_pos = 0;
        } else if conn.out_pos > conn.out.len() / 2 {
            conn.out.drain(..conn.out_pos);
            conn.out_pos = 0;
        }
        if !conn.open {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }
}
