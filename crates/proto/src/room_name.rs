//! [`RoomName`]: the name of a room that users create (see
//! `docs/PROTOCOL.md`, "Created rooms").
//!
//! On the wire a room name is length-prefixed (`u8 name_len`, then the
//! bytes), like the user id of 208/209. The decoders hand the raw bytes to
//! the server, which checks them with [`RoomName::from_bytes`] and answers
//! a bad name with its own result code (100) rather than 90: the packet was
//! well formed, the name was not.

use std::fmt;

/// Why bytes are not a valid room name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomNameError {
    /// The name is empty.
    #[error("room name is empty")]
    Empty,
    /// The name is longer than 32 bytes.
    #[error("room name is {0} bytes, at most 32 are allowed")]
    TooLong(usize),
    /// The name is not valid UTF-8.
    #[error("room name is not valid UTF-8")]
    InvalidUtf8,
    /// The name holds a control character (NUL, newline, DEL, C1 …).
    #[error("room name contains a control character")]
    Control,
    /// The name starts or ends with white space.
    #[error("room name starts or ends with white space")]
    Spaces,
}

/// A room name: 1 to 32 bytes of UTF-8, no control characters, no white
/// space at either end. Two names are the same room when their
/// [`RoomName::key`]s are equal (Unicode lower case).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomName<'a>(&'a str);

impl<'a> RoomName<'a> {
    /// Longest name in bytes.
    pub const MAX_LEN: usize = 32;

    /// Checks a name.
    ///
    /// # Errors
    ///
    /// [`RoomNameError::Empty`], [`RoomNameError::TooLong`],
    /// [`RoomNameError::Control`] or [`RoomNameError::Spaces`].
    pub fn new(name: &'a str) -> Result<RoomName<'a>, RoomNameError> {
        if name.is_empty() {
            return Err(RoomNameError::Empty);
        }
        if name.len() > Self::MAX_LEN {
            return Err(RoomNameError::TooLong(name.len()));
        }
        if name.chars().any(char::is_control) {
            return Err(RoomNameError::Control);
        }
        let starts = name.chars().next().is_some_and(char::is_whitespace);
        let ends = name.chars().next_back().is_some_and(char::is_whitespace);
        if starts || ends {
            return Err(RoomNameError::Spaces);
        }
        Ok(RoomName(name))
    }

    /// Checks received bytes (the length-prefixed form).
    ///
    /// # Errors
    ///
    /// As [`RoomName::new`], and [`RoomNameError::InvalidUtf8`].
    pub fn from_bytes(bytes: &'a [u8]) -> Result<RoomName<'a>, RoomNameError> {
        if bytes.len() > Self::MAX_LEN {
            return Err(RoomNameError::TooLong(bytes.len()));
        }
        let name = std::str::from_utf8(bytes).map_err(|_| RoomNameError::InvalidUtf8)?;
        RoomName::new(name)
    }

    /// The name.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// The name compared for uniqueness: Unicode lower case, so `Lobby`
    /// and `LOBBY` are one room. (No normalisation beyond that.)
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Debug for RoomName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for RoomName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Appends `bytes` length-prefixed (`u8 len`, then the bytes). `bytes` is
/// at most 255 long (callers check).
pub(crate) fn put_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(bytes.get(..255).unwrap_or(bytes));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        for name in ["a", "Lobby", "rust 🦀 fans", &"x".repeat(32), "日本語"] {
            assert_eq!(RoomName::new(name).map(|n| n.as_str()), Ok(name));
            assert_eq!(
                RoomName::from_bytes(name.as_bytes()).map(|n| n.as_str()),
                Ok(name)
            );
        }
        assert_eq!(
            RoomName::new("LoBBy").map(|n| n.key()),
            Ok("lobby".to_owned())
        );
    }

    #[test]
    fn bad_names_say_why() {
        assert_eq!(RoomName::new(""), Err(RoomNameError::Empty));
        assert_eq!(
            RoomName::new(&"x".repeat(33)),
            Err(RoomNameError::TooLong(33))
        );
        assert_eq!(RoomName::new("a\0b"), Err(RoomNameError::Control));
        assert_eq!(RoomName::new("a\nb"), Err(RoomNameError::Control));
        assert_eq!(RoomName::new("a\u{7f}"), Err(RoomNameError::Control));
        assert_eq!(RoomName::new("a\u{85}"), Err(RoomNameError::Control));
        assert_eq!(RoomName::new(" a"), Err(RoomNameError::Spaces));
        assert_eq!(RoomName::new("a\u{3000}"), Err(RoomNameError::Spaces));
        assert_eq!(
            RoomName::from_bytes(b"\xff\xfe"),
            Err(RoomNameError::InvalidUtf8)
        );
        assert_eq!(
            RoomName::from_bytes(&[b'a'; 40]),
            Err(RoomNameError::TooLong(40))
        );
    }
}
