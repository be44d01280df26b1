//! The 5-byte packet header and the framing check (see `docs/PROTOCOL.md`,
//! "Framing").
//!
//! Framing is check-then-parse: [`frame_len`] looks only at the length field
//! and says whether a whole frame is buffered, without allocating or parsing
//! the body. An incomplete frame is a normal state (`Ok(None)`), not an error;
//! a length outside `HEADER_LEN..=max_frame` is, because the stream cannot be
//! resynchronised after it.

/// Size of the header in bytes: `u16 length`, `u16 id`, `u8 type`.
pub const HEADER_LEN: usize = 5;

/// Largest frame the protocol ever allows, whatever the configuration.
///
/// The C# test client of the original tutorial reads the length field as a
/// signed `i16`, so a frame longer than `i16::MAX` (32767) bytes would look
/// negative to it. [`frame_len`] clamps any `max_frame` to this value.
pub const MAX_FRAME_LIMIT: usize = i16::MAX as usize;

/// Default `max_frame` of the server (8192 bytes).
pub const DEFAULT_MAX_FRAME: usize = 8192;

/// A decoded packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Total packet length in bytes, header included.
    pub len: u16,
    /// Packet id (see [`crate::id`]).
    pub id: u16,
    /// The `type` byte, reserved for flags (compressed/encrypted). Encoders
    /// send 0; decoders ignore it.
    pub kind: u8,
}

impl Header {
    /// A header for a packet of `len` total bytes with type 0.
    pub const fn new(id: u16, len: u16) -> Header {
        Header { len, id, kind: 0 }
    }

    /// Reads the header at the start of `buf`, or `None` if `buf` holds fewer
    /// than [`HEADER_LEN`] bytes. The length is not checked; see
    /// [`frame_len`].
    pub fn parse(buf: &[u8]) -> Option<Header> {
        buf.first_chunk::<HEADER_LEN>().map(Header::from_bytes)
    }

    /// Reads a header from exactly [`HEADER_LEN`] bytes.
    pub const fn from_bytes(bytes: &[u8; HEADER_LEN]) -> Header {
        Header {
            len: u16::from_le_bytes([bytes[0], bytes[1]]),
            id: u16::from_le_bytes([bytes[2], bytes[3]]),
            kind: bytes[4],
        }
    }

    /// The header's wire bytes.
    pub const fn to_bytes(self) -> [u8; HEADER_LEN] {
        let len = self.len.to_le_bytes();
        let id = self.id.to_le_bytes();
        [len[0], len[1], id[0], id[1], self.kind]
    }

    /// Appends the header's wire bytes to `out`.
    pub fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

/// A length field that makes the stream unusable; the session must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length field is smaller than the header itself.
    #[error("frame length {0} is shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    /// The length field exceeds the frame limit.
    #[error("frame length {len} exceeds the limit of {max} bytes")]
    TooLong {
        /// The length field.
        len: usize,
        /// The limit in force (`max_frame`, clamped to [`MAX_FRAME_LIMIT`]).
        max: usize,
    },
}

/// Checks whether a complete frame is at the start of `buf`.
///
/// Returns `Ok(Some(len))` when the first `len` bytes of `buf` are a complete
/// frame (decode `&buf[..len]`, then drop those bytes), and `Ok(None)` when
/// more bytes are needed: either the 2-byte length field is not complete yet,
/// or the frame it announces is not fully buffered yet. Never allocates and
/// never looks past the length field.
///
/// `max_frame` is clamped to [`MAX_FRAME_LIMIT`], so a frame is never longer
/// than 32767 bytes whatever the caller passes.
///
/// # Errors
///
/// As soon as the length field is complete (before the rest of the frame
/// arrives): [`FrameError::TooShort`] if it is below [`HEADER_LEN`],
/// [`FrameError::TooLong`] if it is above `max_frame`.
pub fn frame_len(buf: &[u8], max_frame: usize) -> Result<Option<usize>, FrameError> {
    let Some(&[lo, hi]) = buf.first_chunk::<2>() else {
        return Ok(None);
    };
    let len = usize::from(u16::from_le_bytes([lo, hi]));
    let max = max_frame.min(MAX_FRAME_LIMIT);
    if len < HEADER_LEN {
        return Err(FrameError::TooShort(len));
    }
    if len > max {
        return Err(FrameError::TooLong { len, max });
    }
    if buf.len() < len {
        return Ok(None);
    }
    Ok(Some(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let header = Header {
            len: 0x0106,
            id: 221,
            kind: 7,
        };
        let bytes = header.to_bytes();
        assert_eq!(bytes, [0x06, 0x01, 0xDD, 0x00, 0x07]);
        assert_eq!(Header::from_bytes(&bytes), header);
        assert_eq!(Header::parse(&bytes), Some(header));
        assert_eq!(Header::parse(&bytes[..4]), None);
        let mut out = vec![0xAA];
        Header::new(215, 5).write(&mut out);
        assert_eq!(out, [0xAA, 0x05, 0x00, 0xD7, 0x00, 0x00]);
    }

    #[test]
    fn incomplete_length_field_needs_more() {
        assert_eq!(frame_len(&[], 8192), Ok(None));
        assert_eq!(frame_len(&[0x05], 8192), Ok(None));
    }

    #[test]
    fn incomplete_frame_needs_more() {
        assert_eq!(frame_len(&[0x05, 0x00], 8192), Ok(None));
        assert_eq!(frame_len(&[0x05, 0x00, 0xD7, 0x00], 8192), Ok(None));
        assert_eq!(
            frame_len(&[0x07, 0x00, 0xCA, 0x00, 0x00, 0x00], 8192),
            Ok(None)
        );
    }

    #[test]
    fn complete_frame_reports_its_length_only() {
        assert_eq!(
            frame_len(&[0x05, 0x00, 0xD7, 0x00, 0x00], 8192),
            Ok(Some(5))
        );
        let two = [0x05, 0x00, 0xD7, 0x00, 0x00, 0x05, 0x00, 0xD7];
        assert_eq!(frame_len(&two, 8192), Ok(Some(5)));
    }

    #[test]
    fn short_length_is_an_error_at_once() {
        for len in 0..5u8 {
            assert_eq!(
                frame_len(&[len, 0], 8192),
                Err(FrameError::TooShort(usize::from(len)))
            );
        }
    }

    #[test]
    fn long_length_is_an_error_at_once() {
        assert_eq!(frame_len(&[0x00, 0x20], 8192), Ok(None)); // exactly 8192
        assert_eq!(
            frame_len(&[0x01, 0x20], 8192),
            Err(FrameError::TooLong {
                len: 8193,
                max: 8192
            })
        );
        assert_eq!(
            frame_len(&[0x06, 0x00], 5),
            Err(FrameError::TooLong { len: 6, max: 5 })
        );
    }

    #[test]
    fn max_frame_is_clamped_to_the_protocol_limit() {
        assert_eq!(frame_len(&[0xFF, 0x7F], usize::MAX), Ok(None)); // 32767
        assert_eq!(
            frame_len(&[0x00, 0x80], usize::MAX),
            Err(FrameError::TooLong {
                len: 32768,
                max: MAX_FRAME_LIMIT
            })
        );
        assert_eq!(MAX_FRAME_LIMIT, 32767);
    }
}
