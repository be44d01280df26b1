//! Client frames to events (RFC 6455 section 5), for a server that exchanges
//! binary messages.
//!
//! The decoder is given the bytes buffered for a session and reports how
//! many it used: a frame is used only when it is whole, so the caller keeps
//! the rest and calls again when more arrive (as with the engine's framing).
//! A frame header that announces more than the message limit is refused
//! before its payload is buffered.

use std::io::Cursor;

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use crate::close::CloseCode;
use crate::encode::MAX_CONTROL_PAYLOAD;

/// The longest client frame header: 2 bytes, a 64-bit length, the mask.
const MAX_CLIENT_HEADER_LEN: usize = 14;

/// What the client sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole binary message, unmasked (fragments reassembled).
    Message(&'a [u8]),
    /// A ping: answer with [`crate::encode::pong`] of the same payload.
    Ping(&'a [u8]),
    /// A pong (unsolicited pongs are allowed and mean nothing).
    Pong,
    /// The client closes, with its status code if it gave one: answer with a
    /// close frame, then close the connection. The decoder ignores input
    /// after it.
    Close(Option<CloseCode>),
}

/// A violation that ends the session: send a close frame with `code`, then
/// close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (close {code})")]
pub struct ProtocolError {
    /// The close code to send.
    pub code: CloseCode,
    /// What was wrong, for logs (and the close frame's reason).
    pub reason: &'static str,
}

impl ProtocolError {
    /// A protocol error (1002).
    pub const fn protocol(reason: &'static str) -> Self {
        ProtocolError {
            code: CloseCode::PROTOCOL,
            reason,
        }
    }
}

/// The receiving half of one WebSocket session.
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    /// The fragments of a message in progress; empty (and unallocated)
    /// between messages.
    partial: Vec<u8>,
    in_message: bool,
    closed: bool,
}

impl Decoder {
    /// A decoder that accepts binary messages of up to `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Decoder {
            max_message,
            partial: Vec::new(),
            in_message: false,
            closed: false,
        }
    }

    /// The most bytes a caller must buffer for one incomplete frame: a
    /// frame that is not whole within this many bytes has already been
    /// refused.
    pub fn max_frame_len(&self) -> usize {
        MAX_CLIENT_HEADER_LEN + self.max_message.max(MAX_CONTROL_PAYLOAD)
    }

    /// Whether a close frame was received or an error returned: the session
    /// is ending and further input is ignored.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Decodes the whole frames at the start of `input`, calling `on_event`
    /// for each event in order, and returns how many bytes were used.
    /// `scratch` is working memory (any contents are overwritten; keep one
    /// per thread).
    ///
    /// # Errors
    /// A protocol violation, or the error `on_event` returned (decoding
    /// stops at the first). Either way the decoder is closed.
    pub fn decode<F>(
        &mut self,
        input: &[u8],
        scratch: &mut Vec<u8>,
        mut on_event: F,
    ) -> Result<usize, ProtocolError>
    where
        F: FnMut(Event<'_>) -> Result<(), ProtocolError>,
    {
        let result = self.decode_frames(input, scratch, &mut on_event);
        if result.is_err() {
            self.closed = true;
            self.partial = Vec::new();
        }
        result
    }

    fn decode_frames<F>(
        &mut self,
        input: &[u8],
        scratch: &mut Vec<u8>,
        on_event: &mut F,
    ) -> Result<usize, ProtocolError>
    where
        F: FnMut(Event<'_>) -> Result<(), ProtocolError>,
    {
        let mut pos = 0;
        while pos < input.len() {
            if self.closed {
                return Ok(input.len());
            }
            let mut cursor = Cursor::new(&input[pos..]);
            let (header, len) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => break,
                Err(_) => return Err(ProtocolError::protocol("reserved opcode")),
            };
            let head_len = cursor.position() as usize;
            self.check(&header, len)?;
            let Some(mask) = header.mask else {
                return Err(ProtocolError::protocol("unmasked client frame"));
            };
            // `check` bounded `len` by the message limit, which fits memory.
            let len = len as usize;
            if input.len() - pos - head_len < len {
                break;
            }
            let payload = &input[pos + head_len..pos + head_len + len];
            pos += head_len + len;
            unmask(payload, mask, scratch);
            match header.opcode {
                OpCode::Data(Data::Binary) if header.is_final => {
                    on_event(Event::Message(scratch))?;
                }
                OpCode::Data(Data::Binary) => {
                    self.in_message = true;
                    self.partial.extend_from_slice(scratch);
                }
                OpCode::Data(_) => {
                    // A continuation (text was refused by `check`).
                    self.partial.extend_from_slice(scratch);
                    if header.is_final {
                        self.in_message = false;
                        let message = std::mem::take(&mut self.partial);
                        on_event(Event::Message(&message))?;
                    }
                }
                OpCode::Control(Control::Ping) => on_event(Event::Ping(scratch))?,
                OpCode::Control(Control::Pong) => on_event(Event::Pong)?,
                OpCode::Control(_) => {
                    // Close (reserved control opcodes fail to parse).
                    let code = close_code(scratch)?;
                    self.closed = true;
                    self.partial = Vec::new();
                    on_event(Event::Close(code))?;
                    return Ok(input.len());
                }
            }
        }
        Ok(pos)
    }

    /// The checks a header allows before its payload is there.
    fn check(&self, header: &FrameHeader, len: u64) -> Result<(), ProtocolError> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(ProtocolError::protocol(
                "reserved bits set (no extension was negotiated)",
            ));
        }
        let too_big = ProtocolError {
            code: CloseCode::TOO_BIG,
            reason: "message longer than the maximum",
        };
        match header.opcode {
            OpCode::Control(_) if !header.is_final => {
                Err(ProtocolError::protocol("fragmented control frame"))
            }
            OpCode::Control(_) if len > MAX_CONTROL_PAYLOAD as u64 => Err(ProtocolError::protocol(
                "control frame longer than 125 bytes",
            )),
            OpCode::Control(_) => Ok(()),
            OpCode::Data(Data::Text) => Err(ProtocolError {
                code: CloseCode::UNSUPPORTED,
                reason: "text messages are not accepted: send each packet as a binary message",
            }),
            OpCode::Data(Data::Binary) if self.in_message => Err(ProtocolError::protocol(
                "a new message inside a fragmented one",
            )),
            OpCode::Data(Data::Binary) if len > self.max_message as u64 => Err(too_big),
            OpCode::Data(Data::Binary) => Ok(()),
            OpCode::Data(_) if !self.in_message => Err(ProtocolError::protocol(
                "continuation frame without a message",
            )),
            OpCode::Data(_) => {
                if (self.partial.len() as u64).saturating_add(len) > self.max_message as u64 {
                    Err(too_big)
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// The status code of a close frame's payload: none when empty; a one-byte
/// payload, a code not valid on the wire or a reason that is not UTF-8 is an
/// error.
fn close_code(payload: &[u8]) -> Result<Option<CloseCode>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::protocol("close payload of one byte")),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::protocol("invalid close code"));
            }
            if std::str::from_utf8(reason).is_err() {
                return Err(ProtocolError {
                    code: CloseCode::INVALID_DATA,
                    reason: "close reason is not UTF-8",
                });
            }
            Ok(Some(code))
        }
    }
}

/// `scratch` = `payload` unmasked with `mask`.
fn unmask(payload: &[u8], mask: [u8; 4], scratch: &mut Vec<u8>) {
    scratch.clear();
    scratch.extend_from_slice(payload);
    let word = u32::from_ne_bytes(mask);
    let mut chunks = scratch.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let mut b = [0u8; 4];
        b.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u32::from_ne_bytes(b) ^ word).to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmasking_matches_the_definition() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..20 {
            let masked: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut out = Vec::new();
            unmask(&masked, mask, &mut out);
            let want: Vec<u8> = masked
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(out, want, "{len}");
        }
        // RFC 6455 section 5.7: a masked "Hello".
        let mut out = Vec::new();
        unmask(&[0x7f, 0x9f, 0x4d, 0x51, 0x58], mask, &mut out);
        assert_eq!(out, b"Hello");
    }
}
