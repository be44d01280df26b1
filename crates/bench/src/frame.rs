//! The 5-byte packet header of `docs/PROTOCOL.md`, encoded here directly.
//!
//! The bench only needs the header (and the `DEV_ECHO` id), so it carries its
//! own few lines instead of waiting on `ringport-proto`: `u16` LE total length
//! including the header, `u16` LE packet id, `u8` type (flags; send 0).

/// Size of the packet header in bytes.
pub const HEADER_LEN: usize = 5;

/// Packet id of `DEV_ECHO`: the body comes back unchanged under the same id.
pub const DEV_ECHO: u16 = 1;

/// Largest frame the bench sends or the baseline accepts (the protocol's
/// default `max_frame`).
pub const MAX_FRAME: usize = 8192;

/// A decoded packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total packet length, header included.
    pub length: u16,
    /// Packet id.
    pub id: u16,
    /// Type byte (reserved for flags).
    pub kind: u8,
}

impl Header {
    /// The wire form of this header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let [l0, l1] = self.length.to_le_bytes();
        let [i0, i1] = self.id.to_le_bytes();
        [l0, l1, i0, i1, self.kind]
    }

    /// Decodes the header at the start of `bytes`, or `None` when fewer than
    /// [`HEADER_LEN`] bytes are there.
    pub fn decode(bytes: &[u8]) -> Option<Header> {
        match bytes {
            [l0, l1, i0, i1, kind, ..] => Some(Header {
                length: u16::from_le_bytes([*l0, *l1]),
                id: u16::from_le_bytes([*i0, *i1]),
                kind: *kind,
            }),
            _ => None,
        }
    }

    /// Whether the length field is one the protocol allows (`5..=MAX_FRAME`).
    pub fn has_valid_length(&self) -> bool {
        (HEADER_LEN..=MAX_FRAME).contains(&usize::from(self.length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_matches_protocol_example() {
        // "leave": 05 00 D7 00 00
        let h = Header {
            length: 5,
            id: 215,
            kind: 0,
        };
        assert_eq!(h.encode(), [0x05, 0x00, 0xD7, 0x00, 0x00]);
        assert_eq!(Header::decode(&h.encode()), Some(h));
    }

    /// The bench keeps its own copy of the header so it never waits on the
    /// protocol crate; this keeps the two in agreement.
    #[test]
    fn agrees_with_ringport_proto() {
        assert_eq!(HEADER_LEN, ringport_proto::HEADER_LEN);
        assert_eq!(DEV_ECHO, ringport_proto::id::DEV_ECHO);
        assert_eq!(MAX_FRAME, ringport_proto::DEFAULT_MAX_FRAME);
        let ours = Header {
            length: 300,
            id: DEV_ECHO,
            kind: 7,
        };
        let theirs = ringport_proto::Header {
            len: 300,
            id: DEV_ECHO,
            kind: 7,
        };
        assert_eq!(ours.encode(), theirs.to_bytes());
    }

    #[test]
    fn short_input_is_none() {
        assert_eq!(Header::decode(&[1, 2, 3, 4]), None);
    }

    #[test]
    fn length_bounds() {
        let mut h = Header {
            length: 4,
            id: DEV_ECHO,
            kind: 0,
        };
        assert!(!h.has_valid_length());
        h.length = 5;
        assert!(h.has_valid_length());
        h.length = 8192;
        assert!(h.has_valid_length());
        h.length = 8193;
        assert!(!h.has_valid_length());
    }
}
