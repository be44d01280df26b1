//! Server frames. A server never masks (RFC 6455 section 5.1), so the
//! header of a binary message depends only on its length: one header can be
//! written in front of a payload that every member of a room shares.

use std::io::Write;

use tungstenite::protocol::frame::coding::{Control, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use crate::close::CloseCode;

/// The longest header of an unmasked frame: 2 bytes, then a 64-bit length.
pub const MAX_HEADER_LEN: usize = 10;

/// The longest payload of a control frame (section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame header, stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl Header {
    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

fn header(opcode: OpCode, payload_len: usize) -> Header {
    let head = FrameHeader {
        is_final: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: None,
    };
    let mut bytes = [0u8; MAX_HEADER_LEN];
    let mut cursor = std::io::Cursor::new(&mut bytes[..]);
    // An unmasked header is at most MAX_HEADER_LEN bytes, so formatting into
    // the array cannot run out of room.
    let written = match head.format(payload_len as u64, &mut cursor) {
        Ok(()) => cursor.position() as u8,
        Err(_) => 0,
    };
    debug_assert!(written >= 2);
    Header {
        bytes,
        len: written,
    }
}

/// The header of a whole (unfragmented) binary message of `payload_len`
/// bytes.
///
/// Written here rather than by tungstenite's `FrameHeader::format` (through
/// an `io::Write` cursor): a server writes one for every message to every
/// WebSocket member of a room, and this is three branches. A test checks
/// it against tungstenite's for every length class.
pub fn binary_header(payload_len: usize) -> Header {
    let mut bytes = [0u8; MAX_HEADER_LEN];
    bytes[0] = 0x80 | 0x2; // FIN, binary
    let len = if payload_len < 126 {
        bytes[1] = payload_len as u8;
        2
    } else if let Ok(short) = u16::try_from(payload_len) {
        bytes[1] = 126;
        bytes[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        bytes[1] = 127;
        bytes[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
        10
    };
    Header { bytes, len }
}

/// The header of a pong carrying `payload_len` bytes (at most
/// [`MAX_CONTROL_PAYLOAD`]: the payload of the ping it answers).
pub fn pong_header(payload_len: usize) -> Header {
    header(OpCode::Control(Control::Pong), payload_len)
}

/// Appends a pong answering a ping with `payload` (at most
/// [`MAX_CONTROL_PAYLOAD`] bytes, as the decoder guarantees; longer input is
/// cut to that).
pub fn pong(payload: &[u8], out: &mut Vec<u8>) {
    let payload = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
    out.extend_from_slice(header(OpCode::Control(Control::Pong), payload.len()).as_bytes());
    out.extend_from_slice(payload);
}

/// Appends a close frame with `code` and `reason` (cut at a character
/// boundary so the payload stays within [`MAX_CONTROL_PAYLOAD`]).
pub fn close(code: CloseCode, reason: &str, out: &mut Vec<u8>) {
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = &reason.as_bytes()[..end];
    out.extend_from_slice(header(OpCode::Control(Control::Close), 2 + reason.len()).as_bytes());
    // Writing to a Vec cannot fail.
    let _ = out.write_all(&code.0.to_be_bytes());
    out.extend_from_slice(reason);
}

#[cfg(test)]
mod tests {
    use tungstenite::protocol::frame::coding::Data;

    use super::*;

    #[test]
    fn binary_headers_by_length() {
        assert_eq!(binary_header(0).as_bytes(), &[0x82, 0]);
        assert_eq!(binary_header(125).as_bytes(), &[0x82, 125]);
        assert_eq!(binary_header(126).as_bytes(), &[0x82, 126, 0, 126]);
        assert_eq!(binary_header(295).as_bytes(), &[0x82, 126, 0x01, 0x27]);
        assert_eq!(binary_header(65_535).as_bytes(), &[0x82, 126, 0xff, 0xff]);
        assert_eq!(
            binary_header(65_536).as_bytes(),
            &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn binary_headers_match_tungstenite() {
        for len in [0, 1, 125, 126, 127, 295, 8192, 65_535, 65_536, 1 << 20] {
            assert_eq!(
                binary_header(len),
                header(OpCode::Data(Data::Binary), len),
                "{len}"
            );
        }
    }

    #[test]
    fn control_frames() {
        let mut out = Vec::new();
        pong(b"abc", &mut out);
        assert_eq!(out, [0x8a, 3, b'a', b'b', b'c']);
        out.clear();
        close(CloseCode::TOO_BIG, "big", &mut out);
        assert_eq!(out, [0x88, 5, 0x03, 0xf1, b'b', b'i', b'g']);
        out.clear();
        // A reason is cut to fit 125 bytes, never inside a character.
        close(CloseCode::NORMAL, &"é".repeat(100), &mut out);
        assert_eq!(out[1], 124, "2 code bytes + 61 two-byte characters");
        assert!(std::str::from_utf8(&out[4..]).is_ok());
    }
}
