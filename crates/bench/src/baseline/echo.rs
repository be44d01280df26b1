//! `tokio-echo`: a plain tokio echo server, written the way a competent
//! tokio user would (multi-thread runtime, one task per connection, read
//! into a buffer and `write_all` it back), to compare ringport against.
//!
//! Packet framing reads whole frames by the 5-byte header, echoes every
//! `DEV_ECHO` frame with type 0 (all frames of one read in one write), skips
//! other ids, and closes the connection on a length below 5 or above 8192.

use std::io;

use ringport_proto::id::DEV_ECHO;
use ringport_proto::{frame_len, Header, DEFAULT_MAX_FRAME as MAX_FRAME, HEADER_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{accept_loop, runtime};
use crate::cli::{Framing, TokioEchoArgs};

/// Read buffer of a raw-framing connection.
const RAW_BUFFER: usize = 16 * 1024;

/// Read buffer of a packet-framing connection: two frames, so a whole frame
/// always fits after the unparsed tail is moved to the front.
const PACKET_BUFFER: usize = 2 * MAX_FRAME;

/// Binds, prints `listening on ADDR` on stdout, and serves until killed.
///
/// # Errors
///
/// When the runtime cannot be built or the address cannot be bound.
pub fn run(args: &TokioEchoArgs) -> anyhow::Result<()> {
    let runtime = runtime(args.worker_threads)?;
    runtime.block_on(serve(args.listen, args.framing))
}

async fn serve(addr: std::net::SocketAddr, framing: Framing) -> anyhow::Result<()> {
    accept_loop(addr, "tokio-echo", move |stream| {
        tokio::spawn(async move {
            // Latency matters for an echo server; echoes are whole replies.
            let _ = stream.set_nodelay(true);
            // A peer going away mid-echo is routine, not worth a log line.
            let _ = match framing {
                Framing::Raw => echo_raw(stream).await,
                Framing::Packet => echo_packets(stream).await,
            };
        });
    })
    .await
}

/// Echoes bytes as they come until the peer closes.
async fn echo_raw(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; RAW_BUFFER];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Echoes `DEV_ECHO` frames until the peer closes or sends a bad length.
async fn echo_packets(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; PACKET_BUFFER];
    let mut filled = 0;
    let mut out = Vec::with_capacity(PACKET_BUFFER);
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let consumed = match collect_echoes(&buf[..filled], &mut out) {
            Ok(consumed) => consumed,
            Err(e) => {
                // Echo what came before the bad frame, then close.
                stream.write_all(&out).await?;
                return Err(e);
            }
        };
        buf.copy_within(consumed..filled, 0);
        filled -= consumed;
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

/// Appends the echo of every complete `DEV_ECHO` frame in `input` to `out`
/// and returns how many bytes of `input` were whole frames.
///
/// # Errors
///
/// `InvalidData` at a frame whose length is outside `5..=8192`.
fn collect_echoes(input: &[u8], out: &mut Vec<u8>) -> io::Result<usize> {
    let mut pos = 0;
    // The length is judged once the whole header is there, as before a
    // frame is taken: `Header::parse`, then `frame_len`.
    while let Some(header) = Header::parse(&input[pos..]) {
        let len = match frame_len(&input[pos..], MAX_FRAME) {
            Ok(Some(len)) => len,
            Ok(None) => break, // incomplete: wait for more bytes
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad frame length {}", header.len),
                ))
            }
        };
        if header.id == DEV_ECHO {
            let frame = &input[pos..pos + len];
            out.extend_from_slice(&Header { kind: 0, ..header }.to_bytes());
            out.extend_from_slice(&frame[HEADER_LEN..]);
        }
        pos += len;
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_complete_dev_echo_frames_only() {
        let mut input = vec![7, 0, 1, 0, 9, b'h', b'i']; // echo "hi", type 9
        input.extend_from_slice(&[6, 0, 0xC9, 0, 0, b'x']); // login-ish: skipped
        input.extend_from_slice(&[5, 0, 1, 0, 0]); // empty echo
        input.extend_from_slice(&[8, 0, 1, 0]); // incomplete header+
        let mut out = Vec::new();
        let consumed = collect_echoes(&input, &mut out).unwrap();
        assert_eq!(consumed, 18);
        assert_eq!(out, vec![7, 0, 1, 0, 0, b'h', b'i', 5, 0, 1, 0, 0]);
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut out = Vec::new();
        assert!(collect_echoes(&[4, 0, 1, 0, 0], &mut out).is_err());
        assert!(collect_echoes(&[0x01, 0x20, 1, 0, 0], &mut out).is_err());
        // A whole max-size frame is fine.
        let mut frame = vec![0u8; MAX_FRAME];
        frame[..5].copy_from_slice(&[0x00, 0x20, 1, 0, 0]);
        assert_eq!(collect_echoes(&frame, &mut out).unwrap(), MAX_FRAME);
    }
}
