//! ringport over WebSocket (`--transport ws`): the upgrade to `/ws`, then
//! each packet as one binary message (docs/PROTOCOL.md, "WebSocket
//! transport").
//!
//! The generator masks its frames with the all-zero key, so a masked
//! payload is the packet itself and the message envelope stays a constant
//! prefix. The key is meant to be unpredictable (RFC 6455 section 5.3: it
//! protects proxies from browser scripts, and there is neither here); the
//! server cannot tell and unmasks every byte all the same, so its cost is
//! what any client costs it.

use anyhow::{anyhow, bail};

use super::{parse_ringport, Envelope, Incoming};

/// The upgrade request for `/ws` on `host` (a fixed key: the server only
/// checks its form).
pub fn upgrade_request(host: &str) -> Vec<u8> {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// Looks for the end of the answer to the upgrade at the start of `buf`:
/// `Ok(Some(len))` once a `101` head of `len` bytes is there, `Ok(None)`
/// while it is incomplete.
///
/// # Errors
/// Any other answer.
pub fn upgrade_answer(buf: &[u8]) -> anyhow::Result<Option<usize>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > 8192 {
            bail!("no end of the upgrade answer within 8 KiB");
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    if !head.starts_with("HTTP/1.1 101 ") {
        let line = head.lines().next().unwrap_or_default();
        bail!("the WebSocket upgrade was refused: {line}");
    }
    Ok(Some(end + 4))
}

/// The header of a client frame carrying one `len`-byte binary message,
/// masked with the all-zero key.
fn client_header(len: usize) -> Vec<u8> {
    let mut out = vec![0x82];
    if len < 126 {
        out.push(0x80 | len as u8);
    } else {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len.min(0xffff) as u16).to_be_bytes());
    }
    out.extend_from_slice(&[0; 4]);
    out
}

/// Appends `packet` as one binary message.
pub fn frame_packet(packet: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&client_header(packet.len()));
    out.extend_from_slice(packet);
}

impl Envelope {
    /// A ringport `ROOM_CHAT_REQ` (221) as one binary message: the frame
    /// header, then the packet of [`Envelope::ringport`].
    pub fn ringport_ws(size: usize) -> Envelope {
        let packet = Envelope::ringport(size);
        let mut prefix = client_header(packet.len(size));
        prefix.extend_from_slice(&packet.prefix);
        Envelope {
            prefix,
            suffix: packet.suffix,
        }
    }
}

/// Calls `f` with the payload of every complete server message at the start
/// of `buf` until it returns true; returns the bytes used and whether `f`
/// stopped.
///
/// # Errors
/// A close frame, a masked or fragmented server frame, or an error of `f`.
pub fn messages<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(&'a [u8]) -> anyhow::Result<bool>,
) -> anyhow::Result<(usize, bool)> {
    let mut pos = 0;
    while let Some(&[first, second]) = buf.get(pos..).and_then(|b| b.first_chunk::<2>()) {
        if second & 0x80 != 0 {
            bail!("a masked server frame");
        }
        let (len, at) = match second & 0x7f {
            126 => match buf.get(pos + 2..pos + 4) {
                Some(&[hi, lo]) => (usize::from(u16::from_be_bytes([hi, lo])), 4),
                _ => break,
            },
            127 => bail!("a server message over 64 KiB"),
            n => (usize::from(n), 2),
        };
        let Some(payload) = buf.get(pos + at..pos + at + len) else {
            break;
        };
        pos += at + len;
        match first {
            0x82 => {
                if f(payload)? {
                    return Ok((pos, true));
                }
            }
            0x88 => {
                let code = payload
                    .first_chunk::<2>()
                    .map(|c| u16::from_be_bytes(*c).to_string())
                    .unwrap_or_else(|| "none".into());
                bail!("the server closed the WebSocket (code {code})");
            }
            0x89 | 0x8a => {} // the server sends no pings; pongs mean nothing
            other => bail!("unexpected server frame (first byte {other:#04x})"),
        }
    }
    Ok((pos, false))
}

/// [`parse_ringport`] over WebSocket: each message must hold exactly one
/// packet.
///
/// # Errors
/// As [`messages`], or a message that is not one whole packet.
pub fn parse_ringport_ws<'a>(
    buf: &'a [u8],
    max_frame: usize,
    mut f: impl FnMut(Incoming<'a>),
) -> Result<usize, String> {
    messages(buf, |payload| {
        let mut packets = 0;
        let used = parse_ringport(payload, max_frame, |event| {
            packets += 1;
            f(event);
        })
        .map_err(|e| anyhow!(e))?;
        if used != payload.len() || packets != 1 {
            bail!(
                "a message of {} bytes holding {packets} whole packet(s) of {used} bytes",
                payload.len()
            );
        }
        Ok(false)
    })
    .map(|(used, _)| used)
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::chat::wire::ringport::fixtures::{chat_ntf, filled};
    use crate::load::chat::wire::{read_text, Stamp};

    #[test]
    fn the_envelope_is_a_zero_masked_message_around_the_packet() {
        let stamp = Stamp {
            sender: 1,
            seq: 2,
            sched_ns: 3,
        };
        let ours = filled(&Envelope::ringport_ws(64), stamp, 64);
        // The TCP envelope's packet (itself checked against ringport-proto).
        let packet = filled(&Envelope::ringport(64), stamp, 64);
        assert_eq!(
            &ours[..8],
            &[0x82, 0xfe, 0x01, 0x06, 0, 0, 0, 0],
            "262 bytes"
        );
        assert_eq!(&ours[8..], &packet[..]);
        let mut framed = Vec::new();
        frame_packet(&packet, &mut framed);
        assert_eq!(framed, ours);
    }

    #[test]
    fn server_messages_are_parsed_one_packet_each() {
        let ntf = chat_ntf(4);
        let mut buf = vec![0x82, 126];
        buf.extend_from_slice(&(ntf.len() as u16).to_be_bytes());
        buf.extend_from_slice(&ntf);
        buf.extend_from_slice(&[0x82, 7, 7, 0, 0xde, 0, 0, 0, 0]); // 222 ok
        let whole = buf.len();
        buf.extend_from_slice(&[0x82, 126, 1]); // part of the next
        let mut seen = Vec::new();
        let used = parse_ringport_ws(&buf, 8192, |e| seen.push(e)).unwrap();
        assert_eq!(used, whole);
        match seen[0] {
            Incoming::Delivery(t) => assert_eq!(read_text(t).unwrap().seq, 4),
            other => panic!("{other:?}"),
        }
        assert_eq!(seen[1], Incoming::Ack { ok: true, code: 0 });
        // Two packets in one message, a close frame: errors.
        let two = [0x82, 14, 7, 0, 0xde, 0, 0, 0, 0, 7, 0, 0xde, 0, 0, 0, 0];
        assert!(parse_ringport_ws(&two, 8192, |_| {}).is_err());
        assert!(parse_ringport_ws(&[0x88, 2, 3, 0xe9], 8192, |_| {}).is_err());
    }

    #[test]
    fn upgrade_answers() {
        assert_eq!(upgrade_answer(b"HTTP/1.1 101 Switching").unwrap(), None);
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x82";
        assert_eq!(upgrade_answer(ok).unwrap(), Some(ok.len() - 1));
        assert!(upgrade_answer(b"HTTP/1.1 403 Forbidden\r\n\r\n").is_err());
    }
}
