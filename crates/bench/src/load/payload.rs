//! The bytes one connection sends for one round trip, and their check.
//!
//! Every byte of a message depends on the connection number and the
//! connection's sequence number: the body starts with the sequence number
//! (`u64` LE) and the connection number (`u32` LE), and the rest is a
//! pseudo-random stream seeded by both. A stale echo (an earlier sequence
//! number), an echo meant for another connection, or a flipped, lost or
//! reordered byte therefore never compares equal to the expected message.

use crate::cli::Framing;
use ringport_proto::id::DEV_ECHO;
use ringport_proto::{Header, HEADER_LEN};

/// The reusable send buffer of one connection.
#[derive(Debug)]
pub struct Message {
    bytes: Vec<u8>,
    body_start: usize,
    connection: u32,
}

impl Message {
    /// A message of `size` bytes in total for connection `connection`.
    ///
    /// With [`Framing::Packet`] the first [`HEADER_LEN`] bytes are a
    /// `DEV_ECHO` header whose length is `size`; the caller has checked that
    /// `size` fits a frame.
    pub fn new(framing: Framing, size: usize, connection: u32) -> Message {
        let mut bytes = vec![0u8; size];
        let body_start = match framing {
            Framing::Raw => 0,
            Framing::Packet => {
                let header = Header::new(DEV_ECHO, u16::try_from(size).unwrap_or(u16::MAX));
                if let Some(dst) = bytes.get_mut(..HEADER_LEN) {
                    dst.copy_from_slice(&header.to_bytes());
                }
                HEADER_LEN
            }
        };
        Message {
            bytes,
            body_start,
            connection,
        }
    }

    /// Rewrites the body for sequence number `seq`.
    pub fn fill(&mut self, seq: u64) {
        let body = &mut self.bytes[self.body_start..];
        let mut state = mix(seq ^ (u64::from(self.connection) << 40));
        for chunk in body.chunks_mut(8) {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let word = state.rotate_left(32).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        let mut prefix = [0u8; 12];
        prefix[..8].copy_from_slice(&seq.to_le_bytes());
        prefix[8..].copy_from_slice(&self.connection.to_le_bytes());
        let n = body.len().min(prefix.len());
        body[..n].copy_from_slice(&prefix[..n]);
    }

    /// The whole message as sent (header included).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether `echo` is exactly the message.
    pub fn matches(&self, echo: &[u8]) -> bool {
        echo == self.bytes.as_slice()
    }

    /// Whether `echo` still has the header this message was sent with, that
    /// is, whether the packet stream is still in step (always true for raw
    /// framing).
    pub fn header_matches(&self, echo: &[u8]) -> bool {
        echo.get(..self.body_start) == self.bytes.get(..self.body_start)
    }
}

/// SplitMix64 finaliser: spreads the seed so neighbouring sequence numbers
/// give unrelated streams.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_message_has_dev_echo_header() {
        let mut m = Message::new(Framing::Packet, 64, 3);
        m.fill(7);
        assert_eq!(&m.bytes()[..5], &[64, 0, 1, 0, 0]);
        assert_eq!(&m.bytes()[5..13], &7u64.to_le_bytes());
        assert_eq!(&m.bytes()[13..17], &3u32.to_le_bytes());
        assert_eq!(m.bytes().len(), 64);
    }

    #[test]
    fn sequence_and_connection_change_every_position_class() {
        let mut a = Message::new(Framing::Raw, 1024, 1);
        a.fill(1);
        let first = a.bytes().to_vec();
        a.fill(2);
        assert!(!a.matches(&first), "stale echo must not match");
        // The tail differs too, not only the prefix.
        assert_ne!(&first[512..], &a.bytes()[512..]);

        let mut b = Message::new(Framing::Raw, 1024, 2);
        b.fill(2);
        assert!(
            !a.matches(b.bytes()),
            "another connection's echo must not match"
        );
    }

    #[test]
    fn flipped_byte_is_detected() {
        let mut m = Message::new(Framing::Packet, 100, 0);
        m.fill(0);
        let mut echo = m.bytes().to_vec();
        echo[99] ^= 1;
        assert!(!m.matches(&echo));
        assert!(m.header_matches(&echo));
        echo[0] ^= 1;
        assert!(!m.header_matches(&echo));
    }

    #[test]
    fn tiny_sizes_work() {
        for size in 1..20 {
            let mut m = Message::new(Framing::Raw, size, 9);
            m.fill(u64::MAX);
            assert_eq!(m.bytes().len(), size);
        }
        let mut m = Message::new(Framing::Packet, 5, 9);
        m.fill(1);
        assert_eq!(m.bytes(), &[5, 0, 1, 0, 0]);
    }
}
