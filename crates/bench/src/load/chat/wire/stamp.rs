//! The message text of the `chat` load: fixed-width lowercase hex fields
//! that say who sent a message, its sequence number and its scheduled send
//! time, padded to the message size, so every delivery can be checked and
//! timed without any lookup: `SSSSSSSS:QQQQQQQQQQQQ:TTTTTTTTTTTTTTTT:....`
//! (sender, sequence, nanoseconds since the run's base instant).

use ringport_proto::Message;

/// Shortest message text: the three fields and their separators.
pub const MIN_SIZE: usize = STAMP_LEN;

/// Longest message text (ringport's chat message field holds 256 bytes).
pub const MAX_SIZE: usize = Message::MAX_LEN;

/// Hex digits of the sender field.
const SENDER_DIGITS: usize = 8;
/// Hex digits of the sequence field.
const SEQ_DIGITS: usize = 12;
/// Hex digits of the time field.
const TIME_DIGITS: usize = 16;
/// Bytes the stamp takes at the start of a message text.
const STAMP_LEN: usize = SENDER_DIGITS + 1 + SEQ_DIGITS + 1 + TIME_DIGITS + 1;
/// Byte that pads a message text after its stamp.
const FILLER: u8 = b'.';

/// What a message text carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Index of the sending connection.
    pub sender: u32,
    /// The sender's sequence number of this message (0, 1, 2, ...).
    pub seq: u64,
    /// Scheduled send time, in nanoseconds since the run's base instant.
    pub sched_ns: u64,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_hex(out: &mut Vec<u8>, value: u64, digits: usize) {
    for i in (0..digits).rev() {
        out.push(HEX[((value >> (4 * i)) & 0xF) as usize]);
    }
}

/// Value of each byte as a lowercase hex digit, or [`NOT_HEX`].
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        table[HEX[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Marks a byte that is not a lowercase hex digit.
const NOT_HEX: u8 = 0x10;

fn parse_hex(digits: &[u8]) -> Option<u64> {
    // Branch-free over the digits: any non-digit sets bit 4 in `bad`.
    let mut value = 0u64;
    let mut bad = 0u8;
    for &b in digits {
        let d = HEX_VALUE[usize::from(b)];
        bad |= d;
        value = (value << 4) | u64::from(d & 0xF);
    }
    ((bad & NOT_HEX) == 0).then_some(value)
}

/// Appends the message text of `stamp`, exactly `size` bytes
/// (`MIN_SIZE..=MAX_SIZE`; a smaller size still writes the whole stamp).
pub fn write_text(out: &mut Vec<u8>, stamp: Stamp, size: usize) {
    let start = out.len();
    put_hex(out, u64::from(stamp.sender), SENDER_DIGITS);
    out.push(b':');
    put_hex(out, stamp.seq, SEQ_DIGITS);
    out.push(b':');
    put_hex(out, stamp.sched_ns, TIME_DIGITS);
    out.push(b':');
    let end = start + size.max(STAMP_LEN);
    out.resize(end, FILLER);
}

/// Reads the stamp at the start of a message text, or `None` if it is not
/// one of ours.
pub fn read_text(text: &[u8]) -> Option<Stamp> {
    let stamp = text.get(..STAMP_LEN)?;
    let (sender, rest) = stamp.split_at(SENDER_DIGITS);
    let (seq, rest) = rest.get(1..)?.split_at(SEQ_DIGITS);
    let time = rest.get(1..1 + TIME_DIGITS)?;
    if stamp[SENDER_DIGITS] != b':'
        || stamp[SENDER_DIGITS + 1 + SEQ_DIGITS] != b':'
        || stamp[STAMP_LEN - 1] != b':'
    {
        return None;
    }
    Some(Stamp {
        sender: u32::try_from(parse_hex(sender)?).ok()?,
        seq: parse_hex(seq)?,
        sched_ns: parse_hex(time)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trip() {
        let stamp = Stamp {
            sender: 0xABCD,
            seq: 123_456_789,
            sched_ns: u64::MAX - 5,
        };
        let mut out = vec![7];
        write_text(&mut out, stamp, 64);
        assert_eq!(out.len(), 65);
        assert_eq!(read_text(&out[1..]), Some(stamp));
        assert!(out[1..].is_ascii());
        assert_eq!(&out[1..10], b"0000abcd:");
        // The minimum size holds the stamp exactly.
        let mut out = Vec::new();
        write_text(&mut out, stamp, MIN_SIZE);
        assert_eq!(out.len(), MIN_SIZE);
        assert_eq!(read_text(&out), Some(stamp));
    }

    #[test]
    fn foreign_text_is_rejected() {
        assert_eq!(read_text(b"hello"), None);
        let mut out = Vec::new();
        write_text(
            &mut out,
            Stamp {
                sender: 1,
                seq: 2,
                sched_ns: 3,
            },
            64,
        );
        for at in [0, 8, 21, 38] {
            let mut bad = out.clone();
            bad[at] = b'G';
            assert_eq!(read_text(&bad), None, "byte {at}");
        }
    }
}
