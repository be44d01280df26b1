//! A minimal RESP2 reader and command writer for the subscriber
//! connection.
//!
//! The subscriber reads with a timeout (to notice shutdown) on a plain
//! `TcpStream`; a reader that buffers what it has read keeps a frame that
//! arrives in pieces intact across timeouts, which a one-shot blocking
//! parser cannot promise. Bounded: a bulk string or an array larger than
//! the limits is an error (the connection is dropped and reopened), never
//! an allocation the server chose.

/// Largest bulk string accepted (a bus message is a few hundred bytes).
const MAX_BULK: usize = 1 << 20;
/// Largest array accepted (pub/sub pushes have 3 or 4 elements).
const MAX_ARRAY: usize = 16;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 2;

/// One RESP value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+text`
    Simple(String),
    /// `-text`
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` (None for `$-1`)
    Bulk(Option<Vec<u8>>),
    /// `*n` (None for `*-1`)
    Array(Option<Vec<Value>>),
}

/// Why the stream cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let at = buf.windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[..at], at + 2))
}

fn int(bytes: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(ProtocolError("bad integer"))
}

/// Parses one value from the front of `buf`: `Ok(None)` when more bytes
/// are needed, else the value and how many bytes it took.
///
/// # Errors
///
/// The bytes are not RESP, or exceed the limits.
pub fn parse(buf: &[u8]) -> Result<Option<(Value, usize)>, ProtocolError> {
    parse_at(buf, 0)
}

fn parse_at(buf: &[u8], depth: usize) -> Result<Option<(Value, usize)>, ProtocolError> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let Some((head, used)) = line(&buf[1..]) else {
        if buf.len() > 64 {
            return Err(ProtocolError("header line too long"));
        }
        return Ok(None);
    };
    let used = used + 1;
    let text = || String::from_utf8_lossy(head).into_owned();
    match kind {
        b'+' => Ok(Some((Value::Simple(text()), used))),
        b'-' => Ok(Some((Value::Error(text()), used))),
        b':' => Ok(Some((Value::Int(int(head)?), used))),
        b'$' => {
            let n = int(head)?;
            if n < 0 {
                return Ok(Some((Value::Bulk(None), used)));
            }
            let n = usize::try_from(n).map_err(|_| ProtocolError("bad length"))?;
            if n > MAX_BULK {
                return Err(ProtocolError("bulk string too large"));
            }
            let end = used + n + 2;
            if buf.len() < end {
                return Ok(None);
            }
            if &buf[used + n..end] != b"\r\n" {
                return Err(ProtocolError("bulk string not terminated"));
            }
            Ok(Some((Value::Bulk(Some(buf[used..used + n].to_vec())), end)))
        }
        b'*' => {
            let n = int(head)?;
            if n < 0 {
                return Ok(Some((Value::Array(None), used)));
            }
            let n = usize::try_from(n).map_err(|_| ProtocolError("bad length"))?;
            if n > MAX_ARRAY || depth >= MAX_DEPTH {
                return Err(ProtocolError("array too large or too deep"));
            }
            let mut items = Vec::with_capacity(n);
            let mut at = used;
            for _ in 0..n {
                match parse_at(&buf[at..], depth + 1)? {
                    Some((v, len)) => {
                        items.push(v);
                        at += len;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Value::Array(Some(items)), at)))
        }
        _ => Err(ProtocolError("unknown type byte")),
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn command<'a>(args: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let args: Vec<&[u8]> = args.into_iter().collect();
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_message_parses_whole_and_waits_when_cut() {
        let msg = b"*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$5\r\nhello\r\n+OK\r\n";
        let (v, used) = parse(msg).unwrap().unwrap();
        assert_eq!(
            v,
            Value::Array(Some(vec![
                Value::Bulk(Some(b"message".to_vec())),
                Value::Bulk(Some(b"room".to_vec())),
                Value::Bulk(Some(b"hello".to_vec())),
            ]))
        );
        assert_eq!(
            parse(&msg[used..]).unwrap().unwrap().0,
            Value::Simple("OK".into())
        );
        for cut in 0..used {
            assert_eq!(parse(&msg[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(parse(b"?x\r\n").is_err());
        assert!(parse(b"$99999999999\r\n").is_err());
        assert!(parse(b"*100\r\n").is_err());
        assert!(parse(b"$2\r\nabcd").is_err());
        assert!(parse(b"*1\r\n*1\r\n*1\r\n:1\r\n").is_err());
        assert!(parse(&[b'+'; 100]).is_err());
        assert_eq!(parse(b":-3\r\n").unwrap().unwrap().0, Value::Int(-3));
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            command([&b"SUBSCRIBE"[..], b"a b"]),
            b"*2\r\n$9\r\nSUBSCRIBE\r\n$3\r\na b\r\n"
        );
    }
}
