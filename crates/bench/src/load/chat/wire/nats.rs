//! The NATS side of the `chat` load: the core text protocol, `CONNECT`,
//! `SUB` and `PUB` on one connection; `MSG` is a delivery, `PING` is
//! answered with `PONG`.

use super::{Envelope, Incoming, FOREIGN_ERROR};

/// The NATS subject of a room.
pub fn nats_subject(room: i64) -> String {
    format!("room.{room}")
}

impl Envelope {
    /// A NATS `PUB subject <len>` around a `size`-byte text.
    pub fn nats(subject: &str, size: usize) -> Envelope {
        Envelope {
            prefix: format!("PUB {subject} {size}\r\n").into_bytes(),
            suffix: b"\r\n".to_vec(),
        }
    }
}

/// Longest NATS control line accepted (`INFO` is the longest, well under
/// this).
const MAX_NATS_LINE: usize = 16 * 1024;

/// One NATS protocol message at `pos`: `Ok(None)` while incomplete, else
/// what it is and the index after it.
fn nats_message(buf: &[u8], pos: usize) -> Result<Option<(Incoming<'_>, usize)>, String> {
    let rest = &buf[pos..];
    let Some(nl) = rest.iter().take(MAX_NATS_LINE).position(|&b| b == b'\n') else {
        if rest.len() >= MAX_NATS_LINE {
            return Err("a NATS control line longer than 16 KiB".into());
        }
        return Ok(None);
    };
    let line = rest[..nl].strip_suffix(b"\r").unwrap_or(&rest[..nl]);
    let after = pos + nl + 1;
    let verb_end = line
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(line.len());
    let verb = &line[..verb_end];
    if verb.eq_ignore_ascii_case(b"MSG") {
        // MSG <subject> <sid> [reply-to] <#bytes>
        let Some(len) = line
            .split(|&b| b == b' ' || b == b'\t')
            .rfind(|f| !f.is_empty())
            .and_then(|f| std::str::from_utf8(f).ok())
            .and_then(|f| f.parse::<usize>().ok())
        else {
            return Err(format!(
                "bad NATS MSG line {:?}",
                String::from_utf8_lossy(line)
            ));
        };
        let end = after
            .checked_add(len)
            .ok_or("NATS payload length overflows")?;
        return match buf.get(end..end + 2) {
            None => Ok(None),
            Some(b"\r\n") => Ok(Some((Incoming::Delivery(&buf[after..end]), end + 2))),
            Some(_) => Err("NATS payload without CRLF".into()),
        };
    }
    let event = if verb.eq_ignore_ascii_case(b"PING") {
        Incoming::Ping
    } else if verb.eq_ignore_ascii_case(b"-ERR") {
        Incoming::Ack {
            ok: false,
            code: FOREIGN_ERROR,
        }
    } else if verb.eq_ignore_ascii_case(b"PONG")
        || verb.eq_ignore_ascii_case(b"+OK")
        || verb.eq_ignore_ascii_case(b"INFO")
    {
        Incoming::Other
    } else {
        return Err(format!(
            "unknown NATS message {:?}",
            String::from_utf8_lossy(&line[..line.len().min(64)])
        ));
    };
    Ok(Some((event, after)))
}

/// Parses every complete NATS protocol message at the start of `buf`
/// (`MSG` is a delivery, `PING` must be answered, `-ERR` is a refusal),
/// calls `f` for each and returns how many bytes were consumed.
///
/// # Errors
///
/// Bytes that are not the NATS protocol.
pub fn parse_nats<'a>(buf: &'a [u8], mut f: impl FnMut(Incoming<'a>)) -> Result<usize, String> {
    let mut pos = 0;
    while let Some((event, next)) = nats_message(buf, pos)? {
        f(event);
        pos = next;
    }
    Ok(pos)
}

/// What one NATS connection sends to join a room: `CONNECT` (no `+OK`s,
/// our own messages echoed back like ringport and Redis do), `SUB`, and a
/// `PING` whose `PONG` says both were processed.
pub fn nats_setup(subject: &str) -> Vec<u8> {
    format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":true,\"name\":\"ringport-bench\",\"lang\":\"rust\",\"version\":\"0\",\"protocol\":1}}\r\nSUB {subject} 1\r\nPING\r\n"
    )
    .into_bytes()
}

/// A NATS setup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatsSetup {
    /// The `PONG` to the setup `PING`: subscribed.
    Ready,
    /// A `-ERR`.
    Error(String),
    /// `INFO`, `+OK`, a server `PING` (answered by the caller), ...
    Other,
    /// A server `PING`.
    Ping,
}

/// Parses one NATS message of the setup phase at the start of `buf`.
///
/// # Errors
///
/// Bytes that are not the NATS protocol.
pub fn parse_nats_setup(buf: &[u8]) -> Result<Option<(NatsSetup, usize)>, String> {
    let Some((event, next)) = nats_message(buf, 0)? else {
        return Ok(None);
    };
    let line = &buf[..next];
    let what = match event {
        Incoming::Ping => NatsSetup::Ping,
        Incoming::Ack { ok: false, .. } => {
            NatsSetup::Error(String::from_utf8_lossy(line).trim().to_string())
        }
        _ if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"PONG") => NatsSetup::Ready,
        _ => NatsSetup::Other,
    };
    Ok(Some((what, next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_messages_are_split() {
        let mut buf = Vec::new();
        buf.extend_from_slice(b"INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n");
        buf.extend_from_slice(b"PONG\r\n");
        buf.extend_from_slice(b"MSG room.1 1 5\r\nhello\r\n");
        buf.extend_from_slice(b"MSG room.1 1 reply.x 3\r\nabc\r\n");
        buf.extend_from_slice(b"PING\r\n");
        buf.extend_from_slice(b"-ERR 'Slow Consumer'\r\n");
        let whole = buf.len();
        buf.extend_from_slice(b"MSG room.1 1 5\r\nhel");
        let mut seen = Vec::new();
        assert_eq!(parse_nats(&buf, |e| seen.push(e)), Ok(whole));
        assert_eq!(
            seen,
            vec![
                Incoming::Other,
                Incoming::Other,
                Incoming::Delivery(b"hello"),
                Incoming::Delivery(b"abc"),
                Incoming::Ping,
                Incoming::Ack {
                    ok: false,
                    code: FOREIGN_ERROR
                },
            ]
        );
        for cut in 0..whole {
            assert!(parse_nats(&buf[..cut], |_| {}).is_ok(), "cut at {cut}");
        }
        assert!(parse_nats(b"WHAT\r\n", |_| {}).is_err());
        assert!(parse_nats(b"MSG a 1 x\r\n", |_| {}).is_err());
        assert!(parse_nats(b"MSG a 1 2\r\nabXY", |_| {}).is_err());
        assert!(parse_nats(&vec![b'x'; MAX_NATS_LINE], |_| {}).is_err());
    }

    #[test]
    fn nats_envelope_and_setup() {
        let env = Envelope::nats("room.3", 4);
        let mut cmd = env.prefix.clone();
        cmd.extend_from_slice(b"abcd");
        cmd.extend_from_slice(&env.suffix);
        assert_eq!(cmd, b"PUB room.3 4\r\nabcd\r\n".to_vec());
        assert_eq!(env.len(4), cmd.len());
        assert_eq!(nats_subject(-2), "room.-2");
        assert!(nats_setup("room.1").ends_with(b"SUB room.1 1\r\nPING\r\n"));
        assert_eq!(
            parse_nats_setup(b"PONG\r\n"),
            Ok(Some((NatsSetup::Ready, 6)))
        );
        assert_eq!(
            parse_nats_setup(b"PING\r\n"),
            Ok(Some((NatsSetup::Ping, 6)))
        );
        assert_eq!(
            parse_nats_setup(b"-ERR 'Authorization Violation'\r\n"),
            Ok(Some((
                NatsSetup::Error("-ERR 'Authorization Violation'".into()),
                32
            )))
        );
        assert_eq!(parse_nats_setup(b"INFO {}"), Ok(None));
    }
}
