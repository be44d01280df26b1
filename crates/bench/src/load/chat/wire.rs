//! Wire formats of the room fan-out load (`chat`).
//!
//! * The message text: fixed-width lowercase hex fields that say who sent a
//!   message, its sequence number and its scheduled send time, padded to the
//!   message size, so every delivery can be checked and timed without any
//!   lookup: `SSSSSSSS:QQQQQQQQQQQQ:TTTTTTTTTTTTTTTT:....` (sender, sequence,
//!   nanoseconds since the run's base instant).
//! * ringport: the packets of `docs/PROTOCOL.md` (login 201, enter 206,
//!   chat 221; 222 and 223 come back). Setup uses `ringport-proto`'s
//!   decoders; the hot path checks a frame's header and reads the 223's
//!   message field in place.
//! * Redis: RESP3 (`HELLO 3`), `SUBSCRIBE` and `PUBLISH` on one connection;
//!   pushes (`>3 message CHANNEL PAYLOAD`) are deliveries, integers are the
//!   `PUBLISH` replies. An incremental parser walks any RESP3 value, so a
//!   reply of an unexpected shape is skipped rather than misread.
//! * NATS: the core text protocol, `CONNECT`, `SUB` and `PUB` on one
//!   connection; `MSG` is a delivery, `PING` is answered with `PONG`.

use ringport_proto::{Header, Message, RoomChatNtf, RoomChatReq, HEADER_LEN};

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

/// Offset of the message field in a 223 (`ROOM_CHAT_NTF`).
const NTF_MESSAGE_AT: usize = HEADER_LEN + ringport_proto::UserId::FIELD_LEN;

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

/// How one message is framed for one connection: bytes before the text and
/// after it. The text itself is written by [`write_text`] in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Bytes before the text.
    pub prefix: Vec<u8>,
    /// Bytes after the text.
    pub suffix: Vec<u8>,
}

impl Envelope {
    /// A ringport `ROOM_CHAT_REQ` (221) around a `size`-byte text: the
    /// header, then the text zero-padded to the 257-byte message field.
    pub fn ringport(size: usize) -> Envelope {
        let mut prefix = Vec::with_capacity(HEADER_LEN);
        let len = u16::try_from(RoomChatReq::LEN).unwrap_or(u16::MAX);
        Header::new(RoomChatReq::ID, len).write(&mut prefix);
        Envelope {
            prefix,
            suffix: vec![0; Message::FIELD_LEN.saturating_sub(size)],
        }
    }

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

    /// Total bytes of one message with a `size`-byte text.
    pub fn len(&self, size: usize) -> usize {
        self.prefix.len() + size + self.suffix.len()
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

/// What the server sent, as the load sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A chat message delivered to this connection: its text (ringport: the
    /// whole 257-byte field, text first).
    Delivery(&'a [u8]),
    /// The answer to one of this connection's messages: ringport's 222, or
    /// the integer reply to a Redis `PUBLISH`. `ok` is false for a refusal
    /// (a non-zero result, a Redis or NATS error).
    Ack {
        /// Whether the message was accepted.
        ok: bool,
        /// ringport's result code (0 when accepted); [`FOREIGN_ERROR`] for a
        /// Redis or NATS error.
        code: u16,
    },
    /// ringport's 217: a member left this connection's room.
    Left,
    /// A NATS `PING`: the server closes connections that do not answer it.
    Ping,
    /// Anything else (presence notifies, subscribe confirmations, ...).
    Other,
}

/// The result code an error answer of Redis or NATS is counted under.
pub const FOREIGN_ERROR: u16 = u16::MAX;

/// Parses every complete ringport packet at the start of `buf`, calls `f`
/// for each, and returns how many bytes were consumed.
///
/// # Errors
///
/// A frame length outside `5..=max_frame`: the stream cannot be followed.
pub fn parse_ringport<'a>(
    buf: &'a [u8],
    max_frame: usize,
    mut f: impl FnMut(Incoming<'a>),
) -> Result<usize, String> {
    let mut pos = 0;
    while let Some(&[l0, l1, i0, i1, _]) = buf.get(pos..).and_then(|b| b.first_chunk::<5>()) {
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        if len < HEADER_LEN || len > max_frame {
            return Err(format!("bad frame length {len}"));
        }
        let Some(frame) = buf.get(pos..pos + len) else {
            break;
        };
        let id = u16::from_le_bytes([i0, i1]);
        let event = match id {
            ringport_proto::id::ROOM_CHAT_NTF if len == RoomChatNtf::LEN => {
                Incoming::Delivery(&frame[NTF_MESSAGE_AT..])
            }
            ringport_proto::id::ROOM_CHAT_RES if len == ringport_proto::RoomChatRes::LEN => {
                let code = u16::from_le_bytes([frame[HEADER_LEN], frame[HEADER_LEN + 1]]);
                Incoming::Ack {
                    ok: code == 0,
                    code,
                }
            }
            ringport_proto::id::ROOM_LEAVE_USER_NTF => Incoming::Left,
            _ => Incoming::Other,
        };
        f(event);
        pos += len;
    }
    Ok(pos)
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
mod nats_tests {
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

    #[test]
    fn ringport_envelope_matches_proto_encoder() {
        let env = Envelope::ringport(64);
        let stamp = Stamp {
            sender: 9,
            seq: 1,
            sched_ns: 77,
        };
        let mut ours = env.prefix.clone();
        write_text(&mut ours, stamp, 64);
        ours.extend_from_slice(&env.suffix);
        assert_eq!(ours.len(), env.len(64));
        let mut text = Vec::new();
        write_text(&mut text, stamp, 64);
        let text = std::str::from_utf8(&text).unwrap();
        let mut theirs = Vec::new();
        RoomChatReq::new(text).unwrap().encode(&mut theirs);
        assert_eq!(ours, theirs);
    }

    #[test]
    fn ringport_parser_splits_frames() {
        let mut text = Vec::new();
        write_text(
            &mut text,
            Stamp {
                sender: 3,
                seq: 4,
                sched_ns: 5,
            },
            64,
        );
        let mut buf = Vec::new();
        ringport_proto::RoomChatRes::new(ringport_proto::ResultCode::None).encode(&mut buf);
        RoomChatNtf {
            user_id: ringport_proto::UserId::new("b3").unwrap(),
            message: Message::new(std::str::from_utf8(&text).unwrap()).unwrap(),
        }
        .encode(&mut buf);
        ringport_proto::RoomChatRes::new(ringport_proto::ResultCode::RoomTooManyPacket)
            .encode(&mut buf);
        let whole = buf.len();
        buf.extend_from_slice(&[7, 0, 202]); // part of the next frame
        let mut seen = Vec::new();
        let used = parse_ringport(&buf, 8192, |e| seen.push(e)).unwrap();
        assert_eq!(used, whole);
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], Incoming::Ack { ok: true, code: 0 });
        match seen[1] {
            Incoming::Delivery(t) => assert_eq!(read_text(t).unwrap().seq, 4),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            seen[2],
            Incoming::Ack {
                ok: false,
                code: 63
            }
        );
        assert!(parse_ringport(&[4, 0, 1, 0, 0], 8192, |_| {}).is_err());
        assert!(parse_ringport(&[0xFF, 0x7F, 1, 0, 0], 8192, |_| {}).is_err());
    }

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
