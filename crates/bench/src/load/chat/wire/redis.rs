//! The Redis side of the `chat` load: RESP3 (`HELLO 3`), `SUBSCRIBE` and
//! `PUBLISH` on one connection; pushes (`>3 message CHANNEL PAYLOAD`) are
//! deliveries, integers are the `PUBLISH` replies. An incremental parser
//! walks any RESP3 value, so a reply of an unexpected shape is skipped
//! rather than misread.

use super::{Envelope, Incoming, FOREIGN_ERROR};

impl Envelope {
    /// A Redis `PUBLISH channel <text>` command (a RESP array of bulk
    /// strings) around a `size`-byte text.
    pub fn redis(channel: &str, size: usize) -> Envelope {
        let mut prefix = b"*3\r\n$7\r\nPUBLISH\r\n".to_vec();
        push_bulk(&mut prefix, channel.as_bytes());
        prefix.extend_from_slice(format!("${size}\r\n").as_bytes());
        Envelope {
            prefix,
            suffix: b"\r\n".to_vec(),
        }
    }
}

/// Appends a RESP bulk string.
fn push_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends a RESP command (an array of bulk strings).
pub fn redis_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        push_bulk(out, arg);
    }
}

/// The Redis channel of a room.
pub fn redis_channel(room: i64) -> String {
    format!("room:{room}")
}

/// Deepest RESP3 nesting the parser follows.
const MAX_RESP_DEPTH: u32 = 16;

/// One element of a RESP3 aggregate, as far as the load cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem<'a> {
    /// A bulk (or simple) string.
    Str(&'a [u8]),
    /// An integer.
    Int,
    /// An error reply.
    Error(&'a [u8]),
    /// A push with exactly three elements (kind, channel, payload).
    Push3([Elem3<'a>; 3]),
    /// Anything else, skipped.
    Other,
}

/// A push element: strings and integers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem3<'a> {
    Str(&'a [u8]),
    Int,
    Other,
}

/// The line starting at `pos` (without its CRLF) and the index after the
/// CRLF, or `None` while incomplete.
fn resp_line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let cr = rest.iter().position(|&b| b == b'\r')?;
    match rest.get(cr + 1) {
        Some(b'\n') => Some((&rest[..cr], pos + cr + 2)),
        Some(_) => Some((&rest[..cr], usize::MAX)), // caught by the caller as an error
        None => None,
    }
}

fn resp_int(digits: &[u8]) -> Result<i64, String> {
    let bad = || format!("bad RESP number {:?}", String::from_utf8_lossy(digits));
    let (negative, body) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if body.is_empty() {
        return Err(bad());
    }
    let mut value = 0i64;
    for &b in body {
        if !b.is_ascii_digit() {
            return Err(bad());
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(bad)?;
    }
    Ok(if negative { -value } else { value })
}

/// The bulk string at `pos`: `Ok(None)` while incomplete, `Err(())` when
/// the value there is not a bulk string (or malformed).
fn resp_bulk(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, ()> {
    if buf.get(pos) != Some(&b'$') {
        return if pos < buf.len() { Err(()) } else { Ok(None) };
    }
    let Some((line, next)) = resp_line(buf, pos + 1) else {
        return Ok(None);
    };
    let len = resp_int(line).map_err(|_| ())?;
    let len = usize::try_from(len).map_err(|_| ())?;
    if next == usize::MAX {
        return Err(());
    }
    let end = next.checked_add(len).ok_or(())?;
    match buf.get(end..end + 2) {
        None => Ok(None),
        Some(b"\r\n") => Ok(Some((&buf[next..end], end + 2))),
        Some(_) => Err(()),
    }
}

/// The start of every pub/sub message push.
const MESSAGE_PUSH: &[u8] = b">3\r\n$7\r\nmessage\r\n";

/// Fast path for the common case, a `message` push: its payload and the
/// index after it; `None` for anything else (incomplete, or another value),
/// which the general parser then handles.
fn message_push(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    if !rest.starts_with(MESSAGE_PUSH) {
        return None;
    }
    let (_channel, at) = resp_bulk(buf, pos + MESSAGE_PUSH.len()).ok()??;
    resp_bulk(buf, at).ok()?
}

/// Parses one RESP3 value at `pos`: `Ok(None)` while incomplete, else the
/// value and the index after it.
fn resp_value(buf: &[u8], pos: usize, depth: u32) -> Result<Option<(Elem<'_>, usize)>, String> {
    if depth > MAX_RESP_DEPTH {
        return Err("RESP value nested too deeply".into());
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some((line, next)) = resp_line(buf, pos + 1) else {
        return Ok(None);
    };
    if next == usize::MAX {
        return Err("RESP line without CRLF".into());
    }
    match kind {
        b'+' => Ok(Some((Elem::Str(line), next))),
        b'-' => Ok(Some((Elem::Error(line), next))),
        b':' => resp_int(line).map(|_| Some((Elem::Int, next))),
        b'_' | b'#' | b',' | b'(' => Ok(Some((Elem::Other, next))),
        b'$' | b'!' | b'=' => {
            let len = resp_int(line)?;
            if len < 0 {
                return Ok(Some((Elem::Other, next))); // RESP2 null bulk
            }
            let len = usize::try_from(len).map_err(|_| "bulk length overflows")?;
            let end = next.checked_add(len).ok_or("bulk length overflows")?;
            match buf.get(end..end + 2) {
                None => Ok(None),
                Some(b"\r\n") => {
                    let body = &buf[next..end];
                    Ok(Some((
                        if kind == b'!' {
                            Elem::Error(body)
                        } else {
                            Elem::Str(body)
                        },
                        end + 2,
                    )))
                }
                Some(_) => Err("bulk string without CRLF".into()),
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let count = resp_int(line)?;
            if count < 0 {
                return Ok(Some((Elem::Other, next))); // RESP2 null array
            }
            let mut count = usize::try_from(count).map_err(|_| "aggregate length overflows")?;
            if kind == b'%' || kind == b'|' {
                count = count.checked_mul(2).ok_or("aggregate length overflows")?;
            }
            let mut at = next;
            let mut three = [Elem3::Other; 3];
            for i in 0..count {
                let Some((elem, after)) = resp_value(buf, at, depth + 1)? else {
                    return Ok(None);
                };
                if let Some(slot) = three.get_mut(i) {
                    *slot = match elem {
                        Elem::Str(s) => Elem3::Str(s),
                        Elem::Int => Elem3::Int,
                        _ => Elem3::Other,
                    };
                }
                at = after;
            }
            let elem = if kind == b'>' && count == 3 {
                Elem::Push3(three)
            } else {
                Elem::Other
            };
            Ok(Some((elem, at)))
        }
        other => Err(format!("unknown RESP type byte {other:#04x}")),
    }
}

/// Parses every complete RESP3 value at the start of `buf`, calls `f` for
/// each (pushes of kind `message` are deliveries, integers and errors are
/// `PUBLISH` answers), and returns how many bytes were consumed.
///
/// # Errors
///
/// Bytes that are not RESP3: the stream cannot be followed.
pub fn parse_redis<'a>(buf: &'a [u8], mut f: impl FnMut(Incoming<'a>)) -> Result<usize, String> {
    let mut pos = 0;
    loop {
        if let Some((payload, next)) = message_push(buf, pos) {
            f(Incoming::Delivery(payload));
            pos = next;
            continue;
        }
        let Some((elem, next)) = resp_value(buf, pos, 0)? else {
            break;
        };
        f(match elem {
            Elem::Push3([Elem3::Str(b"message"), _, Elem3::Str(payload)]) => {
                Incoming::Delivery(payload)
            }
            Elem::Int => Incoming::Ack { ok: true, code: 0 },
            Elem::Error(_) => Incoming::Ack {
                ok: false,
                code: FOREIGN_ERROR,
            },
            _ => Incoming::Other,
        });
        pos = next;
    }
    Ok(pos)
}

/// A Redis setup answer, as the setup phase needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisSetup {
    /// The `subscribe` confirmation push.
    Subscribed,
    /// An error reply (for example `NOPROTO` from a server without RESP3).
    Error(String),
    /// Anything else (the `HELLO` map).
    Other,
}

/// Parses one complete RESP3 value of the setup phase at the start of
/// `buf`: `Ok(None)` while incomplete, else what it is and its length.
///
/// # Errors
///
/// Bytes that are not RESP3.
pub fn parse_redis_setup(buf: &[u8]) -> Result<Option<(RedisSetup, usize)>, String> {
    Ok(resp_value(buf, 0, 0)?.map(|(elem, len)| {
        let what = match elem {
            Elem::Push3([Elem3::Str(b"subscribe"), _, _]) => RedisSetup::Subscribed,
            Elem::Error(e) => RedisSetup::Error(String::from_utf8_lossy(e).into_owned()),
            _ => RedisSetup::Other,
        };
        (what, len)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_envelope_is_a_publish() {
        let env = Envelope::redis("room:3", 4);
        let mut cmd = env.prefix.clone();
        cmd.extend_from_slice(b"abcd");
        cmd.extend_from_slice(&env.suffix);
        assert_eq!(
            cmd,
            b"*3\r\n$7\r\nPUBLISH\r\n$6\r\nroom:3\r\n$4\r\nabcd\r\n".to_vec()
        );
        assert_eq!(env.len(4), cmd.len());
        let mut out = Vec::new();
        redis_command(&mut out, &[b"HELLO", b"3"]);
        assert_eq!(out, b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n".to_vec());
    }

    #[test]
    fn redis_parser_tells_pushes_from_replies() {
        let mut buf = Vec::new();
        buf.extend_from_slice(b">3\r\n$9\r\nsubscribe\r\n$6\r\nroom:1\r\n:1\r\n");
        buf.extend_from_slice(b":10\r\n");
        buf.extend_from_slice(b">3\r\n$7\r\nmessage\r\n$6\r\nroom:1\r\n$5\r\nhello\r\n");
        buf.extend_from_slice(b"-ERR nope\r\n");
        buf.extend_from_slice(
            b"%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nmodes\r\n*2\r\n+a\r\n_\r\n",
        );
        let whole = buf.len();
        buf.extend_from_slice(b">3\r\n$7\r\nmess");
        let mut seen = Vec::new();
        let used = parse_redis(&buf, |e| seen.push(e)).unwrap();
        assert_eq!(used, whole);
        assert_eq!(
            seen,
            vec![
                Incoming::Other,
                Incoming::Ack { ok: true, code: 0 },
                Incoming::Delivery(b"hello"),
                Incoming::Ack {
                    ok: false,
                    code: FOREIGN_ERROR
                },
                Incoming::Other,
            ]
        );
        assert!(parse_redis(b"?what\r\n", |_| {}).is_err());
        assert!(parse_redis(b"$3\r\nabcXY", |_| {}).is_err());
        assert!(parse_redis(b":1\rX", |_| {}).is_err());
        // Every prefix of a valid stream is "incomplete", never an error.
        for cut in 0..whole {
            assert!(parse_redis(&buf[..cut], |_| {}).is_ok(), "cut at {cut}");
        }
    }

    #[test]
    fn resp_numbers_and_the_message_fast_path() {
        assert_eq!(resp_int(b"123"), Ok(123));
        assert_eq!(resp_int(b"-7"), Ok(-7));
        for bad in [&b""[..], b"-", b"1x", b"99999999999999999999"] {
            assert!(resp_int(bad).is_err(), "{bad:?}");
        }
        let push = b">3\r\n$7\r\nmessage\r\n$6\r\nroom:1\r\n$5\r\nhello\r\n";
        assert_eq!(message_push(push, 0), Some((&b"hello"[..], push.len())));
        for cut in 0..push.len() {
            assert_eq!(message_push(&push[..cut], 0), None, "cut at {cut}");
        }
        // Not a bulk payload: left to the general parser, which skips it.
        let odd = b">3\r\n$7\r\nmessage\r\n$6\r\nroom:1\r\n:5\r\n";
        assert_eq!(message_push(odd, 0), None);
        let mut seen = Vec::new();
        assert_eq!(parse_redis(odd, |e| seen.push(e)), Ok(odd.len()));
        assert_eq!(seen, vec![Incoming::Other]);
    }

    #[test]
    fn redis_setup_answers() {
        let sub = b">3\r\n$9\r\nsubscribe\r\n$6\r\nroom:1\r\n:1\r\n";
        assert_eq!(
            parse_redis_setup(sub).unwrap(),
            Some((RedisSetup::Subscribed, sub.len()))
        );
        assert_eq!(
            parse_redis_setup(b"-NOPROTO unsupported\r\n").unwrap(),
            Some((RedisSetup::Error("NOPROTO unsupported".into()), 22))
        );
        assert_eq!(parse_redis_setup(b"%1\r\n").unwrap(), None);
        let deep = "*1\r\n".repeat(40);
        assert!(parse_redis_setup(deep.as_bytes()).is_err());
    }
}
