//! Text fields: [`UserId`], [`Password`] and [`Message`] (see
//! `docs/PROTOCOL.md`, "Fixed-size text fields").
//!
//! On the wire a text field is fixed-size, UTF-8, NUL-terminated and zero
//! padded; the text is the bytes before the first NUL. The types here borrow
//! their `&str` (from the decoded frame, or from the caller when encoding) and
//! are valid by construction: non-empty, short enough to leave room for the
//! NUL, no NUL inside. Encoders therefore never truncate anything.
//!
//! The 208/209 notifies carry the user id length-prefixed instead of in a
//! fixed field; [`UserId::from_bytes`] reads that form under the same rules.

use std::fmt;

/// Why a text is not a valid field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The text is empty.
    #[error("text is empty")]
    Empty,
    /// The text is longer than the field allows.
    #[error("text is {len} bytes, at most {max} fit")]
    TooLong {
        /// Length of the text in bytes.
        len: usize,
        /// Largest length the field allows.
        max: usize,
    },
    /// The text to encode contains a NUL byte, which would end it early.
    #[error("text contains a NUL byte")]
    ContainsNul,
    /// The received field has no terminating NUL.
    #[error("field has no terminating NUL")]
    NoNul,
    /// The received text is not valid UTF-8.
    #[error("text is not valid UTF-8")]
    InvalidUtf8,
}

/// Checks a text to be encoded into a field holding at most `max` bytes.
fn check(text: &str, max: usize) -> Result<(), TextError> {
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    if text.len() > max {
        return Err(TextError::TooLong {
            len: text.len(),
            max,
        });
    }
    if text.as_bytes().contains(&0) {
        return Err(TextError::ContainsNul);
    }
    Ok(())
}

/// Reads the text of a NUL-terminated fixed field.
fn read_field(field: &[u8]) -> Result<&str, TextError> {
    let nul = field.iter().position(|&b| b == 0).ok_or(TextError::NoNul)?;
    let (text, _) = field.split_at(nul);
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    std::str::from_utf8(text).map_err(|_| TextError::InvalidUtf8)
}

/// Appends `text` and zero padding up to `field_len` bytes. `text` has been
/// checked to be shorter than `field_len`.
fn write_field(text: &str, field_len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(text.as_bytes());
    out.resize(out.len() + field_len.saturating_sub(text.len()), 0);
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, max = $max:expr, field = $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name<'a>(&'a str);

        impl<'a> $name<'a> {
            /// Longest text in bytes.
            pub const MAX_LEN: usize = $max;
            #[doc = concat!("Size of the fixed field on the wire: ", $field, " bytes (text, NUL, zero padding).")]
            pub const FIELD_LEN: usize = $max + 1;

            /// Wraps a text to be encoded.
            ///
            /// # Errors
            ///
            /// [`TextError::Empty`], [`TextError::TooLong`] (more than
            /// [`Self::MAX_LEN`] bytes) or [`TextError::ContainsNul`].
            pub fn new(text: &'a str) -> Result<Self, TextError> {
                check(text, $max).map(|()| Self(text))
            }

            /// Reads a received fixed field: the text before the first NUL;
            /// bytes after it are ignored.
            ///
            /// # Errors
            ///
            /// [`TextError::NoNul`], [`TextError::Empty`],
            /// [`TextError::InvalidUtf8`], or [`TextError::TooLong`] if the
            /// slice is longer than the field and the NUL comes too late.
            pub fn from_field(field: &'a [u8]) -> Result<Self, TextError> {
                let text = read_field(field)?;
                if text.len() > $max {
                    return Err(TextError::TooLong { len: text.len(), max: $max });
                }
                Ok(Self(text))
            }

            /// The text.
            pub const fn as_str(&self) -> &'a str {
                self.0
            }

            /// Appends the fixed field ([`Self::FIELD_LEN`] bytes) to `out`.
            pub fn write_field(&self, out: &mut Vec<u8>) {
                write_field(self.0, Self::FIELD_LEN, out);
            }
        }

        impl<'a> TryFrom<&'a str> for $name<'a> {
            type Error = TextError;

            fn try_from(text: &'a str) -> Result<Self, TextError> {
                Self::new(text)
            }
        }

        impl AsRef<str> for $name<'_> {
            fn as_ref(&self) -> &str {
                self.0
            }
        }

        impl PartialEq<str> for $name<'_> {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name<'_> {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

text_type!(
    /// A user id: 1 to 32 bytes of UTF-8 in a 33-byte field (`UserID[33]`).
    UserId,
    max = 32,
    field = "33"
);

text_type!(
    /// A password: 1 to 32 bytes of UTF-8 in a 33-byte field (`UserPW[33]`).
    ///
    /// `Debug` does not print the text.
    Password,
    max = 32,
    field = "33"
);

text_type!(
    /// A chat message: 1 to 256 bytes of UTF-8 in a 257-byte field
    /// (`Message[257]`).
    Message,
    max = 256,
    field = "257"
);

impl<'a> UserId<'a> {
    /// Reads a length-prefixed user id (the 208/209 form): exactly `bytes`,
    /// no terminator.
    ///
    /// # Errors
    ///
    /// [`TextError::Empty`], [`TextError::TooLong`],
    /// [`TextError::ContainsNul`] or [`TextError::InvalidUtf8`].
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, TextError> {
        let text = std::str::from_utf8(bytes).map_err(|_| TextError::InvalidUtf8)?;
        Self::new(text)
    }
}

impl fmt::Debug for UserId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserId").field(&self.0).finish()
    }
}

impl fmt::Debug for Password<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Message").field(&self.0).finish()
    }
}

impl fmt::Display for UserId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &[u8], len: usize) -> Vec<u8> {
        let mut field = text.to_vec();
        field.resize(len, 0);
        field
    }

    #[test]
    fn sizes() {
        assert_eq!(UserId::FIELD_LEN, 33);
        assert_eq!(Password::FIELD_LEN, 33);
        assert_eq!(Message::FIELD_LEN, 257);
        assert_eq!(UserId::MAX_LEN, 32);
        assert_eq!(Password::MAX_LEN, 32);
        assert_eq!(Message::MAX_LEN, 256);
    }

    #[test]
    fn encodes_text_then_zero_padding() {
        let mut out = vec![0xEE];
        UserId::new("test").unwrap().write_field(&mut out);
        assert_eq!(out.len(), 1 + 33);
        assert_eq!(&out[..5], &[0xEE, b't', b'e', b's', b't']);
        assert!(out[5..].iter().all(|&b| b == 0));

        let mut out = Vec::new();
        Message::new("hi").unwrap().write_field(&mut out);
        assert_eq!(out, field(b"hi", 257));
    }

    #[test]
    fn full_length_text_keeps_its_nul() {
        let id = "a".repeat(32);
        let mut out = Vec::new();
        UserId::new(&id).unwrap().write_field(&mut out);
        assert_eq!(out.len(), 33);
        assert_eq!(out[32], 0);
        assert_eq!(UserId::from_field(&out).unwrap(), id.as_str());

        let msg = "가".repeat(85); // 255 bytes
        let mut out = Vec::new();
        Message::new(&msg).unwrap().write_field(&mut out);
        assert_eq!(Message::from_field(&out).unwrap().as_str(), msg);
    }

    #[test]
    fn encoder_rejects_what_does_not_fit() {
        assert_eq!(UserId::new(""), Err(TextError::Empty));
        assert_eq!(
            UserId::new(&"a".repeat(33)),
            Err(TextError::TooLong { len: 33, max: 32 })
        );
        assert_eq!(
            Password::new(&"p".repeat(33)),
            Err(TextError::TooLong { len: 33, max: 32 })
        );
        assert_eq!(
            Message::new(&"m".repeat(257)),
            Err(TextError::TooLong { len: 257, max: 256 })
        );
        // 11 three-byte characters are 33 bytes: rejected, not cut mid-character.
        assert_eq!(
            UserId::new(&"가".repeat(11)),
            Err(TextError::TooLong { len: 33, max: 32 })
        );
        assert_eq!(UserId::new("a\0b"), Err(TextError::ContainsNul));
        assert_eq!(Message::new("\0"), Err(TextError::ContainsNul));
        assert!(Message::new(&"m".repeat(256)).is_ok());
    }

    #[test]
    fn decode_reads_up_to_the_first_nul() {
        let mut bytes = field(b"bob", 33);
        bytes[10] = b'x'; // garbage after the NUL is ignored
        bytes[20] = 0xFF;
        assert_eq!(UserId::from_field(&bytes).unwrap(), "bob");
    }

    #[test]
    fn decode_rejects_a_field_without_nul() {
        assert_eq!(UserId::from_field(&[b'a'; 33]), Err(TextError::NoNul));
        assert_eq!(Message::from_field(&[b'a'; 257]), Err(TextError::NoNul));
    }

    #[test]
    fn decode_rejects_empty_text() {
        assert_eq!(UserId::from_field(&[0; 33]), Err(TextError::Empty));
        let mut bytes = field(b"", 257);
        bytes[1] = b'x';
        assert_eq!(Message::from_field(&bytes), Err(TextError::Empty));
    }

    #[test]
    fn decode_rejects_bad_utf8() {
        assert_eq!(
            UserId::from_field(&field(&[b'a', 0xFF], 33)),
            Err(TextError::InvalidUtf8)
        );
        // A character cut in the middle.
        assert_eq!(
            Message::from_field(&field(&"가".as_bytes()[..2], 257)),
            Err(TextError::InvalidUtf8)
        );
    }

    #[test]
    fn decode_rejects_oversized_slices() {
        assert_eq!(
            UserId::from_field(&field(&[b'a'; 40], 41)),
            Err(TextError::TooLong { len: 40, max: 32 })
        );
    }

    #[test]
    fn length_prefixed_user_id() {
        assert_eq!(UserId::from_bytes(b"bob").unwrap(), "bob");
        assert_eq!(UserId::from_bytes(b""), Err(TextError::Empty));
        assert_eq!(UserId::from_bytes(b"b\0b"), Err(TextError::ContainsNul));
        assert_eq!(UserId::from_bytes(&[0xC0]), Err(TextError::InvalidUtf8));
        assert_eq!(
            UserId::from_bytes(&[b'a'; 33]),
            Err(TextError::TooLong { len: 33, max: 32 })
        );
    }

    #[test]
    fn password_debug_is_redacted() {
        let pw = Password::new("hunter2").unwrap();
        assert!(!format!("{pw:?}").contains("hunter2"));
        assert_eq!(pw.as_str(), "hunter2");
        assert_eq!(
            format!("{:?}", UserId::new("bob").unwrap()),
            "UserId(\"bob\")"
        );
    }
}
