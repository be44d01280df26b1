//! How the engine cuts a byte stream into frames. The engine's user supplies
//! the rule; the engine only asks it "is there a whole frame at the start of
//! these bytes, and how long is it?" (check-then-parse: "not yet" is a normal
//! answer, not an error).

use std::fmt;

/// A frame length the framing refuses: the stream cannot be resynchronised,
/// so the engine closes the session with [`crate::CloseReason::BadFrame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameError {
    /// What was wrong, for logs.
    pub reason: &'static str,
    /// The offending length, as read from the stream.
    pub len: usize,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (length {})", self.reason, self.len)
    }
}

impl std::error::Error for FrameError {}

/// A framing rule. Implementations must be cheap: this is called for every
/// frame on the I/O threads, and must not allocate.
pub trait Framing: Clone + Send + Sync + 'static {
    /// Looks at the start of `buf` (never empty):
    /// `Ok(Some(n))` when a whole frame of `n` bytes (`1 <= n <= buf.len()`)
    /// is buffered, `Ok(None)` when more bytes are needed, `Err` when the
    /// bytes can never form a valid frame.
    fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError>;

    /// The largest frame this framing accepts. The engine never buffers more
    /// than this for one incomplete frame; a framing that keeps asking for
    /// more past it is treated as a bad frame.
    fn max_frame_len(&self) -> usize;
}

/// No framing: whatever one receive brings is one frame (a raw echo server).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawFraming;

impl Framing for RawFraming {
    fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        Ok(if buf.is_empty() {
            None
        } else {
            Some(buf.len())
        })
    }

    fn max_frame_len(&self) -> usize {
        usize::MAX
    }
}

/// A framing for unit tests: a 2-byte little-endian total length (like the
/// chat header's first field), frames of 2 to 64 bytes.
#[cfg(test)]
pub(crate) mod test_framing {
    use super::{FrameError, Framing};

    #[derive(Clone)]
    pub(crate) struct Len16;

    impl Framing for Len16 {
        fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
            if buf.len() < 2 {
                return Ok(None);
            }
            let n = u16::from_le_bytes([buf[0], buf[1]]) as usize;
            if !(2..=64).contains(&n) {
                return Err(FrameError {
                    reason: "bad length",
                    len: n,
                });
            }
            Ok((buf.len() >= n).then_some(n))
        }

        fn max_frame_len(&self) -> usize {
            64
        }
    }
}
