//! Private byte-level helpers shared by the packet modules: a bounds-checked
//! body reader and the writers for header and integers.

use crate::error::{BodyError, EncodeError, TextField};
use crate::header::{Header, HEADER_LEN, MAX_FRAME_LIMIT};
use crate::text::{Message, Password, UserId};

/// Reads a body front to back; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over a variable-size body.
    pub(crate) fn new(body: &'a [u8]) -> Reader<'a> {
        Reader { rest: body }
    }

    /// A reader over a fixed-size body, after checking its size.
    pub(crate) fn fixed(body: &'a [u8], expected: usize) -> Result<Reader<'a>, BodyError> {
        if body.len() != expected {
            return Err(BodyError::WrongSize {
                len: body.len(),
                expected,
            });
        }
        Ok(Reader { rest: body })
    }

    /// Bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], BodyError> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(BodyError::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BodyError> {
        let (head, tail) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(BodyError::Truncated)?;
        self.rest = tail;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, BodyError> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, BodyError> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, BodyError> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, BodyError> {
        self.array().map(u64::from_le_bytes)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, BodyError> {
        self.array().map(i32::from_le_bytes)
    }

    pub(crate) fn i64(&mut self) -> Result<i64, BodyError> {
        self.array().map(i64::from_le_bytes)
    }

    pub(crate) fn result(&mut self) -> Result<crate::ResultCode, BodyError> {
        let code = self.u16()?;
        crate::ResultCode::from_u16(code).ok_or(BodyError::UnknownResult(code))
    }

    pub(crate) fn user_id_field(&mut self) -> Result<UserId<'a>, BodyError> {
        let field = self.bytes(UserId::FIELD_LEN)?;
        UserId::from_field(field).map_err(text_error(TextField::UserId))
    }

    pub(crate) fn password_field(&mut self) -> Result<Password<'a>, BodyError> {
        let field = self.bytes(Password::FIELD_LEN)?;
        Password::from_field(field).map_err(text_error(TextField::Password))
    }

    pub(crate) fn message_field(&mut self) -> Result<Message<'a>, BodyError> {
        let field = self.bytes(Message::FIELD_LEN)?;
        Message::from_field(field).map_err(text_error(TextField::Message))
    }

    /// A length-prefixed user id (`u8 id_len`, then the bytes), as in 208/209.
    pub(crate) fn user_id_prefixed(&mut self) -> Result<UserId<'a>, BodyError> {
        let len = self.u8()?;
        let bytes = self.bytes(usize::from(len))?;
        UserId::from_bytes(bytes).map_err(text_error(TextField::UserId))
    }

    /// A length-prefixed byte string (`u8 len`, then the bytes), unchecked.
    pub(crate) fn prefixed(&mut self) -> Result<&'a [u8], BodyError> {
        let len = self.u8()?;
        self.bytes(usize::from(len))
    }

    /// Ends a variable-size body: nothing may be left.
    pub(crate) fn finish(self) -> Result<(), BodyError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(BodyError::TrailingBytes(self.rest.len()))
        }
    }
}

fn text_error(field: TextField) -> impl Fn(crate::TextError) -> BodyError {
    move |source| BodyError::Text { field, source }
}

/// Appends the header of a packet whose total length is known to fit.
pub(crate) fn put_header(out: &mut Vec<u8>, id: u16, total_len: usize) {
    let len = u16::try_from(total_len).unwrap_or(u16::MAX);
    debug_assert!(total_len <= MAX_FRAME_LIMIT);
    Header::new(id, len).write(out);
}

/// Appends a header and a raw body, checking the frame limit.
pub(crate) fn put_raw(out: &mut Vec<u8>, id: u16, body: &[u8]) -> Result<(), EncodeError> {
    let total = HEADER_LEN + body.len();
    if total > MAX_FRAME_LIMIT {
        return Err(EncodeError::TooLong {
            len: total,
            max: MAX_FRAME_LIMIT,
        });
    }
    out.reserve(total);
    put_header(out, id, total);
    out.extend_from_slice(body);
    Ok(())
}

/// A list packet being written at the end of a buffer: header, `u8 count`,
/// then entries (209, 305). Its length and count are patched by
/// [`CountedPacket::finish`]; callers keep it within a frame (at most 127
/// short entries).
pub(crate) struct CountedPacket {
    start: usize,
    /// Entries written so far.
    pub(crate) count: usize,
}

impl CountedPacket {
    /// Starts a packet `id` with no entry.
    pub(crate) fn start(out: &mut Vec<u8>, id: u16) -> CountedPacket {
        let start = out.len();
        put_header(out, id, HEADER_LEN + 1);
        out.push(0);
        CountedPacket { start, count: 0 }
    }

    /// Writes the packet's length and count.
    pub(crate) fn finish(self, out: &mut [u8]) {
        let len = u16::try_from(out.len() - self.start).unwrap_or(u16::MAX);
        if let Some(slot) = out.get_mut(self.start..self.start + 2) {
            slot.copy_from_slice(&len.to_le_bytes());
        }
        if let Some(slot) = out.get_mut(self.start + HEADER_LEN) {
            *slot = u8::try_from(self.count).unwrap_or(u8::MAX);
        }
    }
}

/// Appends one `{ i64 user_unique_id, u8 id_len, id bytes }` entry (208/209).
pub(crate) fn put_member(out: &mut Vec<u8>, user_unique_id: i64, user_id: UserId<'_>) {
    out.extend_from_slice(&user_unique_id.to_le_bytes());
    let text = user_id.as_str().as_bytes();
    // A UserId holds at most 32 bytes.
    out.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(text);
}

/// Size of a 208/209 entry for this user id.
pub(crate) const fn member_len(user_id: UserId<'_>) -> usize {
    8 + 1 + user_id.as_str().len()
}
